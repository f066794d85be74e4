//! Linear layers, the bulk of the FLOPs: `y = x W^T + b` over `[M, K]` rows, with GELU or a
//! residual accumulation fused into the store. Three kernels, by what the shape and adapter
//! allow: where K and N are multiples of 4, `linear_subgroup.wgsl` shares each lane's loads of
//! x across its subgroup on CPU adapters with subgroups of 8 lanes (llvmpipe) or 4
//! (SwiftShader), and elsewhere `linear_tiled.wgsl` computes a [`Tile`] of outputs per
//! invocation from vec4 loads (8 x 8; 16 x 16 on a SwiftShader without subgroups; 2 x 8 on
//! GPUs, K shared by 16 invocations); these two read their
//! weights from a texture. Otherwise
//! `linear.wgsl`, 8 rows x 4 columns from scalar loads of x, weights from a buffer.
//! [`Linear::upload`] puts weights where their kernel reads them; [`Linear::upload_after_norm`]
//! folds the LayerNorm before a linear into it, so that the vec4 kernels normalise x as they
//! load it and the norm takes no dispatch of its own. PyTorch's `[N, K]` weight is
//! stored transposed and padded to `[K, ceil(N/4)*4]`, and the bias padded alike, so every
//! column block is one aligned vec4.

pub mod reference;

use super::{Access, GELU_WGSL, INT8_WGSL, Kernel, KernelCache, Uniform, WEIGHTED_BINDINGS};
use crate::buffers::storage_from;
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, f32_bytes};
use half::f16;

mod tile;
pub use tile::Tile;

pub fn source() -> String {
    format!(
        "{GELU_WGSL}{INT8_WGSL}{}{}",
        Params::WGSL,
        include_str!("linear.wgsl")
    )
}

/// What the two kernels over vec4 rows share, then the kernel.
fn vec4_source(kernel: &str) -> String {
    format!(
        "{GELU_WGSL}{INT8_WGSL}{}{}{kernel}",
        Params::WGSL,
        include_str!("linear_vec4_common.wgsl")
    )
}

pub fn tiled_source(tile: Tile) -> String {
    tile.source(&vec4_source(include_str!("linear_tiled.wgsl")))
}

pub fn subgroup_source(tile: Tile) -> String {
    // Browsers want the extension enabled; naga takes subgroup operations from the device's
    // features and rejects the directive.
    let enable = if cfg!(target_arch = "wasm32") {
        "enable subgroups;\n"
    } else {
        ""
    };
    format!(
        "{enable}{}",
        tile.source(&vec4_source(include_str!("linear_subgroup.wgsl")))
    )
}

/// Output columns and rows per workgroup of the scalar kernel: 16 x 4 invocations of 4 columns
/// x 8 rows (the vec4 kernels': [`Tile::block`]).
const SCALAR_BLOCK: [u32; 2] = [64, 32];

/// What happens to `x W^T + b` before it is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    Store,
    Gelu,
    /// `out += y`: the output buffer holds the residual stream.
    Accumulate,
}

uniform! {
    struct Params {
        m: u32,
        n: u32,
        k: u32,
        /// Padded N / 4.
        n4: u32,
        /// The folded LayerNorm's epsilon (`NORMALIZE`).
        eps: f32,
    }
}

fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// PyTorch `[N, K]` to the kernel's `[K, N]`, each row padded with zeros to a multiple of 4.
pub fn pack_weight<T: Copy + Default>(weight: &[T], n: usize, k: usize) -> Vec<T> {
    let stride = padded(n);
    let mut packed = vec![T::default(); k * stride];
    for r in 0..n {
        for c in 0..k {
            packed[c * stride + r] = weight[r * k + c];
        }
    }
    packed
}

/// The bias padded with zeros to a multiple of 4.
pub fn pack_bias(bias: &[f32]) -> Vec<f32> {
    let mut packed = bias.to_vec();
    packed.resize(padded(bias.len()), 0.0);
    packed
}

/// How a layer's weights are held on the GPU and read by the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightFormat {
    F32,
    /// Two to a 32-bit word, widened in registers: half the bytes and, from a texture, half
    /// the loads of f32, with every value of an f16 file kept exactly. Only the vec4 kernels
    /// read them, and only where the adapter has `shader-f16`: elsewhere, and for the scalar
    /// kernel, halves are widened to f32 when uploaded.
    F16,
    /// Four to a word with a scale per output column.
    Int8,
}

