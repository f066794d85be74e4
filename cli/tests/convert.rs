//! The converter on synthetic checkpoints written by `torch.save` (tools/make_checkpoints.py):
//! the official wrapper, a bare state dict and the Hugging Face prefix all give the logits
//! PyTorch computed; broken files give clear errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use gpu::check::Comparison;
use gpu::seeded::SeededRng;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/checkpoints");
/// f32 on the GPU against float64 PyTorch on the same (float16-stored) weights.
const LOGITS_TOLERANCE: f64 = 1e-5;

fn internimage(args: &[&str]) -> (bool, String) {
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

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("convert");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read_f32(path: &Path, name: &str) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    bytemuck::pod_collect_to_vec(file.tensor(name).unwrap().data())
}

/// The seeded image of the fixture as the CLI's raw input, [1, 3, 224, 224].
fn seeded_input() -> PathBuf {
    let hwc = SeededRng::new(6000).uniform_vec(224 * 224 * 3, -2.0, 2.0);
    let chw: Vec<f32> = (0..3)
        .flat_map(|c| hwc.iter().skip(c).step_by(3).copied().collect::<Vec<_>>())
        .collect();
    let view = safetensors::tensor::TensorView::new(
        safetensors::Dtype::F32,
        vec![1, 3, 224, 224],
        bytemuck::cast_slice(&chw),
    )
    .unwrap();
    let path = scratch("input.safetensors");
    std::fs::write(
        &path,
        safetensors::serialize([("input", view)], None).unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn every_checkpoint_layout_converts_to_the_pytorch_logits() {
    let expected = read_f32(&Path::new(FIXTURES).join("logits.safetensors"), "logits");
    let input = seeded_input();
    for (file, found_under) in [
        ("wrapped", "'model'"),
        ("bare", "the top level"),
        ("hf", "the top level"),
    ] {
        for dtype in ["f32", "f16"] {
            let converted = scratch(&format!("{file}-{dtype}.safetensors"));
            let checkpoint = Path::new(FIXTURES).join(format!("{file}.pth"));
            let (ok, out) = internimage(&[
                "convert",
                s(&checkpoint),
                "-o",
                s(&converted),
                "--dtype",
                dtype,
            ]);
            assert!(ok, "{out}");
            assert!(
                out.contains(&format!("state dict under {found_under}"))
                    && out.contains("depths [1, 1, 1, 1]"),
                "{out}"
            );
            let dump = scratch(&format!("{file}-{dtype}-dump.safetensors"));
            let (ok, out) = internimage(&[
                "classify",
                "--tensor",
                s(&input),
                "--weights",
                s(&converted),
                "--dump",
                s(&dump),
            ]);
            assert!(ok, "{out}");
            // The checkpoint holds float16 values: f16 output loses nothing.
            let comparison = Comparison::new(&read_f32(&dump, "logits"), &expected);
            println!("{file} as {dtype}: {comparison}");
            comparison.assert_within(LOGITS_TOLERANCE, &format!("{file} as {dtype}"));
        }
    }
}

#[test]
fn broken_files_give_clear_errors() {
    let output = scratch("never.safetensors");
    let (ok, out) = internimage(&[
        "convert",
        &format!("{FIXTURES}/not_a_checkpoint.pth"),
        "-o",
        s(&output),
    ]);
    assert!(
        !ok && out.contains("it is a PyTorch file, but not a checkpoint"),
        "{out}"
    );

    let truncated = scratch("truncated.pth");
    let whole = std::fs::read(format!("{FIXTURES}/wrapped.pth")).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let (ok, out) = internimage(&["convert", s(&truncated), "-o", s(&output)]);
    assert!(
        !ok && out.contains("not a readable PyTorch checkpoint"),
        "{out}"
    );

    let (ok, out) = internimage(&[
        "convert",
        &format!("{FIXTURES}/logits.safetensors"),
        "-o",
        s(&output),
    ]);
    assert!(
        !ok && out.contains("not a readable PyTorch checkpoint"),
        "{out}"
    );
    assert!(!output.exists(), "nothing is written on failure");
}
