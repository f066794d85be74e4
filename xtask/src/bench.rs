//! `cargo xtask bench`: kernel timings on the native adapter, beside the work they do.

use std::path::Path;
use std::time::Instant;

use ::bench::{ModelBench, Timer, median};
use gpu::GpuContext;
use gpu::buffers::{storage_from, storage_zeroed};
use gpu::check::Comparison;
use gpu::ops::dcnv3::{self, Dcnv3, Dcnv3Buffers, Dcnv3Dispatches, Dcnv3Read, Dcnv3Shape};
use gpu::ops::linear::Tile;
use gpu::seeded::SeededRng;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Target {
    /// The DCNv3 core at the four InternImage-T level shapes.
    Dcnv3,
    /// The whole InternImage-T forward pass at 224x224, seeded weights.
    Model,
    /// The linear layer alone at InternImage-T's shapes, f32 and int8 weights.
    Linear,
}

pub fn run(
    target: Target,
    runs: usize,
    browser: bool,
    json: &Path,
    repeat: usize,
) -> Result<(), String> {
    pollster::block_on(async {
        let ctx = GpuContext::new().await.map_err(|e| e.to_string())?;
        let a = &ctx.adapter;
        println!(
            "adapter: {} ({:?}, {:?}, {})",
            a.name, a.backend, a.device_type, a.driver
        );
        println!(
            "features: shader-f16 {}, float32-filterable {}, subgroups {}",
            if a.shader_f16 { "yes" } else { "no" },
            if a.float32_filterable { "yes" } else { "no" },
            a.subgroups()
        );
        let timer = Timer::new(&ctx);
        println!(
            "timing: {}",
            if timer.has_timestamps() {
                "GPU timestamp queries"
            } else {
                "wall clock around submit + wait"
            }
        );
        let copy_gbps = copy_bandwidth(&ctx, &timer, runs).await?;
        let overhead = median(
            &mut (0..runs)
                .map(|_| {
                    let started = Instant::now();
                    ctx.queue.submit([]);
                    ctx.wait_idle();
                    started.elapsed().as_secs_f64() * 1e3
                })
                .collect::<Vec<_>>(),
        );
        println!(
            "buffer copy bandwidth: {copy_gbps:.2} GB/s (read + write, 64 MiB); empty submit + wait: {overhead:.3} ms"
        );
        // `bench model` measures it with the model, natively and in the browser, and prints it
        // there.
        let peak = match target {
            Target::Model => None,
            Target::Dcnv3 | Target::Linear => ::bench::arithmetic_peak_gflops(&ctx, &timer)
                .await
                .map_err(|e| e.to_string())?,
        };
        if let Some(peak) = peak {
            println!(
                "arithmetic ceiling: {peak:.1} GFLOP/s (multiply-adds in registers, no loads: bench::peak)"
            );
        }
        match target {
            Target::Dcnv3 => bench_dcnv3(&ctx, &timer, runs, copy_gbps).await,
            Target::Model => bench_model(&ctx, runs, browser, json, repeat).await,
            Target::Linear => bench_linear(&ctx, &timer, runs).await,
        }
    })
}

