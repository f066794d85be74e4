//! Depthwise 3x3 convolution + LayerNorm + GELU, fused: the DCNv3 module's `dw_conv` branch
//! (spec section 3, step 2). Weights repacked from PyTorch's `[C, 1, 3, 3]` to `[9, C]`.

pub mod reference;

use super::layernorm::{
    ByLayout, FOUR_PIXELS_WGSL, PIXELS_PER_INVOCATION, TEAMS_WGSL, Team, four_pixel_grid,
};
use super::{Access, GELU_WGSL, Kernel, Uniform};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, f32_bytes};

const BINDINGS_WGSL: &str = include_str!("bindings.wgsl");

pub fn source() -> String {
    format!(
        "{GELU_WGSL}{FOUR_PIXELS_WGSL}{}{BINDINGS_WGSL}{}",
        Params::WGSL,
        include_str!("dwconv.wgsl")
    )
}

pub fn teams_source() -> String {
    format!(
        "{GELU_WGSL}{TEAMS_WGSL}{}{BINDINGS_WGSL}{}",
        Params::WGSL,
        include_str!("dwconv_teams.wgsl")
    )
}

uniform! {
    struct Params {
        height: u32,
        width: u32,
        /// A multiple of 4.
        channels: u32,
        eps: f32,
    }
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

/// By team (none: runs of four pixels per invocation).
pub type DwConv = ByLayout<Option<Team>>;

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
        let weights: u64 = buffers[1..5].iter().map(|buffer| buffer.size()).sum();
        // 9 multiply-adds, then the LayerNorm's and GELU's ~16 FLOPs, per element.
        let elements = u64::from(height * width) * u64::from(channels);
        (kernel.bind(ctx, "dwconv+layernorm+gelu", &params, &buffers, workgroups))
            .doing(34 * elements, f32_bytes(2 * elements) + weights)
    }
}
