// Dense 3x3 convolution with padding, channels last (the stem's and the downsamples' stride-2
// convolutions). One invocation computes 4 output channels of one output pixel.

struct Params {
    in_height: u32,
    in_width: u32,
    in_channels: u32,
    out_height: u32,
    out_width: u32,
    out_vec: u32, // output channels / 4
    stride: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;              // [H, W, Cin]
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;       // [3, 3, Cin, Cout / 4]
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;         // [Cout / 4]
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>; // [Ho, Wo, Cout / 4]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let index = (wg.y * grid.x + wg.x) * 64u + local;
    let out_vec = params.out_vec;
    if (index >= params.out_height * params.out_width * out_vec) {
        return;
    }
    let q = index % out_vec;
    let pixel = index / out_vec;
    let ox = pixel % params.out_width;
    let oy = pixel / params.out_width;
    let cin = params.in_channels;
    var acc = bias[q];
    for (var ky = 0u; ky < 3u; ky++) {
        let iy = i32(oy * params.stride + ky) - i32(params.pad);
        if (iy < 0 || iy >= i32(params.in_height)) {
            continue;
        }
        for (var kx = 0u; kx < 3u; kx++) {
            let ix = i32(ox * params.stride + kx) - i32(params.pad);
            if (ix < 0 || ix >= i32(params.in_width)) {
                continue;
            }
            let in_base = (u32(iy) * params.in_width + u32(ix)) * cin;
            let w_base = (ky * 3u + kx) * cin * out_vec + q;
            for (var c = 0u; c < cin; c++) {
                acc += input[in_base + c] * weight[w_base + c * out_vec];
            }
        }
    }
    output[index] = acc;
}