async fn bench_dcnv3(
    ctx: &GpuContext,
    timer: &Timer,
    runs: usize,
    copy_gbps: f64,
) -> Result<(), String> {
    let read = Dcnv3Read::for_adapter(&ctx.adapter);
    println!(
        "\nDCNv3 reads its input by {}",
        match read {
            Dcnv3Read::Gather { .. } => "gathering each location's 4 corners from a storage buffer",
            Dcnv3Read::Filtered =>
                "one filtered texture sample a location, from planes laid out by a dispatch \
                 of their own: timed with the kernel, and alone in `planes ms`",
        }
    );
    println!(
        "{:<22} {:>10} {:>9} {:>9} {:>9} {:>10} {:>9} {:>10} {:>8} {:>10}",
        "DCNv3 shape",
        "median ms",
        "planes ms",
        "wall ms",
        "MFLOP",
        "GFLOP/s",
        "MB",
        "GB/s",
        "x floor",
        "rel err"
    );
    for (level, shape) in dcnv3::internimage_t_shapes().iter().enumerate() {
        let comparison = dcnv3::check_against_reference(ctx, shape, level as u64 + 1)
            .await
            .map_err(|e| e.to_string())?;
        let dispatches = dcnv3_dispatches(ctx, shape, read)?;
        let (gpu_ms, wall_ms) = timer
            .time_all(ctx, &dispatches.in_order(), runs)
            .await
            .map_err(|e| e.to_string())?;
        let planes_ms = match &dispatches.layout {
            Some(layout) => {
                let (ms, _) = timer
                    .time(ctx, layout, runs)
                    .await
                    .map_err(|e| e.to_string())?;
                format!("{ms:.3}")
            }
            None => "-".to_owned(),
        };
        let flops = shape.flops() as f64;
        let bytes = shape.min_bytes() as f64;
        let floor_ms = bytes / (copy_gbps * 1e9) * 1e3;
        println!(
            "{:<22} {:>10.3} {:>9} {:>9.3} {:>9.2} {:>10.2} {:>9.2} {:>10.2} {:>8.1} {:>10.2e}",
            format!(
                "{}x{}x{} G{}",
                shape.height,
                shape.width,
                shape.channels(),
                shape.groups
            ),
            gpu_ms,
            planes_ms,
            wall_ms,
            flops / 1e6,
            flops / gpu_ms / 1e6,
            bytes / 1e6,
            bytes / gpu_ms / 1e6,
            gpu_ms / floor_ms,
            comparison.relative_error,
        );
    }
    println!(
        "\nMFLOP counts 2 per multiply-add of the bilinear sums; MB is the compulsory traffic \
         (input, offsets, logits read once, output written once); x floor is the time over what \
         that traffic takes at the copy bandwidth: near 1 means memory bound."
    );
    let splits = [1, 2, 4];
    println!("\nGathering with each (pixel, group) shared by 1, 2 or 4 invocations, median ms:");
    for (level, shape) in dcnv3::internimage_t_shapes().iter().enumerate() {
        print!("  level {level}");
        for split in splits {
            let dispatches = dcnv3_dispatches(ctx, shape, Dcnv3Read::Gather { split })?;
            let (ms, _) = timer
                .time_all(ctx, &dispatches.in_order(), runs)
                .await
                .map_err(|e| e.to_string())?;
            print!("  {split}: {ms:>8.3}");
        }
        println!();
    }
    Ok(())
}

/// `[M, N, K]` of InternImage-T's linear layers at 224x224: per level, the MLP's two layers
/// (timed with their GELU and residual epilogues) and the DCNv3 block's C x C projections.
const LINEAR_SHAPES: [[u32; 3]; 12] = [
    [3136, 256, 64],
    [3136, 64, 256],
    [3136, 64, 64],
    [784, 512, 128],
    [784, 128, 512],
    [784, 128, 128],
    [196, 1024, 256],
    [196, 256, 1024],
    [196, 256, 256],
    [49, 2048, 512],
    [49, 512, 2048],
    [49, 512, 512],
];

/// On a GPU, the GPU tile beside neighbours of it (rows per invocation, workgroups, splits of
/// K) and the small tile: what `bench linear` and `bench model` compare there.
fn gpu_tiles() -> Vec<Tile> {
    vec![
        Tile::SMALL,
        Tile::tiled(2, 2, [8, 8], 1),
        Tile::GPU,
        Tile::tiled(2, 2, [8, 4], 8),
        Tile::tiled(1, 2, [8, 4], 8),
        Tile::tiled(2, 2, [8, 8], 4),
        Tile::tiled(1, 2, [8, 2], 16),
        Tile::tiled(4, 2, [8, 4], 4),
    ]
}

