// The 3x3 neighbourhoods of a channels-last map as rows: output row p (an output pixel) holds,
// for each tap (ky, kx) and input channel c, the input at (oy * stride + ky - pad,
// ox * stride + kx - pad, c), zero outside the map. The convolution is then one linear layer
// over these rows, run by the register-blocked linear kernel.

struct Params {
    in_height: u32,
    in_width: u32,
    in_channels: u32,
    out_width: u32,
    stride: u32,
    pad: u32,
    total: u32, // output pixels * 9 * in_channels
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;         // [H, W, Cin]
@group(0) @binding(2) var<storage, read_write> columns: array<f32>; // [Ho * Wo, 3, 3, Cin]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let index = (wg.y * grid.x + wg.x) * 64u + local;
    if (index >= params.total) {
        return;
    }
    let cin = params.in_channels;
    let c = index % cin;
    let tap = (index / cin) % 9u;
    let pixel = index / (cin * 9u);
    let ox = pixel % params.out_width;
    let oy = pixel / params.out_width;
    let iy = i32(oy * params.stride + tap / 3u) - i32(params.pad);
    let ix = i32(ox * params.stride + tap % 3u) - i32(params.pad);
    var value = 0.0;
    if (iy >= 0 && iy < i32(params.in_height) && ix >= 0 && ix < i32(params.in_width)) {
        value = input[(u32(iy) * params.in_width + u32(ix)) * cin + c];
    }
    columns[index] = value;
}
