// LayerNorm over the channels of each pixel (biased variance), optionally followed by GELU.
// One invocation per pixel; two passes over the pixel's channels for a stable variance. Four
// channels per load: on CPU adapters every load is a loop over the SIMD lanes, so its count,
// not its width, sets the cost.

struct Params {
    pixels: u32,
    channels: u32, // a multiple of 4
    eps: f32,
    _pad: u32,
}

override APPLY_GELU: bool = false;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;        // [P, C / 4]
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;       // [C / 4]
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;         // [C / 4]
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>; // [P, C / 4]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let pixel = (wg.y * grid.x + wg.x) * 64u + local;
    if (pixel >= params.pixels) {
        return;
    }
    let c4_len = params.channels / 4u;
    let base = pixel * c4_len;
    var sum = vec4<f32>(0.0);
    for (var c = 0u; c < c4_len; c++) {
        sum += input[base + c];
    }
    let mean = dot(sum, vec4<f32>(1.0)) / f32(params.channels);
    var squares = vec4<f32>(0.0);
    for (var c = 0u; c < c4_len; c++) {
        let d = input[base + c] - mean;
        squares += d * d;
    }
    let inv_std = inverseSqrt(dot(squares, vec4<f32>(1.0)) / f32(params.channels) + params.eps);
    for (var c = 0u; c < c4_len; c++) {
        var y = (input[base + c] - mean) * inv_std * weight[c] + bias[c];
        if (APPLY_GELU) {
            y = gelu4(y);
        }
        output[base + c] = y;
    }
}
