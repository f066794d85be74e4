// LayerNorm statistics of 4 pixels at a time, one per column of a mat4x4 (one pixel's 4
// channels) or component of a vec4: shared by layernorm.wgsl and dwconv.wgsl, whose
// invocations each normalise 4 pixels.

// Pixels per invocation, and invocations per workgroup: 16, not 64, so that the 14 x 14 and
// 7 x 7 levels still make a workgroup for each CPU thread. layernorm/mod.rs launches with the
// same two numbers.
const PIXELS: u32 = 4u;
const WORKGROUP: u32 = 16u;

// The 4 pixels' means, from the column sums of their channels.
fn means_of(sums: mat4x4<f32>, channels: f32) -> vec4<f32> {
    return vec4<f32>(dot(sums[0], vec4(1.0)), dot(sums[1], vec4(1.0)),
                     dot(sums[2], vec4(1.0)), dot(sums[3], vec4(1.0))) / channels;
}

// The 4 pixels' sums of squared deviations over 4 channels, column p being pixel p.
fn squared_deviations(x: mat4x4<f32>, mean: vec4<f32>) -> vec4<f32> {
    let d0 = x[0] - mean.x;
    let d1 = x[1] - mean.y;
    let d2 = x[2] - mean.z;
    let d3 = x[3] - mean.w;
    return vec4<f32>(dot(d0, d0), dot(d1, d1), dot(d2, d2), dot(d3, d3));
}

// One pixel's 4 channels normalised by its statistics, then scaled and shifted.
fn normalised(x: vec4<f32>, mean: f32, inv_std: f32, weight: vec4<f32>, bias: vec4<f32>) -> vec4<f32> {
    return (x - mean) * inv_std * weight + bias;
}