/// InternImage-T's pass with each of [`gpu_tiles`] (f32 and int8 weights): the steady pass,
/// wall clock, and the whole pass on the GPU, medians of `runs`.
async fn bench_model_tiles(ctx: &GpuContext, runs: usize) -> Result<serde_json::Value, String> {
    use ::bench::{gpu_pass_ms, time_steady_passes};
    use gpu::model::Quantized;
    use gpu::model::{InternImage, ModelConfig, SeededWeights};
    let config = ModelConfig::internimage_t();
    let weights = SeededWeights::new(&config, 1);
    let quantized = Quantized {
        inner: &weights,
        keep_offset_and_mask: false,
    };
    let image = SeededRng::new(2).uniform_vec(224 * 224 * 3, -2.0, 2.0);
    let timer = Timer::new(ctx);
    println!(
        "\nThe pass by linear tile, medians of {runs} (ms): wall clock (as the steady pass) and GPU"
    );
    println!(
        "  {:<20} {:>9} {:>9} {:>9} {:>9}",
        "tile", "f32 wall", "f32 GPU", "int8 wall", "int8 GPU"
    );
    let mut rows = Vec::new();
    for tile in gpu_tiles() {
        let mut times = Vec::new();
        for source in [&weights as &dyn gpu::model::WeightSource, &quantized] {
            let model = InternImage::with_tile(ctx, &config, source, [224, 224], tile)
                .map_err(|e| e.to_string())?;
            let (wall, _) = time_steady_passes(ctx, &model, &image, runs)
                .await
                .map_err(|e| e.to_string())?;
            let gpu_ms = gpu_pass_ms(ctx, &timer, &model, runs)
                .await
                .map_err(|e| e.to_string())?;
            times.extend([wall, gpu_ms]);
        }
        println!(
            "  {:<20} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            tile.name(),
            times[0],
            times[1],
            times[2],
            times[3]
        );
        rows.push(serde_json::json!({
            "tile": tile.name(), "f32_wall_ms": times[0], "f32_gpu_ms": times[1],
            "int8_wall_ms": times[2], "int8_gpu_ms": times[3],
        }));
    }
    Ok(serde_json::Value::Array(rows))
}

async fn bench_linear(ctx: &GpuContext, timer: &Timer, runs: usize) -> Result<(), String> {
    use gpu::model::quant::quantize_rows;
    use gpu::ops::linear::{self, Epilogue, Linear, LinearBuffers, PackedWeights};
    use half::f16;
    let tiled = |tile: Tile| (format!("tiled {}", tile.name()), Linear::tiled(ctx, tile));
    let tiles = if ctx.adapter.runs_on_cpu() {
        vec![Tile::SMALL, Tile::LARGE]
    } else {
        gpu_tiles()
    };
    let mut kernels: Vec<_> = tiles.into_iter().map(tiled).collect();
    if let Some(tile) = Tile::subgroup(&ctx.adapter) {
        // Its rows fitted to each shape's M.
        kernels.push((format!("subgroup {}", tile.name()), Linear::new(ctx, 0)));
    }
    print!("\n{:<18}", "[M, N, K]");
    for (name, _) in &kernels {
        print!(
            " {:>14} {:>7} {:>9} {:>7} {:>9} {:>7}",
            format!("{name} f32 ms"),
            "GFLOP/s",
            "f16 ms",
            "GFLOP/s",
            "int8 ms",
            "GFLOP/s"
        );
    }
    println!(" {:>9}", "rel err");
    let mut totals = vec![0.0; 3 * kernels.len()];
    let mut total_flops = 0.0;
    for (index, &[m, n, k]) in LINEAR_SHAPES.iter().enumerate() {
        let (mu, nu, ku) = (m as usize, n as usize, k as usize);
        let mut rng = SeededRng::new(index as u64 + 11);
        let x = rng.uniform_vec(mu * ku, -1.0, 1.0);
        let w = rng.uniform_vec(nu * ku, -0.5, 0.5);
        let b = rng.uniform_vec(nu, -0.5, 0.5);
        let (q, scales) = quantize_rows(&w, nu);
        let dequantized: Vec<f32> = q
            .iter()
            .enumerate()
            .map(|(i, &v)| f32::from(v) * scales[i / ku])
            .collect();
        let want_f32 = linear::reference::linear(&x, &w, &b, ku, Epilogue::Store, None);
        let want_int8 = linear::reference::linear(&x, &dequantized, &b, ku, Epilogue::Store, None);
        let halves: Vec<f16> = w.iter().map(|&v| f16::from_f32(v)).collect();
        let widened: Vec<f32> = halves.iter().map(|h| h.to_f32()).collect();
        let want_f16 = linear::reference::linear(&x, &widened, &b, ku, Epilogue::Store, None);
        let packed_halves = linear::pack_weight(&halves, nu, ku);
        let input = storage_from(ctx, "x", &x);
        let bias = storage_from(ctx, "bias", &linear::pack_bias(&b));
        let output = storage_zeroed(ctx, "y", mu * nu);
        let packed = linear::pack_weight(&w, nu, ku);
        let words = linear::pack_weight_int8(&q, nu, ku);
        let flops = linear::flops([m, n, k]) as f64;
        total_flops += flops;
        print!("{:<18}", format!("[{m}, {n}, {k}]"));
        let mut error = 0f64;
        for (i, (_, kernel)) in kernels.iter().enumerate() {
            let cases = [
                (PackedWeights::F32(&packed), &want_f32),
                (PackedWeights::F16(&packed_halves), &want_f16),
                (
                    PackedWeights::Int8 {
                        words: &words,
                        scales: &scales,
                    },
                    &want_int8,
                ),
            ];
            let epilogue = [Epilogue::Gelu, Epilogue::Accumulate, Epilogue::Store][index % 3];
            for (j, (packed, want)) in cases.into_iter().enumerate() {
                let weights = kernel.upload(ctx, "w", packed, [n, k]);
                let buffers = LinearBuffers {
                    input: &input,
                    weights: &weights,
                    bias: &bias,
                    output: &output,
                    norm: None,
                };
                let bind = |epilogue| kernel.bind(ctx, [m, n, k], epilogue, &buffers);
                let (ms, _) = timer
                    .time(ctx, &bind(epilogue), runs)
                    .await
                    .map_err(|e| e.to_string())?;
                gpu::ops::submit(ctx, &[&bind(Epilogue::Store)]);
                let got = gpu::buffers::read_f32(ctx, &output, mu * nu)
                    .await
                    .map_err(|e| e.to_string())?;
                error = error.max(Comparison::new(&got, want).relative_error);
                totals[3 * i + j] += ms;
                let width = if j == 0 { 14 } else { 9 };
                print!(" {ms:>width$.3} {:>7.2}", flops / ms / 1e6);
            }
        }
        println!(" {error:>9.2e}");
    }
    print!("{:<18}", "sum");
    for (j, ms) in totals.iter().enumerate() {
        let width = if j % 3 == 0 { 14 } else { 9 };
        print!(" {ms:>width$.3} {:>7.2}", total_flops / ms / 1e6);
    }
    println!(
        "\n\nrel err: the largest ||out-ref|| / ||ref|| over the kernels, against the f64 CPU \
         reference (f16: with the widened weights; int8: the dequantized ones), of y = x W^T + b."
    );
    Ok(())
}

