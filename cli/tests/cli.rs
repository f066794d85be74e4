//! The command line as a researcher uses it: seeded weights, classify an image and a raw tensor,
//! dump sampling data; and clear errors for bad input.

mod common;

use common::{arg as path, internimage, write_input};

fn scratch(name: &str) -> std::path::PathBuf {
    common::scratch("cli", name)
}

#[test]
fn classifies_an_image_and_dumps_sampling_data() {
    let weights = scratch("tiny.safetensors");
    let (ok, out) = internimage(&[
        "seeded-weights",
        "--variant",
        "tiny",
        "--seed",
        "5",
        "-o",
        path(&weights),
    ]);
    assert!(ok, "{out}");
    let image = scratch("gradient.png");
    image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([x as u8, y as u8, 128]))
        .save(&image)
        .unwrap();
    let dump = scratch("dump.safetensors");
    let (ok, out) = internimage(&[
        "classify",
        path(&image),
        "--weights",
        path(&weights),
        "--top",
        "3",
        "--dump",
        path(&dump),
        "--layers",
        "0.0,2.1",
    ]);
    assert!(ok, "{out}");
    assert_eq!(out.lines().filter(|l| l.contains(" %")).count(), 3, "{out}");
    // Each block's two LayerNorms folded into the linears after them; where DCNv3 reads
    // planes, the depthwise branch lays them out.
    assert!(out.contains("57 dispatches"), "{out}");
    let bytes = std::fs::read(&dump).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.tensor("logits").unwrap().shape(), [10]);
    assert_eq!(
        file.tensor("levels.0.blocks.0.dcn.sampling")
            .unwrap()
            .shape(),
        [56, 56, 1, 9, 3]
    );
    assert_eq!(
        file.tensor("levels.2.blocks.1.dcn.sampling")
            .unwrap()
            .shape(),
        [14, 14, 4, 9, 3]
    );
}

#[test]
fn classifies_a_raw_tensor_like_the_image_path() {
    let weights = scratch("tiny-raw.safetensors");
    assert!(internimage(&["seeded-weights", "--variant", "tiny", "-o", path(&weights)]).0);
    let image = scratch("raw-gradient.png");
    image::RgbImage::from_fn(300, 250, |x, y| {
        image::Rgb([x as u8, (x ^ y) as u8, y as u8])
    })
    .save(&image)
    .unwrap();
    // The image path's own preprocessing, handed over as a tensor [1, 3, H, W].
    let decoded = gpu::model::preprocess::decode(&std::fs::read(&image).unwrap()).unwrap();
    let hwc = gpu::model::preprocess::preprocess(&decoded, 224);
    let chw: Vec<f32> = (0..3)
        .flat_map(|c| hwc.iter().skip(c).step_by(3).copied())
        .collect();
    let input = scratch("input.safetensors");
    write_input(&input, &chw, 224, 224);
    let logits_of = |source: &[&str], dump: &str| -> Vec<f32> {
        let dump = scratch(dump);
        let mut args = vec!["classify"];
        args.extend(source);
        args.extend(["--weights", path(&weights), "--dump", path(&dump)]);
        let (ok, out) = internimage(&args);
        assert!(ok, "{out}");
        assert_eq!(out.lines().filter(|l| l.contains(" %")).count(), 5, "{out}");
        let bytes = std::fs::read(&dump).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        bytemuck::pod_collect_to_vec(file.tensor("logits").unwrap().data())
    };
    let from_tensor = logits_of(&["--tensor", path(&input)], "raw-tensor-dump.safetensors");
    let from_image = logits_of(&[path(&image)], "raw-image-dump.safetensors");
    assert_eq!(from_tensor.len(), 10);
    // The same input through the same pass: the same logits, bit for bit.
    assert_eq!(from_tensor, from_image);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let weights = scratch("tiny-bad.safetensors");
    assert!(internimage(&["seeded-weights", "--variant", "tiny", "-o", path(&weights)]).0);
    let not_image = scratch("not-an-image.jpg");
    std::fs::write(&not_image, b"hello").unwrap();
    let (ok, out) = internimage(&["classify", path(&not_image), "--weights", path(&weights)]);
    assert!(!ok && out.contains("could not be decoded"), "{out}");
    // A file of no bytes, and a GIF (the page and the CLI read JPEG, PNG and WebP).
    let gif: &[u8] = include_bytes!("../../tests/fixtures/bad-inputs/red-3x2.gif");
    for (name, bytes) in [("empty.jpg", &b""[..]), ("red-3x2.gif", gif)] {
        let file = scratch(name);
        std::fs::write(&file, bytes).unwrap();
        let (ok, out) = internimage(&["classify", path(&file), "--weights", path(&weights)]);
        assert!(!ok && out.contains("could not be decoded"), "{name}: {out}");
    }
    let image = scratch("small.png");
    image::RgbImage::from_pixel(8, 8, image::Rgb([9, 9, 9]))
        .save(&image)
        .unwrap();
    let empty = scratch("empty.safetensors");
    std::fs::write(&empty, b"").unwrap();
    let (ok, out) = internimage(&["classify", path(&image), "--weights", path(&empty)]);
    assert!(
        !ok && out.contains("not a readable safetensors file"),
        "{out}"
    );
    let truncated = scratch("truncated.safetensors");
    std::fs::write(&truncated, &std::fs::read(&weights).unwrap()[..1000]).unwrap();
    let (ok, out) = internimage(&["classify", path(&image), "--weights", path(&truncated)]);
    assert!(
        !ok && out.contains("not a readable safetensors file"),
        "{out}"
    );
    let (ok, out) = internimage(&[
        "classify",
        "--tensor",
        path(&weights),
        "--weights",
        path(&weights),
    ]);
    assert!(!ok && out.contains("no tensor named `input`"), "{out}");

    // Weights with a value that is not a number: refused while loading, naming the tensor,
    // instead of printing "NaN %" for every class.
    let mut poisoned = std::fs::read(&weights).unwrap();
    let header_len = u64::from_le_bytes(poisoned[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&poisoned[8..8 + header_len]).unwrap();
    let at = 8 + header_len + header["head.weight"]["data_offsets"][0].as_u64().unwrap() as usize;
    poisoned[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let nan_weights = scratch("nan.safetensors");
    std::fs::write(&nan_weights, poisoned).unwrap();
    let (ok, out) = internimage(&["classify", path(&image), "--weights", path(&nan_weights)]);
    assert!(
        !ok && out.contains("tensor `head.weight` holds 1 values that are not finite numbers"),
        "{out}"
    );
}
