//! Dense 3x3 convolution, padding 1, any stride, channels last: the stem's two convolutions and
//! the downsamples. Weights are repacked once from PyTorch's `[Cout, Cin, 3, 3]` to
//! `[3, 3, Cin, Cout]` so that neighbouring invocations read neighbouring output channels.

pub mod reference;

use super::{INT8_WGSL, Kernel, WEIGHTED_BINDINGS, Weights};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, linear_grid};
use crate::error::{Error, Result};

pub fn source() -> String {
    format!("{INT8_WGSL}{}", include_str!("conv2d.wgsl"))
}
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
    /// f32, then int8 weights.
    kernels: [Kernel; 2],
    no_scales: wgpu::Buffer,
}

/// PyTorch-layout `[Cout, Cin, 3, 3]` int8 weights to the kernel's words: per tap, per block of
/// 4 input channels and 4 output channels, 4 u32 (one per input channel), byte j holding output
/// channel 4q + j. Needs input channels in fours.
pub fn pack_weight_int8(weight: &[i8], out_channels: usize, in_channels: usize) -> Vec<u32> {
    let taps = KERNEL * KERNEL;
    let (in4, out4) = (in_channels / 4, out_channels / 4);
    let mut words = vec![0u32; taps * in4 * out4 * 4];
    for tap in 0..taps {
        for p in 0..in4 {
            for q in 0..out4 {
                for r in 0..4 {
                    let c = 4 * p + r;
                    let word = (0..4).fold(0u32, |word, j| {
                        let value = weight[((4 * q + j) * in_channels + c) * taps + tap];
                        word | (u32::from(value as u8) << (8 * j))
                    });
                    words[((tap * in4 + p) * out4 + q) * 4 + r] = word;
                }
            }
        }
    }
    words
}

impl Conv2d {
    pub fn new(ctx: &GpuContext) -> Self {
        let source = source();
        let storage = WEIGHTED_BINDINGS;
        let kernel = |quantized: bool| {
            let constants = [("QUANTIZED", f64::from(u8::from(quantized)))];
            Kernel::new(ctx, "conv2d", &source, &storage, &constants)
        };
        Self {
            kernels: [kernel(false), kernel(true)],
            no_scales: super::no_scales(ctx),
        }
    }

    /// Weights packed by [`pack_weight`] or [`pack_weight_int8`] (int8 needs input channels in
    /// fours); `bias` holds `out_channels` values (zeros for none).
    pub fn bind(
        &self,
        ctx: &GpuContext,
        shape: &Conv2dShape,
        input: &wgpu::Buffer,
        weights: Weights<'_>,
        bias: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        shape.validate()?;
        let (precision, weight, scales) = weights.parts(&self.no_scales);
        if matches!(weights, Weights::Int8 { .. }) && !shape.in_channels.is_multiple_of(4) {
            return Err(Error::Unsupported(format!(
                "int8 conv2d needs input channels in fours: {shape:?}"
            )));
        }
        let kernel = &self.kernels[precision];
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
        let bound = [input, weight, bias, output, scales];
        Ok(kernel.bind(ctx, "conv2d", &params, &bound, linear_grid(invocations)))
    }
}
