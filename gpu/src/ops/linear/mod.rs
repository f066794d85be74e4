//! Linear layers, the bulk of the FLOPs: `y = x W^T + b` over `[M, K]` rows, with GELU or a
//! residual accumulation fused into the store. Three kernels, by what the shape and adapter
//! allow: where subgroups are 8 wide (llvmpipe) and K and N are multiples of 4,
//! `linear_subgroup.wgsl` shares each lane's loads of x across its subgroup; elsewhere with K
//! and N multiples of 4, `linear_tiled.wgsl` computes 8 x 8 outputs per invocation from vec4
//! loads; otherwise `linear.wgsl`, 8 rows x 4 columns from scalar loads of x.
//! PyTorch's `[N, K]` weight is stored transposed and padded to `[K, ceil(N/4)*4]`, and the bias
//! padded alike, so every column block is one aligned vec4. The subgroup kernel reads f32
//! weights in that layout from a texture ([`Linear::reads_texture`]).

use super::{Access, GELU_WGSL, INT8_WGSL, Kernel, WEIGHTED_BINDINGS, Weights};
use crate::context::GpuContext;
use crate::dispatch::Dispatch;

pub fn source() -> String {
    format!("{GELU_WGSL}{INT8_WGSL}{}", include_str!("linear.wgsl"))
}

const WEIGHTS_FROM_BUFFER: &str = include_str!("linear_weights_buffer.wgsl");
const WEIGHTS_FROM_TEXTURE: &str = include_str!("linear_weights_texture.wgsl");

/// What the two kernels over vec4 rows share, how they read weights, then the kernel.
fn vec4_source(weights: &str, kernel: &str) -> String {
    format!(
        "{GELU_WGSL}{INT8_WGSL}{}{weights}{kernel}",
        include_str!("linear_vec4_common.wgsl")
    )
}

pub fn tiled_source() -> String {
    vec4_source(WEIGHTS_FROM_BUFFER, include_str!("linear_tiled.wgsl"))
}

/// The tiled kernel reading f32 weights from a texture.
pub fn tiled_texture_source() -> String {
    vec4_source(WEIGHTS_FROM_TEXTURE, include_str!("linear_tiled.wgsl"))
}

/// The width of subgroup that `linear_subgroup.wgsl` is written for.
pub const SUBGROUP_SIZE: u32 = 8;

pub fn subgroup_source() -> String {
    subgroup_source_reading(WEIGHTS_FROM_BUFFER)
}

/// The subgroup kernel reading f32 weights from a texture.
pub fn subgroup_texture_source() -> String {
    subgroup_source_reading(WEIGHTS_FROM_TEXTURE)
}

fn subgroup_source_reading(weights: &str) -> String {
    // Browsers want the extension enabled; naga takes subgroup operations from the device's
    // features and rejects the directive.
    let enable = if cfg!(target_arch = "wasm32") {
        "enable subgroups;\n"
    } else {
        ""
    };
    format!(
        "{enable}{}",
        vec4_source(weights, include_str!("linear_subgroup.wgsl"))
    )
}

/// Output columns and rows per workgroup, by kernel: the subgroup kernel's 8 lanes of 8
/// columns x 32 rows; the tiled kernel's 8 x 8 invocations of 8 columns x 8 rows; the scalar
/// kernel's 16 x 4 invocations of 4 columns x 8 rows.
const SUBGROUP_BLOCK: [u32; 2] = [64, 32];
const TILED_BLOCK: [u32; 2] = [64, 64];
const SCALAR_BLOCK: [u32; 2] = [64, 32];

/// What happens to `x W^T + b` before it is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    Store,
    Gelu,
    /// `out += y`: the output buffer holds the residual stream.
    Accumulate,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    n4: u32,
}

fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// PyTorch `[N, K]` to the kernel's `[K, N]`, each row padded with zeros to a multiple of 4.
pub fn pack_weight(weight: &[f32], n: usize, k: usize) -> Vec<f32> {
    let stride = padded(n);
    let mut packed = vec![0f32; k * stride];
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

/// By epilogue (store, GELU, accumulate), then f32 or int8.
type Kernels = [[Kernel; 2]; 3];

pub struct Linear {
    scalar: Kernels,
    /// For K and N in fours: the subgroup kernel where the adapter's subgroups are
    /// [`SUBGROUP_SIZE`] wide, else the tiled one. Only the one that runs is compiled.
    vec4: (LinearKernel, Kernels),
    /// The vec4 kernel's f32 variant reading weights from a texture, by epilogue.
    texture: [Kernel; 3],
    /// The adapter's largest 2-D texture side.
    max_texture_side: u32,
    no_scales: wgpu::Buffer,
}

/// Which kernel runs a shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinearKernel {
    Scalar,
    Tiled,
    Subgroup,
}

impl Linear {
    pub fn new(ctx: &GpuContext) -> Self {
        Self::with_subgroups(ctx, true)
    }

