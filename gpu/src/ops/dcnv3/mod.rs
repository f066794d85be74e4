//! DCNv3 core: deformable, mask-modulated 3x3 sampling (spec section 4), with the mask softmax
//! fused in. Launcher here, kernel in `dcnv3.wgsl` with its two readers (`dcnv3_gather.wgsl`,
//! `dcnv3_filtered.wgsl`, see [`Dcnv3Read`]) and the filtered one's input layout
//! (`planes.wgsl`), CPU reference in `reference.rs`.
//!
//! Layouts (channels last, batch 1):
//! - input `X`, output `Y`: `[H, W, G * Cg]`, channel `g * Cg + c`;
//! - offsets: `[H, W, G, 9, 2]`, the last axis `(dx, dy)` (width, then height);
//! - mask logits: `[H, W, G, 9]`, before the softmax;
//! - on the GPU both in one points buffer `[H, W, point_row]`: per pixel its `18 G` offsets,
//!   then its `9 G` logits, then zeros up to a multiple of 4 (see [`Dcnv3Shape::point_row`]):
//!   what one linear layer writes when the model stacks the offset and mask layers;
//! - planes (the filtered reader's input, [`Planes`]): a texture array, channels `4l..4l+3` in
//!   layer `l`, cell `(x, y)` at texel `(x + B, y + B)` inside a border of `B` texels of zeros
//!   ([`Planes::BORDER`]);
//! - sampling (optional): `[H, W, G, 9, 3]`, the last axis `(p_x, p_y, m)`: the sampled location
//!   in the unpadded input map (pixel centres at integers, x = column) and the softmaxed weight;
//!   on the GPU packed, [`SAMPLING_WORDS`] a (pixel, group), read by [`unpack_sampling`].
//!
//! Why the softmax is fused: the kernel already reads the 9 logits of its (pixel, group), the
//! softmax costs 9 `exp` per 16 output channels, and fusing saves writing and re-reading the mask
//! (36 bytes per pixel and group) and one dispatch per layer.

pub mod reference;

use super::{Access, Kernel, Uniform};
use crate::context::{AdapterSummary, GpuContext};
use crate::dispatch::{Dispatch, f32_bytes, linear_grid};
use crate::error::{Error, Result};
use wgpu::util::DeviceExt;

const BODY: &str = include_str!("dcnv3.wgsl");
/// The filtered reader's input layout: [`Planes`] written from the input buffer.
pub fn planes_source() -> String {
    format!(
        "{}{}{}",
        PlanesParams::WGSL,
        Planes::layout_wgsl(),
        include_str!("planes.wgsl")
    )
}
pub const POINTS: usize = 9;
/// Floats per sampling record: `(p_x, p_y, m)`.
pub const SAMPLING_STRIDE: usize = 3;
/// Words per (pixel, group) of the sampling as the kernel writes it: 9 locations as snorm16
/// pairs `(p - pixel) / SAMPLING_RANGE`, then 9 weights as unorm16 pairs. Half the bytes of
/// three floats a point: what the app reads back for every layer of every image.
pub const SAMPLING_WORDS: usize = 14;
/// Locations further than this from their pixel, in feature pixels, are clamped to it (every
/// InternImage map is smaller: such a point samples zeros).
pub const SAMPLING_RANGE: f32 = 128.0;
/// The most a location read from the packed sampling differs from the kernel's, in feature
/// pixels: half a step of snorm16 over [`SAMPLING_RANGE`], with f32 rounding.
pub const SAMPLING_LOCATION_ERROR: f32 = SAMPLING_RANGE / 32767.0 / 2.0 + 1e-4;
/// The most a weight read from it differs from the kernel's: half a step of unorm16.
pub const SAMPLING_WEIGHT_ERROR: f32 = 0.5 / 65535.0 + 1e-7;

