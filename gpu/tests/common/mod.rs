//! Shared by the integration tests: each test is written once and runs natively (on llvmpipe for
//! GPU tests) and as a `wasm_bindgen_test` in a headless browser.
#![allow(dead_code)]

use std::collections::HashMap;

use gpu::ops::dcnv3::Dcnv3Shape;
use gpu::seeded::SeededRng;

/// Declares `async fn $name()` as a native `#[test]` (blocking on it) and a browser test.
#[macro_export]
macro_rules! dual_test {
    ($($(#[$meta:meta])* async fn $name:ident() $body:block)*) => {$(
        $(#[$meta])*
        #[cfg(not(target_arch = "wasm32"))]
        #[test]
        fn $name() {
            pollster::block_on(async $body)
        }
        $(#[$meta])*
        #[cfg(target_arch = "wasm32")]
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $name() $body
    )*};
}

/// Milliseconds since `started`, natively and in the browser.
#[allow(dead_code)]
pub fn ms_since(started: web_time::Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// A line in the test output, natively and in the browser (run with `--nocapture` to see it).
pub fn log(line: &str) {
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{line}");
    #[cfg(not(target_arch = "wasm32"))]
    println!("{line}");
}

/// The adapter the GPU tests run on; they fail, never skip, without one.
pub async fn context() -> gpu::GpuContext {
    gpu::GpuContext::new()
        .await
        .expect("a GPU adapter is required for these tests (llvmpipe natively)")
}

pub const DCNV3_FIXTURES: &[u8] = include_bytes!("../../../tests/fixtures/dcnv3.safetensors");

/// One DCNv3 case of `tests/fixtures/dcnv3.safetensors`, its inputs regenerated from the seed.
pub struct Dcnv3Case {
    pub name: String,
    pub shape: Dcnv3Shape,
    pub input: Vec<f32>,
    pub offsets: Vec<f32>,
    pub mask_logits: Vec<f32>,
    pub expected_output: Vec<f32>,
    pub expected_sampling: Vec<f32>,
}

#[derive(serde::Deserialize)]
struct CaseMeta {
    height: u32,
    width: u32,
    groups: u32,
    group_channels: u32,
    offset_scale: f32,
    offset_amplitude: f32,
    logit_range: f32,
    seed: u64,
}

/// The seeded inputs of a DCNv3 case, drawn in the order `tools/make_fixtures.py` draws them.
pub fn dcnv3_inputs(
    shape: &Dcnv3Shape,
    seed: u64,
    offset_amplitude: f32,
    logit_range: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut rng = SeededRng::new(seed);
    let input = rng.uniform_vec(shape.input_len(), -1.0, 1.0);
    let offsets = rng.uniform_vec(shape.offset_len(), -offset_amplitude, offset_amplitude);
    let mask_logits = rng.uniform_vec(shape.mask_len(), -logit_range, logit_range);
    (input, offsets, mask_logits)
}

pub fn dcnv3_cases() -> Vec<Dcnv3Case> {
    let file = safetensors::SafeTensors::deserialize(DCNV3_FIXTURES).expect("fixture parses");
    let (_, metadata) = safetensors::SafeTensors::read_metadata(DCNV3_FIXTURES).expect("header");
    let metadata = metadata.metadata().as_ref().expect("fixture has metadata");
    let cases: HashMap<String, CaseMeta> =
        serde_json::from_str(&metadata["cases"]).expect("cases metadata is JSON");
    let tensor = |name: String| -> Vec<f32> {
        let view = file
            .tensor(&name)
            .unwrap_or_else(|_| panic!("fixture lacks {name}"));
        view.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    let mut names: Vec<_> = cases.keys().cloned().collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let meta = &cases[&name];
            let shape = Dcnv3Shape {
                height: meta.height,
                width: meta.width,
                groups: meta.groups,
                group_channels: meta.group_channels,
                offset_scale: meta.offset_scale,
            };
            let (input, offsets, mask_logits) =
                dcnv3_inputs(&shape, meta.seed, meta.offset_amplitude, meta.logit_range);
            assert_eq!(
                input[..8],
                tensor(format!("{name}.input_head"))[..],
                "{name}: the seeded generator no longer reproduces the fixture's inputs"
            );
            Dcnv3Case {
                expected_output: tensor(format!("{name}.output")),
                expected_sampling: tensor(format!("{name}.sampling")),
                name,
                shape,
                input,
                offsets,
                mask_logits,
            }
        })
        .collect()
}

pub const MODEL_FIXTURES: &[u8] = include_bytes!("../../../tests/fixtures/internimage.safetensors");

/// One variant of `tests/fixtures/internimage.safetensors`: what PyTorch computed for seeded
/// weights and a seeded image.
pub struct ModelCase {
    pub config: gpu::model::ModelConfig,
    pub weight_seed: u64,
    pub image: Vec<f32>,
    pub logits: Vec<f32>,
    /// Each level's output after its norm, every `level_stride`-th element.
    pub levels: Vec<Vec<f32>>,
    pub level_stride: usize,
}

#[derive(serde::Deserialize)]
struct VariantMeta {
    config: gpu::model::ModelConfig,
    weight_seed: u64,
    image_seed: u64,
    level_stride: usize,
}

pub fn f32_tensor(file: &safetensors::SafeTensors<'_>, name: &str) -> Vec<f32> {
    let view = file
        .tensor(name)
        .unwrap_or_else(|_| panic!("fixture lacks {name}"));
    bytemuck::pod_collect_to_vec(view.data())
}

pub fn model_case(variant: &str) -> ModelCase {
    let file = safetensors::SafeTensors::deserialize(MODEL_FIXTURES).expect("fixture parses");
    let (_, header) = safetensors::SafeTensors::read_metadata(MODEL_FIXTURES).expect("header");
    let variants: HashMap<String, VariantMeta> =
        serde_json::from_str(&header.metadata().as_ref().expect("metadata")["variants"])
            .expect("JSON");
    let meta = &variants[variant];
    let levels = (0..meta.config.levels())
        .map(|l| f32_tensor(&file, &format!("{variant}.level{l}")))
        .collect();
    ModelCase {
        config: meta.config.clone(),
        weight_seed: meta.weight_seed,
        image: SeededRng::new(meta.image_seed).uniform_vec(224 * 224 * 3, -2.0, 2.0),
        logits: f32_tensor(&file, &format!("{variant}.logits")),
        levels,
        level_stride: meta.level_stride,
    }
}

pub const SAMPLING_FIXTURES: &[u8] = include_bytes!("../../../tests/fixtures/sampling.safetensors");

/// The tiny variant's DCNv3 layers whose sampling PyTorch recorded at every pixel
/// (`tools/internimage_reference.py --sampling`), and those records `[h, w, G, 9, 3]`.
pub fn sampling_case() -> (Vec<usize>, Vec<Vec<f32>>) {
    #[derive(serde::Deserialize)]
    struct Meta {
        layers: Vec<usize>,
    }
    let file = safetensors::SafeTensors::deserialize(SAMPLING_FIXTURES).expect("fixture parses");
    let (_, header) = safetensors::SafeTensors::read_metadata(SAMPLING_FIXTURES).expect("header");
    let meta: Meta =
        serde_json::from_str(&header.metadata().as_ref().expect("metadata")["sampling"])
            .expect("JSON");
    let records = meta
        .layers
        .iter()
        .map(|layer| f32_tensor(&file, &format!("tiny.layer{layer}")))
        .collect();
    (meta.layers, records)
}

/// Asserts that every sampling record `(p_x, p_y, m)` is within `location` feature pixels (in x
/// and in y) and `weight` of the expected one; the worst errors, for the log.
#[track_caller]
pub fn assert_sampling_close(
    actual: &[f32],
    expected: &[f32],
    location: f32,
    weight: f32,
    what: &str,
) -> (f32, f32) {
    assert_eq!(actual.len(), expected.len(), "{what}: sampling lengths");
    let (mut worst_location, mut worst_weight) = (0.0f32, 0.0f32);
    for (i, (got, want)) in actual
        .chunks_exact(3)
        .zip(expected.chunks_exact(3))
        .enumerate()
    {
        let l = (got[0] - want[0]).abs().max((got[1] - want[1]).abs());
        let w = (got[2] - want[2]).abs();
        assert!(
            l <= location && w <= weight,
            "{what}: record {i}: {got:?}, expected {want:?}"
        );
        worst_location = worst_location.max(l);
        worst_weight = worst_weight.max(w);
    }
    (worst_location, worst_weight)
}