/// `repeat` measurements of the whole model, natively and (`browser`) in Chromium: the first
/// printed in full, then the spread of the goals' figures over all of them.
async fn bench_model(
    ctx: &GpuContext,
    runs: usize,
    browser: bool,
    json: &Path,
    repeat: usize,
) -> Result<(), String> {
    let mut natives = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let bench = ::bench::bench_internimage_t(ctx, runs)
            .await
            .map_err(|e| e.to_string())?;
        if natives.is_empty() {
            println!(
                "\nInternImage-T at 224x224, batch 1, f32, seeded weights; native ({})",
                ctx.adapter.name
            );
            print_model_bench(&bench, runs);
        }
        natives.push(bench);
    }
    let native = &natives[0];
    let mut browsers = Vec::new();
    if browser {
        for _ in 0..repeat {
            let (adapter, bench) = browser_bench(runs)?;
            if browsers.is_empty() {
                if let Some(adapter) = adapter {
                    println!("\nbrowser adapter: {adapter}");
                }
                println!("\nThe same in headless Chromium (WebGPU)");
                print_model_bench(&bench, runs);
            }
            browsers.push(bench);
        }
    }
    if repeat > 1 {
        print_spread("native", &natives);
        if browser {
            print_spread("Chromium", &browsers);
        }
    }
    let browser = browsers.first();
    let tiles = if ctx.adapter.runs_on_cpu() || !ctx.adapter.timestamp_queries {
        None
    } else {
        bench_model_tiles(ctx, runs.min(20))
            .await
            .inspect_err(|why| println!("the pass by linear tile: not measured ({why})"))
            .ok()
    };
    let pytorch = pytorch_reference(runs);
    println!();
    match &pytorch {
        Ok(reference) => {
            let torch = |key: &str| reference[key].as_f64().unwrap_or(f64::NAN);
            let (torch_ms, torch_fastest_ms) =
                (torch("steady_median_ms"), torch("steady_fastest_ms"));
            println!(
                "PyTorch CPU ({}, {} threads), same network and weights, median of {runs}: {torch_ms:.0} ms (fastest {torch_fastest_ms:.0} ms)",
                reference["framework"].as_str().unwrap_or("?"),
                reference["threads"],
            );
            let ratios = |bench: &ModelBench| {
                format!(
                    "{:.2} (fastest / fastest: {:.2})",
                    bench.steady_median_ms / torch_ms,
                    bench.steady_fastest_ms / torch_fastest_ms
                )
            };
            println!("  native / PyTorch = {}", ratios(native));
            if let Some(browser) = browser {
                println!("  browser / PyTorch = {}", ratios(browser));
            }
        }
        Err(why) => println!("PyTorch CPU reference: not measured ({why})"),
    }
    let a = &ctx.adapter;
    let report = serde_json::json!({
        "commit": git_commit(),
        "model": "InternImage-T 224x224 batch 1 f32 seeded",
        "native": { "adapter": { "name": a.name, "backend": format!("{:?}", a.backend), "type": format!("{:?}", a.device_type), "driver": a.driver },
                    "bench": native, "summary": summary(native),
                    "repeats": natives.iter().map(summary).collect::<Vec<_>>() },
        "browser": browser,
        "browser_summary": browser.map(summary),
        "browser_repeats": browsers.iter().map(summary).collect::<Vec<_>>(),
        "tiles": tiles,
        "pytorch": pytorch.as_ref().ok(),
    });
    if let Some(folder) = json.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    }
    std::fs::write(
        json,
        serde_json::to_string_pretty(&report).expect("serialises") + "\n",
    )
    .map_err(|e| format!("{}: {e}", json.display()))?;
    println!("\nJSON: {}", json.display());
    Ok(())
}

