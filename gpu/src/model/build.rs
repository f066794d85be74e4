//! Building the forward pass (spec section 2) into a fixed list of dispatches: the stem, then
//! each level's blocks, its norm and downsample, then the head, in the order the network runs.
//! Each op's bind counts its own work; the builder uploads weights, one path for f32, f16 and
//! int8, and holds the buffers between ops.

use std::collections::HashMap;

use half::f16;

use super::config::{BATCH_NORM_EPS, LAYER_NORM_EPS, ModelConfig};
use super::weights::WeightSource;
use crate::buffers::{storage_from, storage_zeroed};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, f32_bytes};
use crate::error::{Error, Result};
use crate::ops::conv2d::{self, Conv2d, Conv2dShape};
use crate::ops::dcnv3::{self, Dcnv3, Dcnv3Buffers, Dcnv3Shape, Planes};
use crate::ops::dwconv::{self, DcnPlanes, DwConv, DwConvBuffers, InputNorm};
use crate::ops::layernorm::LayerNorm;
use crate::ops::linear::{
    self, Epilogue, Linear, LinearBuffers, LinearWeights, NormFold, PackedWeights,
};
use crate::ops::pool::MeanPool;

/// The compiled kernels, shared by every layer.
pub(super) struct Kernels {
    pub conv: Conv2d,
    pub norm: LayerNorm,
    pub dw: DwConv,
    pub linear: Linear,
    pub pool: MeanPool,
    pub dcn: HashMap<u32, Dcnv3>,
}

/// One DCNv3 layer as built: where it sits in the plan and what it reads and writes.
pub(super) struct BuiltDcn {
    pub level: usize,
    pub block: usize,
    pub shape: Dcnv3Shape,
    pub plan_index: usize,
    /// Input, points (offsets and mask logits), output.
    pub buffers: [wgpu::Buffer; 3],
    pub planes: Option<Planes>,
}

/// Everything a build makes.
pub(super) struct Built {
    pub plan: Vec<Dispatch>,
    pub image: wgpu::Buffer,
    pub logits: wgpu::Buffer,
    /// After each level's norm, `[h, w, C]`.
    pub level_outputs: Vec<(wgpu::Buffer, [u32; 3])>,
    pub dcn_layers: Vec<BuiltDcn>,
    pub kernels: Kernels,
    pub weight_bytes: u64,
    pub activation_bytes: u64,
}

/// The feature map sizes: the stem divides by 4, each downsample by 2 (k3, s2, p1: ceil).
struct Sizes {
    stem: [Conv2dShape; 2],
    /// `[h, w]` of each level.
    levels: Vec<[u32; 2]>,
}

impl Sizes {
    fn new(config: &ModelConfig, [h0, w0]: [u32; 2]) -> Self {
        let first = Conv2dShape {
            in_height: h0,
            in_width: w0,
            in_channels: 3,
            out_channels: config.channels / 2,
            stride: 2,
        };
        let second = Conv2dShape {
            in_height: first.out_height(),
            in_width: first.out_width(),
            in_channels: config.channels / 2,
            out_channels: config.channels,
            stride: 2,
        };
        let mut levels = vec![[second.out_height(), second.out_width()]];
        for _ in 1..config.levels() {
            let [h, w] = levels[levels.len() - 1];
            levels.push([h.div_ceil(2), w.div_ceil(2)]);
        }
        Self {
            stem: [first, second],
            levels,
        }
    }

    fn pixels(&self, level: usize) -> u32 {
        self.levels[level][0] * self.levels[level][1]
    }

    /// Level `level`'s downsample to the next: 3x3, stride 2, channels doubled.
    fn downsample(&self, config: &ModelConfig, level: usize) -> Conv2dShape {
        let [h, w] = self.levels[level];
        Conv2dShape {
            in_height: h,
            in_width: w,
            in_channels: config.level_channels(level),
            out_channels: 2 * config.level_channels(level),
            stride: 2,
        }
    }
}

