//! The browser half of `cargo xtask bench model --browser`: the InternImage-T bench in headless
//! Chromium, printed as one JSON line for xtask to read. Not part of the test suites
//! (`test = false` in Cargo.toml): xtask asks for it by name.

#[cfg(target_arch = "wasm32")]
mod browser {
    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test::wasm_bindgen_test]
    async fn internimage_t_in_the_browser() {
        let runs = option_env!("INTERNIMAGE_BENCH_RUNS")
            .and_then(|r| r.parse().ok())
            .unwrap_or(20);
        let ctx = gpu::GpuContext::new().await.expect("a WebGPU adapter");
        wasm_bindgen_test::console_log!("ADAPTER {:?}", ctx.adapter);
        let bench = bench::bench_internimage_t(&ctx, runs)
            .await
            .expect("the bench runs");
        wasm_bindgen_test::console_log!(
            "MODEL_BENCH {}",
            serde_json::to_string(&bench).expect("serialises")
        );
    }
}
