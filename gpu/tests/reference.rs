//! GPU-free checks: the CPU reference of every op against PyTorch fixtures. These also run in
//! headless Firefox, which has no WebGPU here.

mod common;

use common::dcnv3_cases;
use gpu::check::Comparison;
use gpu::ops::dcnv3::reference;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// f64 reference against float64 PyTorch, both rounded to f32 at the end.
const REFERENCE_TOLERANCE: f64 = 1e-6;

dual_test! {
    async fn dcnv3_reference_matches_pytorch_grid_sample() {
        for case in dcnv3_cases() {
            let (output, sampling) =
                reference::dcnv3(&case.shape, &case.input, &case.offsets, &case.mask_logits);
            let out = Comparison::new(&output, &case.expected_output);
            out.assert_within(REFERENCE_TOLERANCE, &format!("{} output", case.name));
            Comparison::new(&sampling, &case.expected_sampling)
                .assert_within(REFERENCE_TOLERANCE, &format!("{} sampling", case.name));
        }
    }

    async fn fixtures_cover_the_required_cases() {
        let cases = dcnv3_cases();
        let groups: Vec<u32> = cases.iter().map(|c| c.shape.groups).collect();
        for g in [4, 8, 16, 32] {
            assert!(groups.contains(&g), "no fixture with G = {g}");
        }
        assert!(cases.iter().any(|c| c.shape.height == 1 && c.shape.width == 1));
        assert!(cases.iter().any(|c| c.shape.offset_scale != 1.0));
        // Some point must leave the map (beyond the zero border) on each side.
        let any_point = |pick: &dyn Fn(&common::Dcnv3Case, &[f32]) -> bool| {
            cases.iter().any(|c| c.expected_sampling.chunks(3).any(|r| pick(c, r)))
        };
        assert!(any_point(&|_, r| r[0] < -1.0), "none leaves on the left");
        assert!(any_point(&|_, r| r[1] < -1.0), "none leaves at the top");
        assert!(any_point(&|c, r| r[0] > c.shape.width as f32), "none leaves on the right");
        assert!(any_point(&|c, r| r[1] > c.shape.height as f32), "none leaves at the bottom");
    }
}
