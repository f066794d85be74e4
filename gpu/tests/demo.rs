//! The shipped demo model (public/models/shapes-demo.safetensors, int8, trained by
//! tools/train_demo.py) against PyTorch on the page's shape samples; expected values in
//! tests/fixtures/demo.safetensors (`python3 tools/train_demo.py fixtures`).

mod common;

use common::context;
use gpu::check::{Comparison, cosine_similarity};
use gpu::model::predictions::argmax;
use gpu::model::preprocess::{decode, normalise};
use gpu::model::weights::{StoredAs, to_safetensors_as};
use gpu::model::{InternImage, SafetensorsWeights};
use safetensors::SafeTensors;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const WEIGHTS: &[u8] = include_bytes!("../../public/models/shapes-demo.safetensors");
const FIXTURES: &[u8] = include_bytes!("../../tests/fixtures/demo.safetensors");
const SAMPLES: [(&str, &str, &[u8]); 4] = [
    (
        "star-large.png",
        "star",
        include_bytes!("../../public/samples/shapes/star-large.png"),
    ),
    (
        "star-small.png",
        "star",
        include_bytes!("../../public/samples/shapes/star-small.png"),
    ),
    (
        "heart.png",
        "heart",
        include_bytes!("../../public/samples/shapes/heart.png"),
    ),
    (
        "arrow-small.png",
        "arrow",
        include_bytes!("../../public/samples/shapes/arrow-small.png"),
    ),
];
/// The engine's int8 path against PyTorch (float64) computing with the same dequantized weights.
const LOGITS_TOLERANCE: f64 = 1e-4;
/// Sampling locations at the shape's centre against PyTorch's, in feature pixels: the packing's
/// rounding and the int8 pass's drift.
const LOCATION_TOLERANCE: f32 = gpu::ops::dcnv3::SAMPLING_LOCATION_ERROR + 1e-3;
/// The int8 file against the trained f32 weights: the int8 budget of docs/weights.md.
const INT8_MIN_COSINE: f64 = 0.999;

fn expected(name: &str) -> Vec<f32> {
    let file = SafeTensors::deserialize(FIXTURES).expect("fixture file");
    let tensor = file.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    bytemuck::pod_collect_to_vec(tensor.data())
}

fn input(png: &[u8]) -> Vec<f32> {
    let image = decode(png).expect("sample decodes").to_rgb8();
    assert_eq!(
        image.dimensions(),
        (224, 224),
        "samples are at the network's size"
    );
    normalise(image.as_raw())
}

async fn check_samples(ctx: &gpu::GpuContext, file: &SafetensorsWeights<'_>, what: &str) {
    let model = InternImage::new(ctx, &file.config, file, [224, 224]).expect("model builds");
    let labels = file
        .labels
        .as_ref()
        .expect("the demo model carries its labels");
    for (name, label, png) in SAMPLES {
        let (logits, layers) = model
            .run_with_all_sampling(ctx, &input(png))
            .await
            .expect("model runs");
        let comparison = Comparison::new(&logits, &expected(&format!("{name}.logits")));
        common::log(&format!("{what} {name}: logits {comparison}"));
        comparison.assert_within(LOGITS_TOLERANCE, &format!("{what} {name} logits"));
        assert_eq!(
            labels[argmax(&logits)],
            label,
            "{name} is classified as its shape"
        );

        let trained = expected(&format!("{name}.logits_trained_f32"));
        let cosine = cosine_similarity(&logits, &trained);
        common::log(&format!(
            "{what} {name}: cosine to the trained f32 weights {cosine:.6}"
        ));
        assert!(cosine >= INT8_MIN_COSINE, "{name}: cosine {cosine}");
        assert_eq!(argmax(&logits), argmax(&trained));

        // Every layer's 9 points of every group at the shape's centre, as PyTorch placed them.
        let centre = centre_of(name);
        for (index, layer) in layers.iter().enumerate() {
            let (column, row) = layer.pixel_at(centre.0, centre.1);
            let want = expected(&format!("{name}.sampling{index}"));
            let s = layer.stride as f32;
            for (k, p) in layer.points(column, row, None).iter().enumerate() {
                let r = &want[k * 3..k * 3 + 3];
                let error = (p.x / s - r[0]).abs().max((p.y / s - r[1]).abs());
                assert!(
                    error <= LOCATION_TOLERANCE,
                    "{name} layer {index} point {k}: {p:?} vs {r:?}"
                );
                assert!(
                    (p.weight - r[2]).abs() <= 1e-4,
                    "{name} layer {index} point {k} weight"
                );
            }
        }
    }
}

fn centre_of(name: &str) -> (f32, f32) {
    let file = SafeTensors::read_metadata(FIXTURES)
        .expect("fixture metadata")
        .1;
    let samples: serde_json::Value =
        serde_json::from_str(&file.metadata().as_ref().expect("metadata")["samples"])
            .expect("samples JSON");
    let sample = samples
        .as_array()
        .expect("a list")
        .iter()
        .find(|s| s["file"] == name)
        .expect("the sample is in the fixture");
    let c = &sample["centre"];
    (
        c[0].as_f64().expect("x") as f32,
        c[1].as_f64().expect("y") as f32,
    )
}

dual_test! {
    async fn shipped_int8_demo_model_matches_pytorch_on_the_shape_samples() {
        let ctx = context().await;
        let file = SafetensorsWeights::parse(WEIGHTS).expect("the shipped file parses");
        assert_eq!(file.config.channels, 32);
        assert_eq!(file.config.depths, [1, 1, 3, 1]);
        check_samples(&ctx, &file, "int8 file").await;
    }

    async fn the_same_weights_in_f32_give_the_same_logits() {
        // The int8 file dequantized into an f32 file: the engine's f32 path on trained weights.
        let ctx = context().await;
        let file = SafetensorsWeights::parse(WEIGHTS).expect("the shipped file parses");
        let f32_bytes = to_safetensors_as(&file.config, &file, file.labels.as_deref(), None, StoredAs::F32)
            .expect("serialises");
        let f32_file = SafetensorsWeights::parse(&f32_bytes).expect("parses");
        check_samples(&ctx, &f32_file, "f32 file").await;
    }
}

#[test]
fn the_shipped_file_is_int8_and_small() {
    let file = SafeTensors::deserialize(WEIGHTS).expect("safetensors");
    let int8 = file
        .tensors()
        .iter()
        .filter(|(_, t)| t.dtype() == safetensors::Dtype::I8)
        .count();
    assert!(int8 >= 20, "{int8} int8 tensors");
    assert!(WEIGHTS.len() < 3_000_000, "{} bytes", WEIGHTS.len());
}
