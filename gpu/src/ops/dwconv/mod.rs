//! Depthwise 3x3 convolution + LayerNorm + GELU, fused: the DCNv3 module's `dw_conv` branch
//! (spec section 3, step 2). Weights repacked from PyTorch's `[C, 1, 3, 3]` to `[9, C]`.

use super::layernorm::{
    FOUR_PIXELS_WGSL, NormLayout, PIXELS_PER_INVOCATION, TEAMS_WGSL, Team, four_pixel_grid,
};
use super::{Access, GELU_WGSL, Kernel, KernelCache};
use crate::context::GpuContext;
use crate::dispatch::Dispatch;

const BINDINGS_WGSL: &str = include_str!("bindings.wgsl");

pub fn source() -> String {
    format!(
        "{GELU_WGSL}{FOUR_PIXELS_WGSL}{BINDINGS_WGSL}{}",
        include_str!("dwconv.wgsl")
    )
}

pub fn teams_source() -> String {
    format!(
        "{GELU_WGSL}{TEAMS_WGSL}{BINDINGS_WGSL}{}",
        include_str!("dwconv_teams.wgsl")
    )
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    height: u32,
    width: u32,
    channels: u32,
    eps: f32,
}

/// PyTorch `[C, 1, 3, 3]` to the kernel's `[9, C]`.
pub fn pack_weight(weight: &[f32], channels: usize) -> Vec<f32> {
    let mut packed = vec![0f32; weight.len()];
    for c in 0..channels {
        for tap in 0..9 {
            packed[tap * channels + c] = weight[c * 9 + tap];
        }
    }
    packed
}

pub struct DwConv {
    layout: NormLayout,
    /// By team (none: runs of four pixels per invocation).
    kernels: KernelCache<Option<Team>>,
}

/// The buffers of one fused depthwise branch, weights packed by [`pack_weight`].
pub struct DwConvBuffers<'a> {
    pub input: &'a wgpu::Buffer,
    pub weight: &'a wgpu::Buffer,
    pub bias: &'a wgpu::Buffer,
    pub ln_weight: &'a wgpu::Buffer,
    pub ln_bias: &'a wgpu::Buffer,
    pub output: &'a wgpu::Buffer,
}

impl DwConv {
    /// The layout for the adapter ([`NormLayout::for_adapter`]).
    pub fn new(ctx: &GpuContext) -> Self {
        Self::with_layout(NormLayout::for_adapter(&ctx.adapter))
    }

    /// `layout` whatever the adapter, so that tests hold both to the reference.
    pub fn with_layout(layout: NormLayout) -> Self {
        Self {
            layout,
            kernels: KernelCache::new(),
        }
    }

    pub fn bind(
        &self,
        ctx: &GpuContext,
        height: u32,
        width: u32,
        channels: u32,
        eps: f32,
        b: &DwConvBuffers<'_>,
    ) -> Dispatch {
        assert!(
            channels.is_multiple_of(4),
            "the kernel reads channels 4 at a time; the model's config guarantees it"
        );
        let params = Params {
            height,
            width,
            channels,
            eps,
        };
        let team = Team::for_layout(self.layout, channels);
        let kernel = self.kernels.get(team, || {
            let mut storage = [Access::Read; 6];
            storage[5] = Access::ReadWrite;
            match team {
                Some(team) => {
                    Kernel::new(ctx, "dwconv", &teams_source(), &storage, &team.constants())
                }
                None => Kernel::new(ctx, "dwconv", &source(), &storage, &[]),
            }
        });
        let workgroups = match team {
            Some(team) => team.grid(height * width),
            // Runs of 4 pixels never cross a row.
            None => four_pixel_grid(height * width.div_ceil(PIXELS_PER_INVOCATION)),
        };
        let buffers = [b.input, b.weight, b.bias, b.ln_weight, b.ln_bias, b.output];
        kernel.bind(ctx, "dwconv+layernorm+gelu", &params, &buffers, workgroups)
    }
}

/// CPU reference, PyTorch weight layout `[C, 1, 3, 3]`, f64.
#[allow(clippy::too_many_arguments)]
pub fn reference(
    input: &[f32],
    height: usize,
    width: usize,
    channels: usize,
    weight: &[f32],
    bias: &[f32],
    ln_weight: &[f32],
    ln_bias: &[f32],
    eps: f64,
) -> Vec<f32> {
    let mut conv = vec![0f32; input.len()];
    for y in 0..height {
        for x in 0..width {
            for c in 0..channels {
                let mut acc = f64::from(bias[c]);
                for tap in 0..9 {
                    let (iy, ix) = (y as i64 + tap as i64 / 3 - 1, x as i64 + tap as i64 % 3 - 1);
                    if (0..height as i64).contains(&iy) && (0..width as i64).contains(&ix) {
                        let v = input[(iy as usize * width + ix as usize) * channels + c];
                        acc += f64::from(v) * f64::from(weight[c * 9 + tap]);
                    }
                }
                conv[(y * width + x) * channels + c] = acc as f32;
            }
        }
    }
    super::layernorm::reference(&conv, channels, ln_weight, ln_bias, eps, true)
}
