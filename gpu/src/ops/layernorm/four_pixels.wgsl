// LayerNorm statistics of 4 pixels at a time, one per column of a mat4x4 (one pixel's 4
// channels) or component of a vec4: shared by layernorm.wgsl and dwconv.wgsl, whose
// invocations each normalise 4 pixels.

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
