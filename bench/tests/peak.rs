//! The arithmetic probe computes what its CPU reference says, so its FLOPs are real work:
//! natively and in the browser.

use bench::peak::{self, Peak, PeakShape};
use gpu::GpuContext;
use gpu::buffers::read_f32;
use gpu::check::Comparison;
use gpu::ops::submit;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

async fn probe_computes_its_chains() {
    let ctx = GpuContext::new()
        .await
        .expect("a GPU adapter (llvmpipe or SwiftShader will do)");
    let peak_op = Peak::new(&ctx);
    // Few rounds, so that the chains are still far from their fixed point; 130 invocations leave
    // the last workgroup partly empty.
    for (invocations, iterations) in [(130, 16), (64, 1)] {
        let shape = PeakShape {
            invocations,
            iterations,
        };
        let (dispatch, out) = peak_op.bind(&ctx, shape);
        submit(&ctx, &[&dispatch]);
        let got = read_f32(&ctx, &out, invocations as usize * 4)
            .await
            .expect("read back");
        // 128 rounds of f32 rounding, each a relative 6e-8.
        Comparison::new(&got, &peak::reference(shape)).assert_within(1e-5, "peak");
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn arithmetic_peak_probe_computes_its_chains() {
    pollster::block_on(probe_computes_its_chains());
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen_test::wasm_bindgen_test]
async fn arithmetic_peak_probe_computes_its_chains() {
    probe_computes_its_chains().await;
}
