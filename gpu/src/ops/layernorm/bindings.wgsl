// The parameters and bindings of both LayerNorm kernels (layernorm.wgsl, layernorm_teams.wgsl).

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;        // [P, C / 4]
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;       // [C / 4]
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;         // [C / 4]
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>; // [P, C / 4]
