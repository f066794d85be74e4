//! LayerNorm over channels (channels last), with GELU fused when the network applies one next
//! (the stem's first norm).

pub mod reference;

use super::{Access, GELU_WGSL, Kernel, KernelCache, Uniform};
use crate::context::{AdapterSummary, GpuContext};
use crate::dispatch::{Dispatch, f32_bytes, grid};

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
        "{GELU_WGSL}{FOUR_PIXELS_WGSL}{}{COMMON_WGSL}{}",
        Params::WGSL,
        include_str!("layernorm.wgsl")
    )
}

pub fn teams_source() -> String {
    format!(
        "{GELU_WGSL}{TEAMS_WGSL}{}{COMMON_WGSL}{}",
        Params::WGSL,
        include_str!("layernorm_teams.wgsl")
    )
}

uniform! {
    struct Params {
        pixels: u32,
        /// A multiple of 4.
        channels: u32,
        eps: f32,
    }
}

/// Kernels laid out as [`NormLayout`] says, compiled per `K` (a team, and what else varies):
/// LayerNorm and the fused depthwise branch ([`super::dwconv::DwConv`]) are both this.
pub struct ByLayout<K> {
    pub(super) layout: NormLayout,
    pub(super) kernels: KernelCache<K>,
}

impl<K: Eq + std::hash::Hash> ByLayout<K> {
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
}

/// By team (none: four pixels per invocation) and whether GELU follows.
pub type LayerNorm = ByLayout<(Option<Team>, bool)>;

impl LayerNorm {
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
        };
        let label = if gelu { "layernorm+gelu" } else { "layernorm" };
        let workgroups = match team {
            Some(team) => team.grid(pixels),
            None => four_pixel_grid(pixels.div_ceil(PIXELS_PER_INVOCATION)),
        };
        // About 8 FLOPs an element: mean, variance, normalise, scale and shift.
        let elements = u64::from(pixels) * u64::from(channels);
        (kernel.bind(
            ctx,
            label,
            &params,
            &[input, weight, bias, output],
            workgroups,
        ))
        .doing(
            8 * elements,
            f32_bytes(2 * elements) + weight.size() + bias.size(),
        )
    }
}
