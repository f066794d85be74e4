//! The InternImage forward pass (spec section 2), built once into a fixed list of dispatches over
//! reused buffers, replayed for every image. Tensors are channels last, batch 1; each buffer's
//! shape is given beside it as `[pixels, channels]` or `[H, W, C]`.

use std::collections::HashMap;
use std::sync::Arc;

use super::config::{BATCH_NORM_EPS, LAYER_NORM_EPS, ModelConfig};
use super::weights::WeightSource;
use crate::buffers::{Readback, StagingPool, read_f32, storage_from, storage_zeroed};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, Work, encode_in_one_pass};
use crate::error::{Error, Result};
use crate::locked;
use crate::ops::conv2d::{self, Conv2d, Conv2dShape};
use crate::ops::dcnv3::{self, Dcnv3, Dcnv3Buffers, Dcnv3Shape, Planes};
use crate::ops::dwconv::{self, DwConv, DwConvBuffers};
use crate::ops::layernorm::LayerNorm;
use crate::ops::linear::{self, Epilogue, Linear, LinearWeights, PackedWeights, Tile};
use crate::ops::pool::MeanPool;
use half::f16;

/// One DCNv3 layer of the network, for reading back where it sampled.
#[derive(Clone, Debug)]
pub struct DcnLayer {
    pub level: usize,
    pub block: usize,
    pub shape: Dcnv3Shape,
    /// Image pixels per feature-map pixel at this level (4, 8, 16, 32 for four levels).
    pub stride: u32,
    plan_index: usize,
    buffers: [wgpu::Buffer; 3], // input, points (offsets and mask logits), output
    /// The input as the kernel samples it, where it reads through planes; shared by the level.
    planes: Option<Planes>,
}

/// The compiled kernels, shared by every layer.
struct Kernels {
    conv: Conv2d,
    norm: LayerNorm,
    dw: DwConv,
    linear: Linear,
    pool: MeanPool,
    dcn: HashMap<u32, Dcnv3>,
}

pub struct InternImage {
    pub config: ModelConfig,
    /// Input height and width.
    pub input_size: [u32; 2],
    plan: Vec<Dispatch>,
    image: wgpu::Buffer,                          // [H, W, 3]
    logits: wgpu::Buffer,                         // [classes]
    level_outputs: Vec<(wgpu::Buffer, [u32; 3])>, // after each level's norm, [h, w, C]
    dcn_layers: Vec<DcnLayer>,
    kernels: Kernels,
    /// What each dispatch of `plan` does.
    work: Vec<Work>,
    memory: Memory,
    /// The plain pass recorded ahead of its image ([`InternImage::run`]).
    prepared: std::sync::Mutex<Option<Prepared>>,
    /// By DCNv3 layer, the dispatch that also writes its sampling and the buffer it writes,
    /// made when the layer is first explored and kept: the app explores every layer of every
    /// image. Runs that overlap may share them: the queue runs each pass and its copies before
    /// the next pass.
    explored: std::sync::Mutex<HashMap<usize, (Dispatch, wgpu::Buffer)>>,
    /// Where the runs' readbacks take their staging buffers from and return them.
    staging: Arc<StagingPool>,
}

/// GPU memory the model holds, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub weights: u64,
    pub activations: u64,
    /// What reading results back holds: the sampling buffers of the layers explored so far
    /// and the staging buffers kept for the next readback.
    pub readback: u64,
}

/// Builds the plan: uploads weights and records one dispatch per op.
struct Builder<'a> {
    ctx: &'a GpuContext,
    source: &'a dyn WeightSource,
    /// The config's expected tensors and their shapes, made once: a lookup per tensor read.
    shapes: HashMap<String, Vec<usize>>,
    kernels: Kernels,
    plan: Vec<Dispatch>,
    work: Vec<Work>,
    weight_bytes: u64,
}

/// The pause of a build that never yields.
fn no_pause() -> std::future::Ready<()> {
    std::future::ready(())
}

/// The result of a build whose pauses are all [`no_pause`]: such a future is ready when first
/// polled, since nothing else in a build waits.
fn without_pauses<T>(build: impl Future<Output = T>) -> T {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(build).poll(&mut context) {
        std::task::Poll::Ready(built) => built,
        std::task::Poll::Pending => unreachable!("a build without pauses waits for nothing"),
    }
}

/// Bytes of `len` f32 values.
fn f32_bytes(len: impl Into<u64>) -> u64 {
    4 * len.into()
}

