//! LayerNorm over channels (channels last), with GELU fused when the network applies one next
//! (the stem's first norm).

use super::{Access, GELU_WGSL, Kernel};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, grid};

/// LayerNorm statistics of 4 pixels at a time, for the kernels that normalise 4 per invocation.
pub const FOUR_PIXELS_WGSL: &str = include_str!("four_pixels.wgsl");
/// Pixels per invocation of those kernels, and invocations per workgroup, as
/// four_pixels.wgsl declares them.
pub const PIXELS_PER_INVOCATION: u32 = 4;
const FOUR_PIXEL_WORKGROUP: u32 = 16;

/// The grid of a kernel that normalises 4 pixels per invocation.
pub fn four_pixel_grid(invocations: u32) -> [u32; 3] {
    grid(invocations, FOUR_PIXEL_WORKGROUP)
}

pub fn source() -> String {
    format!(
        "{GELU_WGSL}{FOUR_PIXELS_WGSL}{}",
        include_str!("layernorm.wgsl")
    )
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    pixels: u32,
    channels: u32,
    eps: f32,
    _pad: u32,
}

pub struct LayerNorm {
    plain: Kernel,
    with_gelu: Kernel,
}

impl LayerNorm {
    pub fn new(ctx: &GpuContext) -> Self {
        let source = source();
        let storage = [Access::Read, Access::Read, Access::Read, Access::ReadWrite];
        let kernel = |gelu: bool| {
            let constants = [("APPLY_GELU", f64::from(u8::from(gelu)))];
            Kernel::new(ctx, "layernorm", &source, &storage, &constants)
        };
        Self {
            plain: kernel(false),
            with_gelu: kernel(true),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn bind(
        &self,
        ctx: &GpuContext,
        pixels: u32,
        channels: u32,
        eps: f32,
        gelu: bool,
        [input, weight, bias, output]: [&wgpu::Buffer; 4],
    ) -> Dispatch {
        assert!(
            channels.is_multiple_of(4),
            "the kernel reads channels 4 at a time; the model's config guarantees it"
        );
        let kernel = if gelu { &self.with_gelu } else { &self.plain };
        let params = Params {
            pixels,
            channels,
            eps,
            _pad: 0,
        };
        let label = if gelu { "layernorm+gelu" } else { "layernorm" };
        kernel.bind(
            ctx,
            label,
            &params,
            &[input, weight, bias, output],
            four_pixel_grid(pixels.div_ceil(PIXELS_PER_INVOCATION)),
        )
    }
}

/// CPU reference: LayerNorm over the last axis of `[P, C]`, then GELU when asked; f64.
pub fn reference(
    input: &[f32],
    channels: usize,
    weight: &[f32],
    bias: &[f32],
    eps: f64,
    gelu: bool,
) -> Vec<f32> {
    input
        .chunks_exact(channels)
        .flat_map(|x| {
            let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / channels as f64;
            let var = x
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / channels as f64;
            let inv = 1.0 / (var + eps).sqrt();
            x.iter().enumerate().map(move |(c, &v)| {
                let y = (f64::from(v) - mean) * inv * f64::from(weight[c]) + f64::from(bias[c]);
                (if gelu { super::gelu_reference(y) } else { y }) as f32
            })
        })
        .collect()
}
