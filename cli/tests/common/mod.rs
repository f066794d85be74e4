//! Running the `internimage` binary from the tests, with scratch files under cargo's temp dir.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the binary; returns whether it succeeded and what it printed (stdout, then stderr).
pub fn internimage(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_internimage"))
        .args(args)
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A path for a scratch file of the test `suite`.
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(suite);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

pub fn arg(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// Writes `values` as the CLI's raw input: a safetensors file with `input` [1, 3, H, W].
pub fn write_input(path: &Path, chw: &[f32], height: usize, width: usize) {
    let view = safetensors::tensor::TensorView::new(
        safetensors::Dtype::F32,
        vec![1, 3, height, width],
        bytemuck::cast_slice(chw),
    )
    .unwrap();
    std::fs::write(
        path,
        safetensors::serialize([("input", view)], None).unwrap(),
    )
    .unwrap();
}
