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
    // Every kernel file (one with an entry point) of the op folders is listed; im2col twice, by
    // chunk width, the tiled linear three times, by tile, the subgroup linear three times, by
    // lanes and with rows fitted to M, DCNv3 twice, by reader, and the depthwise branch's runs
    // of pixels twice, with and without the planes.
    let ops = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops");
    let kernels = std::fs::read_dir(ops)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|folder| folder.is_dir())
        .flat_map(|folder| std::fs::read_dir(folder).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|file| file.extension() == Some("wgsl".as_ref()))
        .filter(|file| std::fs::read_to_string(file).unwrap().contains("@compute"))
        .count();
    assert_eq!(
        sources.len(),
        kernels + 7,
        "an op folder's shader is missing from shader_sources()"
    );
}