/// The pipelines of kernels with one set of bindings, by kernel and tile (the subgroup kernel's
/// rows fitted to M), epilogue (store, GELU, accumulate), weight format and whether a LayerNorm
/// is folded in, each compiled when a layer first needs it: a driver may take long over a big
/// kernel (SwiftShader over the large tile), and a model mostly uses one weight format.
struct Kernels {
    bindings: Vec<Access>,
    compiled: KernelCache<(LinearKernel, u32, WeightFormat, bool)>,
}

impl Kernels {
    fn new(bindings: Vec<Access>) -> Self {
        Self {
            bindings,
            compiled: KernelCache::new(),
        }
    }

    fn get(
        &self,
        ctx: &GpuContext,
        kind: LinearKernel,
        epilogue: u32,
        format: WeightFormat,
        normalize: bool,
    ) -> Kernel {
        self.compiled.get((kind, epilogue, format, normalize), || {
            let flag = |on: bool| f64::from(u8::from(on));
            let mut constants = vec![
                ("EPILOGUE", f64::from(epilogue)),
                ("QUANTIZED", flag(format == WeightFormat::Int8)),
            ];
            // Declared by the vec4 kernels only, the scalar one never reading halves nor
            // normalising.
            if format == WeightFormat::F16 {
                constants.push(("HALVES", flag(true)));
            }
            if normalize {
                constants.push(("NORMALIZE", flag(true)));
            }
            Kernel::new(ctx, "linear", &kind.source(), &self.bindings, &constants)
        })
    }
}

pub struct Linear {
    scalar: Kernels,
    /// For K and N in fours, weights in textures: the subgroup kernel where the adapter's
    /// subgroups have a [`Tile::subgroup`], else the tiled one with its tile. Only the one
    /// that runs is compiled.
    vec4: (LinearKernel, Kernels),
    /// The adapter's largest 2-D texture side.
    max_texture_side: u32,
    /// Whether f16 weights stay f16: where the adapter has `shader-f16`, whose compilers
    /// widen halves in an instruction or two. SwiftShader has no such feature and widens them by
    /// integer arithmetic, which costs more than the loads it saves: there they are widened
    /// when uploaded (docs/performance.md#f16-weights-and-what-shader-f16-decides).
    keeps_halves: bool,
    no_scales: wgpu::Buffer,
    /// Bound in place of a folded norm and its statistics where there is none.
    no_norm: [wgpu::Buffer; 2],
}

/// Which kernel runs a shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinearKernel {
    Scalar,
    Tiled(Tile),
    Subgroup(Tile),
}

impl LinearKernel {
    fn source(self) -> String {
        match self {
            Self::Scalar => source(),
            Self::Tiled(tile) => tiled_source(tile),
            Self::Subgroup(tile) => subgroup_source(tile),
        }
    }

    /// The [columns, rows] of output a workgroup covers.
    fn block(self) -> [u32; 2] {
        match self {
            Self::Scalar => SCALAR_BLOCK,
            Self::Tiled(tile) | Self::Subgroup(tile) => tile.block(),
        }
    }
}

/// Weights on the GPU where the kernel of their shape reads them: in a texture for the vec4
/// kernels, in a buffer for the scalar one; int8 with their scales.
pub enum LinearWeights {
    F32(wgpu::Buffer),
    F32Texture(wgpu::TextureView, u64),
    F16Texture(wgpu::TextureView, u64),
    Int8 {
        packed: wgpu::Buffer,
        scales: wgpu::Buffer,
    },
    Int8Texture {
        packed: wgpu::TextureView,
        bytes: u64,
        scales: wgpu::Buffer,
    },
}

impl LinearWeights {
    /// GPU memory held.
    pub fn bytes(&self) -> u64 {
        match self {
            Self::F32(weight) => weight.size(),
            Self::F32Texture(_, bytes) | Self::F16Texture(_, bytes) => *bytes,
            Self::Int8 { packed, scales } => packed.size() + scales.size(),
            Self::Int8Texture { bytes, scales, .. } => bytes + scales.size(),
        }
    }