/// What the performance goals are stated in (docs/performance.md): the dispatches, the app's
/// path and its first top-5 against the plain pass (fastest against fastest), and the fastest
/// pass's share of the adapter's arithmetic ceiling.
fn summary(bench: &ModelBench) -> serde_json::Value {
    serde_json::json!({
        "dispatches": bench.dispatches,
        "app_path_over_pass": bench.explore_fastest_ms / bench.steady_fastest_ms,
        "first_top5_over_pass": bench.explore_top5_fastest_ms / bench.steady_fastest_ms,
        "ceiling_share": ceiling_share(bench),
        "steady_fastest_ms": bench.steady_fastest_ms,
        "peak_gflops": bench.peak_gflops,
    })
}

/// The fastest pass's share of the adapter's arithmetic ceiling, where it was measured.
fn ceiling_share(bench: &ModelBench) -> Option<f64> {
    bench
        .peak_gflops
        .map(|peak| bench.gflop / bench.steady_fastest_ms * 1e3 / peak)
}

/// The least, median and most of the goals' figures over repeated measurements.
fn print_spread(adapter: &str, benches: &[ModelBench]) {
    let spread = |value: &dyn Fn(&ModelBench) -> Option<f64>| {
        let mut values: Vec<f64> = benches.iter().filter_map(value).collect();
        if values.is_empty() {
            return "not measured".to_owned();
        }
        let least = values.iter().copied().fold(f64::INFINITY, f64::min);
        let most = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!(
            "{} to {} (median {})",
            ms(least),
            ms(most),
            ms(median(&mut values))
        )
    };
    println!(
        "\nOver {} measurements, {adapter}:\n  the fastest pass: {} ms\n  the ceiling: {} GFLOP/s\n  the share of it: {} %\n  the app's path / the pass: {}",
        benches.len(),
        spread(&|b| Some(b.steady_fastest_ms)),
        spread(&|b| b.peak_gflops),
        spread(&|b| ceiling_share(b).map(|share| share * 100.0)),
        spread(&|b| Some(b.explore_fastest_ms / b.steady_fastest_ms)),
    );
}