impl Builder<'_> {
    /// Records a dispatch; `weights` are the bytes of the weight buffers only it reads.
    fn push(&mut self, dispatch: Dispatch, flops: u64, activation_bytes: u64, weights: u64) {
        self.plan.push(dispatch);
        self.work.push(Work {
            flops,
            bytes: activation_bytes + weights,
        });
        self.weight_bytes += weights;
    }

    /// The tensor `name` with its expected shape, checked and uploaded as it is.
    fn upload(&self, name: &str) -> Result<wgpu::Buffer> {
        Ok(storage_from(self.ctx, name, &self.read(name)?))
    }

    fn read(&self, name: &str) -> Result<Vec<f32>> {
        let shape = self.shape_of(name)?;
        self.source.tensor(name, &shape)
    }

    fn shape_of(&self, name: &str) -> Result<Vec<usize>> {
        self.shapes
            .get(name)
            .cloned()
            .ok_or_else(|| Error::Weights(format!("the model has no tensor `{name}`")))
    }

    fn linear(
        &mut self,
        prefix: &str,
        mnk: [u32; 3],
        epilogue: Epilogue,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<()> {
        self.stacked_linear(&[prefix], mnk, epilogue, input, output)
    }

    /// The linears `prefixes` of one input as one: their output columns side by side in order,
    /// then zero columns up to `n`. One dispatch instead of several, and fewer idle lanes where
    /// each alone is narrow (DCNv3's offset and mask layers).
    fn stacked_linear(
        &mut self,
        prefixes: &[&str],
        [m, n, k]: [u32; 3],
        epilogue: Epilogue,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<()> {
        let names: Vec<String> = prefixes.iter().map(|p| format!("{p}.weight")).collect();
        let weights = self.linear_weights(&names, [n, k], None)?;
        let mut bias = Vec::with_capacity(n as usize);
        for prefix in prefixes {
            bias.extend(self.read(&format!("{prefix}.bias"))?);
        }
        bias.resize(n as usize, 0.0);
        let bias = storage_from(self.ctx, prefixes[0], &linear::pack_bias(&bias));
        self.push_linear([m, n, k], epilogue, input, &weights, &bias, output);
        Ok(())
    }

    /// Each of the tensors `names` as `read` gives it, if it gives every one.
    fn all_of<T>(
        &self,
        names: &[String],
        read: impl Fn(&str, &[usize]) -> Result<Option<T>>,
    ) -> Result<Option<Vec<T>>> {
        let mut parts = Vec::with_capacity(names.len());
        for name in names {
            match read(name, &self.shape_of(name)?)? {
                Some(part) => parts.push(part),
                None => return Ok(None),
            }
        }
        Ok(Some(parts))
    }

    /// The `[rows, k]` weights `names` (linears, or 1x1 convolutions), their rows stacked and
    /// padded with zero rows to `n`, uploaded as the linear kernel reads them: int8 with their
    /// scales when the source holds every one so, else f16 likewise, else f32. `row_scale`
    /// multiplies each output row (a folded BatchNorm): into the scales for int8, exactly;
    /// halves so rescaled would be rounded again, so they are widened to f32 first.
    fn linear_weights(
        &self,
        names: &[String],
        [n, k]: [u32; 2],
        row_scale: Option<&[f64]>,
    ) -> Result<LinearWeights> {
        let (linear, nk) = (&self.kernels.linear, [n, k]);
        let (n, k) = (n as usize, k as usize);
        let label = names[0].as_str();
        let quantized = self.all_of(names, |name, shape| self.source.quantized(name, shape))?;
        if let Some(quantized) = quantized {
            let (mut q, mut scales) = (Vec::with_capacity(n * k), Vec::with_capacity(n));
            for (part, part_scales) in quantized {
                q.extend(part);
                scales.extend(part_scales);
            }
            q.resize(n * k, 0);
            scales.resize(n, 1.0);
            if let Some(row_scale) = row_scale {
                for (s, r) in scales.iter_mut().zip(row_scale) {
                    *s = (f64::from(*s) * r) as f32;
                }
            }
            let scales = linear::pack_bias(&scales);
            let words = linear::pack_weight_int8(&q, n, k);
            let packed = PackedWeights::Int8 {
                words: &words,
                scales: &scales,
            };
            return Ok(linear.upload(self.ctx, label, packed, nk));
        }
        if row_scale.is_none()
            && let Some(halves) =
                self.all_of(names, |name, shape| self.source.halves(name, shape))?
        {
            let mut weight = halves.concat();
            weight.resize(n * k, f16::ZERO);
            let packed = linear::pack_weight(&weight, n, k);
            return Ok(linear.upload(self.ctx, label, PackedWeights::F16(&packed), nk));
        }
        let mut weight = Vec::with_capacity(n * k);
        for name in names {
            weight.extend(self.read(name)?);
        }
        weight.resize(n * k, 0.0);
        if let Some(row_scale) = row_scale {
            for (row, r) in weight.chunks_mut(k).zip(row_scale) {
                row.iter_mut().for_each(|v| *v = (f64::from(*v) * r) as f32);
            }
        }
        let packed = linear::pack_weight(&weight, n, k);
        Ok(linear.upload(self.ctx, label, PackedWeights::F32(&packed), nk))
    }

    fn push_linear(
        &mut self,
        mnk: [u32; 3],
        epilogue: Epilogue,
        input: &wgpu::Buffer,
        weights: &LinearWeights,
        bias: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) {
        let dispatch = self
            .kernels
            .linear
            .bind(self.ctx, mnk, epilogue, input, weights, bias, output);
        let [m, n, k] = mnk.map(u64::from);
        let reads_output = matches!(epilogue, Epilogue::Accumulate);
        let activations = f32_bytes(m * k + m * n * (1 + u64::from(reads_output)));
        self.push(
            dispatch,
            linear::flops(mnk),
            activations,
            weights.bytes() + bias.size(),
        );
    }

    fn layer_norm(
        &mut self,
        prefix: &str,
        pixels: u32,
        channels: u32,
        gelu: bool,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<()> {
        let weight = self.upload(&format!("{prefix}.weight"))?;
        let bias = self.upload(&format!("{prefix}.bias"))?;
        let dispatch = self.kernels.norm.bind(
            self.ctx,
            pixels,
            channels,
            LAYER_NORM_EPS,
            gelu,
            [input, &weight, &bias, output],
        );
        // About 8 FLOPs an element: mean, variance, normalise, scale and shift.
        let elements = u64::from(pixels) * u64::from(channels);
        self.push(
            dispatch,
            8 * elements,
            f32_bytes(2 * elements),
            weight.size() + bias.size(),
        );
        Ok(())
    }

    fn conv(
        &mut self,
        prefix: &str,
        shape: Conv2dShape,
        with_bias: bool,
        input: &wgpu::Buffer,
        columns: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<()> {
        let (cout, cin) = (shape.out_channels as usize, shape.in_channels as usize);
        let name = format!("{prefix}.weight");
        let (linear, nk) = (&self.kernels.linear, [shape.out_channels, shape.row_len()]);
        let shape_of_weight = self.shape_of(&name)?;
        let weights = if let Some((q, scales)) = self.source.quantized(&name, &shape_of_weight)? {
            let words = conv2d::pack_weight_int8(&q, cout, cin);
            let packed = PackedWeights::Int8 {
                words: &words,
                scales: &scales,
            };
            linear.upload(self.ctx, prefix, packed, nk)
        } else if let Some(halves) = self.source.halves(&name, &shape_of_weight)? {
            let weight = conv2d::pack_weight(&halves, cout, cin);
            linear.upload(self.ctx, prefix, PackedWeights::F16(&weight), nk)
        } else {
            let weight = conv2d::pack_weight(&self.read(&name)?, cout, cin);
            linear.upload(self.ctx, prefix, PackedWeights::F32(&weight), nk)
        };
        let bias = if with_bias {
            self.upload(&format!("{prefix}.bias"))?
        } else {
            storage_from(self.ctx, "no bias", &vec![0.0; cout])
        };
        let [gather, multiply] = self.kernels.conv.bind(
            self.ctx,
            &self.kernels.linear,
            &shape,
            input,
            &weights,
            &bias,
            columns,
            output,
        )?;
        let columns_bytes = f32_bytes(shape.columns_len() as u64);
        let (input_bytes, output_bytes) = (
            f32_bytes(shape.input_len() as u64),
            f32_bytes(shape.output_len() as u64),
        );
        self.push(gather, 0, input_bytes + columns_bytes, 0);
        let weight_bytes = weights.bytes() + bias.size();
        self.push(
            multiply,
            shape.flops(),
            columns_bytes + output_bytes,
            weight_bytes,
        );
        Ok(())
    }
}

/// Scratch buffers, each sized for the largest level that uses it.
struct Scratch {
    x: wgpu::Buffer,      // residual stream [pixels, C]
    normed: wgpu::Buffer, // norm1 / norm2 output [pixels, C]
    projected: wgpu::Buffer,
    offset_branch: wgpu::Buffer,
    sampled: wgpu::Buffer,
    points: wgpu::Buffer, // DCNv3 offsets and mask logits, [pixels, point_row]
    hidden: wgpu::Buffer, // [pixels, mlp hidden]
    downsampled: wgpu::Buffer,
}

impl InternImage {
    /// Checks every tensor of `source` against `config` and builds the forward pass for
    /// `input_size` = [height, width].
    pub fn new(
        ctx: &GpuContext,
        config: &ModelConfig,
        source: &dyn WeightSource,
        input_size: [u32; 2],
    ) -> Result<Self> {
        let linear = Linear::new(ctx, config.parameter_count());
        without_pauses(Self::build(
            ctx, config, source, input_size, linear, no_pause,
        ))
    }

    /// As [`InternImage::new`], awaiting `pause()` after each block and level: on a page, whose one
    /// thread the build would otherwise hold (InternImage-T's 30 M weights: about a second in
    /// WebAssembly), a pause that yields to the browser lets it paint and take input meanwhile.
    pub async fn new_with_pauses<F: Future<Output = ()>>(
        ctx: &GpuContext,
        config: &ModelConfig,
        source: &dyn WeightSource,
        input_size: [u32; 2],
        pause: impl FnMut() -> F,
    ) -> Result<Self> {
        let linear = Linear::new(ctx, config.parameter_count());
        Self::build(ctx, config, source, input_size, linear, pause).await
    }

    /// As [`InternImage::new`], with the tiled linear kernel's `tile` whatever the adapter:
    /// for the bench, which compares tiles on the whole network.
    pub fn with_tile(
        ctx: &GpuContext,
        config: &ModelConfig,
        source: &dyn WeightSource,
        input_size: [u32; 2],
        tile: Tile,
    ) -> Result<Self> {
        let linear = Linear::tiled(ctx, tile);
        without_pauses(Self::build(
            ctx, config, source, input_size, linear, no_pause,
        ))
    }

    async fn build<F: Future<Output = ()>>(
        ctx: &GpuContext,
        config: &ModelConfig,
        source: &dyn WeightSource,
        input_size: [u32; 2],
        linear: Linear,
        mut pause: impl FnMut() -> F,
    ) -> Result<Self> {
        config.validate()?;
        let kernels = Kernels {
            conv: Conv2d::new(ctx),
            norm: LayerNorm::new(ctx),
            dw: DwConv::new(ctx),
            linear,
            pool: MeanPool::new(ctx),
            dcn: HashMap::new(),
        };
        let mut b = Builder {
            ctx,
            source,
            shapes: config.expected_tensors().into_iter().collect(),
            kernels,
            plan: Vec::new(),
            work: Vec::new(),
            weight_bytes: 0,
        };
        let levels = config.levels();

        // Level sizes: the stem divides by 4, each downsample by 2 (k3, s2, p1: ceil).
        let [h0, w0] = input_size;
        let stem1 = Conv2dShape {
            in_height: h0,
            in_width: w0,
            in_channels: 3,
            out_channels: config.channels / 2,
            stride: 2,
        };
        let stem2 = Conv2dShape {
            in_height: stem1.out_height(),
            in_width: stem1.out_width(),
            in_channels: config.channels / 2,
            out_channels: config.channels,
            stride: 2,
        };
        let mut sizes = vec![[stem2.out_height(), stem2.out_width()]];
        for _ in 1..levels {
            let [h, w] = sizes[sizes.len() - 1];
            sizes.push([h.div_ceil(2), w.div_ceil(2)]);
        }
        let pixels = |l: usize| (sizes[l][0] * sizes[l][1]) as usize;
        let most = |f: &dyn Fn(usize) -> usize| (0..levels).map(f).max().unwrap_or(0);
        let activation_bytes = std::cell::Cell::new(0u64);
        let scratch = |label: &str, len: usize| {
            activation_bytes.set(activation_bytes.get() + f32_bytes(len as u64));
            storage_zeroed(ctx, label, len)
        };
        let residual_len = most(&|l| pixels(l) * config.level_channels(l) as usize);
        let s = Scratch {
            x: scratch("x", residual_len),
            normed: scratch("normed", residual_len),
            projected: scratch("projected", residual_len),
            offset_branch: scratch("offset branch", residual_len),
            sampled: scratch("sampled", residual_len),
            points: scratch(
                "points",
                most(&|l| pixels(l) * dcnv3::point_row(config.groups[l]) as usize),
            ),
            hidden: scratch(
                "hidden",
                most(&|l| pixels(l) * config.mlp_hidden(l) as usize),
            ),
            downsampled: scratch("downsampled", residual_len),
        };

        // Stem: [H, W, 3] -> conv s2 -> LN + GELU -> conv s2 -> LN -> x [H/4 * W/4, C].
        let image = scratch("image", (h0 * w0 * 3) as usize);
        let stem_a = scratch("stem a", stem1.output_len());
        let stem_b = scratch("stem b", stem1.output_len());
        // Level l's downsample to level l + 1: 3x3, stride 2, channels doubled.
        let downsample = |l: usize| Conv2dShape {
            in_height: sizes[l][0],
            in_width: sizes[l][1],
            in_channels: config.level_channels(l),
            out_channels: 2 * config.level_channels(l),
            stride: 2,
        };
        let columns_len = (0..levels.saturating_sub(1))
            .map(|l| downsample(l).columns_len())
            .chain([stem1.columns_len(), stem2.columns_len()])
            .max()
            .unwrap_or(0);
        let columns = scratch("im2col columns", columns_len);
        b.conv("patch_embed.conv1", stem1, true, &image, &columns, &stem_a)?;
        let stem_pixels = stem1.out_height() * stem1.out_width();
        b.layer_norm(
            "patch_embed.norm1.1",
            stem_pixels,
            stem1.out_channels,
            true,
            &stem_a,
            &stem_b,
        )?;
        b.conv("patch_embed.conv2", stem2, true, &stem_b, &columns, &stem_a)?;
        b.layer_norm(
            "patch_embed.norm2.1",
            pixels(0) as u32,
            config.channels,
            false,
            &stem_a,
            &s.x,
        )?;

        let mut level_outputs = Vec::new();
        let mut dcn_layers = Vec::new();
        for level in 0..levels {
            let [h, w] = sizes[level];
            let p = h * w;
            let (c, g, hidden) = (
                config.level_channels(level),
                config.groups[level],
                config.mlp_hidden(level),
            );
            let shape = Dcnv3Shape {
                height: h,
                width: w,
                groups: g,
                group_channels: c / g,
                offset_scale: config.offset_scale,
            };
            let planes = b
                .kernels
                .dcn
                .entry(shape.group_channels)
                .or_insert_with(|| Dcnv3::new(ctx, shape.group_channels))
                .planes(ctx, &shape)?;
            if let Some(planes) = &planes {
                activation_bytes.set(activation_bytes.get() + planes.bytes());
            }
            for block in 0..config.depths[level] as usize {
                let pre = format!("levels.{level}.blocks.{block}");
                // x = x + dcn(norm1(x))
                b.layer_norm(&format!("{pre}.norm1.0"), p, c, false, &s.x, &s.normed)?;
                b.linear(
                    &format!("{pre}.dcn.input_proj"),
                    [p, c, c],
                    Epilogue::Store,
                    &s.normed,
                    &s.projected,
                )?;
                let dw_weight = dwconv::pack_weight(
                    &b.read(&format!("{pre}.dcn.dw_conv.0.weight"))?,
                    c as usize,
                );
                let dw = DwConvBuffers {
                    input: &s.normed,
                    weight: &storage_from(ctx, "dw weight", &dw_weight),
                    bias: &b.upload(&format!("{pre}.dcn.dw_conv.0.bias"))?,
                    ln_weight: &b.upload(&format!("{pre}.dcn.dw_conv.1.1.weight"))?,
                    ln_bias: &b.upload(&format!("{pre}.dcn.dw_conv.1.1.bias"))?,
                    output: &s.offset_branch,
                };
                let dispatch = b.kernels.dw.bind(ctx, h, w, c, LAYER_NORM_EPS, &dw);
                let dw_weights = [dw.weight, dw.bias, dw.ln_weight, dw.ln_bias]
                    .iter()
                    .map(|buffer| buffer.size())
                    .sum();
                // 9 multiply-adds, then the LayerNorm's and GELU's ~16 FLOPs, per element.
                let elements = u64::from(p) * u64::from(c);
                b.push(dispatch, 34 * elements, f32_bytes(2 * elements), dw_weights);
                b.stacked_linear(
                    &[&format!("{pre}.dcn.offset"), &format!("{pre}.dcn.mask")],
                    [p, shape.point_row(), c],
                    Epilogue::Store,
                    &s.offset_branch,
                    &s.points,
                )?;
                let dcn_buffers = [s.projected.clone(), s.points.clone(), s.sampled.clone()];
                let dispatches = b.kernels.dcn[&shape.group_channels].bind(
                    ctx,
                    &shape,
                    &dcn_bindings(&dcn_buffers, planes.as_ref(), None),
                )?;
                if let (Some(layout), Some(planes)) = (dispatches.layout, &planes) {
                    let input_bytes = f32_bytes(shape.input_len() as u64);
                    b.push(layout, 0, input_bytes + planes.bytes(), 0);
                }
                dcn_layers.push(DcnLayer {
                    level,
                    block,
                    shape,
                    stride: 4 << level,
                    plan_index: b.plan.len(),
                    buffers: dcn_buffers,
                    planes: planes.clone(),
                });
                b.push(dispatches.kernel, shape.flops(), shape.min_bytes(), 0);
                b.linear(
                    &format!("{pre}.dcn.output_proj"),
                    [p, c, c],
                    Epilogue::Accumulate,
                    &s.sampled,
                    &s.x,
                )?;
                // x = x + mlp(norm2(x))
                b.layer_norm(&format!("{pre}.norm2.0"), p, c, false, &s.x, &s.normed)?;
                b.linear(
                    &format!("{pre}.mlp.fc1"),
                    [p, hidden, c],
                    Epilogue::Gelu,
                    &s.normed,
                    &s.hidden,
                )?;
                b.linear(
                    &format!("{pre}.mlp.fc2"),
                    [p, c, hidden],
                    Epilogue::Accumulate,
                    &s.hidden,
                    &s.x,
                )?;
                pause().await;
            }
            let out = scratch("level output", (p * c) as usize);
            b.layer_norm(&format!("levels.{level}.norm.0"), p, c, false, &s.x, &out)?;
            if level + 1 < levels {
                b.conv(
                    &format!("levels.{level}.downsample.conv"),
                    downsample(level),
                    false,
                    &out,
                    &columns,
                    &s.downsampled,
                )?;
                let [nh, nw] = sizes[level + 1];
                b.layer_norm(
                    &format!("levels.{level}.downsample.norm.1"),
                    nh * nw,
                    2 * c,
                    false,
                    &s.downsampled,
                    &s.x,
                )?;
            }
            level_outputs.push((out, [h, w, c]));
            pause().await;
        }

        // Head: 1x1 conv with the eval BatchNorm folded in, GELU, average pool, classifier.
        let (last_buffer, [h, w, c]) = &level_outputs[levels - 1];
        let (p, head) = (h * w, config.head_width());
        let (bn_scale, bias) = fold_batch_norm(&b, head as usize)?;
        let head_weights =
            b.linear_weights(&["conv_head.0.weight".into()], [head, *c], Some(&bn_scale))?;
        let head_bias = storage_from(ctx, "conv_head bias", &linear::pack_bias(&bias));
        let head_hidden = scratch("head hidden", (p * head) as usize);
        b.push_linear(
            [p, head, *c],
            Epilogue::Gelu,
            last_buffer,
            &head_weights,
            &head_bias,
            &head_hidden,
        );
        let pooled = scratch("pooled", head as usize);
        let dispatch = b.kernels.pool.bind(ctx, p, head, &head_hidden, &pooled);
        let pooled_elements = u64::from(p) * u64::from(head);
        b.push(
            dispatch,
            pooled_elements,
            f32_bytes(pooled_elements + u64::from(head)),
            0,
        );
        let logits = scratch("logits", config.num_classes as usize);
        b.linear(
            "head",
            [1, config.num_classes, head],
            Epilogue::Store,
            &pooled,
            &logits,
        )?;

        Ok(Self {
            config: config.clone(),
            input_size,
            plan: b.plan,
            image,
            logits,
            level_outputs,
            dcn_layers,
            kernels: b.kernels,
            work: b.work,
            memory: Memory {
                weights: b.weight_bytes,
                activations: activation_bytes.get(),
                readback: 0,
            },
            prepared: std::sync::Mutex::new(None),
            explored: std::sync::Mutex::new(HashMap::new()),
            staging: Arc::default(),
        })
    }

    /// Dispatches per forward pass.
    pub fn dispatch_count(&self) -> usize {
        self.plan.len()
    }

    /// The forward pass's dispatches in order, for per-op timing.
    pub fn dispatches(&self) -> &[Dispatch] {
        &self.plan
    }

    /// FLOPs per forward pass (2 per multiply-add), from the ops' own counts.
    pub fn flops(&self) -> u64 {
        self.work.iter().map(|w| w.flops).sum()
    }

    /// What each dispatch of [`Self::dispatches`] does.
    pub fn work(&self) -> &[Work] {
        &self.work
    }

    /// GPU memory held for weights (as stored: int8 where quantized), activations and
    /// readbacks, now.
    pub fn memory(&self) -> Memory {
        let sampling: u64 = locked(&self.explored)
            .values()
            .map(|(_, buffer)| buffer.size())
            .sum();
        Memory {
            readback: sampling + self.staging.kept_bytes(),
            ..self.memory
        }
    }

    pub fn dcn_layers(&self) -> &[DcnLayer] {
        &self.dcn_layers
    }

    /// Runs the network on a normalised `[H, W, 3]` image and returns the logits.
    ///
    /// The pass is recorded ahead: each run submits the one the previous run recorded, then
    /// records the next while the GPU works, so that recording the dispatches (0.44 ms of the
    /// H200's 4.3 ms a pass) is off the path from image to logits.
    pub async fn run(&self, ctx: &GpuContext, image: &[f32]) -> Result<Vec<f32>> {
        self.upload_image(ctx, image)?;
        let taken = locked(&self.prepared).take();
        let Prepared { commands, readback } =
            taken.unwrap_or_else(|| self.record(ctx, &HashMap::new(), &[]));
        ctx.queue.submit([commands]);
        let next = self.record(ctx, &HashMap::new(), &[]);
        // Where a run that overlapped this one has already filled the slot, ours is dropped.
        locked(&self.prepared).get_or_insert(next);
        let mut parts = readback.f32s(ctx).await?;
        Ok(parts.swap_remove(0))
    }

    /// Runs the network and also returns, for each layer index of [`Self::dcn_layers`] asked
    /// for, its sampling records `[h, w, G, 9, 3]` = (p_x, p_y, m) in feature-map coordinates.
    pub async fn run_with_sampling(
        &self,
        ctx: &GpuContext,
        image: &[f32],
        layers: &[usize],
    ) -> Result<(Vec<f32>, Vec<Vec<f32>>)> {
        let mut substitutes = HashMap::new();
        let mut sampling = Vec::new();
        {
            let mut explored = locked(&self.explored);
            for &index in layers {
                let layer = self.dcn_layers.get(index).ok_or_else(|| {
                    Error::Unsupported(format!(
                        "the model has {} DCNv3 layers, not {}",
                        self.dcn_layers.len(),
                        index + 1
                    ))
                })?;
                let (dispatch, buffer) = match explored.get(&index) {
                    Some(made) => made.clone(),
                    None => {
                        let buffer = storage_zeroed(ctx, "sampling", layer.shape.sampling_len());
                        let kernel = &self.kernels.dcn[&layer.shape.group_channels];
                        // The plan's layout dispatch, if any, still runs before this one.
                        let dispatch = kernel.bind_kernel(
                            ctx,
                            &layer.shape,
                            &dcn_bindings(&layer.buffers, layer.planes.as_ref(), Some(&buffer)),
                        )?;
                        explored.insert(index, (dispatch.clone(), buffer.clone()));
                        (dispatch, buffer)
                    }
                };
                substitutes.insert(layer.plan_index, dispatch);
                sampling.push((buffer, 4 * layer.shape.sampling_len() as u64));
            }
        }
        let sources: Vec<(&wgpu::Buffer, u64)> =
            sampling.iter().map(|(b, size)| (b, *size)).collect();
        self.upload_image(ctx, image)?;
        let Prepared { commands, readback } = self.record(ctx, &substitutes, &sources);
        ctx.queue.submit([commands]);
        let mut parts = readback.f32s(ctx).await?.into_iter();
        let logits = parts.next().expect("the logits come first");
        Ok((logits, parts.collect()))
    }

    /// Runs the network and returns the logits with the sampling of every DCNv3 layer.
    pub async fn run_with_all_sampling(
        &self,
        ctx: &GpuContext,
        image: &[f32],
    ) -> Result<(Vec<f32>, Vec<super::sampling::LayerSampling>)> {
        let every: Vec<usize> = (0..self.dcn_layers.len()).collect();
        let (logits, records) = self.run_with_sampling(ctx, image, &every).await?;
        let layers = self
            .dcn_layers
            .iter()
            .zip(records)
            .map(|(layer, records)| super::sampling::LayerSampling {
                level: layer.level,
                block: layer.block,
                stride: layer.stride,
                height: layer.shape.height,
                width: layer.shape.width,
                groups: layer.shape.groups,
                records,
            })
            .collect();
        Ok((logits, layers))
    }

    /// The output of `level` after the last run, `[h, w, C]` after the level's norm.
    pub async fn level_output(
        &self,
        ctx: &GpuContext,
        level: usize,
    ) -> Result<(Vec<f32>, [u32; 3])> {
        let (buffer, shape) = self
            .level_outputs
            .get(level)
            .ok_or_else(|| Error::Unsupported(format!("no level {level}")))?;
        Ok((
            read_f32(ctx, buffer, shape.iter().product::<u32>() as usize).await?,
            *shape,
        ))
    }

    /// The pass's dispatches in one compute pass, with `substitutes` for some of them and
    /// `writes` at its ends: what a run submits, and what the bench times.
    pub(crate) fn encode_pass(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        substitutes: &HashMap<usize, Dispatch>,
        writes: Option<wgpu::ComputePassTimestampWrites<'_>>,
    ) {
        let dispatches = (self.plan.iter().enumerate())
            .map(|(i, dispatch)| substitutes.get(&i).unwrap_or(dispatch));
        encode_in_one_pass(encoder, "internimage", dispatches, writes);
    }

    /// Checks `image` and queues its upload, which runs before the next submitted work.
    fn upload_image(&self, ctx: &GpuContext, image: &[f32]) -> Result<()> {
        let [h, w] = self.input_size;
        if image.len() != (h * w * 3) as usize {
            return Err(Error::Shape {
                what: "image".into(),
                expected: format!("{h}x{w}x3 = {} values", h * w * 3),
                actual: format!("{} values", image.len()),
            });
        }
        ctx.queue
            .write_buffer(&self.image, 0, bytemuck::cast_slice(image));
        Ok(())
    }

    /// The pass (with `substitutes` for some of its dispatches) and the copies of the logits
    /// and of `also`, recorded into one command buffer.
    fn record(
        &self,
        ctx: &GpuContext,
        substitutes: &HashMap<usize, Dispatch>,
        also: &[(&wgpu::Buffer, u64)],
    ) -> Prepared {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        self.encode_pass(&mut encoder, substitutes, None);
        let logits = (&self.logits, 4 * u64::from(self.config.num_classes));
        let sources: Vec<_> = std::iter::once(logits)
            .chain(also.iter().copied())
            .collect();
        let readback = Readback::record(ctx, &mut encoder, &sources, Some(&self.staging));
        Prepared {
            commands: encoder.finish(),
            readback,
        }
    }
}

/// A pass and the copies that bring its results back, recorded and not yet submitted.
struct Prepared {
    commands: wgpu::CommandBuffer,
    readback: Readback,
}

fn dcn_bindings<'a>(
    buffers: &'a [wgpu::Buffer; 3],
    planes: Option<&'a Planes>,
    sampling: Option<&'a wgpu::Buffer>,
) -> Dcnv3Buffers<'a> {
    let [input, points, output] = buffers;
    Dcnv3Buffers {
        input,
        planes,
        points,
        output,
        sampling,
    }
}

/// The head's eval BatchNorm as a per-channel scale of the 1x1 convolution before it and a bias:
/// `s = gamma / sqrt(var + eps)`, `b = beta - mean * s`.
fn fold_batch_norm(b: &Builder<'_>, head: usize) -> Result<(Vec<f64>, Vec<f32>)> {
    let [gamma, beta, mean, var] = ["weight", "bias", "running_mean", "running_var"]
        .map(|s| b.read(&format!("conv_head.1.0.{s}")));
    let (gamma, beta, mean, var) = (gamma?, beta?, mean?, var?);
    let scale: Vec<f64> = (0..head)
        .map(|o| f64::from(gamma[o]) / (f64::from(var[o]) + f64::from(BATCH_NORM_EPS)).sqrt())
        .collect();
    let bias = (0..head)
        .map(|o| (f64::from(beta[o]) - f64::from(mean[o]) * scale[o]) as f32)
        .collect();
    Ok((scale, bias))
}
