//! Depthwise 3x3 convolution + LayerNorm + GELU, fused: the DCNv3 module's `dw_conv` branch
//! (spec section 3, step 2). Weights repacked from PyTorch's `[C, 1, 3, 3]` to `[9, C]`, the
//! convolution's bias and the norm's weight and bias after them: one buffer of `[12, C]`.

pub mod reference;

use super::dcnv3::Planes;
use super::layernorm::{
    ByLayout, FOUR_PIXELS_WGSL, PIXELS_PER_INVOCATION, TEAMS_WGSL, Team, four_pixel_grid,
};
use super::{Access, GELU_WGSL, Kernel, Uniform, no_scales};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, f32_bytes};

const BINDINGS_WGSL: &str = include_str!("bindings.wgsl");
const PLANES_WGSL: &str = include_str!("planes.wgsl");
/// Where the branch writes no planes.
const NO_PLANES_WGSL: &str = "fn write_planes(at: u32, x: u32, y: u32, c: u32) {}\n";

/// The kernel of runs of four pixels, writing DCNv3's planes too where `planes`.
pub fn source(planes: bool) -> String {
    format!(
        "{GELU_WGSL}{FOUR_PIXELS_WGSL}{}{BINDINGS_WGSL}{}{}",
        Params::WGSL,
        if planes {
            format!("{}{PLANES_WGSL}", Planes::layout_wgsl())
        } else {
            NO_PLANES_WGSL.to_owned()
        },
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

/// The branch's weights as the kernel reads them: the convolution's, PyTorch `[C, 1, 3, 3]`,
/// as `[9, C]` (tap-major), then its bias, then the norm's weight and bias, each `[C]`.
pub fn pack_weights(
    weight: &[f32],
    bias: &[f32],
    norm_weight: &[f32],
    norm_bias: &[f32],
    channels: usize,
) -> Vec<f32> {
    let mut packed = vec![0f32; 9 * channels];
    for c in 0..channels {
        for tap in 0..9 {
            packed[tap * channels + c] = weight[c * 9 + tap];
        }
    }
    [packed.as_slice(), bias, norm_weight, norm_bias].concat()
}

/// By team (none: runs of four pixels per invocation), whether the input is normalised and
/// whether DCNv3's planes are written.
pub type DwConv = ByLayout<(Option<Team>, NormalisesInput, WritesPlanes)>;

/// Whether the depthwise branch normalises its input ([`InputNorm`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NormalisesInput(bool);

/// Whether the depthwise branch writes DCNv3's planes ([`DcnPlanes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WritesPlanes(bool);

/// The buffers of one fused depthwise branch, weights packed by [`pack_weights`].
pub struct DwConvBuffers<'a> {
    pub input: &'a wgpu::Buffer,
    pub weights: &'a wgpu::Buffer,
    pub output: &'a wgpu::Buffer,
    /// Where `input` is a LayerNorm's input rather than its output: the norm's weights and
    /// its statistics per pixel, which a linear over the same input wrote
    /// ([`super::linear::NormFold::buffers`]).
    pub input_norm: Option<InputNorm<'a>>,
    /// The DCNv3 layer's input to lay out as its planes on the way, where the branch can
    /// ([`DwConv::writes_planes`]).
    pub planes: Option<DcnPlanes<'a>>,
}

/// The DCNv3 input the depthwise branch lays out as [`Planes`] while it runs, so that the
/// planes take no dispatch of their own: the input projection's output, `[H, W, C]` like the
/// branch's input, which the branch runs after.
#[derive(Clone, Copy)]
pub struct DcnPlanes<'a> {
    pub input: &'a wgpu::Buffer,
    pub planes: &'a Planes,
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
    /// Whether the branch can write DCNv3's planes ([`DwConvBuffers::planes`]): where it runs
    /// an invocation per run of pixels (the CPU adapters', the ones that read through planes).
    pub fn writes_planes(&self, channels: u32) -> bool {
        Team::for_layout(self.layout, channels).is_none()
    }

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
        let planes = b.planes;
        assert!(
            planes.is_none() || team.is_none(),
            "only the kernel of runs of pixels writes planes: see DwConv::writes_planes"
        );
        if let Some(planes) = planes {
            assert_eq!(
                planes.planes.extent(),
                [height, width, channels / 4],
                "the planes of the branch's shape"
            );
        }
        let key = (
            team,
            NormalisesInput(normalize),
            WritesPlanes(planes.is_some()),
        );
        let kernel = self.kernels.get(key, || {
            let mut storage = vec![Access::Read; 5];
            storage[2] = Access::ReadWrite;
            if planes.is_some() {
                storage.extend([Access::Read, Access::WrittenTextureArray]);
            }
            let mut constants = team.map_or(vec![], |team| team.constants().to_vec());
            if normalize {
                constants.push(("NORMALIZE_INPUT", 1.0));
            }
            let kernel = if team.is_some() {
                teams_source()
            } else {
                source(planes.is_some())
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
        let mut resources: Vec<_> = [b.input, b.weights, b.output, norm, stats]
            .iter()
            .map(|buffer| buffer.as_entire_binding())
            .collect();
        // 9 multiply-adds, then the LayerNorm's and GELU's ~16 FLOPs, per element.
        let elements = u64::from(height * width) * u64::from(channels);
        let mut bytes = f32_bytes(2 * elements) + b.weights.size();
        let mut label = "dwconv+layernorm+gelu";
        if b.input_norm.is_some() {
            label = "layernorm+dwconv+layernorm+gelu";
            bytes += norm.size() + stats.size();
        }
        if let Some(planes) = planes {
            resources.push(planes.input.as_entire_binding());
            resources.push(wgpu::BindingResource::TextureView(planes.planes.view()));
            label = match b.input_norm {
                Some(_) => "layernorm+dwconv+layernorm+gelu+dcnv3 planes",
                None => "dwconv+layernorm+gelu+dcnv3 planes",
            };
            bytes += f32_bytes(elements) + planes.planes.bytes();
        }
        (kernel.bind_resources(ctx, label, &params, resources, workgroups))
            .doing(34 * elements, bytes)
    }
}
