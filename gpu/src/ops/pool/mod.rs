//! Global average pooling of the head, `[P, C]` to `[C]`.

pub mod reference;

use super::{Access, Kernel, Uniform};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, WORKGROUP_SIZE, f32_bytes};

pub fn source() -> String {
    format!("{}{}", Params::WGSL, include_str!("pool.wgsl"))
}

uniform! {
    struct Params {
        pixels: u32,
        channels: u32,
    }
}

pub struct MeanPool {
    kernel: Kernel,
}

impl MeanPool {
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            kernel: Kernel::new(
                ctx,
                "pool",
                &source(),
                &[Access::Read, Access::ReadWrite],
                &[],
            ),
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
        let elements = u64::from(pixels) * u64::from(channels);
        let params = Params { pixels, channels };
        (self
            .kernel
            .bind(ctx, "mean-pool", &params, &[input, output], grid))
        .doing(elements, f32_bytes(elements + u64::from(channels)))
    }
}
