// LayerNorm over the channels of each pixel (biased variance), optionally followed by GELU.
// One invocation per pixel; two passes over the pixel's channels for a stable variance.

struct Params {
    pixels: u32,
    channels: u32,
    eps: f32,
    _pad: u32,
}

override APPLY_GELU: bool = false;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;        // [P, C]
@group(0) @binding(2) var<storage, read> weight: array<f32>;       // [C]
@group(0) @binding(3) var<storage, read> bias: array<f32>;         // [C]
@group(0) @binding(4) var<storage, read_write> output: array<f32>; // [P, C]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let pixel = (wg.y * grid.x + wg.x) * 64u + local;
    if (pixel >= params.pixels) {
        return;
    }
    let c_len = params.channels;
    let base = pixel * c_len;
    var sum = 0.0;
    for (var c = 0u; c < c_len; c++) {
        sum += input[base + c];
    }
    let mean = sum / f32(c_len);
    var squares = 0.0;
    for (var c = 0u; c < c_len; c++) {
        let d = input[base + c] - mean;
        squares += d * d;
    }
    let inv_std = inverseSqrt(squares / f32(c_len) + params.eps);
    for (var c = 0u; c < c_len; c++) {
        var y = (input[base + c] - mean) * inv_std * weight[c] + bias[c];
        if (APPLY_GELU) {
            y = gelu(y);
        }
        output[base + c] = y;
    }
}
