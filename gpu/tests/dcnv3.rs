//! The DCNv3 kernel on the GPU against PyTorch fixtures and the CPU reference.

mod common;

use common::context;
use common::{dcnv3_cases, dcnv3_inputs};
use gpu::check::Comparison;
use gpu::ops::dcnv3::{self, Dcnv3Read, Dcnv3Shape, reference};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// f32 kernel against float64 references: the bound.
const KERNEL_TOLERANCE: f64 = 1e-5;

dual_test! {
    async fn dcnv3_kernel_matches_pytorch_fixtures() {
        let ctx = context().await;
        for read in Dcnv3Read::all_for(&ctx.adapter) {
            for case in dcnv3_cases() {
                let result = dcnv3::run_once(
                    &ctx, read, &case.shape, &case.input, &case.offsets, &case.mask_logits, true,
                )
                .await
                .expect("kernel runs");
                let out = Comparison::new(&result.output, &case.expected_output);
                out.assert_within(KERNEL_TOLERANCE, &format!("{read:?}: {} output", case.name));
                // Packed on the GPU: within the packing's rounding.
                common::assert_sampling_close(
                    &result.sampling.unwrap(),
                    &case.expected_sampling,
                    dcnv3::SAMPLING_LOCATION_ERROR,
                    dcnv3::SAMPLING_WEIGHT_ERROR + 1e-6,
                    &format!("{read:?}: {} sampling", case.name),
                );
            }
        }
    }

    async fn dcnv3_kernel_matches_reference_at_internimage_t_levels() {
        let ctx = context().await;
        for read in Dcnv3Read::all_for(&ctx.adapter) {
            for (level, shape) in dcnv3::internimage_t_shapes().iter().enumerate() {
                let (input, offsets, logits) = dcnv3_inputs(shape, 100 + level as u64, 3.0, 3.0);
                let result =
                    dcnv3::run_once(&ctx, read, shape, &input, &offsets, &logits, false)
                        .await
                        .expect("kernel runs");
                assert!(result.sampling.is_none());
                let (expected, _) = reference::dcnv3(shape, &input, &offsets, &logits);
                Comparison::new(&result.output, &expected)
                    .assert_within(KERNEL_TOLERANCE, &format!("{read:?}: level {level} {shape:?}"));
            }
        }
    }

    async fn dcnv3_rejects_mismatched_inputs() {
        let ctx = context().await;
        let shape = Dcnv3Shape { height: 2, width: 3, groups: 4, group_channels: 16, offset_scale: 1.0 };
        let (input, offsets, logits) = dcnv3_inputs(&shape, 1, 1.0, 1.0);
        let read = dcnv3::Dcnv3Read::for_adapter(&ctx.adapter);
        let short = &offsets[..offsets.len() - 1];
        let err = dcnv3::run_once(&ctx, read, &shape, &input, short, &logits, false).await.err();
        assert!(matches!(err, Some(gpu::Error::Shape { .. })), "got {err:?}");
        let odd = Dcnv3Shape { group_channels: 6, ..shape };
        let err = dcnv3::run_once(&ctx, read, &odd, &input, &offsets, &logits, false).await.err();
        assert!(matches!(err, Some(gpu::Error::Unsupported(_))), "got {err:?}");
    }
}
