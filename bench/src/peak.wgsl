// The adapter's arithmetic ceiling: chains of multiply-adds in registers, no loads. What a
// kernel can reach at best on this adapter as its compiler builds WGSL (llvmpipe: 8 lanes a
// register and no fused multiply-add), the roof beside which the bench puts the kernels.
//
// Sixteen independent chains (4 vec4) hide the latency of each multiply and add; 8 rounds a
// loop iteration keep the loop's own cost (a branch, and on llvmpipe the blend of every
// variable with the loop's mask) small beside them.

struct Params {
    iterations: u32,
    scale: f32,
    shift: f32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> output: array<vec4<f32>>; // one per invocation

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = id.y * groups.x * 64u + id.x;
    if (index >= arrayLength(&output)) {
        return;
    }
    let seed = f32(index % 64u) / 64.0;
    var a = vec4<f32>(seed, seed + 1.0, seed + 2.0, seed + 3.0);
    var b = a + vec4<f32>(4.0);
    var c = a + vec4<f32>(8.0);
    var d = a + vec4<f32>(12.0);
    // From the uniform, so that the compiler cannot fold the chains away.
    let m = vec4<f32>(params.scale);
    let s = vec4<f32>(params.shift);
    for (var i = 0u; i < params.iterations; i++) {
        a = a * m + s; b = b * m + s; c = c * m + s; d = d * m + s;
        a = a * m + s; b = b * m + s; c = c * m + s; d = d * m + s;
        a = a * m + s; b = b * m + s; c = c * m + s; d = d * m + s;
        a = a * m + s; b = b * m + s; c = c * m + s; d = d * m + s;
        a = a * m + s; b = b * m + s; c = c * m + s; d = d * m + s;
        a = a * m + s; b = b * m + s; c = c * m + s; d = d * m + s;
        a = a * m + s; b = b * m + s; c = c * m + s; d = d * m + s;
        a = a * m + s; b = b * m + s; c = c * m + s; d = d * m + s;
    }
    output[index] = a + b + c + d;
}
