//! Global average pooling of the head, `[P, C]` to `[C]`.

use super::{Access, Kernel};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, WORKGROUP_SIZE};

pub const SOURCE: &str = include_str!("pool.wgsl");

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    pixels: u32,
    channels: u32,
}

pub struct MeanPool {
    kernel: Kernel,
}

impl MeanPool {
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            kernel: Kernel::new(ctx, "pool", SOURCE, &[Access::Read, Access::ReadWrite], &[]),
        }
    }

    pub fn bind(
        &self,
        ctx: &GpuContext,
        pixels: u32,
        channels: u32,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Dispatch {
        let grid = [channels.div_ceil(WORKGROUP_SIZE), 1, 1];
        self.kernel.bind(
            ctx,
            "mean-pool",
            &Params { pixels, channels },
            &[input, output],
            grid,
        )
    }
}

/// CPU reference, f64.
pub fn reference(input: &[f32], channels: usize) -> Vec<f32> {
    let pixels = input.len() / channels;
    (0..channels)
        .map(|c| {
            (input
                .iter()
                .skip(c)
                .step_by(channels)
                .map(|&v| f64::from(v))
                .sum::<f64>()
                / pixels as f64) as f32
        })
        .collect()
}
