//! Timing the engine, natively and in the browser: the clock of `cargo xtask bench` and of its
//! browser twin (tests/browser.rs), the report types, and the arithmetic probe ([`peak`]). The
//! engine itself knows nothing of benchmarks.

pub mod peak;

use gpu::GpuContext;
use gpu::Result;
use gpu::buffers::read_bytes;
use gpu::dispatch::{Dispatch, encode_in_one_pass};
use gpu::model::Quantized;
use gpu::model::{Halved, InternImage, ModelConfig, SeededWeights, WeightSource};
use gpu::seeded::SeededRng;
use peak::{Peak, PeakShape};

const WARM_UP_RUNS: usize = 3;
/// Times each dispatch is timed for the per-op table (the median is kept): one sample alone
/// moves a lot on a shared CPU host, where another tenant can take a core
/// (docs/performance.md#reproducing).
pub const PER_OP_RUNS: usize = 5;
/// Runs of the app's path (every layer's sampling read back), fewer than the plain pass's:
/// in the browser on a CPU adapter each is slow.
pub const EXPLORE_RUNS: usize = 10;
/// Runs of the arithmetic probe: each is a second's work at most.
const PEAK_RUNS: usize = 10;

/// Milliseconds from an arbitrary origin (the first call), natively and in the browser.
pub fn now_ms() -> f64 {
    static ORIGIN: std::sync::OnceLock<web_time::Instant> = std::sync::OnceLock::new();
    ORIGIN
        .get_or_init(web_time::Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1e3
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Times work on the queue with timestamp queries where the adapter has them, else by the
/// wall clock from submit to done.
pub struct Timer {
    query: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    period_ns: f64,
}

impl Timer {
    pub fn new(ctx: &GpuContext) -> Self {
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

    /// The same clock without timestamps: for work with no compute pass (a buffer copy).
    pub fn wall_clock(&self) -> Self {
        Self {
            query: None,
            period_ns: self.period_ns,
        }
    }

    pub fn has_timestamps(&self) -> bool {
        self.query.is_some()
    }

    /// Median GPU time and median wall time in ms over `runs` runs of `record`, after warm-up.
    /// In the browser nothing blocks, so the wall time means something only with timestamps
    /// (their readback is what waits for the work).
    pub async fn time_with(
        &self,
        ctx: &GpuContext,
        runs: usize,
        record: impl Fn(&mut wgpu::CommandEncoder, Option<wgpu::ComputePassTimestampWrites<'_>>),
    ) -> Result<(f64, f64)> {
        let (mut gpu, mut wall) = self.samples_with(ctx, runs, record).await?;
        Ok((median(&mut gpu), median(&mut wall)))
    }

    /// GPU times (wall times without timestamps) and wall times in ms of `runs` runs of
    /// `record`, after warm-up.
    async fn samples_with(
        &self,
        ctx: &GpuContext,
        runs: usize,
        record: impl Fn(&mut wgpu::CommandEncoder, Option<wgpu::ComputePassTimestampWrites<'_>>),
    ) -> Result<(Vec<f64>, Vec<f64>)> {
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
            let started = now_ms();
            ctx.queue.submit([encoder.finish()]);
            ctx.wait_idle();
            let gpu_ms = match &self.query {
                Some((_, resolve)) => {
                    let bytes = read_bytes(ctx, resolve, 16).await?;
                    let stamps: Vec<u64> = bytemuck::pod_collect_to_vec(&bytes);
                    Some(stamps[1].saturating_sub(stamps[0]) as f64 * self.period_ns / 1e6)
                }
                None => None,
            };
            let wall_ms = now_ms() - started;
            if run >= WARM_UP_RUNS {
                gpu.push(gpu_ms.unwrap_or(wall_ms));
                wall.push(wall_ms);
            }
        }
        Ok((gpu, wall))
    }

    /// One dispatch in a pass of its own.
    pub async fn time(
        &self,
        ctx: &GpuContext,
        dispatch: &Dispatch,
        runs: usize,
    ) -> Result<(f64, f64)> {
        self.time_all(ctx, &[dispatch], runs).await
    }

    /// Dispatches in order, in one pass of their own.
    pub async fn time_all(
        &self,
        ctx: &GpuContext,
        dispatches: &[&Dispatch],
        runs: usize,
    ) -> Result<(f64, f64)> {
        let (mut gpu, mut wall) = self.samples_all(ctx, dispatches, runs).await?;
        Ok((median(&mut gpu), median(&mut wall)))
    }

    /// Each run's times of [`Timer::time_all`], rather than their medians.
    async fn samples_all(
        &self,
        ctx: &GpuContext,
        dispatches: &[&Dispatch],
        runs: usize,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        let label = dispatches.first().map_or("", |dispatch| dispatch.label);
        self.samples_with(ctx, runs, |encoder, writes| {
            encode_in_one_pass(encoder, label, dispatches.iter().copied(), writes)
        })
        .await
    }
}

/// One kind of op in the forward pass: its dispatches each timed alone, summed, beside the work
/// they do.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct OpTime {
    pub label: String,
    pub count: usize,
    pub ms: f64,
    pub gflop: f64,
    pub mb: f64,
}

/// InternImage-T at 224, batch 1, f32, seeded weights: what the bench reports.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ModelBench {
    pub dispatches: usize,
    pub gflop: f64,
    pub weight_bytes: u64,
    pub activation_bytes: u64,
    /// Sampling and staging buffers held after the app's path ([`gpu::model::internimage::Memory::readback`]).
    #[serde(default)]
    pub readback_bytes: u64,
    /// Weights generated, checked, packed and uploaded; pipelines created.
    pub build_ms: f64,
    /// The first pass, with the driver's shader compilation.
    pub first_ms: f64,
    /// Median of `runs` passes after warm-up, wall clock: upload, dispatches, logits read back.
    pub steady_median_ms: f64,
    /// The fastest of those passes: on a shared machine, the least disturbed.
    pub steady_fastest_ms: f64,
    pub runs: usize,
    /// What the app does for each image: the pass with every DCNv3 layer's sampling read back
    /// too ([`InternImage::run_with_all_sampling`]), median and fastest of up to
    /// [`EXPLORE_RUNS`], wall clock.
    #[serde(default)]
    pub explore_median_ms: f64,
    #[serde(default)]
    pub explore_fastest_ms: f64,
    /// Within the app's path, the time to its logits (the top-5 a person sees first; the
    /// sampling is written on the GPU but not yet read), median and fastest, wall clock.
    #[serde(default)]
    pub explore_top5_median_ms: f64,
    #[serde(default)]
    pub explore_top5_fastest_ms: f64,
    /// Empty when the adapter has no timestamp queries.
    pub ops: Vec<OpTime>,
    /// The whole pass's dispatches in one compute pass between two timestamps, median of
    /// `runs`: the GPU's time without the host's (encoding, submitting, reading back). None
    /// without timestamp queries.
    #[serde(default)]
    pub gpu_pass_ms: Option<f64>,
    /// Recording the pass's dispatches into a command buffer on the host (no submit), median
    /// of `runs`: host time that grows with the dispatch count, which [`InternImage::run`]
    /// spends while the GPU runs the previous pass rather than before submitting its own.
    #[serde(default)]
    pub encode_ms: f64,
    /// The adapter's arithmetic ceiling ([`arithmetic_peak_gflops`]), beside which the ops'
    /// GFLOP/s read as a fraction of what the adapter can do at all.
    #[serde(default)]
    pub peak_gflops: Option<f64>,
    /// The same network with its linear and 3x3 convolution weights in each compact format.
    pub compact: Vec<CompactBench>,
}

/// The pass with the linear and 3x3 convolution weights held compactly on the GPU.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CompactBench {
    /// "int8", as the served models are, or "f16", as an f16 file holds them.
    pub format: String,
    /// The steady pass, median and fastest of `runs`, wall clock.
    pub steady_median_ms: f64,
    pub steady_fastest_ms: f64,
    /// GPU memory its weights hold.
    pub weight_bytes: u64,
}

pub async fn bench_internimage_t(ctx: &GpuContext, runs: usize) -> Result<ModelBench> {
    let config = ModelConfig::internimage_t();
    // The ceiling before the passes and after them, the higher kept: two stretches of the
    // host's time rather than one.
    let timer = Timer::new(ctx);
    let probe = CeilingProbe::new(ctx);
    let peak_before = probe.gflops(ctx, &timer).await?;
    let started = now_ms();
    let weights = SeededWeights::new(&config, 1);
    let model = InternImage::new(ctx, &config, &weights, [224, 224])?;
    let build_ms = now_ms() - started;
    let image = SeededRng::new(2).uniform_vec(224 * 224 * 3, -2.0, 2.0);
    let started = now_ms();
    model.run(ctx, &image).await?;
    let first_ms = now_ms() - started;
    let (steady_median_ms, steady_fastest_ms) =
        time_steady_passes(ctx, &model, &image, runs).await?;
    let (explore_median_ms, explore_fastest_ms) = time_runs(runs.min(EXPLORE_RUNS), async || {
        model.run_with_all_sampling(ctx, &image).await.map(drop)
    })
    .await?;
    let every: Vec<usize> = (0..model.dcn_layers().len()).collect();
    let (explore_top5_median_ms, explore_top5_fastest_ms) =
        time_runs(runs.min(EXPLORE_RUNS), async || {
            model.run_exploring(ctx, &image, &every).await.map(drop)
        })
        .await?;
    let quantized = Quantized {
        inner: &weights,
        keep_offset_and_mask: false,
    };
    let mut compact = Vec::new();
    for (format, source) in [
        ("int8", &quantized as &dyn WeightSource),
        ("f16", &Halved(&weights)),
    ] {
        let model = InternImage::new(ctx, &config, source, [224, 224])?;
        let (steady_median_ms, steady_fastest_ms) =
            time_steady_passes(ctx, &model, &image, runs).await?;
        compact.push(CompactBench {
            format: format.to_owned(),
            steady_median_ms,
            steady_fastest_ms,
            weight_bytes: model.memory().weights,
        });
    }
    let (ops, gpu_pass_ms) = if timer.has_timestamps() {
        let pass_ms = gpu_pass_ms(ctx, &timer, &model, runs).await?;
        (per_op_times(ctx, &timer, &model).await?, Some(pass_ms))
    } else {
        (Vec::new(), None)
    };
    let memory = model.memory();
    let peak_gflops = (probe.gflops(ctx, &timer).await?)
        .map(|after| peak_before.map_or(after, |before| before.max(after)));
    Ok(ModelBench {
        dispatches: model.dispatch_count(),
        gflop: model.flops() as f64 / 1e9,
        weight_bytes: memory.weights,
        activation_bytes: memory.activations,
        readback_bytes: memory.readback,
        build_ms,
        first_ms,
        steady_median_ms,
        steady_fastest_ms,
        runs,
        explore_median_ms,
        explore_fastest_ms,
        explore_top5_median_ms,
        explore_top5_fastest_ms,
        ops,
        gpu_pass_ms,
        encode_ms: encode_ms(ctx, &model, runs),
        peak_gflops,
        compact,
    })
}

/// The peak probe ([`peak`]: multiply-adds in registers, no loads), compiled and bound once
/// to be timed as often as wanted.
pub struct CeilingProbe {
    dispatch: Dispatch,
    shape: PeakShape,
    _output: wgpu::Buffer,
}

impl CeilingProbe {
    pub fn new(ctx: &GpuContext) -> Self {
        let shape = PeakShape::for_adapter(ctx);
        let (dispatch, output) = Peak::new(ctx).bind(ctx, shape);
        Self {
            dispatch,
            shape,
            _output: output,
        }
    }

    /// Its GFLOP/s, the fastest of `PEAK_RUNS`: the most any kernel can reach on this adapter
    /// as its compiler builds WGSL. The fastest, as the pass's share of it is taken from the
    /// pass's fastest: on a shared host a neighbour's load slows a stretch of runs, and a
    /// median of such a stretch read as a lower ceiling. Without timestamps, natively the wall
    /// clock around submit and wait; in a browser, where nothing waits, None.
    pub async fn gflops(&self, ctx: &GpuContext, timer: &Timer) -> Result<Option<f64>> {
        if cfg!(target_arch = "wasm32") && !timer.has_timestamps() {
            return Ok(None);
        }
        let (gpu, _) = timer.samples_all(ctx, &[&self.dispatch], PEAK_RUNS).await?;
        let fastest = gpu.into_iter().fold(f64::INFINITY, f64::min);
        Ok(Some(self.shape.flops() as f64 / fastest / 1e6))
    }
}

/// The adapter's arithmetic ceiling, measured once ([`CeilingProbe::gflops`]).
pub async fn arithmetic_peak_gflops(ctx: &GpuContext, timer: &Timer) -> Result<Option<f64>> {
    CeilingProbe::new(ctx).gflops(ctx, timer).await
}

/// The median GPU time of `model`'s dispatches in one compute pass between two timestamps
/// (`timer` must have them): the pass without the host's part.
pub async fn gpu_pass_ms(
    ctx: &GpuContext,
    timer: &Timer,
    model: &InternImage,
    runs: usize,
) -> Result<f64> {
    let (pass_ms, _) = timer
        .time_with(ctx, runs, |encoder, writes| {
            model.encode_timed_pass(encoder, writes)
        })
        .await?;
    Ok(pass_ms)
}

/// The median host time to record `model`'s dispatches in a compute pass and finish the
/// command buffer, which is then dropped unsubmitted.
fn encode_ms(ctx: &GpuContext, model: &InternImage, runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = now_ms();
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            model.encode_timed_pass(&mut encoder, None);
            drop(encoder.finish());
            now_ms() - started
        })
        .collect();
    median(&mut times)
}

