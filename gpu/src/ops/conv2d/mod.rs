//! Dense 3x3 convolution, padding 1, any stride, channels last: the stem's two convolutions and
//! the downsamples. Two dispatches: im2col gathers each output pixel's 3x3 neighbourhood into a
//! row `[3, 3, Cin]`, then the linear kernels multiply those rows by the weights, repacked once
//! from PyTorch's `[Cout, Cin, 3, 3]` to `[Cout, 3, 3, Cin]` and then as any linear's. Why: the
//! linear kernels run many times faster than a direct kernel did
//! (docs/performance.md#the-linear-kernels).

pub mod reference;

use super::linear::{self, Epilogue, Linear, LinearBuffers};
use super::{Access, Kernel, Uniform};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, f32_bytes, linear_grid};
use crate::error::{Error, Result};

/// im2col copying `chunk` channels (1 or 4) per invocation.
pub fn im2col_source(chunk: u32) -> String {
    let chunk_type = if chunk == 4 { "vec4<f32>" } else { "f32" };
    format!(
        "alias Chunk = {chunk_type};\nconst CHUNK: u32 = {chunk}u;\n{}{}",
        Params::WGSL,
        include_str!("im2col.wgsl")
    )
}
pub const KERNEL: usize = 3;
const PAD: u32 = 1;