/// The sampling records `[H, W, G, 9, 3]` = `(p_x, p_y, m)` of the words the kernel wrote.
pub fn unpack_sampling(shape: &Dcnv3Shape, words: &[u32]) -> Vec<f32> {
    let groups = shape.groups as usize;
    let mut records = Vec::with_capacity(shape.sampling_len());
    for (unit, packed) in words.chunks_exact(SAMPLING_WORDS).enumerate() {
        let pixel = unit / groups;
        let (x, y) = (pixel % shape.width as usize, pixel / shape.width as usize);
        let (locations, weights) = packed.split_at(POINTS);
        for (k, &location) in locations.iter().enumerate() {
            // WGSL's unpack2x16snorm and unpack2x16unorm.
            let snorm = |half: u32| (f32::from(half as u16 as i16) / 32767.0).max(-1.0);
            let unorm = weights[k / 2] >> (16 * (k % 2)) & 0xffff;
            records.extend([
                x as f32 + snorm(location) * SAMPLING_RANGE,
                y as f32 + snorm(location >> 16) * SAMPLING_RANGE,
                unorm as f32 / 65535.0,
            ]);
        }
    }
    records
}

const MAX_GROUP_CHANNELS: u32 = 32;

/// Floats per pixel in the points buffer of a layer with `groups` groups: `27 G` (18 offsets and
/// 9 logits per group), rounded up to a multiple of 4 so that the linear layer writing it runs
/// its vec4 kernels.
pub fn point_row(groups: u32) -> u32 {
    (27 * groups).next_multiple_of(4)
}

/// How the kernel reads the input at a sampled location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dcnv3Read {
    /// The 4 corners' vec4 from the input buffer, weighted in the kernel: exact everywhere.
    /// `split` invocations share each (pixel, group), each taking as many of its channels'
    /// vec4 (a power of two, lowered where it does not divide them; see [`Dcnv3Read::split`]).
    Gather { split: u32 },
    /// One filtered texture sample from the input laid out as [`Planes`] by a dispatch of its
    /// own. On CPU adapters the sampler filters in f32 and fetches the 4 texels without the
    /// per-lane loop of a storage load: in InternImage-T's pass DCNv3 ran faster natively and
    /// several times faster in Chromium, the layout dispatches included
    /// (docs/performance.md#dcnv3-through-the-texture-unit). GPUs filter with a few bits of
    /// fraction (8 on NVIDIA's), far outside the kernel's 1e-5: they gather.
    Filtered,
}

impl Dcnv3Read {
    /// How many invocations share a (pixel, group) on GPUs. One invocation walks 9 points x 4
    /// corners x 4 vec4 of loads, and on the H200 a layer took the same time whatever its size:
    /// latency, not work. Four share them, each with 36 loads, 4 times the threads, the softmax
    /// computed by each; measured, this gains about a fifth (docs/performance.md#on-the-h200).
    pub const GPU_SPLIT: u32 = 4;

    /// The read this adapter runs fastest within the kernel's tolerance. CPU adapters never
    /// split: there an invocation is a SIMD lane, and more of them repeat the softmax and
    /// the location's arithmetic for nothing.
    pub fn for_adapter(adapter: &AdapterSummary) -> Self {
        if !adapter.runs_on_cpu() {
            Self::Gather {
                split: Self::GPU_SPLIT,
            }
        } else if adapter.float32_filterable {
            Self::Filtered
        } else {
            Self::Gather { split: 1 }
        }
    }

    /// Every read an adapter may take, and both gathers: what the tests run.
    pub fn all_for(adapter: &AdapterSummary) -> Vec<Self> {
        let mut reads = vec![
            Self::Gather { split: 1 },
            Self::Gather {
                split: Self::GPU_SPLIT,
            },
        ];
        if Self::for_adapter(adapter) == Self::Filtered {
            reads.push(Self::Filtered);
        }
        reads
    }

    /// Invocations per (pixel, group) for groups of `group_channels`: the split, halved until
    /// it divides the group's vec4.
    pub fn split(self, group_channels: u32) -> u32 {
        let vecs = group_channels / 4;
        let mut split = match self {
            Self::Gather { split } => split.max(1),
            Self::Filtered => 1,
        };
        while !vecs.is_multiple_of(split) {
            split /= 2;
        }
        split
    }
}

