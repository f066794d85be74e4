//! One op per folder, each with the same kit: `mod.rs` (the launcher, its [`uniform!`]
//! parameters and its shapes), the `.wgsl` kernels, `reference.rs` (the CPU reference in f64)
//! and its tests in `gpu/tests/`. This file holds what every launcher shares: declaring the
//! uniform, creating pipelines from a list of bindings, and binding buffers.

/// Declares an op's uniform parameters once: the Rust struct its launcher fills and, as
/// [`Uniform::WGSL`], the WGSL struct and binding 0 its kernels read, which the op's source
/// functions put before the kernel. Fields are 4-byte scalars (`u32`, `i32`, `f32`), written
/// the same in both languages, so that the two layouts agree field by field with no padding;
/// [`Kernel::bind`] pads the buffer to WebGPU's 16 bytes.
macro_rules! uniform {
    ($(#[$meta:meta])* struct $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ident,)* }) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
        struct $name {
            $($(#[$field_meta])* $field: $ty,)*
        }

        impl $crate::ops::Uniform for $name {
            const WGSL: &'static str = concat!(
                "struct ", stringify!($name), " {\n",
                $("    ", stringify!($field), ": ", stringify!($ty), ",\n",)*
                "}\n@group(0) @binding(0) var<uniform> params: ", stringify!($name), ";\n",
            );
        }
    };
}

/// An op's uniform parameters, declared by [`uniform!`].
pub(crate) trait Uniform: bytemuck::Pod {
    /// The struct in WGSL and its binding, `params` at binding 0.
    const WGSL: &'static str;
}

pub mod conv2d;
pub mod dcnv3;
pub mod dwconv;
pub mod layernorm;
pub mod linear;
pub mod pool;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use wgpu::util::DeviceExt;

use crate::context::GpuContext;
use crate::dispatch::encode_in_one_pass;

/// GELU with the exact erf form, shared by the kernels that fuse it: WGSL has no `include`, so
/// launchers prepend it to their source.
pub const GELU_WGSL: &str = include_str!("gelu.wgsl");
/// Widening packed int8 weights, shared the same way.
pub const INT8_WGSL: &str = include_str!("int8.wgsl");

/// Bindings 1.. of every kernel that takes [`linear::LinearWeights`]: input, weights, bias,
/// output, scales.
pub(crate) const WEIGHTED_BINDINGS: [Access; 5] = [
    Access::Read,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
    Access::Read,
];

/// Bound in place of the scales for f32 weights: the shaders never read it then.
pub(crate) fn no_scales(ctx: &GpuContext) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("no scales"),
        size: 16,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    })
}

/// Every kernel source as compiled, for validation without a GPU.
pub fn shader_sources() -> Vec<(&'static str, String)> {
    vec![
        ("im2col", conv2d::im2col_source(1)),
        ("im2col (vec4)", conv2d::im2col_source(4)),
        (
            "dcnv3 (gather)",
            dcnv3::source(dcnv3::Dcnv3Read::Gather { split: 1 }),
        ),
        (
            "dcnv3 (filtered)",
            dcnv3::source(dcnv3::Dcnv3Read::Filtered),
        ),
        ("dcnv3 planes", dcnv3::planes_source()),
        ("dwconv", dwconv::source(false)),
        ("dwconv (writing planes)", dwconv::source(true)),
        ("dwconv (teams)", dwconv::teams_source()),
        ("layernorm", layernorm::source()),
        ("layernorm (teams)", layernorm::teams_source()),
        ("linear", linear::source()),
        (
            "linear_tiled (small tile)",
            linear::tiled_source(linear::Tile::SMALL),
        ),
        (
            "linear_tiled (large tile)",
            linear::tiled_source(linear::Tile::LARGE),
        ),
        (
            "linear_tiled (GPU tile)",
            linear::tiled_source(linear::Tile::GPU),
        ),
        (
            "linear_subgroup (8 lanes)",
            linear::subgroup_source(linear::Tile::SUBGROUP_8),
        ),
        (
            "linear_subgroup (4 lanes)",
            linear::subgroup_source(linear::Tile::SUBGROUP_4),
        ),
        (
            // Rows fitted to a short M: the last lane's load serves half of them.
            "linear_subgroup (8 lanes, 20 rows)",
            linear::subgroup_source(linear::Tile::SUBGROUP_8.fitted_to(20)),
        ),
        ("pool", pool::source()),
    ]
}

/// How a kernel sees one binding; binding 0 is always the op's uniform parameters.
#[derive(Clone, Copy)]
pub(crate) enum Access {
    Read,
    ReadWrite,
    /// A `texture_2d<u32>` read by `textureLoad`.
    Texture,
    /// A `texture_2d_array<f32>` read through a filtering sampler.
    FilteredTextureArray,
    /// A filtering sampler.
    Sampler,
    /// A `texture_storage_2d_array<rgba32float, write>`.
    WrittenTextureArray,
}

/// A compiled kernel: its bind group layout and one pipeline per specialisation.
#[derive(Clone)]
pub(crate) struct Kernel {
    pub layout: wgpu::BindGroupLayout,
    pub pipeline: wgpu::ComputePipeline,
}

