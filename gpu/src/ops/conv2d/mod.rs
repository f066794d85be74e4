//! Dense 3x3 convolution, padding 1, any stride, channels last: the stem's two convolutions and
//! the downsamples. Weights are repacked once from PyTorch's `[Cout, Cin, 3, 3]` to
//! `[3, 3, Cin, Cout]` so that neighbouring invocations read neighbouring output channels.

pub mod reference;

use super::{Access, Kernel};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, linear_grid};
use crate::error::{Error, Result};

pub const SOURCE: &str = include_str!("conv2d.wgsl");
pub const KERNEL: usize = 3;
const PAD: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dShape {
    pub in_height: u32,
    pub in_width: u32,
    pub in_channels: u32,
    pub out_channels: u32,
    pub stride: u32,
}

impl Conv2dShape {
    pub fn out_height(&self) -> u32 {
        (self.in_height + 2 * PAD - KERNEL as u32) / self.stride + 1
    }
    pub fn out_width(&self) -> u32 {
        (self.in_width + 2 * PAD - KERNEL as u32) / self.stride + 1
    }
    pub fn input_len(&self) -> usize {
        (self.in_height * self.in_width * self.in_channels) as usize
    }
    pub fn output_len(&self) -> usize {
        (self.out_height() * self.out_width() * self.out_channels) as usize
    }
    pub fn weight_len(&self) -> usize {
        (self.out_channels * self.in_channels) as usize * KERNEL * KERNEL
    }
    /// 2 FLOPs per multiply-add, border taps included.
    pub fn flops(&self) -> u64 {
        2 * self.output_len() as u64 * u64::from(self.in_channels) * (KERNEL * KERNEL) as u64
    }

    fn validate(&self) -> Result<()> {
        if !self.out_channels.is_multiple_of(4) || self.stride == 0 || self.in_height == 0 {
            return Err(Error::Unsupported(format!(
                "conv2d needs output channels in fours and a stride: {self:?}"
            )));
        }
        Ok(())
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    in_height: u32,
    in_width: u32,
    in_channels: u32,
    out_height: u32,
    out_width: u32,
    out_vec: u32,
    stride: u32,
    pad: u32,
}

/// PyTorch `[Cout, Cin, 3, 3]` to the kernel's `[3, 3, Cin, Cout]`.
pub fn pack_weight(weight: &[f32], out_channels: usize, in_channels: usize) -> Vec<f32> {
    let taps = KERNEL * KERNEL;
    let mut packed = vec![0f32; weight.len()];
    for o in 0..out_channels {
        for i in 0..in_channels {
            for t in 0..taps {
                packed[(t * in_channels + i) * out_channels + o] =
                    weight[(o * in_channels + i) * taps + t];
            }
        }
    }
    packed
}

pub struct Conv2d {
    kernel: Kernel,
}

impl Conv2d {
    pub fn new(ctx: &GpuContext) -> Self {
        let storage = [Access::Read, Access::Read, Access::Read, Access::ReadWrite];
        Self {
            kernel: Kernel::new(ctx, "conv2d", SOURCE, &storage, &[]),
        }
    }

    /// `weight` packed by [`pack_weight`]; `bias` holds `out_channels` values (zeros for none).
    pub fn bind(
        &self,
        ctx: &GpuContext,
        shape: &Conv2dShape,
        input: &wgpu::Buffer,
        weight: &wgpu::Buffer,
        bias: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        shape.validate()?;
        let params = Params {
            in_height: shape.in_height,
            in_width: shape.in_width,
            in_channels: shape.in_channels,
            out_height: shape.out_height(),
            out_width: shape.out_width(),
            out_vec: shape.out_channels / 4,
            stride: shape.stride,
            pad: PAD,
        };
        let invocations = shape.out_height() * shape.out_width() * shape.out_channels / 4;
        Ok(self.kernel.bind(
            ctx,
            "conv2d",
            &params,
            &[input, weight, bias, output],
            linear_grid(invocations),
        ))
    }
}
