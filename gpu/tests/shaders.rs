//! Every WGSL file of the engine parses and validates with naga, without any GPU.

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_shader_validates() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "wgsl") {
                let source = std::fs::read_to_string(&path).unwrap();
                let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
                    panic!("{}: {}", path.display(), e.emit_to_string(&source))
                });
                naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::all(),
                )
                .validate(&module)
                .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no .wgsl file found");
}