    /// The weights to bind, and the scales (`no_scales` for f32, where the shaders never read
    /// them).
    fn resources<'a>(
        &'a self,
        no_scales: &'a wgpu::Buffer,
    ) -> (wgpu::BindingResource<'a>, &'a wgpu::Buffer) {
        match self {
            Self::F32(weight) => (weight.as_entire_binding(), no_scales),
            Self::F32Texture(view, _) | Self::F16Texture(view, _) => {
                (wgpu::BindingResource::TextureView(view), no_scales)
            }
            Self::Int8 { packed, scales } => (packed.as_entire_binding(), scales),
            Self::Int8Texture { packed, scales, .. } => {
                (wgpu::BindingResource::TextureView(packed), scales)
            }
        }
    }

    /// The format the kernels read, and whether from a texture.
    fn format(&self) -> (WeightFormat, bool) {
        match self {
            Self::F32(_) => (WeightFormat::F32, false),
            Self::F32Texture(..) => (WeightFormat::F32, true),
            Self::F16Texture(..) => (WeightFormat::F16, true),
            Self::Int8 { .. } => (WeightFormat::Int8, false),
            Self::Int8Texture { .. } => (WeightFormat::Int8, true),
        }
    }
}

/// Weights packed for the linear kernels: f32 or f16 by [`pack_weight`], or int8 by
/// [`pack_weight_int8`] with their scales (one per output column, at least N of them).
#[derive(Clone, Copy)]
pub enum PackedWeights<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    Int8 { words: &'a [u32], scales: &'a [f32] },
}

impl Linear {
    /// The fastest kernels on the adapter for a model of `parameters`, counting the time to
    /// compile them ([`Tile::for_model`]).
    pub fn new(ctx: &GpuContext, parameters: usize) -> Self {
        if let Some(tile) = Tile::subgroup(&ctx.adapter) {
            Self::with_vec4_kernel(ctx, LinearKernel::Subgroup(tile))
        } else {
            Self::tiled(ctx, Tile::for_model(&ctx.adapter, parameters))
        }
    }

    /// The tiled kernel with `tile` where K and N are in fours, whatever the adapter, so that
    /// tests can hold every kernel to the reference.
    pub fn tiled(ctx: &GpuContext, tile: Tile) -> Self {
        Self::with_vec4_kernel(ctx, LinearKernel::Tiled(tile))
    }

    fn with_vec4_kernel(ctx: &GpuContext, kind: LinearKernel) -> Self {
        let mut texture_bindings = WEIGHTED_BINDINGS.to_vec();
        texture_bindings[1] = Access::Texture;
        // The folded norm, and the statistics it writes.
        texture_bindings.extend([Access::Read, Access::ReadWrite]);
        Self {
            scalar: Kernels::new(WEIGHTED_BINDINGS.to_vec()),
            vec4: (kind, Kernels::new(texture_bindings)),
            max_texture_side: ctx.device.limits().max_texture_dimension_2d,
            keeps_halves: ctx.adapter.shader_f16,
            no_scales: super::no_scales(ctx),
            no_norm: [super::no_scales(ctx), super::no_scales(ctx)],
        }
    }

    /// The kernel that runs `[m, n, k]` (with weights as [`Linear::upload`] places them), its
    /// tile fitted to M.
    pub fn kernel_for(&self, [m, n, k]: [u32; 3]) -> LinearKernel {
        let vec4 = n.is_multiple_of(4) && k.is_multiple_of(4);
        // The weights' texture: N / 4 texels wide, K (f32) or K / 4 (int8) high.
        let fits = n / 4 <= self.max_texture_side && k <= self.max_texture_side;
        if vec4 && fits {
            match self.vec4.0 {
                LinearKernel::Subgroup(tile) => LinearKernel::Subgroup(tile.fitted_to(m)),
                kind => kind,
            }
        } else {
            LinearKernel::Scalar
        }
    }

    /// Whether the kernel of `[m, n, k]` can take a LayerNorm folded in
    /// ([`Linear::upload_after_norm`]): the vec4 kernels can.
    pub fn folds_norm(&self, shape: [u32; 3]) -> bool {
        self.kernel_for(shape) != LinearKernel::Scalar
    }

