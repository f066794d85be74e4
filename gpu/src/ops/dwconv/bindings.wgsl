// The parameters and bindings of both depthwise-branch kernels (dwconv.wgsl, dwconv_teams.wgsl),
// and the LayerNorm they apply to their input where NORMALIZE_INPUT: the block's first norm,
// whose statistics the input projection wrote (linear_vec4_common.wgsl), so that the norm's
// output is never stored.

override NORMALIZE_INPUT: bool = false;

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;        // [H, W, C / 4]
// [12, C / 4]: the 9 taps' weights (tap = 3 * ky + kx), the convolution's bias, the norm's
// weight and bias (mod.rs, pack_weights).
@group(0) @binding(2) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> output: array<vec4<f32>>; // [H, W, C / 4]
@group(0) @binding(4) var<storage, read> in_norm: array<vec4<f32>>;   // NORMALIZE_INPUT: gamma [C / 4], beta [C / 4]
@group(0) @binding(5) var<storage, read> in_stats: array<vec2<f32>>;  // NORMALIZE_INPUT: [H, W] (mean, 1 / std)

// Channels 4c..4c+3 of tap `tap`'s weights.
fn tap_weight(tap: u32, c: u32) -> vec4<f32> {
    return weights[tap * (params.channels / 4u) + c];
}

fn conv_bias(c: u32) -> vec4<f32> {
    return tap_weight(9u, c);
}

fn norm_weight(c: u32) -> vec4<f32> {
    return tap_weight(10u, c);
}

fn norm_bias(c: u32) -> vec4<f32> {
    return tap_weight(11u, c);
}

// The statistics of input pixel `pixel`; (0, 1) without NORMALIZE_INPUT.
fn stats_of(pixel: u32) -> vec2<f32> {
    if (NORMALIZE_INPUT) {
        return in_stats[pixel];
    }
    return vec2<f32>(0.0, 1.0);
}

// Input channels 4c..4c+3 of a pixel of statistics `s` as the norm gives them.
fn normalised_input(v: vec4<f32>, s: vec2<f32>, c: u32) -> vec4<f32> {
    if (NORMALIZE_INPUT) {
        return (v - s.x) * s.y * in_norm[c] + in_norm[params.channels / 4u + c];
    }
    return v;
}