/// The kernel's WGSL with `read`'s reader.
pub fn source(read: Dcnv3Read) -> String {
    // The filtered reader reads the planes, whose layout it takes.
    let (layout, reader) = match read {
        Dcnv3Read::Gather { .. } => (String::new(), include_str!("dcnv3_gather.wgsl")),
        Dcnv3Read::Filtered => (Planes::layout_wgsl(), include_str!("dcnv3_filtered.wgsl")),
    };
    format!("{}{layout}{BODY}\n{reader}", Params::WGSL)
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
    /// Words of the sampling as the kernel writes it ([`SAMPLING_WORDS`]).
    pub fn sampling_words(&self) -> usize {
        self.pixels() * self.groups as usize * SAMPLING_WORDS
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

uniform! {
    struct Params {
        height: u32,
        width: u32,
        groups: u32,
        offset_scale: f32,
        /// Floats per pixel in the points buffer: 18 G offsets, 9 G logits, padding.
        point_row: u32,
    }
}

/// A layer's input as [`Dcnv3Read::Filtered`] reads it (see the module's layouts). Layers of
/// the same shape that run one after the other may share one: each writes it before reading.
#[derive(Clone, Debug)]
pub struct Planes {
    view: wgpu::TextureView,
    /// `[H, W, layers]`.
    extent: [u32; 3],
}

impl Planes {
    /// Texels of zeros around the cells, on every side: clamp-to-edge repeats them as DCNv3's
    /// zero padding, however far off the map a location falls.
    pub const BORDER: u32 = 1;

    /// The layout's WGSL for its writers and its reader: the border and `planes_texel`.
    pub(crate) fn layout_wgsl() -> String {
        format!(
            "const PLANES_BORDER: u32 = {}u;\n{}",
            Self::BORDER,
            include_str!("planes_layout.wgsl")
        )
    }

    /// A map's side with the border.
    fn side(cells: u32) -> u32 {
        cells + 2 * Self::BORDER
    }

    /// `[H, W, layers]`: a layer of `shape` reads these where `[shape.height, shape.width,
    /// shape.channels() / 4]`.
    pub fn extent(&self) -> [u32; 3] {
        self.extent
    }

    pub(crate) fn view(&self) -> &wgpu::TextureView {
        &self.view
    }

    /// GPU memory held.
    pub fn bytes(&self) -> u64 {
        Self::bytes_of(self.extent)
    }

    fn bytes_of(extent: [u32; 3]) -> u64 {
        let [h, w, layers] = extent;
        let [h, w] = [h, w].map(Self::side);
        16 * u64::from(h) * u64::from(w) * u64::from(layers)
    }
}

uniform! {
    struct PlanesParams {
        height: u32,
        width: u32,
        layers: u32,
    }
}

/// The buffers one DCNv3 layer reads and writes; `sampling` is bound only when wanted, `planes`
/// where the kernel reads through them ([`Dcnv3::planes`]).
pub struct Dcnv3Buffers<'a> {
    pub input: &'a wgpu::Buffer,
    pub planes: Option<&'a Planes>,
    /// Offsets and mask logits, `[H, W, point_row]` (see the module's layouts).
    pub points: &'a wgpu::Buffer,
    pub output: &'a wgpu::Buffer,
    pub sampling: Option<&'a wgpu::Buffer>,
}

/// One layer's dispatches.
pub struct Dcnv3Dispatches {
    /// Writes the input into the planes the filtered reader samples; none for the gather one.
    pub layout: Option<Dispatch>,
    pub kernel: Dispatch,
}

impl Dcnv3Dispatches {
    /// In the order they must run.
    pub fn in_order(&self) -> Vec<&Dispatch> {
        self.layout.iter().chain([&self.kernel]).collect()
    }
}

/// The filtered reader's extras: the layout kernel and the sampler.
struct PlanesKernel {
    layout: Kernel,
    sampler: wgpu::Sampler,
}

/// The compiled kernel for one group width, with and without the sampling output.
pub struct Dcnv3 {
    read: Dcnv3Read,
    /// [`Dcnv3Read::split`] for this group width.
    split: u32,
    plain: Kernel,
    with_sampling: Kernel,
    /// Bound in place of the sampling buffer when it is not wanted: the shader never writes it.
    no_sampling: wgpu::Buffer,
    planes: Option<PlanesKernel>,
}

impl Dcnv3 {
    /// The kernel with the adapter's read ([`Dcnv3Read::for_adapter`]).
    pub fn new(ctx: &GpuContext, group_channels: u32) -> Self {
        Self::reading(ctx, group_channels, Dcnv3Read::for_adapter(&ctx.adapter))
    }

    pub fn reading(ctx: &GpuContext, group_channels: u32, read: Dcnv3Read) -> Self {
        let mut bindings = vec![
            match read {
                Dcnv3Read::Gather { .. } => Access::Read,
                Dcnv3Read::Filtered => Access::FilteredTextureArray,
            },
            Access::Read,
            Access::Read,
            Access::ReadWrite,
            Access::ReadWrite,
        ];
        if read == Dcnv3Read::Filtered {
            bindings.push(Access::Sampler);
        }
        let source = source(read);
        let split = read.split(group_channels);
        let kernel = |emit_sampling: bool| {
            let constants = [
                ("GROUP_CHANNELS", f64::from(group_channels)),
                ("EMIT_SAMPLING", f64::from(u8::from(emit_sampling))),
                ("CHANNEL_SPLIT", f64::from(split)),
            ];
            Kernel::new(ctx, "dcnv3", &source, &bindings, &constants)
        };
        let no_sampling = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dcnv3 no sampling"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let planes = (read == Dcnv3Read::Filtered).then(|| PlanesKernel {
            layout: Kernel::new(
                ctx,
                "dcnv3 planes",
                &planes_source(),
                &[Access::Read, Access::WrittenTextureArray],
                &[],
            ),
            sampler: ctx.device.create_sampler(&wgpu::SamplerDescriptor {
                label: Some("dcnv3 planes"),
                mag_filter: wgpu::FilterMode::Linear,
                min_filter: wgpu::FilterMode::Linear,
                ..Default::default()
            }),
        });
        Self {
            read,
            split,
            plain: kernel(false),
            with_sampling: kernel(true),
            no_sampling,
            planes,
        }
    }

    pub fn read(&self) -> Dcnv3Read {
        self.read
    }

    /// Planes for a layer of `shape` where this kernel reads through them, zeros at creation.
    pub fn planes(&self, ctx: &GpuContext, shape: &Dcnv3Shape) -> Result<Option<Planes>> {
        if self.read != Dcnv3Read::Filtered {
            return Ok(None);
        }
        shape.validate()?;
        let extent = [shape.height, shape.width, shape.channels() / 4];
        let limits = ctx.device.limits();
        if extent[2] > limits.max_texture_array_layers
            || Planes::side(shape.width.max(shape.height)) > limits.max_texture_dimension_2d
        {
            return Err(Error::Unsupported(format!(
                "DCNv3 input {shape:?} exceeds the adapter's texture limits"
            )));
        }
        // Zeros written at creation, not left to wgpu's clear at first use: on lavapipe that
        // clear left every later timestamp query of the process wrong (every dispatch the same).
        let zeros = vec![0u8; Planes::bytes_of(extent) as usize];
        let descriptor = wgpu::TextureDescriptor {
            label: Some("dcnv3 planes"),
            size: wgpu::Extent3d {
                width: Planes::side(shape.width),
                height: Planes::side(shape.height),
                depth_or_array_layers: extent[2],
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::STORAGE_BINDING,
            view_formats: &[],
        };
        let order = wgpu::util::TextureDataOrder::LayerMajor;
        let texture = ctx
            .device
            .create_texture_with_data(&ctx.queue, &descriptor, order, &zeros);
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        Ok(Some(Planes { view, extent }))
    }

    /// Binds one layer's buffers once; the returned dispatches are replayed on every run.
    pub fn bind(
        &self,
        ctx: &GpuContext,
        shape: &Dcnv3Shape,
        buffers: &Dcnv3Buffers<'_>,
    ) -> Result<Dcnv3Dispatches> {
        Ok(Dcnv3Dispatches {
            layout: self.bind_layout(ctx, shape, buffers)?,
            kernel: self.bind_kernel(ctx, shape, buffers)?,
        })
    }

    /// The dispatch that writes the input into the planes, where the kernel reads them.
    pub fn bind_layout(
        &self,
        ctx: &GpuContext,
        shape: &Dcnv3Shape,
        buffers: &Dcnv3Buffers<'_>,
    ) -> Result<Option<Dispatch>> {
        let Some(extras) = &self.planes else {
            return Ok(None);
        };
        let planes = Self::planes_for(shape, buffers)?;
        Ok(Some(extras.layout.bind_resources(
            ctx,
            "dcnv3 planes",
            &PlanesParams {
                height: shape.height,
                width: shape.width,
                layers: planes.extent[2],
            },
            vec![
                buffers.input.as_entire_binding(),
                wgpu::BindingResource::TextureView(&planes.view),
            ],
            linear_grid(planes.extent.iter().product()),
        ))
        .map(|layout| layout.doing(0, f32_bytes(shape.input_len() as u64) + planes.bytes())))
    }

    /// The kernel's dispatch alone: for a layer whose planes another dispatch writes (the
    /// depthwise branch before it: [`crate::ops::dwconv::DwConvBuffers::planes`]), or that
    /// has none.
    pub fn bind_kernel(
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
        };
        let (kernel, label) = match buffers.sampling {
            Some(_) => (&self.with_sampling, "dcnv3+sampling"),
            None => (&self.plain, "dcnv3"),
        };
        let mut bound = vec![
            buffers.input.as_entire_binding(),
            buffers.points.as_entire_binding(),
            buffers.points.as_entire_binding(),
            buffers.output.as_entire_binding(),
            buffers
                .sampling
                .unwrap_or(&self.no_sampling)
                .as_entire_binding(),
        ];
        if let Some(extras) = &self.planes {
            let planes = Self::planes_for(shape, buffers)?;
            bound[0] = wgpu::BindingResource::TextureView(&planes.view);
            bound.push(wgpu::BindingResource::Sampler(&extras.sampler));
        }
        let grid = linear_grid(shape.height * shape.width * shape.groups * self.split);
        Ok((kernel.bind_resources(ctx, label, &params, bound, grid))
            .doing(shape.flops(), shape.min_bytes()))
    }

    /// The planes of `buffers`, which the filtered kernel needs of `shape`'s extent.
    fn planes_for<'a>(shape: &Dcnv3Shape, buffers: &Dcnv3Buffers<'a>) -> Result<&'a Planes> {
        let extent = [shape.height, shape.width, shape.channels() / 4];
        buffers
            .planes
            .filter(|planes| planes.extent == extent)
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "the filtered DCNv3 kernel needs planes of {extent:?} for {shape:?}"
                ))
            })
    }
}

