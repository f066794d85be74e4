//! The adapter's arithmetic ceiling: how many multiply-adds a second its compiler's code makes
//! when nothing is loaded. The bench reports it beside the kernels' achieved GFLOP/s, so that
//! "how far from the hardware" has a measured answer on every adapter (llvmpipe, SwiftShader
//! and GPUs alike), not a datasheet's.

use gpu::GpuContext;
use gpu::buffers::storage_zeroed;
use gpu::dispatch::{Dispatch, linear_grid};
use wgpu::util::DeviceExt;

pub const SOURCE: &str = include_str!("peak.wgsl");

/// Multiply-adds per invocation and loop iteration: 8 rounds of 4 vec4.
const MULTIPLY_ADDS_PER_ITERATION: u64 = 8 * 4 * 4;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    iterations: u32,
    scale: f32,
    shift: f32,
    pad: u32,
}

/// A contraction towards a fixed point at 1: the chains stay finite however long they run.
pub const SCALE: f32 = 0.999;
pub const SHIFT: f32 = 0.001;

/// How much work one probe dispatch does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeakShape {
    pub invocations: u32,
    pub iterations: u32,
}

impl PeakShape {
    /// Enough work that a dispatch's fixed cost disappears: on a CPU adapter a few thousand
    /// invocations (its few threads each get many), on a GPU a million (every lane of every
    /// core busy many times over). About 2 GFLOP on a CPU, 270 on a GPU.
    pub fn for_adapter(ctx: &GpuContext) -> Self {
        if ctx.adapter.runs_on_cpu() {
            Self {
                invocations: 4096,
                iterations: 2048,
            }
        } else {
            Self {
                invocations: 1 << 20,
                iterations: 1024,
            }
        }
    }

    pub fn flops(&self) -> u64 {
        2 * MULTIPLY_ADDS_PER_ITERATION * u64::from(self.iterations) * u64::from(self.invocations)
    }
}

pub struct Peak {
    pipeline: wgpu::ComputePipeline,
}

impl Peak {
    pub fn new(ctx: &GpuContext) -> Self {
        let module = (ctx.device).create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("peak"),
            source: wgpu::ShaderSource::Wgsl(SOURCE.into()),
        });
        let pipeline = (ctx.device).create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("peak"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        Self { pipeline }
    }

    /// The probe's dispatch and the buffer of its `[invocations]` vec4 results.
    pub fn bind(&self, ctx: &GpuContext, shape: PeakShape) -> (Dispatch, wgpu::Buffer) {
        let output = storage_zeroed(ctx, "peak", shape.invocations as usize * 4);
        let params = Params {
            iterations: shape.iterations,
            scale: SCALE,
            shift: SHIFT,
            pad: 0,
        };
        let uniform = (ctx.device).create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("peak"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("peak"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: output.as_entire_binding(),
                },
            ],
        });
        let dispatch = Dispatch {
            label: "peak",
            pipeline: self.pipeline.clone(),
            bind_group,
            workgroups: linear_grid(shape.invocations),
            work: Default::default(),
        };
        (dispatch, output)
    }
}

/// CPU reference: each invocation's sum of its 4 vec4 chains, in f64.
pub fn reference(shape: PeakShape) -> Vec<f32> {
    let rounds = 8 * u64::from(shape.iterations);
    let (m, s) = (f64::from(SCALE), f64::from(SHIFT));
    // x after n rounds of x * m + s: 1 + (x0 - 1) m^n, as s = 1 - m.
    let decay = m.powi(rounds as i32);
    let after = |x0: f64| s / (1.0 - m) + (x0 - s / (1.0 - m)) * decay;
    (0..shape.invocations)
        .flat_map(|index| {
            let seed = f64::from(index % 64) / 64.0;
            (0..4).map(move |component| {
                (0..4)
                    .map(|chain| after(seed + f64::from(component) + 4.0 * f64::from(chain)))
                    .sum::<f64>() as f32
            })
        })
        .collect()
}
