//! The whole network on the GPU against PyTorch (tools/internimage_reference.py), with seeded
//! weights that both sides generate.

mod common;

use common::context;
use common::{ModelCase, model_case};
use gpu::check::{Comparison, cosine_similarity};
use gpu::model::Quantized;
use gpu::model::weights::{SeededWeights, StoredAs, to_safetensors, to_safetensors_as};
use gpu::model::{Halved, InternImage, SafetensorsWeights, WeightSource};
use gpu::{GpuContext, KernelTarget};

/// A source's values as f32 only, whatever it holds them as.
struct Widened<'a>(&'a dyn WeightSource);

impl WeightSource for Widened<'_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> gpu::Result<Vec<f32>> {
        self.0.tensor(name, shape)
    }
}

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// f32 on the GPU against float64 PyTorch, through 30 blocks: the relative error of the logits
/// (measured on llvmpipe up to 4.2e-7) and the largest error of any one logit (up to 1.1e-6).
const LOGITS_TOLERANCE: f64 = 1e-5;
const LOGIT_MAX_ERROR: f64 = 1e-5;
const LEVEL_TOLERANCE: f64 = 1e-4;
/// Sampling locations against PyTorch's at every pixel, in feature pixels: the packing's
/// rounding and the pass's drift; their weights alike.
const LOCATION_TOLERANCE: f32 = gpu::ops::dcnv3::SAMPLING_LOCATION_ERROR + 1e-3;
const SAMPLING_WEIGHT_TOLERANCE: f32 = 1e-4;
/// The same pass with and without the sampling written: the same sums up to their order.
const SAME_PASS_TOLERANCE: f64 = 1e-6;

/// Checks the logits and level outputs; returns how many dispatches the pass took.
async fn check_against_pytorch(ctx: &GpuContext, case: &ModelCase, what: &str) -> usize {
    let weights = SeededWeights::new(&case.config, case.weight_seed);
    let model = InternImage::new(ctx, &case.config, &weights, [224, 224]).expect("model builds");
    model.run(ctx, &case.image).await.expect("model runs");
    let started = web_time::Instant::now();
    let logits = model.run(ctx, &case.image).await.expect("model runs");
    common::log(&format!(
        "{what}: second forward pass {:.0} ms",
        common::ms_since(started)
    ));
    let comparison = Comparison::new(&logits, &case.logits);
    println!(
        "{what}: logits {comparison}; {} dispatches",
        model.dispatch_count()
    );
    comparison.assert_within(LOGITS_TOLERANCE, &format!("{what} logits"));
    assert_logits_close(&comparison, what);
    for (level, expected) in case.levels.iter().enumerate() {
        let (output, _) = model.level_output(ctx, level).await.expect("level output");
        let sampled: Vec<f32> = output.into_iter().step_by(case.level_stride).collect();
        let comparison = Comparison::new(&sampled, expected);
        common::log(&format!("{what}: level {level} {comparison}"));
        comparison.assert_within(LEVEL_TOLERANCE, &format!("{what} level {level}"));
    }
    model.dispatch_count()
}

#[track_caller]
fn assert_logits_close(comparison: &Comparison, what: &str) {
    assert!(
        comparison.max_abs_error <= LOGIT_MAX_ERROR,
        "{what}: one logit is off by {:.2e} (bound {LOGIT_MAX_ERROR:.1e}): {comparison}",
        comparison.max_abs_error
    );
}