/// The result of one stand-alone DCNv3 run.
pub struct Dcnv3Output {
    pub output: Vec<f32>,
    pub sampling: Option<Vec<f32>>,
}

/// Uploads host tensors, runs the kernel reading as `read` once and reads the results back:
/// for tests and the page's self-check. A model binds [`Dcnv3`] to its own buffers instead.
pub async fn run_once(
    ctx: &GpuContext,
    read: Dcnv3Read,
    shape: &Dcnv3Shape,
    input: &[f32],
    offsets: &[f32],
    mask_logits: &[f32],
    want_sampling: bool,
) -> Result<Dcnv3Output> {
    use crate::buffers::{read_bytes, read_f32, storage_from, storage_zeroed};
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
    let kernel = Dcnv3::reading(ctx, shape.group_channels, read);
    let input = storage_from(ctx, "dcnv3 input", input);
    let planes = kernel.planes(ctx, shape)?;
    let points = storage_from(
        ctx,
        "dcnv3 points",
        &shape.pack_points(offsets, mask_logits),
    );
    let output = storage_zeroed(ctx, "dcnv3 output", shape.input_len());
    let sampling =
        want_sampling.then(|| storage_zeroed(ctx, "dcnv3 sampling", shape.sampling_words()));
    let dispatches = kernel.bind(
        ctx,
        shape,
        &Dcnv3Buffers {
            input: &input,
            planes: planes.as_ref(),
            points: &points,
            output: &output,
            sampling: sampling.as_ref(),
        },
    )?;
    super::submit(ctx, &dispatches.in_order());
    let output = read_f32(ctx, &output, shape.input_len()).await?;
    let sampling = match &sampling {
        Some(buffer) => {
            let bytes = read_bytes(ctx, buffer, 4 * shape.sampling_words() as u64).await?;
            Some(unpack_sampling(
                shape,
                &bytemuck::pod_collect_to_vec(&bytes),
            ))
        }
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
    let read = Dcnv3Read::for_adapter(&ctx.adapter);
    let gpu = run_once(ctx, read, shape, &input, &offsets, &mask_logits, false).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_divides_the_group_into_whole_vec4() {
        let gpu = Dcnv3Read::Gather { split: 4 };
        for (group_channels, split) in [(16, 4), (32, 4), (8, 2), (24, 2), (4, 1), (12, 1)] {
            assert_eq!(
                gpu.split(group_channels),
                split,
                "{group_channels} channels"
            );
        }
        assert_eq!(Dcnv3Read::Filtered.split(16), 1);
        assert_eq!(Dcnv3Read::Gather { split: 1 }.split(32), 1);
    }

    #[test]
    fn packed_sampling_reads_as_locations_from_the_pixel_and_weights() {
        let shape = Dcnv3Shape {
            height: 1,
            width: 2,
            groups: 1,
            group_channels: 4,
            offset_scale: 1.0,
        };
        // As WGSL's pack2x16snorm and pack2x16unorm write them.
        let snorm = |v: f32| {
            (((v / SAMPLING_RANGE).clamp(-1.0, 1.0) * 32767.0).round() as i16) as u16 as u32
        };
        let unorm = |v: f32| (v.clamp(0.0, 1.0) * 65535.0).round() as u32;
        let mut words = Vec::new();
        for (dx, dy) in [(0.5, -0.25), (-200.0, 3.0)] {
            let mut unit = vec![snorm(dx) | snorm(dy) << 16; POINTS];
            unit.extend((0..5).map(|_| unorm(0.25) | unorm(0.75) << 16));
            words.extend(unit);
        }
        let records = unpack_sampling(&shape, &words);
        assert_eq!(records.len(), shape.sampling_len());
        // Pixel (0, 0), point 0; pixel (1, 0), point 1 (clamped: 128 feature pixels at most).
        let (first, second) = (&records[0..3], &records[27 + 3..27 + 6]);
        assert!(
            (first[0] - 0.5).abs() <= SAMPLING_LOCATION_ERROR,
            "{first:?}"
        );
        assert!(
            (first[1] + 0.25).abs() <= SAMPLING_LOCATION_ERROR,
            "{first:?}"
        );
        assert!(
            (first[2] - 0.25).abs() <= SAMPLING_WEIGHT_ERROR,
            "{first:?}"
        );
        assert_eq!(second[0], 1.0 - SAMPLING_RANGE);
        assert!(
            (second[1] - 3.0).abs() <= SAMPLING_LOCATION_ERROR,
            "{second:?}"
        );
        assert!(
            (second[2] - 0.75).abs() <= SAMPLING_WEIGHT_ERROR,
            "{second:?}"
        );
    }
}