impl Kernel {
    /// Compiles `source` with the uniform at binding 0 and `storage` at bindings 1.., each
    /// `override` constant set from `constants`.
    pub fn new(
        ctx: &GpuContext,
        label: &str,
        source: &str,
        storage: &[Access],
        constants: &[(&str, f64)],
    ) -> Self {
        let device = &ctx.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let buffer = |ty| wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        };
        let entry = |binding: u32, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty,
            count: None,
        };
        let mut entries = vec![entry(0, buffer(wgpu::BufferBindingType::Uniform))];
        entries.extend(storage.iter().enumerate().map(|(i, access)| {
            let ty = match access {
                Access::Read => buffer(wgpu::BufferBindingType::Storage { read_only: true }),
                Access::ReadWrite => buffer(wgpu::BufferBindingType::Storage { read_only: false }),
                Access::Texture => wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Uint,
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                Access::FilteredTextureArray => wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: true },
                    view_dimension: wgpu::TextureViewDimension::D2Array,
                    multisampled: false,
                },
                Access::Sampler => wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                Access::WrittenTextureArray => wgpu::BindingType::StorageTexture {
                    access: wgpu::StorageTextureAccess::WriteOnly,
                    format: wgpu::TextureFormat::Rgba32Float,
                    view_dimension: wgpu::TextureViewDimension::D2Array,
                },
            };
            entry(i as u32 + 1, ty)
        }));
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(label),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(label),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        Self { layout, pipeline }
    }

    /// Binds `params` (as the uniform) and `buffers` (bindings 1..) into a replayable dispatch.
    pub fn bind<P: Uniform>(
        &self,
        ctx: &GpuContext,
        label: &'static str,
        params: &P,
        buffers: &[&wgpu::Buffer],
        workgroups: [u32; 3],
    ) -> crate::dispatch::Dispatch {
        let resources = buffers.iter().map(|b| b.as_entire_binding()).collect();
        self.bind_resources(ctx, label, params, resources, workgroups)
    }

    /// As [`Kernel::bind`], for bindings that may be textures.
    pub fn bind_resources<P: Uniform>(
        &self,
        ctx: &GpuContext,
        label: &'static str,
        params: &P,
        resources: Vec<wgpu::BindingResource<'_>>,
        workgroups: [u32; 3],
    ) -> crate::dispatch::Dispatch {
        let mut contents = bytemuck::bytes_of(params).to_vec();
        contents.resize(contents.len().next_multiple_of(16), 0);
        let uniform = ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &contents,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        entries.extend(resources.into_iter().enumerate().map(|(i, resource)| {
            wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource,
            }
        }));
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &self.layout,
            entries: &entries,
        });
        crate::dispatch::Dispatch {
            label,
            pipeline: self.pipeline.clone(),
            bind_group,
            workgroups,
            work: Default::default(),
        }
    }
}

/// Kernels compiled at first use, one per key (a specialisation), so that a model compiles
/// only those its layers bind.
pub(crate) struct KernelCache<K>(Mutex<HashMap<K, Kernel>>);

impl<K: Eq + Hash> KernelCache<K> {
    pub fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    /// The kernel of `key`, compiled by `compile` if it is the first time.
    pub fn get(&self, key: K, compile: impl FnOnce() -> Kernel) -> Kernel {
        crate::locked(&self.0)
            .entry(key)
            .or_insert_with(compile)
            .clone()
    }
}

/// Encodes `dispatches` in one compute pass and submits them: for stand-alone op runs.
pub fn submit(ctx: &GpuContext, dispatches: &[&crate::dispatch::Dispatch]) {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    let label = dispatches.first().map_or("", |dispatch| dispatch.label);
    encode_in_one_pass(&mut encoder, label, dispatches.iter().copied(), None);
    ctx.queue.submit([encoder.finish()]);
}

/// The exact GELU, `x * (1 + erf(x / sqrt 2)) / 2`, in f64 for the CPU references.
pub fn gelu_reference(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// erf to about 1e-15 (series for small |x|, continued fraction beyond): the references must
/// not share the kernel's approximation.
fn erf(x: f64) -> f64 {
    if x.abs() < 2.5 {
        // Maclaurin series: erf x = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)).
        let (mut term, mut sum, mut n) = (x, x, 0.0);
        while term.abs() > 1e-17 * sum.abs().max(1e-300) {
            n += 1.0;
            term *= -x * x / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc by Lentz's continued fraction: erfc x = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))).
        let a = x.abs();
        let mut f = a;
        let (mut c, mut d) = (a, 0.0);
        for k in 1..200 {
            let coefficient = f64::from(k) / 2.0;
            d = a + coefficient * d;
            d = 1.0 / d;
            c = a + coefficient / c;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        let erfc = (-a * a).exp() / std::f64::consts::PI.sqrt() / f;
        (1.0 - erfc).copysign(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, expected) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (-2.0, -0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
        ] {
            assert!(
                (erf(x) - expected).abs() < 1e-14,
                "erf({x}) = {} not {expected}",
                erf(x)
            );
        }
    }
}