    /// Uploads the weights of `[n, k]` where its kernel reads them.
    pub fn upload(
        &self,
        ctx: &GpuContext,
        label: &str,
        packed: PackedWeights<'_>,
        [n, k]: [u32; 2],
    ) -> LinearWeights {
        let texture = self.kernel_for([1, n, k]) != LinearKernel::Scalar;
        let (width, quads) = (n.div_ceil(4), k.div_ceil(4));
        match packed {
            PackedWeights::F32(values) if texture => {
                let bytes = bytemuck::cast_slice(values);
                let view = texture_of(ctx, label, bytes, [width, k]);
                LinearWeights::F32Texture(view, bytes.len() as u64)
            }
            PackedWeights::F32(values) => LinearWeights::F32(storage_from(ctx, label, values)),
            PackedWeights::F16(values) if texture && self.keeps_halves => {
                let texels = half_texels(values, [width, k]);
                let bytes = bytemuck::cast_slice(&texels);
                let view = texture_of(ctx, label, bytes, [width, k / 2]);
                LinearWeights::F16Texture(view, bytes.len() as u64)
            }
            PackedWeights::F16(values) => {
                let widened: Vec<f32> = values.iter().map(|v| v.to_f32()).collect();
                self.upload(ctx, label, PackedWeights::F32(&widened), [n, k])
            }
            PackedWeights::Int8 { words, scales } => {
                let scales = storage_from(ctx, label, &pack_bias(scales));
                if texture {
                    let bytes = bytemuck::cast_slice(words);
                    let packed = texture_of(ctx, label, bytes, [width, quads]);
                    let bytes = bytes.len() as u64;
                    LinearWeights::Int8Texture {
                        packed,
                        bytes,
                        scales,
                    }
                } else {
                    let packed = storage_from(ctx, label, words);
                    LinearWeights::Int8 { packed, scales }
                }
            }
        }
    }

    /// Uploads the weights of `[n, k]` and the bias of a linear whose input is the output of
    /// a LayerNorm of `gamma` and `beta` (each `k` long), with the norm folded in: the kernel
    /// is then bound to the norm's input, with [`LinearBuffers::norm`]
    /// (linear_vec4_common.wgsl has the algebra). f32 weights take gamma in (`W' = W gamma`,
    /// one rounding); int8 and halves, which cannot hold it exactly, are uploaded as they are and
    /// the kernel multiplies x by gamma as it loads it.
    ///
    /// # Panics
    /// Where [`Linear::folds_norm`] is false for `[n, k]`.
    pub fn upload_after_norm(
        &self,
        ctx: &GpuContext,
        label: &str,
        packed: PackedWeights<'_>,
        [n, k]: [u32; 2],
        bias: &[f32],
        [gamma, beta]: [&[f32]; 2],
    ) -> NormFold {
        assert!(
            self.folds_norm([1, n, k]) && gamma.len() == k as usize && beta.len() == k as usize,
            "linear [{n}, {k}]: a LayerNorm folds only into the vec4 kernels, gamma and beta K long"
        );
        let stride = padded(n as usize);
        let halves_widened;
        let packed = match packed {
            PackedWeights::F16(values) if !self.keeps_halves => {
                halves_widened = values.iter().map(|v| v.to_f32()).collect::<Vec<_>>();
                PackedWeights::F32(&halves_widened)
            }
            packed => packed,
        };
        // The weights as the product uses them, `[K, N padded]` in f64, without gamma.
        let effective: Vec<f64> = match packed {
            PackedWeights::F32(values) => values.iter().map(|&v| f64::from(v)).collect(),
            PackedWeights::F16(values) => values.iter().map(|&v| f64::from(v.to_f32())).collect(),
            PackedWeights::Int8 { words, scales } => {
                let q = unpack_weight_int8(words, n as usize, k as usize);
                (q.iter().enumerate())
                    .map(|(i, &v)| {
                        let col = i % stride;
                        f64::from(v) * scales.get(col).map_or(0.0, |&s| f64::from(s))
                    })
                    .collect()
            }
        };
        let folded: Vec<f32>;
        let weights = match packed {
            PackedWeights::F32(values) => {
                folded = (values.iter().enumerate())
                    .map(|(i, &v)| v * gamma[i / stride])
                    .collect();
                self.upload(ctx, label, PackedWeights::F32(&folded), [n, k])
            }
            packed => self.upload(ctx, label, packed, [n, k]),
        };
        let mut sums = vec![0f64; stride];
        let mut folded_bias: Vec<f64> = (0..stride)
            .map(|col| bias.get(col).map_or(0.0, |&b| f64::from(b)))
            .collect();
        for (row, weights) in effective.chunks_exact(stride).enumerate() {
            let (g, b) = (f64::from(gamma[row]), f64::from(beta[row]));
            for (col, &w) in weights.iter().enumerate() {
                sums[col] += w * g;
                folded_bias[col] += w * b;
            }
        }
        let mut norm: Vec<f32> = gamma.to_vec();
        norm.extend(sums.iter().map(|&s| s as f32));
        let folded_bias: Vec<f32> = folded_bias.iter().map(|&b| b as f32).collect();
        NormFold {
            weights,
            bias: storage_from(ctx, label, &folded_bias),
            norm: storage_from(ctx, label, &norm),
        }
    }