/// Milliseconds to three significant digits, whole from 100 up (1778, 24.1, 2.41).
fn ms(value: f64) -> String {
    let decimals = if value < 10.0 {
        2
    } else {
        usize::from(value < 100.0)
    };
    format!("{value:.decimals$}")
}

fn print_model_bench(bench: &ModelBench, runs: usize) {
    if bench.ops.is_empty() {
        println!("  (no timestamp queries: no per-op times)");
    } else {
        let total: f64 = bench.ops.iter().map(|r| r.ms).sum();
        println!(
            "  each dispatch timed alone between timestamps, median of {} runs, summed by op",
            ::bench::PER_OP_RUNS
        );
        println!(
            "  {:<24} {:>6} {:>10} {:>7} {:>9} {:>9} {:>9} {:>8}",
            "op", "count", "ms", "share", "GFLOP", "GFLOP/s", "MB", "GB/s"
        );
        for r in &bench.ops {
            println!(
                "  {:<24} {:>6} {:>10.2} {:>6.1}% {:>9.3} {:>9.2} {:>9.1} {:>8.2}",
                r.label,
                r.count,
                r.ms,
                100.0 * r.ms / total,
                r.gflop,
                r.gflop / r.ms * 1e3,
                r.mb,
                r.mb / r.ms
            );
        }
        let gflop: f64 = bench.ops.iter().map(|r| r.gflop).sum();
        let mb: f64 = bench.ops.iter().map(|r| r.mb).sum();
        println!(
            "  {:<24} {:>6} {total:>10.2} {:>7} {gflop:>9.3} {:>9.2} {mb:>9.1} {:>8.2}",
            "sum",
            bench.dispatches,
            "",
            gflop / total * 1e3,
            mb / total
        );
    }
    if let Some(pass_ms) = bench.gpu_pass_ms {
        println!(
            "  the whole pass on the GPU (one compute pass between timestamps), median: {} ms",
            ms(pass_ms)
        );
    }
    println!(
        "  recording the pass's dispatches on the host (no submit), median: {} ms (done ahead, while the GPU runs the pass before)",
        ms(bench.encode_ms)
    );
    println!("  dispatches per pass: {}", bench.dispatches);
    println!(
        "  FLOPs per pass:      {:.2} G (2 per multiply-add)",
        bench.gflop
    );
    println!(
        "  GPU memory held:     weights {:.1} MB, activations {:.1} MB, readback {:.1} MB (every layer's sampling and the staging buffers, once the app's path ran)",
        bench.weight_bytes as f64 / 1e6,
        bench.activation_bytes as f64 / 1e6,
        bench.readback_bytes as f64 / 1e6
    );
    println!(
        "  build (weights generated, checked, packed, uploaded; pipelines created): {:.0} ms",
        bench.build_ms
    );
    println!(
        "  first forward pass (includes the driver's shader compilation): {:.0} ms",
        bench.first_ms
    );
    println!(
        "  steady forward pass, median of {runs}: {} ms = {:.2} GFLOP/s, fastest {} ms (wall clock, image upload and logits readback included)",
        ms(bench.steady_median_ms),
        bench.gflop / bench.steady_median_ms * 1e3,
        ms(bench.steady_fastest_ms)
    );
    println!(
        "  the app's path (the pass and every DCNv3 layer's sampling read back), median of {}: {} ms, fastest {} ms ({:.2}x the pass, fastest)",
        runs.min(::bench::EXPLORE_RUNS),
        ms(bench.explore_median_ms),
        ms(bench.explore_fastest_ms),
        bench.explore_fastest_ms / bench.steady_fastest_ms
    );
    println!(
        "  within it, to the logits (the first top-5; the sampling still on the GPU): {} ms, fastest {} ms ({:.2}x the pass, fastest)",
        ms(bench.explore_top5_median_ms),
        ms(bench.explore_top5_fastest_ms),
        bench.explore_top5_fastest_ms / bench.steady_fastest_ms
    );
    for compact in &bench.compact {
        println!(
            "  the same with {} linear and 3x3 convolution weights: {} ms, fastest {} ms (weights {:.1} MB)",
            compact.format,
            ms(compact.steady_median_ms),
            ms(compact.steady_fastest_ms),
            compact.weight_bytes as f64 / 1e6
        );
    }
    if let (Some(peak), Some(share)) = (bench.peak_gflops, ceiling_share(bench)) {
        println!(
            "  the adapter's arithmetic ceiling: {peak:.1} GFLOP/s; the fastest pass ran at {:.0} % of it",
            100.0 * share
        );
    }
}

