// Global average pooling over pixels, channels last: one invocation per channel.

@group(0) @binding(1) var<storage, read> input: array<f32>;        // [P, C]
@group(0) @binding(2) var<storage, read_write> output: array<f32>; // [C]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = id.x;
    if (c >= params.channels) {
        return;
    }
    var sum = 0.0;
    for (var p = 0u; p < params.pixels; p++) {
        sum += input[p * params.channels + c];
    }
    output[c] = sum / f32(params.pixels);
}
