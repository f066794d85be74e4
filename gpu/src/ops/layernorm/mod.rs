//! LayerNorm over channels (channels last), with GELU fused when the network applies one next
//! (the stem's first norm).

use super::{Access, GELU_WGSL, Kernel, KernelCache};
use crate::context::{AdapterSummary, GpuContext};
use crate::dispatch::{Dispatch, grid};

/// LayerNorm statistics of 4 pixels at a time, for the kernels that normalise 4 per invocation.
pub const FOUR_PIXELS_WGSL: &str = include_str!("four_pixels.wgsl");
/// LayerNorm statistics of a pixel over a team of invocations, for GPUs.
pub const TEAMS_WGSL: &str = include_str!("teams.wgsl");
/// Pixels per invocation of those kernels, and invocations per workgroup, as
/// four_pixels.wgsl declares them.
pub const PIXELS_PER_INVOCATION: u32 = 4;
const FOUR_PIXEL_WORKGROUP: u32 = 16;
/// Invocations per workgroup and the most vec4 a lane holds, as teams.wgsl declares them.
const TEAM_WORKGROUP: u32 = 64;
const MAX_VECS_PER_LANE: u32 = 16;

/// The grid of a kernel that normalises 4 pixels per invocation.
pub fn four_pixel_grid(invocations: u32) -> [u32; 3] {
    grid(invocations, FOUR_PIXEL_WORKGROUP)
}

/// How the kernels that normalise over channels spread pixels over invocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NormLayout {
    /// 4 pixels per invocation (four_pixels.wgsl): few threads with much work each, for CPU
    /// adapters, where workgroup barriers are dear.
    FourPixels,
    /// A team of up to 64 invocations per pixel (teams.wgsl), for GPUs: InternImage-T's
    /// 7 x 7 and 14 x 14 maps would otherwise be a few dozen threads.
    Teams,
}

impl NormLayout {
    pub fn for_adapter(adapter: &AdapterSummary) -> Self {
        if adapter.runs_on_cpu() {
            Self::FourPixels
        } else {
            Self::Teams
        }
    }
}

/// A team of teams.wgsl: `lanes` invocations per pixel, each holding `vecs` vec4 of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Team {
    pub lanes: u32,
    pub vecs: u32,
}

impl Team {
    /// The team for `channels` (a multiple of 4): lanes the largest power of two not above
    /// its vec4 count, at most 64. None past 4,096 channels, which teams.wgsl does not hold
    /// (the kernels then take four pixels per invocation).
    pub fn for_channels(channels: u32) -> Option<Self> {
        let c4_len = (channels / 4).max(1);
        let lanes = TEAM_WORKGROUP.min(1 << c4_len.ilog2());
        let vecs = c4_len.div_ceil(lanes);
        (vecs <= MAX_VECS_PER_LANE).then_some(Self { lanes, vecs })
    }

    /// teams.wgsl's override constants.
    pub fn constants(self) -> [(&'static str, f64); 2] {
        [
            ("LANES", f64::from(self.lanes)),
            ("VECS", f64::from(self.vecs)),
        ]
    }

    /// The grid that gives each of `pixels` a team.
    pub fn grid(self, pixels: u32) -> [u32; 3] {
        let workgroups = pixels.div_ceil(TEAM_WORKGROUP / self.lanes);
        grid(workgroups * TEAM_WORKGROUP, TEAM_WORKGROUP)
    }

    /// The team for `channels` where `layout` asks for teams and one holds them.
    pub fn for_layout(layout: NormLayout, channels: u32) -> Option<Self> {
        match layout {
            NormLayout::Teams => Self::for_channels(channels),
            NormLayout::FourPixels => None,
        }
    }
}

/// What both LayerNorm kernels share: their bindings, and GELU where it follows.
const COMMON_WGSL: &str = concat!(include_str!("bindings.wgsl"), include_str!("activate.wgsl"));

pub fn source() -> String {
    format!(
        "{GELU_WGSL}{FOUR_PIXELS_WGSL}{COMMON_WGSL}{}",
        include_str!("layernorm.wgsl")
    )
}

pub fn teams_source() -> String {
    format!(
        "{GELU_WGSL}{TEAMS_WGSL}{COMMON_WGSL}{}",
        include_str!("layernorm_teams.wgsl")
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
    layout: NormLayout,
    /// By team (none: four pixels per invocation) and whether GELU follows.
    kernels: KernelCache<(Option<Team>, bool)>,
}

impl LayerNorm {
    /// The layout for the adapter ([`NormLayout::for_adapter`]).
    pub fn new(ctx: &GpuContext) -> Self {
        Self::with_layout(NormLayout::for_adapter(&ctx.adapter))
    }

    /// `layout` whatever the adapter, so that tests hold both to the reference.
    pub fn with_layout(layout: NormLayout) -> Self {
        Self {
            layout,
            kernels: KernelCache::new(),
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
        let team = Team::for_layout(self.layout, channels);
        let kernel = self.kernels.get((team, gelu), || {
            let storage = [Access::Read, Access::Read, Access::Read, Access::ReadWrite];
            let mut constants = vec![("APPLY_GELU", f64::from(u8::from(gelu)))];
            let source = match team {
                Some(team) => {
                    constants.extend(team.constants());
                    teams_source()
                }
                None => source(),
            };
            Kernel::new(ctx, "layernorm", &source, &storage, &constants)
        });
        let params = Params {
            pixels,
            channels,
            eps,
            _pad: 0,
        };
        let label = if gelu { "layernorm+gelu" } else { "layernorm" };
        let workgroups = match team {
            Some(team) => team.grid(pixels),
            None => four_pixel_grid(pixels.div_ceil(PIXELS_PER_INVOCATION)),
        };
        kernel.bind(
            ctx,
            label,
            &params,
            &[input, weight, bias, output],
            workgroups,
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