/// Runs bench/tests/browser.rs in headless Chromium and reads back the adapter and the JSON it
/// prints.
fn browser_bench(runs: usize) -> Result<(Option<String>, ModelBench), String> {
    crate::setup::ensure_test_tools()?;
    let output = crate::suites::wasm_tests(
        &["internimage-bench"],
        &["--release", "--test", "browser", "--", "--nocapture"],
    )
    .env("CHROMEDRIVER", crate::suites::CHROMEDRIVER)
    .env("INTERNIMAGE_BENCH_RUNS", runs.to_string())
    .output()
    .map_err(|e| format!("cargo does not start: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let adapter = stdout
        .lines()
        .find_map(|l| l.split_once("ADAPTER "))
        .map(|(_, adapter)| adapter.to_owned());
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(BENCH_PREFIX).map(|(_, json)| json.to_owned()))
        .ok_or_else(|| {
            format!(
                "the browser bench printed no result ({}):\n{}\n{}",
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let bench = serde_json::from_str(&line).map_err(|e| e.to_string())?;
    Ok((adapter, bench))
}

/// What bench/tests/browser.rs prints before its JSON.
const BENCH_PREFIX: &str = "MODEL_BENCH ";

/// tools/bench_pytorch.py's JSON line: PyTorch's CPU forward of the same network and weights.
fn pytorch_reference(runs: usize) -> Result<serde_json::Value, String> {
    let output = std::process::Command::new("python3")
        .args(["bench_pytorch.py", "--runs", &runs.to_string()])
        .current_dir(crate::workspace_root().join("tools"))
        .output()
        .map_err(|e| format!("python3 does not start: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "tools/bench_pytorch.py failed; it needs python3 with torch and numpy: {}",
            stderr.lines().last().unwrap_or_default()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).map_err(|e| e.to_string())
}

/// The commit measured, "-dirty" where the working tree differs from it (a build of changes
/// not yet committed, as when a change is measured against its base).
fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=7"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// A DCNv3 layer's dispatches on seeded inputs, reading as `read`.
fn dcnv3_dispatches(
    ctx: &GpuContext,
    shape: &Dcnv3Shape,
    read: Dcnv3Read,
) -> Result<Dcnv3Dispatches, String> {
    let mut rng = SeededRng::new(7);
    let input = storage_from(ctx, "input", &rng.uniform_vec(shape.input_len(), -1.0, 1.0));
    let offsets = rng.uniform_vec(shape.offset_len(), -3.0, 3.0);
    let mask = rng.uniform_vec(shape.mask_len(), -3.0, 3.0);
    let points = storage_from(ctx, "points", &shape.pack_points(&offsets, &mask));
    let output = storage_zeroed(ctx, "output", shape.input_len());
    let kernel = Dcnv3::reading(ctx, shape.group_channels, read);
    let planes = kernel.planes(ctx, shape).map_err(|e| e.to_string())?;
    let buffers = Dcnv3Buffers {
        input: &input,
        planes: planes.as_ref(),
        points: &points,
        output: &output,
        sampling: None,
    };
    kernel.bind(ctx, shape, &buffers).map_err(|e| e.to_string())
}

/// Achieved GB/s (bytes read plus written) of a 64 MiB buffer-to-buffer copy: the practical
/// memory ceiling of the adapter.
async fn copy_bandwidth(ctx: &GpuContext, timer: &Timer, runs: usize) -> Result<f64, String> {
    const SIZE: usize = 64 << 20;
    let source = storage_zeroed(ctx, "copy source", SIZE / 4);
    let target = storage_zeroed(ctx, "copy target", SIZE / 4);
    // A copy has no compute pass to carry timestamps: time it by the wall clock.
    let wall_timer = timer.wall_clock();
    let (_, wall_ms) = wall_timer
        .time_with(ctx, runs.min(10), |encoder, _| {
            encoder.copy_buffer_to_buffer(&source, 0, &target, 0, SIZE as u64);
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(2.0 * SIZE as f64 / (wall_ms / 1e3) / 1e9)
}