/// Buffers reused by every level, each sized for the largest level that uses it.
struct Scratch {
    x: wgpu::Buffer,      // residual stream [pixels, C]
    normed: wgpu::Buffer, // norm1 / norm2 output [pixels, C], where no linear folds them
    stats: wgpu::Buffer,  // norm1's mean and 1 / std per pixel, for the depthwise branch
    projected: wgpu::Buffer,
    offset_branch: wgpu::Buffer,
    sampled: wgpu::Buffer,
    points: wgpu::Buffer, // DCNv3 offsets and mask logits, [pixels, point_row]
    hidden: wgpu::Buffer, // [pixels, mlp hidden]
    downsampled: wgpu::Buffer,
    columns: wgpu::Buffer, // im2col of the stem's and downsamples' convolutions
}

/// How a weight tensor is laid out for the linear kernel.
enum Packing {
    /// `[rows, k]` linears (or 1x1 convolutions), stacked and padded with zero rows to `n`.
    Rows { n: u32, k: u32 },
    /// A `[cout, cin, 3, 3]` convolution, as im2col's columns read it.
    Conv { out_channels: u32, in_channels: u32 },
}

impl Packing {
    fn nk(&self) -> [u32; 2] {
        match *self {
            Self::Rows { n, k } => [n, k],
            Self::Conv {
                out_channels,
                in_channels,
            } => [out_channels, conv2d::row_len(in_channels as usize) as u32],
        }
    }

    /// `values`, `[n, k]` as read, packed for the kernel; `zero` pads.
    fn pack<T: Copy + Default>(&self, mut values: Vec<T>) -> Vec<T> {
        match *self {
            Self::Rows { n, k } => {
                values.resize((n * k) as usize, T::default());
                linear::pack_weight(&values, n as usize, k as usize)
            }
            Self::Conv {
                out_channels,
                in_channels,
            } => conv2d::pack_weight(&values, out_channels as usize, in_channels as usize),
        }
    }

    fn pack_int8(&self, mut q: Vec<i8>) -> Vec<u32> {
        match *self {
            Self::Rows { n, k } => {
                q.resize((n * k) as usize, 0);
                linear::pack_weight_int8(&q, n as usize, k as usize)
            }
            Self::Conv {
                out_channels,
                in_channels,
            } => conv2d::pack_weight_int8(&q, out_channels as usize, in_channels as usize),
        }
    }
}

/// Builds the plan: uploads weights and records one dispatch per op, in the order they run.
pub(super) struct Builder<'a> {
    ctx: &'a GpuContext,
    config: &'a ModelConfig,
    source: &'a dyn WeightSource,
    /// The config's expected tensors and their shapes, made once: a lookup per tensor read.
    shapes: HashMap<String, Vec<usize>>,
    sizes: Sizes,
    kernels: Kernels,
    plan: Vec<Dispatch>,
    dcn_layers: Vec<BuiltDcn>,
    weight_bytes: u64,
    activation_bytes: u64,
}

