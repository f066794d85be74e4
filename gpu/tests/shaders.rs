//! Every kernel of the engine, as compiled, parses and validates with naga, without any GPU.

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_shader_validates() {
    let sources = gpu::ops::shader_sources();
    for (name, source) in &sources {
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    // Each op folder holds one .wgsl file, and each is listed.
    let ops = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops");
    let folders = std::fs::read_dir(ops)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(
        sources.len(),
        folders,
        "an op folder's shader is missing from shader_sources()"
    );
}
