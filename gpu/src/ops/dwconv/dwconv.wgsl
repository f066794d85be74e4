// The DCNv3 offset branch's front: depthwise 3x3 convolution (padding 1, bias), then LayerNorm
// over channels, then GELU, fused: one invocation per pixel writes its C channels, then
// normalises them in place (it only ever touches its own pixel).

struct Params {
    height: u32,
    width: u32,
    channels: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;        // [H, W, C]
@group(0) @binding(2) var<storage, read> weight: array<f32>;       // [9, C], tap = 3 * ky + kx
@group(0) @binding(3) var<storage, read> bias: array<f32>;         // [C]
@group(0) @binding(4) var<storage, read> ln_weight: array<f32>;    // [C]
@group(0) @binding(5) var<storage, read> ln_bias: array<f32>;      // [C]
@group(0) @binding(6) var<storage, read_write> output: array<f32>; // [H, W, C]

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
    let c_len = params.channels;
    let base = pixel * c_len;
    var sum = 0.0;
    for (var c = 0u; c < c_len; c++) {
        var acc = bias[c];
        for (var tap = 0u; tap < 9u; tap++) {
            let iy = y + i32(tap / 3u) - 1;
            let ix = x + i32(tap % 3u) - 1;
            if (iy >= 0 && iy < i32(height) && ix >= 0 && ix < i32(width)) {
                acc += input[(u32(iy) * width + u32(ix)) * c_len + c] * weight[tap * c_len + c];
            }
        }
        output[base + c] = acc;
        sum += acc;
    }
    let mean = sum / f32(c_len);
    var squares = 0.0;
    for (var c = 0u; c < c_len; c++) {
        let d = output[base + c] - mean;
        squares += d * d;
    }
    let inv_std = inverseSqrt(squares / f32(c_len) + params.eps);
    for (var c = 0u; c < c_len; c++) {
        output[base + c] = gelu((output[base + c] - mean) * inv_std * ln_weight[c] + ln_bias[c]);
    }
}
