//! `cargo xtask bench`: kernel timings on the native adapter, beside the work they do.

use std::time::Instant;

use gpu::GpuContext;
use gpu::buffers::{read_bytes, storage_from, storage_zeroed};
use gpu::dispatch::Dispatch;
use gpu::model::{InternImage, ModelConfig, SeededWeights};
use gpu::ops::dcnv3::{self, Dcnv3, Dcnv3Buffers, Dcnv3Shape};
use gpu::seeded::SeededRng;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Target {
    /// The DCNv3 core at the four InternImage-T level shapes.
    Dcnv3,
    /// The whole InternImage-T forward pass at 224x224, seeded weights.
    Model,
}

const WARM_UP_RUNS: usize = 3;

pub fn run(target: Target, runs: usize) -> Result<(), String> {
    pollster::block_on(async {
        let ctx = GpuContext::new().await.map_err(|e| e.to_string())?;
        let a = &ctx.adapter;
        println!(
            "adapter: {} ({}, {}, {})",
            a.name, a.backend, a.device_type, a.driver
        );
        let timer = Timer::new(&ctx);
        println!(
            "timing: {}",
            if timer.query.is_some() {
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
        match target {
            Target::Dcnv3 => bench_dcnv3(&ctx, &timer, runs, copy_gbps).await,
            Target::Model => bench_model(&ctx, &timer, runs).await,
        }
    })
}

async fn bench_dcnv3(
    ctx: &GpuContext,
    timer: &Timer,
    runs: usize,
    copy_gbps: f64,
) -> Result<(), String> {
    println!(
        "\n{:<22} {:>10} {:>9} {:>9} {:>10} {:>9} {:>10} {:>8} {:>10}",
        "DCNv3 shape",
        "median ms",
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
        let dispatch = dcnv3_dispatch(ctx, shape)?;
        let (gpu_ms, wall_ms) = timer.time(ctx, &dispatch, runs).await?;
        let flops = shape.flops() as f64;
        let bytes = shape.min_bytes() as f64;
        let floor_ms = bytes / (copy_gbps * 1e9) * 1e3;
        println!(
            "{:<22} {:>10.3} {:>9.3} {:>9.2} {:>10.2} {:>9.2} {:>10.2} {:>8.1} {:>10.2e}",
            format!(
                "{}x{}x{} G{}",
                shape.height,
                shape.width,
                shape.channels(),
                shape.groups
            ),
            gpu_ms,
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
    Ok(())
}

/// Each dispatch timed alone (timestamps around a pass of one dispatch), summed by kind.
async fn per_op_times(ctx: &GpuContext, timer: &Timer, model: &InternImage) -> Result<(), String> {
    let mut by_label: Vec<(&str, f64, usize)> = Vec::new();
    for dispatch in model.dispatches() {
        let (ms, _) = timer.time(ctx, dispatch, 1).await?;
        match by_label.iter_mut().find(|(l, _, _)| *l == dispatch.label) {
            Some(entry) => {
                entry.1 += ms;
                entry.2 += 1;
            }
            None => by_label.push((dispatch.label, ms, 1)),
        }
    }
    by_label.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = by_label.iter().map(|e| e.1).sum();
    println!(
        "\n  {:<24} {:>6} {:>10} {:>7}",
        "op (each timed alone)", "count", "ms", "share"
    );
    for (label, ms, count) in &by_label {
        println!(
            "  {label:<24} {count:>6} {ms:>10.1} {:>6.1}%",
            100.0 * ms / total
        );
    }
    println!(
        "  {:<24} {:>6} {total:>10.1}",
        "sum",
        model.dispatch_count()
    );
    Ok(())
}

async fn bench_model(ctx: &GpuContext, timer: &Timer, runs: usize) -> Result<(), String> {
    let config = ModelConfig::internimage_t();
    let started = Instant::now();
    let weights = SeededWeights::new(&config, 1);
    let model = InternImage::new(ctx, &config, &weights, [224, 224]).map_err(|e| e.to_string())?;
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let image = SeededRng::new(2).uniform_vec(224 * 224 * 3, -2.0, 2.0);
    let started = Instant::now();
    model.run(ctx, &image).await.map_err(|e| e.to_string())?;
    let first_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        model.run(ctx, &image).await.map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let steady = median(&mut times);
    if let Some(timer) = timer.query.as_ref().map(|_| timer) {
        per_op_times(ctx, timer, &model).await?;
    }
    println!("\nInternImage-T at 224x224, batch 1, f32, seeded weights");
    println!("  dispatches per pass: {}", model.dispatch_count());
    println!(
        "  FLOPs per pass:      {:.2} G (2 per multiply-add)",
        model.flops() as f64 / 1e9
    );
    println!(
        "  build (weights generated, checked, packed, uploaded; pipelines created): {build_ms:.0} ms"
    );
    println!("  first forward pass (includes the driver's shader compilation): {first_ms:.0} ms");
    println!(
        "  steady forward pass, median of {runs}: {steady:.0} ms = {:.2} GFLOP/s (wall clock, image upload and logits readback included)",
        model.flops() as f64 / steady / 1e6
    );
    Ok(())
}

fn dcnv3_dispatch(ctx: &GpuContext, shape: &Dcnv3Shape) -> Result<Dispatch, String> {
    let mut rng = SeededRng::new(7);
    let input = storage_from(ctx, "input", &rng.uniform_vec(shape.input_len(), -1.0, 1.0));
    let offsets = storage_from(
        ctx,
        "offsets",
        &rng.uniform_vec(shape.offset_len(), -3.0, 3.0),
    );
    let mask = storage_from(ctx, "mask", &rng.uniform_vec(shape.mask_len(), -3.0, 3.0));
    let output = storage_zeroed(ctx, "output", shape.input_len());
    let buffers = Dcnv3Buffers {
        input: &input,
        offsets: &offsets,
        mask_logits: &mask,
        output: &output,
        sampling: None,
    };
    Dcnv3::new(ctx, shape.group_channels)
        .bind(ctx, shape, &buffers)
        .map_err(|e| e.to_string())
}

/// Times work on the queue with timestamp queries where the adapter has them.
struct Timer {
    query: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    period_ns: f64,
}

impl Timer {
    fn new(ctx: &GpuContext) -> Self {
        let query = ctx.adapter.timestamp_queries.then(|| {
            let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("bench"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            (set, resolve)
        });
        Self {
            query,
            period_ns: f64::from(ctx.queue.get_timestamp_period()),
        }
    }

    /// Median GPU time and median wall time (submit to idle) in ms over `runs` runs of `record`.
    async fn time_with(
        &self,
        ctx: &GpuContext,
        runs: usize,
        record: impl Fn(&mut wgpu::CommandEncoder, Option<wgpu::ComputePassTimestampWrites<'_>>),
    ) -> Result<(f64, f64), String> {
        let (mut gpu, mut wall) = (Vec::new(), Vec::new());
        for run in 0..WARM_UP_RUNS + runs {
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            let writes = self
                .query
                .as_ref()
                .map(|(set, _)| wgpu::ComputePassTimestampWrites {
                    query_set: set,
                    beginning_of_pass_write_index: Some(0),
                    end_of_pass_write_index: Some(1),
                });
            record(&mut encoder, writes);
            if let Some((set, resolve)) = &self.query {
                encoder.resolve_query_set(set, 0..2, resolve, 0);
            }
            let started = Instant::now();
            ctx.queue.submit([encoder.finish()]);
            ctx.wait_idle();
            let wall_ms = started.elapsed().as_secs_f64() * 1e3;
            let gpu_ms = match &self.query {
                Some((_, resolve)) => {
                    let bytes = read_bytes(ctx, resolve, 16)
                        .await
                        .map_err(|e| e.to_string())?;
                    let stamps: Vec<u64> = bytemuck::pod_collect_to_vec(&bytes);
                    stamps[1].saturating_sub(stamps[0]) as f64 * self.period_ns / 1e6
                }
                None => wall_ms,
            };
            if run >= WARM_UP_RUNS {
                gpu.push(gpu_ms);
                wall.push(wall_ms);
            }
        }
        Ok((median(&mut gpu), median(&mut wall)))
    }

    async fn time(
        &self,
        ctx: &GpuContext,
        dispatch: &Dispatch,
        runs: usize,
    ) -> Result<(f64, f64), String> {
        self.time_with(ctx, runs, |encoder, writes| {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(dispatch.label),
                timestamp_writes: writes,
            });
            dispatch.encode(&mut pass);
        })
        .await
    }
}

/// Achieved GB/s (bytes read plus written) of a 64 MiB buffer-to-buffer copy: the practical
/// memory ceiling of the adapter.
async fn copy_bandwidth(ctx: &GpuContext, timer: &Timer, runs: usize) -> Result<f64, String> {
    const SIZE: usize = 64 << 20;
    let source = storage_zeroed(ctx, "copy source", SIZE / 4);
    let target = storage_zeroed(ctx, "copy target", SIZE / 4);
    // A copy has no compute pass to carry timestamps: time it by the wall clock.
    let wall_timer = Timer {
        query: None,
        period_ns: timer.period_ns,
    };
    let (_, wall_ms) = wall_timer
        .time_with(ctx, runs.min(10), |encoder, _| {
            encoder.copy_buffer_to_buffer(&source, 0, &target, 0, SIZE as u64);
        })
        .await?;
    Ok(2.0 * SIZE as f64 / (wall_ms / 1e3) / 1e9)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
