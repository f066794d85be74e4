//! `internimage convert` on synthetic checkpoints written by `torch.save` and the Hub's
//! safetensors (tools/make_checkpoints.py): the official wrapper, a bare state dict and the
//! Hugging Face prefix, in a .pth or a safetensors file, all give the logits PyTorch computed;
//! broken files give clear errors. The converter's own checks are in convert/tests/.

mod common;

use std::path::{Path, PathBuf};

use common::{arg as s, internimage, write_input};
use gpu::check::Comparison;
use gpu::seeded::SeededRng;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/checkpoints");
/// f32 on the GPU against float64 PyTorch on the same (float16-stored) weights.
const LOGITS_TOLERANCE: f64 = 1e-5;

fn scratch(name: &str) -> PathBuf {
    common::scratch("convert", name)
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
    let path = scratch("input.safetensors");
    write_input(&path, &chw, 224, 224);
    path
}

#[test]
fn every_checkpoint_layout_converts_to_the_pytorch_logits() {
    let expected = read_f32(&Path::new(FIXTURES).join("logits.safetensors"), "logits");
    let input = seeded_input();
    for (file, found_under) in [
        ("wrapped.pth", "'model'"),
        ("bare.pth", "the top level"),
        ("hf.pth", "the top level"),
        ("hub.safetensors", "the top level"),
    ] {
        for dtype in ["f32", "f16", "int8"] {
            let converted = scratch(&format!("{file}-{dtype}.safetensors"));
            let checkpoint = Path::new(FIXTURES).join(file);
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
            // The checkpoint holds float16 values: f16 output loses nothing; int8 stays within its
            // budget, a relative error of 2 % here (cosine above 0.999).
            let tolerance = if dtype == "int8" {
                2e-2
            } else {
                LOGITS_TOLERANCE
            };
            let comparison = Comparison::new(&read_f32(&dump, "logits"), &expected);
            println!("{file} as {dtype}: {comparison}");
            comparison.assert_within(tolerance, &format!("{file} as {dtype}"));
        }
    }
}

#[test]
fn the_int8_file_is_the_one_the_page_writes() {
    // convert/tests/checkpoints.rs holds the page's converter, in both browsers, to the same file.
    let converted = scratch("wrapped-int8-again.safetensors");
    let checkpoint = Path::new(FIXTURES).join("wrapped.pth");
    let (ok, out) = internimage(&[
        "convert",
        s(&checkpoint),
        "-o",
        s(&converted),
        "--dtype",
        "int8",
    ]);
    assert!(ok, "{out}");
    let expected = std::fs::read(Path::new(FIXTURES).join("wrapped.int8.safetensors")).unwrap();
    assert!(
        std::fs::read(&converted).unwrap() == expected,
        "the bytes differ"
    );
}

#[test]
fn broken_files_give_clear_errors() {
    let output = scratch("never.safetensors");
    let cases = [
        ("not_a_checkpoint.pth", "holds no tensors"),
        ("resnet.pth", "not an InternImage checkpoint"),
        ("logits.safetensors", "not an InternImage checkpoint"),
    ];
    for (file, expected) in cases {
        let (ok, out) = internimage(&["convert", &format!("{FIXTURES}/{file}"), "-o", s(&output)]);
        assert!(!ok && out.contains(expected), "{file}: {out}");
    }
    let truncated = scratch("truncated.pth");
    let whole = std::fs::read(format!("{FIXTURES}/wrapped.pth")).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let (ok, out) = internimage(&["convert", s(&truncated), "-o", s(&output)]);
    assert!(!ok && out.contains("cut short"), "{out}");
    assert!(!output.exists(), "nothing is written on failure");
}
