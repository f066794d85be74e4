//! DCNv3 core: deformable, mask-modulated 3x3 sampling (spec section 4), with the mask softmax
//! fused in. Launcher here, kernel in `dcnv3.wgsl`, CPU reference in `reference.rs`.
//!
//! Layouts (channels last, batch 1):
//! - input `X`, output `Y`: `[H, W, G * Cg]`, channel `g * Cg + c`;
//! - offsets: `[H, W, G, 9, 2]`, the last axis `(dx, dy)` (width, then height);
//! - mask logits: `[H, W, G, 9]`, before the softmax;
//! - on the GPU both in one points buffer `[H, W, point_row]`: per pixel its `18 G` offsets,
//!   then its `9 G` logits, then zeros up to a multiple of 4 (see [`Dcnv3Shape::point_row`]):
//!   what one linear layer writes when the model stacks the offset and mask layers;
//! - sampling (optional): `[H, W, G, 9, 3]`, the last axis `(p_x, p_y, m)`: the sampled location
//!   in the unpadded input map (pixel centres at integers, x = column) and the softmaxed weight.
//!
//! Why the softmax is fused: the kernel already reads the 9 logits of its (pixel, group), the
//! softmax costs 9 `exp` per 16 output channels, and fusing saves writing and re-reading the mask
//! (36 bytes per pixel and group) and one dispatch per layer.

pub mod reference;

use super::{Access, Kernel};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, linear_grid};
use crate::error::{Error, Result};

pub const SOURCE: &str = include_str!("dcnv3.wgsl");
pub const POINTS: usize = 9;
/// Floats per sampling record: `(p_x, p_y, m)`.
pub const SAMPLING_STRIDE: usize = 3;
const MAX_GROUP_CHANNELS: u32 = 32;

/// Floats per pixel in the points buffer of a layer with `groups` groups: `27 G` (18 offsets and
/// 9 logits per group), rounded up to a multiple of 4 so that the linear layer writing it runs
/// its vec4 kernels.
pub fn point_row(groups: u32) -> u32 {
    (27 * groups).next_multiple_of(4)
}

/// The sizes of one DCNv3 layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dcnv3Shape {
    pub height: u32,
    pub width: u32,
    pub groups: u32,
    pub group_channels: u32,
    pub offset_scale: f32,
}

impl Dcnv3Shape {
    pub fn channels(&self) -> u32 {
        self.groups * self.group_channels
    }
    fn pixels(&self) -> usize {
        self.height as usize * self.width as usize
    }
    pub fn input_len(&self) -> usize {
        self.pixels() * self.channels() as usize
    }
    /// Floats per pixel in the points buffer (see [`point_row`]).
    pub fn point_row(&self) -> u32 {
        point_row(self.groups)
    }
    pub fn points_len(&self) -> usize {
        self.pixels() * self.point_row() as usize
    }
    /// Host offsets `[H, W, G, 9, 2]` and mask logits `[H, W, G, 9]` in the points layout.
    pub fn pack_points(&self, offsets: &[f32], mask_logits: &[f32]) -> Vec<f32> {
        let (row, per_pixel) = (self.point_row() as usize, self.groups as usize * POINTS);
        let mut points = vec![0.0; self.points_len()];
        for (pixel, out) in points.chunks_exact_mut(row).enumerate() {
            out[..2 * per_pixel]
                .copy_from_slice(&offsets[2 * per_pixel * pixel..2 * per_pixel * (pixel + 1)]);
            out[2 * per_pixel..3 * per_pixel]
                .copy_from_slice(&mask_logits[per_pixel * pixel..per_pixel * (pixel + 1)]);
        }
        points
    }
    pub fn offset_len(&self) -> usize {
        self.mask_len() * 2
    }
    pub fn mask_len(&self) -> usize {
        self.pixels() * self.groups as usize * POINTS
    }
    pub fn sampling_len(&self) -> usize {
        self.mask_len() * SAMPLING_STRIDE
    }

    /// Multiply-adds of the bilinear sampling, counted as 2 FLOPs: 4 corners x 9 points per output
    /// element, plus the per-(pixel, group) softmax and weights (about 60 FLOPs, counted too).
    pub fn flops(&self) -> u64 {
        let per_group = 9 * (4 * 2 * u64::from(self.group_channels)) + 60;
        self.pixels() as u64 * u64::from(self.groups) * per_group
    }

    /// The compulsory traffic: every input, offset and logit read once, the output written once.
    pub fn min_bytes(&self) -> u64 {
        4 * (2 * self.input_len() + self.offset_len() + self.mask_len()) as u64
    }

    fn validate(&self) -> Result<()> {
        let gc = self.group_channels;
        if gc == 0 || !gc.is_multiple_of(4) || gc > MAX_GROUP_CHANNELS {
            return Err(Error::Unsupported(format!(
                "DCNv3 group channels must be a multiple of 4 up to {MAX_GROUP_CHANNELS}, got {gc}"
            )));
        }
        if self.height == 0 || self.width == 0 || self.groups == 0 {
            return Err(Error::Unsupported(format!("empty DCNv3 shape {self:?}")));
        }
        Ok(())
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    height: u32,
    width: u32,
    groups: u32,
    offset_scale: f32,
    point_row: u32,
    _pad: [u32; 3],
}

/// The buffers one DCNv3 layer reads and writes; `sampling` is bound only when wanted.
pub struct Dcnv3Buffers<'a> {
    pub input: &'a wgpu::Buffer,
    /// Offsets and mask logits, `[H, W, point_row]` (see the module's layouts).
    pub points: &'a wgpu::Buffer,
    pub output: &'a wgpu::Buffer,
    pub sampling: Option<&'a wgpu::Buffer>,
}