    /// `[m, k]` input times `[n, k]` weights into `[m, n]` output, with `epilogue`; with
    /// [`LinearBuffers::norm`], of the LayerNorm of the input.
    ///
    /// # Panics
    /// On weights not where the kernel of `[m, n, k]` reads them, or a norm given to the scalar
    /// kernel.
    pub fn bind(
        &self,
        ctx: &GpuContext,
        [m, n, k]: [u32; 3],
        epilogue: Epilogue,
        buffers: &LinearBuffers<'_>,
    ) -> Dispatch {
        let LinearBuffers {
            input,
            weights,
            bias,
            output,
            norm,
        } = *buffers;
        let (epilogue_code, label) = match (epilogue, norm.is_some()) {
            (Epilogue::Store, false) => (0, "linear"),
            (Epilogue::Gelu, false) => (1, "linear+gelu"),
            (Epilogue::Accumulate, false) => (2, "linear+residual"),
            (Epilogue::Store, true) => (0, "layernorm+linear"),
            (Epilogue::Gelu, true) => (1, "layernorm+linear+gelu"),
            (Epilogue::Accumulate, true) => (2, "layernorm+linear+residual"),
        };
        let kind = self.kernel_for([m, n, k]);
        let kernels = match kind {
            LinearKernel::Scalar => &self.scalar,
            LinearKernel::Subgroup(_) | LinearKernel::Tiled(_) => &self.vec4.1,
        };
        let [block_cols, block_rows] = kind.block();
        let (format, in_texture) = weights.format();
        assert_eq!(
            in_texture,
            kind != LinearKernel::Scalar,
            "linear [{m}, {n}, {k}]: weights not where its {kind:?} kernel reads them"
        );
        assert!(
            norm.is_none() || kind != LinearKernel::Scalar,
            "linear [{m}, {n}, {k}]: the scalar kernel folds no norm"
        );
        let kernel = kernels.get(ctx, kind, epilogue_code, format, norm.is_some());
        let (weight, scales) = weights.resources(&self.no_scales);
        let grid = [n.div_ceil(block_cols), m.div_ceil(block_rows), 1];
        let params = Params {
            m,
            n,
            k,
            n4: n.div_ceil(4),
            eps: norm.map_or(0.0, |norm| norm.eps),
        };
        let mut resources = vec![
            input.as_entire_binding(),
            weight,
            bias.as_entire_binding(),
            output.as_entire_binding(),
            scales.as_entire_binding(),
        ];
        if kind != LinearKernel::Scalar {
            let [no_norm, no_stats] = &self.no_norm;
            let (folded, stats) = norm.map_or((no_norm, no_stats), |norm| (norm.norm, norm.stats));
            resources.extend([folded.as_entire_binding(), stats.as_entire_binding()]);
        }
        let (m64, n64, k64) = (u64::from(m), u64::from(n), u64::from(k));
        let reads_output = u64::from(matches!(epilogue, Epilogue::Accumulate));
        let activations = f32_bytes(m64 * k64 + m64 * n64 * (1 + reads_output));
        let norm_bytes = norm.map_or(0, |norm| norm.norm.size() + f32_bytes(2 * m64));
        (kernel.bind_resources(ctx, label, &params, resources, grid)).doing(
            flops([m, n, k]),
            activations + weights.bytes() + bias.size() + norm_bytes,
        )
    }
}

/// What a linear layer reads and writes: weights uploaded by [`Linear::upload`] for `[n, k]`,
/// `bias` packed by [`pack_bias`]; or, with `norm`, both from [`Linear::upload_after_norm`]
/// and `input` the norm's input.
#[derive(Clone, Copy)]
pub struct LinearBuffers<'a> {
    pub input: &'a wgpu::Buffer,
    pub weights: &'a LinearWeights,
    pub bias: &'a wgpu::Buffer,
    pub output: &'a wgpu::Buffer,
    pub norm: Option<NormInput<'a>>,
}

