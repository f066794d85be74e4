// The parameters and bindings of both depthwise-branch kernels (dwconv.wgsl, dwconv_teams.wgsl).

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;        // [H, W, C / 4]
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;       // [9, C / 4], tap = 3 * ky + kx
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;         // [C / 4]
@group(0) @binding(4) var<storage, read> ln_weight: array<vec4<f32>>;    // [C / 4]
@group(0) @binding(5) var<storage, read> ln_bias: array<vec4<f32>>;      // [C / 4]
@group(0) @binding(6) var<storage, read_write> output: array<vec4<f32>>; // [H, W, C / 4]