impl<'a> Builder<'a> {
    pub fn new(
        ctx: &'a GpuContext,
        config: &'a ModelConfig,
        source: &'a dyn WeightSource,
        input_size: [u32; 2],
        linear: Linear,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            ctx,
            config,
            source,
            shapes: config.expected_tensors().into_iter().collect(),
            sizes: Sizes::new(config, input_size),
            kernels: Kernels {
                conv: Conv2d::new(ctx),
                norm: LayerNorm::new(ctx),
                dw: DwConv::new(ctx),
                linear,
                pool: MeanPool::new(ctx),
                dcn: HashMap::new(),
            },
            plan: Vec::new(),
            dcn_layers: Vec::new(),
            weight_bytes: 0,
            activation_bytes: 0,
        })
    }

    /// The whole network, awaiting `pause()` after each block and level.
    pub async fn build<F: Future<Output = ()>>(
        mut self,
        input_size: [u32; 2],
        mut pause: impl FnMut() -> F,
    ) -> Result<Built> {
        let s = self.scratch();
        let [h0, w0] = input_size;
        let image = self.activation("image", (h0 * w0 * 3) as usize);
        self.stem(&image, &s)?;
        let mut level_outputs = Vec::new();
        for level in 0..self.config.levels() {
            let planes = self.level_planes(level)?;
            for block in 0..self.config.depths[level] as usize {
                self.block(level, block, &s, planes.as_ref())?;
                pause().await;
            }
            level_outputs.push(self.level_end(level, &s)?);
            pause().await;
        }
        let logits = self.head(&level_outputs[level_outputs.len() - 1])?;
        Ok(Built {
            plan: self.plan,
            image,
            logits,
            level_outputs,
            dcn_layers: self.dcn_layers,
            kernels: self.kernels,
            weight_bytes: self.weight_bytes,
            activation_bytes: self.activation_bytes,
        })
    }

    /// Stem: `[H, W, 3]` -> conv s2 -> LN + GELU -> conv s2 -> LN -> x `[H/4 * W/4, C]`.
    fn stem(&mut self, image: &wgpu::Buffer, s: &Scratch) -> Result<()> {
        let [first, second] = self.sizes.stem;
        let stem_a = self.activation("stem a", first.output_len());
        let stem_b = self.activation("stem b", first.output_len());
        self.conv("patch_embed.conv1", first, true, image, &s.columns, &stem_a)?;
        let pixels = first.out_height() * first.out_width();
        let channels = first.out_channels;
        self.layer_norm(
            "patch_embed.norm1.1",
            pixels,
            channels,
            true,
            &stem_a,
            &stem_b,
        )?;
        self.conv(
            "patch_embed.conv2",
            second,
            true,
            &stem_b,
            &s.columns,
            &stem_a,
        )?;
        let (pixels, channels) = (self.sizes.pixels(0), self.config.channels);
        self.layer_norm(
            "patch_embed.norm2.1",
            pixels,
            channels,
            false,
            &stem_a,
            &s.x,
        )
    }

    /// The DCNv3 shape of `level`.
    fn level_dcn(&self, level: usize) -> Dcnv3Shape {
        let [height, width] = self.sizes.levels[level];
        let (channels, groups) = (self.config.level_channels(level), self.config.groups[level]);
        Dcnv3Shape {
            height,
            width,
            groups,
            group_channels: channels / groups,
            offset_scale: self.config.offset_scale,
        }
    }

    /// The planes the level's DCNv3 layers share, where the kernel reads through them.
    fn level_planes(&mut self, level: usize) -> Result<Option<Planes>> {
        let shape = self.level_dcn(level);
        let ctx = self.ctx;
        let planes = (self.kernels.dcn)
            .entry(shape.group_channels)
            .or_insert_with(|| Dcnv3::new(ctx, shape.group_channels))
            .planes(ctx, &shape)?;
        self.activation_bytes += planes.as_ref().map_or(0, Planes::bytes);
        Ok(planes)
    }

    /// One block: `x = x + dcn(norm1(x))`, then `x = x + mlp(norm2(x))`.
    fn block(
        &mut self,
        level: usize,
        block: usize,
        s: &Scratch,
        planes: Option<&Planes>,
    ) -> Result<()> {
        let pre = format!("levels.{level}.blocks.{block}");
        let shape = self.level_dcn(level);
        let [h, w] = self.sizes.levels[level];
        let (p, c, hidden) = (h * w, shape.channels(), self.config.mlp_hidden(level));
        let norm1 = format!("{pre}.norm1.0");
        let input_proj = format!("{pre}.dcn.input_proj");
        let folded_norm = self.linear_after_norm(
            &norm1,
            &input_proj,
            [p, c, c],
            Epilogue::Store,
            s,
            &s.projected,
        )?;
        // Where the input projection folded norm1, the depthwise branch normalises x itself
        // with the statistics the projection wrote.
        let norm = folded_norm.map(|gamma_beta| self.weight_buffer(&norm1, &gamma_beta.concat()));
        let input_norm = (norm.as_ref()).map(|weights| InputNorm {
            weights,
            stats: &s.stats,
        });
        let input = if input_norm.is_some() {
            &s.x
        } else {
            &s.normed
        };
        // Where it can, the branch lays out the DCNv3 layer's input as its planes on the way.
        // (Where it cannot, DCNv3 still reads `planes`, laid out by a dispatch of their own.)
        let dcn_planes =
            (planes.filter(|_| self.kernels.dw.writes_planes(c))).map(|planes| DcnPlanes {
                input: &s.projected,
                planes,
            });
        self.dw_branch(
            &pre,
            [h, w, c],
            input,
            input_norm,
            dcn_planes,
            &s.offset_branch,
        )?;
        let [offset, mask] = [format!("{pre}.dcn.offset"), format!("{pre}.dcn.mask")];
        let points = [p, shape.point_row(), c];
        self.linear(
            &[&offset, &mask],
            points,
            Epilogue::Store,
            &s.offset_branch,
            &s.points,
        )?;
        self.dcnv3(level, block, shape, s, planes, dcn_planes.is_some())?;
        let output_proj = format!("{pre}.dcn.output_proj");
        self.linear(
            &[&output_proj],
            [p, c, c],
            Epilogue::Accumulate,
            &s.sampled,
            &s.x,
        )?;
        self.linear_after_norm(
            &format!("{pre}.norm2.0"),
            &format!("{pre}.mlp.fc1"),
            [p, hidden, c],
            Epilogue::Gelu,
            s,
            &s.hidden,
        )?;
        let fc2 = format!("{pre}.mlp.fc2");
        self.linear(
            &[&fc2],
            [p, c, hidden],
            Epilogue::Accumulate,
            &s.hidden,
            &s.x,
        )
    }

    /// The level's norm into a buffer of its own (its output, kept), then the downsample into
    /// the next level's residual stream.
    fn level_end(&mut self, level: usize, s: &Scratch) -> Result<(wgpu::Buffer, [u32; 3])> {
        let [h, w] = self.sizes.levels[level];
        let (p, c) = (h * w, self.config.level_channels(level));
        let out = self.activation("level output", (p * c) as usize);
        self.layer_norm(&format!("levels.{level}.norm.0"), p, c, false, &s.x, &out)?;
        if level + 1 < self.config.levels() {
            let shape = self.sizes.downsample(self.config, level);
            let conv = format!("levels.{level}.downsample.conv");
            self.conv(&conv, shape, false, &out, &s.columns, &s.downsampled)?;
            let norm = format!("levels.{level}.downsample.norm.1");
            let next = self.sizes.pixels(level + 1);
            self.layer_norm(&norm, next, 2 * c, false, &s.downsampled, &s.x)?;
        }
        Ok((out, [h, w, c]))
    }

    /// Head: 1x1 conv with the eval BatchNorm folded in, GELU, average pool, classifier.
    fn head(&mut self, (last, [h, w, c]): &(wgpu::Buffer, [u32; 3])) -> Result<wgpu::Buffer> {
        let (p, head) = (h * w, self.config.head_width());
        let (bn_scale, bias) = self.fold_batch_norm(head as usize)?;
        let packing = Packing::Rows { n: head, k: *c };
        let weights = self.weights(&["conv_head.0.weight".into()], packing, Some(&bn_scale))?;
        let bias = self.weight_buffer("conv_head bias", &linear::pack_bias(&bias));
        let hidden = self.activation("head hidden", (p * head) as usize);
        let buffers = LinearBuffers {
            input: last,
            weights: &weights,
            bias: &bias,
            output: &hidden,
            norm: None,
        };
        let dispatch =
            (self.kernels.linear).bind(self.ctx, [p, head, *c], Epilogue::Gelu, &buffers);
        self.plan.push(dispatch);
        let pooled = self.activation("pooled", head as usize);
        let dispatch = self.kernels.pool.bind(self.ctx, p, head, &hidden, &pooled);
        self.plan.push(dispatch);
        let logits = self.activation("logits", self.config.num_classes as usize);
        let classes = self.config.num_classes;
        self.linear(
            &["head"],
            [1, classes, head],
            Epilogue::Store,
            &pooled,
            &logits,
        )?;
        Ok(logits)
    }

    fn scratch(&mut self) -> Scratch {
        let (config, levels) = (self.config, 0..self.config.levels());
        let sizes = &self.sizes;
        let most = |f: &dyn Fn(usize) -> u32| levels.clone().map(f).max().unwrap_or(0) as usize;
        let residual = most(&|l| sizes.pixels(l) * config.level_channels(l));
        let points = most(&|l| sizes.pixels(l) * dcnv3::point_row(config.groups[l]));
        let hidden = most(&|l| sizes.pixels(l) * config.mlp_hidden(l));
        let stats = 2 * most(&|l| sizes.pixels(l));
        let columns = (0..config.levels().saturating_sub(1))
            .map(|l| sizes.downsample(config, l).columns_len())
            .chain(sizes.stem.map(|shape| shape.columns_len()))
            .max()
            .unwrap_or(0);
        Scratch {
            x: self.activation("x", residual),
            normed: self.activation("normed", residual),
            stats: self.activation("norm statistics", stats),
            projected: self.activation("projected", residual),
            offset_branch: self.activation("offset branch", residual),
            sampled: self.activation("sampled", residual),
            points: self.activation("points", points),
            hidden: self.activation("hidden", hidden),
            downsampled: self.activation("downsampled", residual),
            columns: self.activation("im2col columns", columns),
        }
    }

    /// A zeroed buffer of `len` floats between ops, counted.
    fn activation(&mut self, label: &str, len: usize) -> wgpu::Buffer {
        self.activation_bytes += f32_bytes(len as u64);
        storage_zeroed(self.ctx, label, len)
    }

    /// A buffer of weights, counted.
    fn weight_buffer<T: bytemuck::Pod>(&mut self, label: &str, values: &[T]) -> wgpu::Buffer {
        let buffer = storage_from(self.ctx, label, values);
        self.weight_bytes += buffer.size();
        buffer
    }

    /// The tensor `name` with its expected shape, checked and uploaded as it is.
    fn upload(&mut self, name: &str) -> Result<wgpu::Buffer> {
        let values = self.read(name)?;
        Ok(self.weight_buffer(name, &values))
    }

    fn read(&self, name: &str) -> Result<Vec<f32>> {
        self.source.tensor(name, &self.shape_of(name)?)
    }

    fn shape_of(&self, name: &str) -> Result<Vec<usize>> {
        self.shapes
            .get(name)
            .cloned()
            .ok_or_else(|| Error::Weights(format!("the model has no tensor `{name}`")))
    }

    /// The linears `prefixes` of one input as one: their output columns side by side in order,
    /// then zero columns up to `n`. One dispatch instead of several, and fewer idle lanes where
    /// each alone is narrow (DCNv3's offset and mask layers).
    fn linear(
        &mut self,
        prefixes: &[&str],
        [m, n, k]: [u32; 3],
        epilogue: Epilogue,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<()> {
        let names: Vec<String> = prefixes.iter().map(|p| format!("{p}.weight")).collect();
        let weights = self.weights(&names, Packing::Rows { n, k }, None)?;
        let mut bias = Vec::with_capacity(n as usize);
        for prefix in prefixes {
            bias.extend(self.read(&format!("{prefix}.bias"))?);
        }
        bias.resize(n as usize, 0.0);
        let bias = self.weight_buffer(prefixes[0], &linear::pack_bias(&bias));
        let buffers = LinearBuffers {
            input,
            weights: &weights,
            bias: &bias,
            output,
            norm: None,
        };
        let dispatch = (self.kernels.linear).bind(self.ctx, [m, n, k], epilogue, &buffers);
        self.plan.push(dispatch);
        Ok(())
    }

    /// The linear `prefix` over the output of the LayerNorm `norm` of x (`s.x`): the norm
    /// folded into the linear where its kernel can take it, which also writes the rows'
    /// statistics to `s.stats`; else the norm into `s.normed` and the linear over that. Where
    /// it folded, the norm's gamma and beta, for whatever else normalises x with those
    /// statistics.
    fn linear_after_norm(
        &mut self,
        norm: &str,
        prefix: &str,
        [m, n, k]: [u32; 3],
        epilogue: Epilogue,
        s: &Scratch,
        output: &wgpu::Buffer,
    ) -> Result<Option<[Vec<f32>; 2]>> {
        if !self.kernels.linear.folds_norm([m, n, k]) {
            self.layer_norm(norm, m, k, false, &s.x, &s.normed)?;
            self.linear(&[prefix], [m, n, k], epilogue, &s.normed, output)?;
            return Ok(None);
        }
        let [gamma, beta] = ["weight", "bias"].map(|t| self.read(&format!("{norm}.{t}")));
        let (gamma, beta) = (gamma?, beta?);
        let bias = self.read(&format!("{prefix}.bias"))?;
        let (ctx, label) = (self.ctx, prefix);
        let packing = Packing::Rows { n, k };
        let fold: NormFold = self.packed(
            &[format!("{prefix}.weight")],
            packing,
            None,
            |linear, packed| {
                linear.upload_after_norm(ctx, label, packed, [n, k], &bias, [&gamma, &beta])
            },
        )?;
        self.weight_bytes += fold.bytes();
        let buffers = fold.buffers(&s.x, output, &s.stats, LAYER_NORM_EPS);
        let dispatch = (self.kernels.linear).bind(self.ctx, [m, n, k], epilogue, &buffers);
        self.plan.push(dispatch);
        Ok(Some([gamma, beta]))
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

    /// The weights `names`, their rows stacked, packed as `packing` says and uploaded as the
    /// linear kernel reads them: int8 with their scales when the source holds every one so,
    /// else f16 likewise, else f32. `row_scale` multiplies each output row (a folded
    /// BatchNorm): into the scales for int8, exactly; halves so rescaled would be rounded
    /// again, so they are widened to f32 first.
    fn weights(
        &mut self,
        names: &[String],
        packing: Packing,
        row_scale: Option<&[f64]>,
    ) -> Result<LinearWeights> {
        let [n, k] = packing.nk();
        let (ctx, label) = (self.ctx, names[0].as_str());
        let weights = self.packed(names, packing, row_scale, |linear, packed| {
            linear.upload(ctx, label, packed, [n, k])
        })?;
        self.weight_bytes += weights.bytes();
        Ok(weights)
    }

    /// The weights `names` packed as [`Builder::weights`] says, handed to `upload`.
    fn packed<T>(
        &self,
        names: &[String],
        packing: Packing,
        row_scale: Option<&[f64]>,
        upload: impl FnOnce(&Linear, PackedWeights<'_>) -> T,
    ) -> Result<T> {
        let [n, k] = packing.nk();
        let linear = &self.kernels.linear;
        let scale = |value: f32, row: usize| match row_scale {
            Some(rows) => (f64::from(value) * rows[row]) as f32,
            None => value,
        };
        Ok(
            if let Some(parts) =
                self.all_of(names, |name, shape| self.source.quantized(name, shape))?
            {
                let (q, scales): (Vec<Vec<i8>>, Vec<Vec<f32>>) = parts.into_iter().unzip();
                let mut scales = scales.concat();
                scales.resize(n as usize, 1.0);
                let scales: Vec<f32> = (scales.iter().enumerate())
                    .map(|(row, &s)| scale(s, row))
                    .collect();
                let words = packing.pack_int8(q.concat());
                let scales = linear::pack_bias(&scales);
                let packed = PackedWeights::Int8 {
                    words: &words,
                    scales: &scales,
                };
                upload(linear, packed)
            } else if let Some(halves) = (row_scale.is_none())
                .then(|| self.all_of(names, |name, shape| self.source.halves(name, shape)))
                .transpose()?
                .flatten()
            {
                let packed = packing.pack::<f16>(halves.concat());
                upload(linear, PackedWeights::F16(&packed))
            } else {
                let mut values = Vec::new();
                for name in names {
                    values.extend(self.read(name)?);
                }
                let row_len = k as usize;
                let values = (values.iter().enumerate())
                    .map(|(i, &v)| scale(v, i / row_len))
                    .collect();
                let packed = packing.pack::<f32>(values);
                upload(linear, PackedWeights::F32(&packed))
            },
        )
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
        let buffers = [input, &weight, &bias, output];
        let norm = &self.kernels.norm;
        let dispatch = norm.bind(self.ctx, pixels, channels, LAYER_NORM_EPS, gelu, buffers);
        self.plan.push(dispatch);
        Ok(())
    }

    /// A 3x3 convolution through im2col `columns` and the linear kernel: two dispatches.
    fn conv(
        &mut self,
        prefix: &str,
        shape: Conv2dShape,
        with_bias: bool,
        input: &wgpu::Buffer,
        columns: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<()> {
        let packing = Packing::Conv {
            out_channels: shape.out_channels,
            in_channels: shape.in_channels,
        };
        let weights = self.weights(&[format!("{prefix}.weight")], packing, None)?;
        let bias = if with_bias {
            self.upload(&format!("{prefix}.bias"))?
        } else {
            self.weight_buffer("no bias", &vec![0.0f32; shape.out_channels as usize])
        };
        let buffers = LinearBuffers {
            input: columns,
            weights: &weights,
            bias: &bias,
            output,
            norm: None,
        };
        let conv = &self.kernels.conv;
        let dispatches = conv.bind(self.ctx, &self.kernels.linear, &shape, input, &buffers)?;
        self.plan.extend(dispatches);
        Ok(())
    }

    /// The offset branch: depthwise 3x3 convolution, LayerNorm and GELU, fused; over the
    /// output of `input_norm` where given, laying out `planes` where given.
    fn dw_branch(
        &mut self,
        pre: &str,
        [h, w, c]: [u32; 3],
        input: &wgpu::Buffer,
        input_norm: Option<InputNorm<'_>>,
        planes: Option<DcnPlanes<'_>>,
        output: &wgpu::Buffer,
    ) -> Result<()> {
        let [weight, bias, norm_weight, norm_bias] = [
            "dw_conv.0.weight",
            "dw_conv.0.bias",
            "dw_conv.1.1.weight",
            "dw_conv.1.1.bias",
        ]
        .map(|name| self.read(&format!("{pre}.dcn.{name}")));
        let packed = dwconv::pack_weights(&weight?, &bias?, &norm_weight?, &norm_bias?, c as usize);
        let dw = DwConvBuffers {
            input,
            weights: &self.weight_buffer("dw weights", &packed),
            output,
            input_norm,
            planes,
        };
        let dispatch = self.kernels.dw.bind(self.ctx, h, w, c, LAYER_NORM_EPS, &dw);
        self.plan.push(dispatch);
        Ok(())
    }

    /// The deformable convolution, remembered for reading back where it sampled; its planes
    /// laid out by a dispatch of their own unless `planes_written` (by the depthwise branch).
    fn dcnv3(
        &mut self,
        level: usize,
        block: usize,
        shape: Dcnv3Shape,
        s: &Scratch,
        planes: Option<&Planes>,
        planes_written: bool,
    ) -> Result<()> {
        let buffers = [s.projected.clone(), s.points.clone(), s.sampled.clone()];
        let kernel = &self.kernels.dcn[&shape.group_channels];
        let bindings = dcn_bindings(&buffers, planes, None);
        if !planes_written {
            let layout = kernel.bind_layout(self.ctx, &shape, &bindings)?;
            self.plan.extend(layout);
        }
        let dispatch = kernel.bind_kernel(self.ctx, &shape, &bindings)?;
        self.dcn_layers.push(BuiltDcn {
            level,
            block,
            shape,
            plan_index: self.plan.len(),
            buffers,
            planes: planes.cloned(),
        });
        self.plan.push(dispatch);
        Ok(())
    }

    /// The head's eval BatchNorm as a per-channel scale of the 1x1 convolution before it and a
    /// bias: `s = gamma / sqrt(var + eps)`, `b = beta - mean * s`.
    fn fold_batch_norm(&self, head: usize) -> Result<(Vec<f64>, Vec<f32>)> {
        let [gamma, beta, mean, var] = ["weight", "bias", "running_mean", "running_var"]
            .map(|s| self.read(&format!("conv_head.1.0.{s}")));
        let (gamma, beta, mean, var) = (gamma?, beta?, mean?, var?);
        let scale: Vec<f64> = (0..head)
            .map(|o| f64::from(gamma[o]) / (f64::from(var[o]) + f64::from(BATCH_NORM_EPS)).sqrt())
            .collect();
        let bias = (0..head)
            .map(|o| (f64::from(beta[o]) - f64::from(mean[o]) * scale[o]) as f32)
            .collect();
        Ok((scale, bias))
    }
}

pub(super) fn dcn_bindings<'a>(
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