/// Floats per im2col row: 9 x input channels, rounded up to a multiple of 4 (zeros) so that the
/// linear kernel reads the rows in vec4s (the stem's 27 → 28).
pub fn row_len(in_channels: usize) -> usize {
    (KERNEL * KERNEL * in_channels).next_multiple_of(4)
}

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
    /// Floats per im2col row (see [`row_len`]).
    pub fn row_len(&self) -> u32 {
        row_len(self.in_channels as usize) as u32
    }
    /// Floats of the im2col rows: output pixels x [`Conv2dShape::row_len`].
    pub fn columns_len(&self) -> usize {
        (self.out_height() * self.out_width()) as usize * self.row_len() as usize
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

uniform! {
    struct Params {
        in_height: u32,
        in_width: u32,
        in_channels: u32,
        out_width: u32,
        stride: u32,
        pad: u32,
        /// Invocations: output pixels times the 9 taps times the spans of a tap.
        total: u32,
        /// Chunks per row, padding included.
        row_chunks: u32,
        /// Chunks an invocation copies, a divisor of the input's.
        span: u32,
    }
}

/// PyTorch `[Cout, Cin, 3, 3]` to `[Cout, 3, 3, Cin]`: the order of an im2col row.
fn taps_last<T: Copy + Default>(weight: &[T], out_channels: usize, in_channels: usize) -> Vec<T> {
    let taps = KERNEL * KERNEL;
    let mut reordered = vec![T::default(); weight.len()];
    for o in 0..out_channels {
        for i in 0..in_channels {
            for t in 0..taps {
                reordered[(o * taps + t) * in_channels + i] =
                    weight[(o * in_channels + i) * taps + t];
            }
        }
    }
    reordered
}

/// PyTorch `[Cout, Cin, 3, 3]` to `[Cout, row]`: the order of an im2col row, zeros after the
/// `9 Cin` taps up to `row` (see [`row_len`]).
fn as_rows<T: Copy + Default>(
    weight: &[T],
    out_channels: usize,
    in_channels: usize,
) -> (Vec<T>, usize) {
    let (k, row) = (KERNEL * KERNEL * in_channels, row_len(in_channels));
    let mut rows = vec![T::default(); out_channels * row];
    for (o, taps) in taps_last(weight, out_channels, in_channels)
        .chunks_exact(k)
        .enumerate()
    {
        rows[o * row..o * row + k].copy_from_slice(taps);
    }
    (rows, row)
}

/// PyTorch `[Cout, Cin, 3, 3]` f32 weights as the linear kernel reads them.
pub fn pack_weight<T: Copy + Default>(
    weight: &[T],
    out_channels: usize,
    in_channels: usize,
) -> Vec<T> {
    let (rows, row) = as_rows(weight, out_channels, in_channels);
    linear::pack_weight(&rows, out_channels, row)
}

/// PyTorch `[Cout, Cin, 3, 3]` int8 weights as the linear kernel reads them; the scales stay
/// one per output channel.
pub fn pack_weight_int8(weight: &[i8], out_channels: usize, in_channels: usize) -> Vec<u32> {
    let (rows, row) = as_rows(weight, out_channels, in_channels);
    linear::pack_weight_int8(&rows, out_channels, row)
}

pub struct Conv2d {
    /// Copying one channel, or four, per invocation.
    im2col: [Kernel; 2],
    /// Whether an im2col invocation copies a tap's every chunk rather than one (im2col.wgsl).
    whole_taps: bool,
}

impl Conv2d {
    /// im2col as suits the adapter: whole taps an invocation on CPU adapters, a chunk on GPUs.
    pub fn new(ctx: &GpuContext) -> Self {
        Self::with_whole_taps(ctx, ctx.adapter.runs_on_cpu())
    }

    /// im2col copying whole taps an invocation, or one chunk, whatever the adapter: so that
    /// tests can hold both to the reference.
    pub fn with_whole_taps(ctx: &GpuContext, whole_taps: bool) -> Self {
        let storage = [Access::Read, Access::ReadWrite];
        Self {
            im2col: [1, 4]
                .map(|chunk| Kernel::new(ctx, "im2col", &im2col_source(chunk), &storage, &[])),
            whole_taps,
        }
    }

    /// The two dispatches of the convolution: im2col into `columns` (at least
    /// [`Conv2dShape::columns_len`] floats), then the linear kernel of `buffers` (the columns
    /// its input) into its output. Weights packed by [`pack_weight`] or [`pack_weight_int8`];
    /// the bias holds `out_channels` values (zeros for none).
    pub fn bind(
        &self,
        ctx: &GpuContext,
        linear: &Linear,
        shape: &Conv2dShape,
        input: &wgpu::Buffer,
        buffers: &LinearBuffers<'_>,
    ) -> Result<[Dispatch; 2]> {
        let columns = buffers.input;
        shape.validate()?;
        if columns.size() < 4 * shape.columns_len() as u64 {
            return Err(Error::Shape {
                what: "im2col columns buffer".into(),
                expected: format!("{} floats or more", shape.columns_len()),
                actual: format!("{} floats", columns.size() / 4),
            });
        }
        let chunk = if shape.in_channels.is_multiple_of(4) {
            4
        } else {
            1
        };
        let pixels = shape.out_height() * shape.out_width();
        let chunks = shape.in_channels / chunk;
        let span = if self.whole_taps { chunks } else { 1 };
        let total = pixels * (KERNEL * KERNEL) as u32 * (chunks / span);
        let row_chunks = shape.row_len() / chunk;
        let params = Params {
            in_height: shape.in_height,
            in_width: shape.in_width,
            in_channels: shape.in_channels,
            out_width: shape.out_width(),
            stride: shape.stride,
            pad: PAD,
            total,
            row_chunks,
            span,
        };
        let gather = (self.im2col[usize::from(chunk == 4)])
            .bind(
                ctx,
                "im2col",
                &params,
                &[input, columns],
                linear_grid(total),
            )
            .doing(
                0,
                f32_bytes((shape.input_len() + shape.columns_len()) as u64),
            );
        let mut multiply = linear.bind(
            ctx,
            [pixels, shape.out_channels, shape.row_len()],
            Epilogue::Store,
            buffers,
        );
        multiply.label = "conv2d (im2col linear)";
        // The convolution's own multiply-adds, not the zeros that pad its rows to vec4s.
        multiply.work.flops = shape.flops();
        Ok([gather, multiply])
    }
}
