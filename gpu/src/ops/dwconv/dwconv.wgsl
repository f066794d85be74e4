// The DCNv3 offset branch's front: depthwise 3x3 convolution (padding 1, bias), then LayerNorm
// over channels, then GELU, fused: one invocation per pixel writes its C channels, then
// normalises them in place (it only ever touches its own pixel). Four channels per load (see
// layernorm.wgsl); taps outside the picture read the pixel itself with a zero factor, so that
// no lane branches away from the others.

struct Params {
    height: u32,
    width: u32,
    channels: u32, // a multiple of 4
    eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;        // [H, W, C / 4]
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;       // [9, C / 4], tap = 3 * ky + kx
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;         // [C / 4]
@group(0) @binding(4) var<storage, read> ln_weight: array<vec4<f32>>;    // [C / 4]
@group(0) @binding(5) var<storage, read> ln_bias: array<vec4<f32>>;      // [C / 4]
@group(0) @binding(6) var<storage, read_write> output: array<vec4<f32>>; // [H, W, C / 4]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let pixel = (wg.y * grid.x + wg.x) * 64u + local;
    let width = params.width;
    let height = params.height;
    if (pixel >= height * width) {
        return;
    }
    let x = i32(pixel % width);
    let y = i32(pixel / width);
    let c4_len = params.channels / 4u;
    var tap_at: array<u32, 9>;
    var tap_on: array<f32, 9>;
    for (var tap = 0; tap < 9; tap++) {
        let iy = y + tap / 3 - 1;
        let ix = x + tap % 3 - 1;
        let inside = iy >= 0 && iy < i32(height) && ix >= 0 && ix < i32(width);
        tap_at[tap] = select(pixel, u32(iy) * width + u32(ix), inside) * c4_len;
        tap_on[tap] = select(0.0, 1.0, inside);
    }
    let base = pixel * c4_len;
    var sum = vec4<f32>(0.0);
    for (var c = 0u; c < c4_len; c++) {
        var acc = bias[c];
        for (var tap = 0u; tap < 9u; tap++) {
            acc += input[tap_at[tap] + c] * (weight[tap * c4_len + c] * tap_on[tap]);
        }
        output[base + c] = acc;
        sum += acc;
    }
    let mean = dot(sum, vec4<f32>(1.0)) / f32(params.channels);
    var squares = vec4<f32>(0.0);
    for (var c = 0u; c < c4_len; c++) {
        let d = output[base + c] - mean;
        squares += d * d;
    }
    let inv_std = inverseSqrt(dot(squares, vec4<f32>(1.0)) / f32(params.channels) + params.eps);
    for (var c = 0u; c < c4_len; c++) {
        let v = (output[base + c] - mean) * inv_std * ln_weight[c] + ln_bias[c];
        output[base + c] = gelu4(v);
    }
}
