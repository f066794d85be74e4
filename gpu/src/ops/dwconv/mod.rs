//! Depthwise 3x3 convolution + LayerNorm + GELU, fused: the DCNv3 module's `dw_conv` branch
//! (spec section 3, step 2). Weights repacked from PyTorch's `[C, 1, 3, 3]` to `[9, C]`.

pub mod reference;

use super::layernorm::{
    ByLayout, FOUR_PIXELS_WGSL, PIXELS_PER_INVOCATION, TEAMS_WGSL, Team, four_pixel_grid,
};
use super::{Access, GELU_WGSL, Kernel, Uniform, no_scales};
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

/// By team (none: runs of four pixels per invocation) and whether the input is normalised.
pub type DwConv = ByLayout<(Option<Team>, NormalisesInput)>;

/// Whether the depthwise branch normalises its input ([`InputNorm`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NormalisesInput(bool);

/// The buffers of one fused depthwise branch, weights packed by [`pack_weight`].
pub struct DwConvBuffers<'a> {
    pub input: &'a wgpu::Buffer,
    pub weight: &'a wgpu::Buffer,
    pub bias: &'a wgpu::Buffer,
    pub ln_weight: &'a wgpu::Buffer,
    pub ln_bias: &'a wgpu::Buffer,
    pub output: &'a wgpu::Buffer,
    /// Where `input` is a LayerNorm's input rather than its output: the norm's weights and
    /// its statistics per pixel, which a linear over the same input wrote
    /// ([`super::linear::NormFold::buffers`]).
    pub input_norm: Option<InputNorm<'a>>,
}

/// A LayerNorm applied to the depthwise branch's input as it is read.
#[derive(Clone, Copy)]
pub struct InputNorm<'a> {
    /// gamma, then beta (each C long).
    pub weights: &'a wgpu::Buffer,
    /// `[H, W]` pairs: mean, 1 / std.
    pub stats: &'a wgpu::Buffer,
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
        let normalize = b.input_norm.is_some();
        let kernel = self.kernels.get((team, NormalisesInput(normalize)), || {
            let mut storage = [Access::Read; 8];
            storage[5] = Access::ReadWrite;
            let mut constants = team.map_or(vec![], |team| team.constants().to_vec());
            if normalize {
                constants.push(("NORMALIZE_INPUT", 1.0));
            }
            let kernel = if team.is_some() {
                teams_source()
            } else {
                source()
            };
            Kernel::new(ctx, "dwconv", &kernel, &storage, &constants)
        });
        let workgroups = match team {
            Some(team) => team.grid(height * width),
            // Runs of 4 pixels never cross a row.
            None => four_pixel_grid(height * width.div_ceil(PIXELS_PER_INVOCATION)),
        };
        // Bound in place of a norm where there is none.
        let unused: [wgpu::Buffer; 2];
        let [norm, stats] = match &b.input_norm {
            Some(norm) => [norm.weights, norm.stats],
            None => {
                unused = [no_scales(ctx), no_scales(ctx)];
                [&unused[0], &unused[1]]
            }
        };
        let buffers = [
            b.input,
            b.weight,
            b.bias,
            b.ln_weight,
            b.ln_bias,
            b.output,
            norm,
            stats,
        ];
        let weights: u64 = buffers[1..5].iter().map(|buffer| buffer.size()).sum();
        // 9 multiply-adds, then the LayerNorm's and GELU's ~16 FLOPs, per element.
        let elements = u64::from(height * width) * u64::from(channels);
        let (label, norm_bytes) = match b.input_norm {
            Some(_) => (
                "layernorm+dwconv+layernorm+gelu",
                norm.size() + stats.size(),
            ),
            None => ("dwconv+layernorm+gelu", 0),
        };
        (kernel.bind(ctx, label, &params, &buffers, workgroups)).doing(
            34 * elements,
            f32_bytes(2 * elements) + weights + norm_bytes,
        )
    }
}