dual_test! {
    async fn tiny_variant_matches_pytorch_logits_and_levels() {
        let ctx = context().await;
        check_against_pytorch(&ctx, &model_case("tiny"), "tiny").await;
    }

    async fn sampling_readback_describes_the_layer() {
        let ctx = context().await;
        let case = model_case("tiny");
        let weights = SeededWeights::new(&case.config, case.weight_seed);
        let model = InternImage::new(&ctx, &case.config, &weights, [224, 224]).unwrap();
        let layers = model.dcn_layers().to_vec();
        assert_eq!(layers.len(), 5);
        let plain = model.run(&ctx, &case.image).await.unwrap();
        let (chosen, expected) = common::sampling_case();
        let (logits, records) = model.run_with_sampling(&ctx, &case.image, &chosen).await.unwrap();
        // The kernel that also writes the sampling is another pipeline, which the driver may
        // compile with its sums associated otherwise (llvmpipe does, for the filtered read).
        Comparison::new(&logits, &plain)
            .assert_within(SAME_PASS_TOLERANCE, "reading sampling data must not change the result");
        for ((&index, records), expected) in chosen.iter().zip(&records).zip(&expected) {
            let layer = &layers[index];
            assert_eq!(records.len(), layer.shape.sampling_len());
            assert_eq!(records.len(), expected.len());
            // Every point of every group at every pixel where PyTorch placed it, with its weight.
            let (worst_location, worst_weight) = common::assert_sampling_close(
                records, expected, LOCATION_TOLERANCE, SAMPLING_WEIGHT_TOLERANCE, &format!("layer {index}"),
            );
            common::log(&format!(
                "layer {index}: {} points, largest location error {worst_location:.2e} feature pixels, weight {worst_weight:.2e}",
                records.len() / 3
            ));
        }
        assert!(model.run_with_sampling(&ctx, &case.image, &[5]).await.is_err());
    }

    async fn the_logits_come_before_the_sampling_and_each_run_keeps_its_own() {
        let ctx = context().await;
        let case = model_case("tiny");
        let weights = SeededWeights::new(&case.config, case.weight_seed);
        let model = InternImage::new(&ctx, &case.config, &weights, [224, 224]).unwrap();
        let other: Vec<f32> = case.image.iter().rev().copied().collect();
        let layers = [0, 2];
        let (first_logits, first) = model.run_exploring(&ctx, &case.image, &layers).await.unwrap();
        // The second runs on the pass the first recorded ahead, before the first's sampling is
        // read: each keeps its own copies.
        let (second_logits, second) = model.run_exploring(&ctx, &other, &layers).await.unwrap();
        let second = second.read(&ctx).await.unwrap();
        let first = first.read(&ctx).await.unwrap();
        Comparison::new(&first_logits, &model.run(&ctx, &case.image).await.unwrap())
            .assert_within(SAME_PASS_TOLERANCE, "first image");
        Comparison::new(&second_logits, &model.run(&ctx, &other).await.unwrap())
            .assert_within(SAME_PASS_TOLERANCE, "second image");
        assert_eq!(first.len(), 2);
        assert_eq!((first[1].level, first[1].block), (model.dcn_layers()[2].level, model.dcn_layers()[2].block));
        for (index, image, explored) in [(0, &case.image, &first), (1, &other, &second)] {
            let (_, records) = model.run_with_sampling(&ctx, image, &layers).await.unwrap();
            for (layer, records) in explored.iter().zip(records) {
                assert_eq!(layer.records, records, "image {index}");
            }
        }
        assert_ne!(first[0].records, second[0].records);
    }

    async fn each_run_reads_its_own_image_through_passes_and_buffers_made_ahead() {
        let ctx = context().await;
        let case = model_case("tiny");
        let weights = SeededWeights::new(&case.config, case.weight_seed);
        let model = InternImage::new(&ctx, &case.config, &weights, [224, 224]).unwrap();
        let other: Vec<f32> = case.image.iter().rev().copied().collect();
        // The first run records its own pass; each later one submits the pass its predecessor
        // recorded, and the image of its own.
        let mut logits = Vec::new();
        for image in [&case.image, &other, &case.image, &other] {
            logits.push(model.run(&ctx, image).await.unwrap());
        }
        assert_ne!(logits[0], logits[1]);
        assert_eq!(logits[0], logits[2]);
        assert_eq!(logits[1], logits[3]);
        let third = Comparison::new(&logits[2], &case.logits);
        third.assert_within(LOGITS_TOLERANCE, "third run");
        assert_logits_close(&third, "third run");
        let (explored, records) = model.run_with_sampling(&ctx, &other, &[0]).await.unwrap();
        Comparison::new(&explored, &logits[1])
            .assert_within(SAME_PASS_TOLERANCE, "a pass recorded on the spot gives the same logits");
        // The sampling buffers, made at a layer's first exploration, serve every later one.
        let (_, of_the_first_image) = model.run_with_sampling(&ctx, &case.image, &[0]).await.unwrap();
        assert_ne!(of_the_first_image, records);
        assert_eq!(model.run_with_sampling(&ctx, &other, &[0]).await.unwrap().1, records);
        // They, and the staging buffers kept for the next readback, count as memory held.
        let sampling_bytes = 4 * model.dcn_layers()[0].shape.sampling_words() as u64;
        let readback = model.memory().readback;
        assert!(readback >= 2 * sampling_bytes, "readback {readback} B for {sampling_bytes} B of sampling");
        assert!(model.run(&ctx, &other[1..]).await.is_err(), "a wrong-sized image is refused");
        assert_eq!(model.run(&ctx, &case.image).await.unwrap(), logits[0]);
    }

    async fn int8_weights_keep_the_logits_of_f32() {
        let ctx = context().await;
        let case = model_case("tiny");
        let seeded = SeededWeights::new(&case.config, case.weight_seed);
        let f32_model = InternImage::new(&ctx, &case.config, &seeded, [224, 224]).unwrap();
        let reference = f32_model.run(&ctx, &case.image).await.unwrap();
        for keep_offset_and_mask in [true, false] {
            let quantized = Quantized { inner: &seeded, keep_offset_and_mask };
            let int8_model = InternImage::new(&ctx, &case.config, &quantized, [224, 224]).unwrap();
            let logits = int8_model.run(&ctx, &case.image).await.unwrap();
            let cosine = cosine_similarity(&logits, &reference);
            common::log(&format!("tiny int8 (offset/mask f32: {keep_offset_and_mask}): logits cosine {cosine:.6}"));
            assert!(cosine >= 0.999, "cosine {cosine}");
            // The same through an int8 safetensors file: the values the GPU sees are identical.
            let stored_as = StoredAs::Int8 { keep_offset_and_mask };
            let bytes = to_safetensors_as(&case.config, &seeded, None, None, stored_as).unwrap();
            let file = SafetensorsWeights::parse(&bytes).unwrap();
            let from_file = InternImage::new(&ctx, &file.config, &file, [224, 224]).unwrap();
            assert_eq!(from_file.run(&ctx, &case.image).await.unwrap(), logits);
            let f32_size = to_safetensors(&case.config, &seeded, None, None).unwrap().len();
            common::log(&format!("tiny int8 file: {} bytes, f32 file {f32_size}", bytes.len()));
        }
    }

    async fn f16_weights_keep_the_logits_and_stay_f16_where_the_adapter_has_shader_f16() {
        let ctx = context().await;
        let case = model_case("tiny");
        let seeded = SeededWeights::new(&case.config, case.weight_seed);
        let halved = Halved(&seeded);
        let f16_model = InternImage::new(&ctx, &case.config, &halved, [224, 224]).unwrap();
        let logits = f16_model.run(&ctx, &case.image).await.unwrap();
        // The same rounded values handed over as f32: the kernels widen each half to the value
        // the f32 path reads, so only the order of the sums could differ.
        let widened = InternImage::new(&ctx, &case.config, &Widened(&halved), [224, 224]).unwrap();
        Comparison::new(&logits, &widened.run(&ctx, &case.image).await.unwrap())
            .assert_within(SAME_PASS_TOLERANCE, "f16 weights against the same values in f32");
        let (f16_bytes, f32_bytes) = (f16_model.memory().weights, widened.memory().weights);
        common::log(&format!("tiny weights on the GPU: f16 {f16_bytes} B, f32 {f32_bytes} B"));
        // Kept as halves where the adapter has shader-f16 (llvmpipe), else widened (SwiftShader).
        if ctx.adapter.shader_f16 {
            assert!(f16_bytes * 10 < f32_bytes * 6, "f16 {f16_bytes} B against f32 {f32_bytes} B");
        } else {
            assert_eq!(f16_bytes, f32_bytes);
        }
        // An f16 safetensors file gives the GPU the same halves.
        let bytes = to_safetensors_as(&case.config, &seeded, None, None, StoredAs::F16).unwrap();
        let file = SafetensorsWeights::parse(&bytes).unwrap();
        let from_file = InternImage::new(&ctx, &file.config, &file, [224, 224]).unwrap();
        assert_eq!(from_file.run(&ctx, &case.image).await.unwrap(), logits);
        assert_eq!(from_file.memory().weights, f16_bytes);
    }

    async fn safetensors_round_trip_gives_the_same_logits() {
        let ctx = context().await;
        let case = model_case("tiny");
        let seeded = SeededWeights::new(&case.config, case.weight_seed);
        let labels: Vec<String> = (0..10).map(|i| format!("shape {i}")).collect();
        let bytes = to_safetensors(&case.config, &seeded, Some(&labels), Some("seeded")).unwrap();
        let file = SafetensorsWeights::parse(&bytes).unwrap();
        assert_eq!(file.config, case.config);
        assert_eq!(file.labels.as_deref(), Some(&labels[..]));
        assert_eq!(file.description.as_deref(), Some("seeded"));
        let direct = InternImage::new(&ctx, &case.config, &seeded, [224, 224]).unwrap();
        let loaded = InternImage::new(&ctx, &file.config, &file, [224, 224]).unwrap();
        assert_eq!(direct.run(&ctx, &case.image).await.unwrap(), loaded.run(&ctx, &case.image).await.unwrap());
    }

    async fn a_build_with_pauses_gives_way_after_each_block_and_level_and_builds_the_same_network() {
        let ctx = context().await;
        let case = model_case("tiny");
        let seeded = SeededWeights::new(&case.config, case.weight_seed);
        let pauses = std::cell::Cell::new(0);
        // As the page pauses: until the GPU has taken the uploads, then a turn of the event loop.
        let paused = InternImage::new_with_pauses(&ctx, &case.config, &seeded, [224, 224], || {
            pauses.set(pauses.get() + 1);
            async {
                ctx.queue_done().await;
                GiveWayOnce(false).await
            }
        })
        .await
        .unwrap();
        let blocks: u32 = case.config.depths.iter().sum();
        assert_eq!(pauses.get(), blocks as usize + case.config.levels());
        let direct = InternImage::new(&ctx, &case.config, &seeded, [224, 224]).unwrap();
        assert_eq!(paused.run(&ctx, &case.image).await.unwrap(), direct.run(&ctx, &case.image).await.unwrap());
    }
}