/// A linear with the LayerNorm before it folded in, from [`Linear::upload_after_norm`]: its
/// weights, its bias `b + W beta`, and `norm`: gamma (K), then the sums `S` of the columns'
/// weights times gamma (N padded), as linear_vec4_common.wgsl reads them.
pub struct NormFold {
    pub weights: LinearWeights,
    pub bias: wgpu::Buffer,
    pub norm: wgpu::Buffer,
}

impl NormFold {
    /// GPU memory held.
    pub fn bytes(&self) -> u64 {
        self.weights.bytes() + self.bias.size() + self.norm.size()
    }

    /// The buffers of the linear over `input`, the norm's input, into `output`; each row's mean
    /// and 1 / std written to `stats` (`[M]` pairs).
    pub fn buffers<'a>(
        &'a self,
        input: &'a wgpu::Buffer,
        output: &'a wgpu::Buffer,
        stats: &'a wgpu::Buffer,
        eps: f32,
    ) -> LinearBuffers<'a> {
        LinearBuffers {
            input,
            weights: &self.weights,
            bias: &self.bias,
            output,
            norm: Some(NormInput {
                norm: &self.norm,
                stats,
                eps,
            }),
        }
    }
}

/// The folded norm a linear applies to its input, and where it writes the rows' statistics.
#[derive(Clone, Copy)]
pub struct NormInput<'a> {
    pub norm: &'a wgpu::Buffer,
    pub stats: &'a wgpu::Buffer,
    pub eps: f32,
}

/// A `width` x `height` texture of 16-byte texels holding `bytes`, row by row.
fn texture_of(
    ctx: &GpuContext,
    label: &str,
    bytes: &[u8],
    [width, height]: [u32; 2],
) -> wgpu::TextureView {
    use wgpu::util::DeviceExt;
    let expected = 16 * width as usize * height as usize;
    assert_eq!(bytes.len(), expected, "{label}: packed size");
    let texture = ctx.device.create_texture_with_data(
        &ctx.queue,
        &wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Uint,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        },
        wgpu::util::TextureDataOrder::LayerMajor,
        bytes,
    );
    texture.create_view(&Default::default())
}

/// Halves packed by [`pack_weight`] (`[K, 4 width]`, K even) as the vec4 kernels read them:
/// texel (c, h) holds K rows 2h and 2h + 1 of columns 4c..4c+3, so that one step of 4 along K
/// is two loads.
fn half_texels(values: &[f16], [width, k]: [u32; 2]) -> Vec<f16> {
    let stride = 4 * width as usize;
    let mut texels = Vec::with_capacity(values.len());
    for pair in values.chunks_exact(2 * stride).take(k as usize / 2) {
        let (even, odd) = pair.split_at(stride);
        for (a, b) in even.chunks_exact(4).zip(odd.chunks_exact(4)) {
            texels.extend_from_slice(a);
            texels.extend_from_slice(b);
        }
    }
    texels
}

/// PyTorch-layout `[N, K]` int8 weights to the kernel's words: for each block of 4 rows of K
/// and 4 columns, 4 u32 (one per row), byte j of a word holding column 4c + j; zero-padded.
pub fn pack_weight_int8(weight: &[i8], n: usize, k: usize) -> Vec<u32> {
    let (n4, quads) = (n.div_ceil(4), k.div_ceil(4));
    let mut words = vec![0u32; quads * n4 * 4];
    for q in 0..quads {
        for c in 0..n4 {
            for r in 0..4 {
                let row = q * 4 + r;
                let word = (0..4).fold(0u32, |word, j| {
                    let col = c * 4 + j;
                    let value = if row < k && col < n {
                        weight[col * k + row]
                    } else {
                        0
                    };
                    word | (u32::from(value as u8) << (8 * j))
                });
                words[(q * n4 + c) * 4 + r] = word;
            }
        }
    }
    words
}

/// The int8 weights of [`pack_weight_int8`] as `[K, N padded to 4]`.
fn unpack_weight_int8(words: &[u32], n: usize, k: usize) -> Vec<i8> {
    let n4 = n.div_ceil(4);
    let mut q = vec![0i8; k * n4 * 4];
    for row in 0..k {
        for c in 0..n4 {
            let word = words[((row / 4) * n4 + c) * 4 + row % 4];
            for j in 0..4 {
                q[row * n4 * 4 + c * 4 + j] = (word >> (8 * j)) as u8 as i8;
            }
        }
    }
    q
}

/// 2 FLOPs per multiply-add.
pub fn flops([m, n, k]: [u32; 3]) -> u64 {
    2 * u64::from(m) * u64::from(n) * u64::from(k)
}
