// Dense 3x3 convolution with padding, channels last (the stem's and the downsamples' stride-2
// convolutions). One invocation computes 4 output channels of one output pixel.
// With QUANTIZED the weights are int8: per tap, 4 input channels x 4 output channels share one
// vec4<u32> (component r: input channel 4p + r; byte j: output channel 4q + j), scaled per
// output channel once the sums are done.

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
// f32: [3, 3, Cin, Cout / 4] as bit patterns; int8: [3, 3, Cin / 4, Cout / 4] packed as above.
@group(0) @binding(2) var<storage, read> weight: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;         // [Cout / 4]
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>; // [Ho, Wo, Cout / 4]
@group(0) @binding(5) var<storage, read> scale: array<vec4<f32>>;        // int8: [Cout / 4]

override QUANTIZED: bool = false;

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
    var acc = vec4<f32>(0.0);
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
            if (QUANTIZED) {
                let w_base = (ky * 3u + kx) * (cin / 4u) * out_vec + q;
                for (var p = 0u; p < cin / 4u; p++) {
                    let words = weight[w_base + p * out_vec];
                    for (var r = 0u; r < 4u; r++) {
                        acc += input[in_base + 4u * p + r] * unpack_i8x4(words[r]);
                    }
                }
            } else {
                let w_base = (ky * 3u + kx) * cin * out_vec + q;
                for (var c = 0u; c < cin; c++) {
                    acc += input[in_base + c] * bitcast<vec4<f32>>(weight[w_base + c * out_vec]);
                }
            }
        }
    }
    if (QUANTIZED) {
        acc *= scale[q];
    }
    output[index] = acc + bias[q];
}