/// A pause that gives way once, as a browser's timer does: pending when first polled, then ready.
struct GiveWayOnce(bool);

impl Future for GiveWayOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        context.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

dual_test! {
    /// The kernels and layouts the ops choose on a GPU (DCNv3 gathering with its channels split,
    /// the GPU linear tile, LayerNorm in teams), forced on this CPU adapter: in the browser this
    /// runs them through Chromium's WebGPU, where a person with a GPU meets them.
    async fn internimage_t_matches_pytorch_with_the_kernels_chosen_for_a_gpu() {
        let mut ctx = context().await;
        ctx.adapter.kernels = KernelTarget::Gpu;
        let dispatches = check_against_pytorch(&ctx, &model_case("t"), "InternImage-T, GPU kernels").await;
        // Each block's two LayerNorms are folded into the linears after them; DCNv3 gathers.
        assert_eq!(dispatches, 232, "the GPU's choices were taken");
    }
}

dual_test! {
    /// InternImage-T itself: 30M seeded parameters, checked against PyTorch and timed.
    async fn internimage_t_matches_pytorch_logits_and_levels() {
        let ctx = context().await;
        let started = web_time::Instant::now();
        let dispatches = check_against_pytorch(&ctx, &model_case("t"), "InternImage-T").await;
        // As on a GPU: where DCNv3 reads its input as planes (CPU adapters), the depthwise
        // branch before it lays them out in its own dispatch.
        assert_eq!(dispatches, 232);
        common::log(&format!("InternImage-T: build + first pass + readbacks {:.0} ms", common::ms_since(started)));
    }
}