/// The compiled kernel for one group width, with and without the sampling output.
pub struct Dcnv3 {
    plain: Kernel,
    with_sampling: Kernel,
    /// Bound in place of the sampling buffer when it is not wanted: the shader never writes it.
    no_sampling: wgpu::Buffer,
}

impl Dcnv3 {
    pub fn new(ctx: &GpuContext, group_channels: u32) -> Self {
        let storage = [
            Access::Read,
            Access::Read,
            Access::Read,
            Access::ReadWrite,
            Access::ReadWrite,
        ];
        let kernel = |emit_sampling: bool| {
            let constants = [
                ("GROUP_CHANNELS", f64::from(group_channels)),
                ("EMIT_SAMPLING", f64::from(u8::from(emit_sampling))),
            ];
            Kernel::new(ctx, "dcnv3", SOURCE, &storage, &constants)
        };
        let no_sampling = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dcnv3 no sampling"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        Self {
            plain: kernel(false),
            with_sampling: kernel(true),
            no_sampling,
        }
    }

    /// Binds one layer's buffers once; the returned dispatch is replayed on every run.
    pub fn bind(
        &self,
        ctx: &GpuContext,
        shape: &Dcnv3Shape,
        buffers: &Dcnv3Buffers<'_>,
    ) -> Result<Dispatch> {
        shape.validate()?;
        let params = Params {
            height: shape.height,
            width: shape.width,
            groups: shape.groups,
            offset_scale: shape.offset_scale,
            point_row: shape.point_row(),
            _pad: [0; 3],
        };
        let (kernel, label) = match buffers.sampling {
            Some(_) => (&self.with_sampling, "dcnv3+sampling"),
            None => (&self.plain, "dcnv3"),
        };
        let bound = [
            buffers.input,
            buffers.points,
            buffers.points,
            buffers.output,
            buffers.sampling.unwrap_or(&self.no_sampling),
        ];
        let grid = linear_grid(shape.height * shape.width * shape.groups);
        Ok(kernel.bind(ctx, label, &params, &bound, grid))
    }
}

/// The result of one stand-alone DCNv3 run.
pub struct Dcnv3Output {
    pub output: Vec<f32>,
    pub sampling: Option<Vec<f32>>,
}

/// Uploads host tensors, runs the kernel once and reads the results back: for tests and the
/// page's self-check. A model binds [`Dcnv3`] to its own buffers instead.
pub async fn run_once(
    ctx: &GpuContext,
    shape: &Dcnv3Shape,
    input: &[f32],
    offsets: &[f32],
    mask_logits: &[f32],
    want_sampling: bool,
) -> Result<Dcnv3Output> {
    use crate::buffers::{read_f32, storage_from, storage_zeroed};
    shape.validate()?;
    for (what, expected, actual) in [
        ("DCNv3 input", shape.input_len(), input.len()),
        ("DCNv3 offsets", shape.offset_len(), offsets.len()),
        ("DCNv3 mask", shape.mask_len(), mask_logits.len()),
    ] {
        if expected != actual {
            return Err(Error::Shape {
                what: what.into(),
                expected: format!("{expected} values for {shape:?}"),
                actual: format!("{actual} values"),
            });
        }
    }
    let kernel = Dcnv3::new(ctx, shape.group_channels);
    let input = storage_from(ctx, "dcnv3 input", input);
    let points = storage_from(
        ctx,
        "dcnv3 points",
        &shape.pack_points(offsets, mask_logits),
    );
    let output = storage_zeroed(ctx, "dcnv3 output", shape.input_len());
    let sampling =
        want_sampling.then(|| storage_zeroed(ctx, "dcnv3 sampling", shape.sampling_len()));
    let dispatch = kernel.bind(
        ctx,
        shape,
        &Dcnv3Buffers {
            input: &input,
            points: &points,
            output: &output,
            sampling: sampling.as_ref(),
        },
    )?;
    super::submit(ctx, &[&dispatch]);
    let output = read_f32(ctx, &output, shape.input_len()).await?;
    let sampling = match &sampling {
        Some(buffer) => Some(read_f32(ctx, buffer, shape.sampling_len()).await?),
        None => None,
    };
    Ok(Dcnv3Output { output, sampling })
}

/// Runs the kernel on seeded random inputs (offsets up to 3 pixels, so points leave the map at
/// the borders) and compares it with the CPU reference: the page's and the bench's self-check.
pub async fn check_against_reference(
    ctx: &GpuContext,
    shape: &Dcnv3Shape,
    seed: u64,
) -> Result<crate::check::Comparison> {
    let mut rng = crate::seeded::SeededRng::new(seed);
    let input = rng.uniform_vec(shape.input_len(), -1.0, 1.0);
    let offsets = rng.uniform_vec(shape.offset_len(), -3.0, 3.0);
    let mask_logits = rng.uniform_vec(shape.mask_len(), -3.0, 3.0);
    let gpu = run_once(ctx, shape, &input, &offsets, &mask_logits, false).await?;
    let (expected, _) = reference::dcnv3(shape, &input, &offsets, &mask_logits);
    Ok(crate::check::Comparison::new(&gpu.output, &expected))
}

/// The four DCNv3 shapes of InternImage-T at 224x224 input: 56x56x64 G4 down to 7x7x512 G32.
pub fn internimage_t_shapes() -> [Dcnv3Shape; 4] {
    [(56, 4), (28, 8), (14, 16), (7, 32)].map(|(size, groups)| Dcnv3Shape {
        height: size,
        width: size,
        groups,
        group_channels: 16,
        offset_scale: 1.0,
    })
}