    /// As [`Linear::new`]; `use_subgroups: false` keeps to the portable kernels even where the
    /// subgroup one would run, so that tests can hold every kernel to the reference.
    pub fn with_subgroups(ctx: &GpuContext, use_subgroups: bool) -> Self {
        let kernels = |source: &str| {
            let kernel = |epilogue: f64, quantized: bool| {
                let constants = [
                    ("EPILOGUE", epilogue),
                    ("QUANTIZED", f64::from(u8::from(quantized))),
                ];
                Kernel::new(ctx, "linear", source, &WEIGHTED_BINDINGS, &constants)
            };
            [0.0, 1.0, 2.0].map(|e| [kernel(e, false), kernel(e, true)])
        };
        let subgroups = use_subgroups && ctx.adapter.subgroup_size == Some(SUBGROUP_SIZE);
        let (vec4, texture_source) = if subgroups {
            (
                (LinearKernel::Subgroup, kernels(&subgroup_source())),
                subgroup_texture_source(),
            )
        } else {
            (
                (LinearKernel::Tiled, kernels(&tiled_source())),
                tiled_texture_source(),
            )
        };
        let mut bindings = WEIGHTED_BINDINGS;
        bindings[1] = Access::Texture;
        let texture = [0.0, 1.0, 2.0].map(|epilogue| {
            let constants = [("EPILOGUE", epilogue)];
            Kernel::new(ctx, "linear", &texture_source, &bindings, &constants)
        });
        Self {
            scalar: kernels(&source()),
            vec4,
            texture,
            max_texture_side: ctx.device.limits().max_texture_dimension_2d,
            no_scales: super::no_scales(ctx),
        }
    }

    /// Whether f32 weights of `[n, k]` are best uploaded by [`weight_texture`] and bound as
    /// [`Weights::F32Texture`]: where a vec4 kernel runs them and they fit a texture.
    pub fn reads_texture(&self, [n, k]: [u32; 2]) -> bool {
        self.kernel_for([1, n, k]) != LinearKernel::Scalar
            && n.div_ceil(4) <= self.max_texture_side
            && k <= self.max_texture_side
    }

    /// The kernel that runs `[m, n, k]`.
    pub fn kernel_for(&self, [_, n, k]: [u32; 3]) -> LinearKernel {
        if n % 4 != 0 || k % 4 != 0 {
            LinearKernel::Scalar
        } else {
            self.vec4.0
        }
    }

    /// Weights packed by [`pack_weight`] (uploaded by [`weight_texture`] where
    /// [`Linear::reads_texture`]) or [`pack_weight_int8`] (scales by [`pack_bias`]), `bias` by
    /// [`pack_bias`].
    ///
    /// # Panics
    /// On texture weights for a shape that [`Linear::reads_texture`] refuses.
    #[allow(clippy::too_many_arguments)]
    pub fn bind(
        &self,
        ctx: &GpuContext,
        [m, n, k]: [u32; 3],
        epilogue: Epilogue,
        input: &wgpu::Buffer,
        weights: Weights<'_>,
        bias: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Dispatch {
        let (index, label) = match epilogue {
            Epilogue::Store => (0, "linear"),
            Epilogue::Gelu => (1, "linear+gelu"),
            Epilogue::Accumulate => (2, "linear+residual"),
        };
        let (kernels, [block_cols, block_rows]) = match self.kernel_for([m, n, k]) {
            LinearKernel::Subgroup => (&self.vec4.1, SUBGROUP_BLOCK),
            LinearKernel::Tiled => (&self.vec4.1, TILED_BLOCK),
            LinearKernel::Scalar => (&self.scalar, SCALAR_BLOCK),
        };
        let kernel = match weights {
            Weights::F32Texture(_) => {
                assert!(
                    self.reads_texture([n, k]),
                    "linear [{m}, {n}, {k}]: its kernel reads no weights from a texture"
                );
                &self.texture[index]
            }
            Weights::F32(_) => &kernels[index][0],
            Weights::Int8 { .. } => &kernels[index][1],
        };
        let (weight, scales) = weights.resources(&self.no_scales);
        let grid = [n.div_ceil(block_cols), m.div_ceil(block_rows), 1];
        let params = Params {
            m,
            n,
            k,
            n4: n.div_ceil(4),
        };
        let resources = vec![
            input.as_entire_binding(),
            weight,
            bias.as_entire_binding(),
            output.as_entire_binding(),
            scales.as_entire_binding(),
        ];
        kernel.bind_resources(ctx, label, &params, resources, grid)
    }
}

/// f32 weights packed by [`pack_weight`] as a texture for [`Weights::F32Texture`]: texel
/// (c, k) holds K row k, columns 4c..4c+3, as u32 bits (exact).
pub fn weight_texture(
    ctx: &GpuContext,
    label: &str,
    packed: &[f32],
    [n, k]: [u32; 2],
) -> wgpu::TextureView {
    use wgpu::util::DeviceExt;
    let width = n.div_ceil(4);
    assert_eq!(
        packed.len(),
        4 * width as usize * k as usize,
        "{label}: packed size"
    );
    let texture = ctx.device.create_texture_with_data(
        &ctx.queue,
        &wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d {
                width,
                height: k,
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
        bytemuck::cast_slice(packed),
    );
    texture.create_view(&Default::default())
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

/// 2 FLOPs per multiply-add.
pub fn flops([m, n, k]: [u32; 3]) -> u64 {
    2 * u64::from(m) * u64::from(n) * u64::from(k)
}

/// CPU reference with PyTorch's `[N, K]` weight, f64; `residual` is the output's prior content.
pub fn reference(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    k: usize,
    epilogue: Epilogue,
    residual: Option<&[f32]>,
) -> Vec<f32> {
    let n = bias.len();
    let mut out = Vec::with_capacity(input.len() / k * n);
    for (row, x) in input.chunks_exact(k).enumerate() {
        for (col, w) in weight.chunks_exact(k).enumerate() {
            let mut y = f64::from(bias[col])
                + x.iter()
                    .zip(w)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum::<f64>();
            match epilogue {
                Epilogue::Store => {}
                Epilogue::Gelu => y = super::gelu_reference(y),
                Epilogue::Accumulate => {
                    y += f64::from(residual.expect("residual for accumulate")[row * n + col])
                }
            }
            out.push(y as f32);
        }
    }
    out
}