/// Median and fastest of `runs` whole passes after [`WARM_UP_RUNS`], wall clock.
pub async fn time_steady_passes(
    ctx: &GpuContext,
    model: &InternImage,
    image: &[f32],
    runs: usize,
) -> Result<(f64, f64)> {
    time_runs(runs, async || model.run(ctx, image).await.map(drop)).await
}

/// Median and fastest of `runs` runs of `run` after [`WARM_UP_RUNS`], wall clock.
async fn time_runs(runs: usize, run: impl AsyncFn() -> Result<()>) -> Result<(f64, f64)> {
    for _ in 0..WARM_UP_RUNS {
        run().await?;
    }
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = now_ms();
        run().await?;
        times.push(now_ms() - started);
    }
    let fastest = times.iter().copied().fold(f64::INFINITY, f64::min);
    Ok((median(&mut times), fastest))
}

async fn per_op_times(ctx: &GpuContext, timer: &Timer, model: &InternImage) -> Result<Vec<OpTime>> {
    let mut rows: Vec<OpTime> = Vec::new();
    for dispatch in model.dispatches() {
        let work = dispatch.work;
        let (ms, _) = timer.time(ctx, dispatch, PER_OP_RUNS).await?;
        let index = match rows.iter().position(|r| r.label == dispatch.label) {
            Some(index) => index,
            None => {
                rows.push(OpTime {
                    label: dispatch.label.to_owned(),
                    count: 0,
                    ms: 0.0,
                    gflop: 0.0,
                    mb: 0.0,
                });
                rows.len() - 1
            }
        };
        let row = &mut rows[index];
        row.count += 1;
        row.ms += ms;
        row.gflop += work.flops as f64 / 1e9;
        row.mb += work.bytes as f64 / 1e6;
    }
    rows.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    Ok(rows)
}
