// LayerNorm over the channels of each pixel (biased variance), optionally followed by GELU.
// One invocation normalises 4 pixels, so that each load of the weight and bias serves 4: 3.5
// loads per 4 channels of a pixel instead of 5. Two passes over the channels for a stable
// variance, then one to write. Four channels per load: on CPU adapters every load is a loop
// over the SIMD lanes, so its count, not its width, sets the cost.

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let first = ((wg.y * grid.x + wg.x) * WORKGROUP + local) * PIXELS;
    let pixels = params.pixels;
    if (first >= pixels) {
        return;
    }
    let c4_len = params.channels / 4u;
    // Past the last pixel: the last pixel again, never stored.
    let p0 = first * c4_len;
    let p1 = min(first + 1u, pixels - 1u) * c4_len;
    let p2 = min(first + 2u, pixels - 1u) * c4_len;
    let p3 = min(first + 3u, pixels - 1u) * c4_len;
    let stored = vec4<bool>(true, first + 1u < pixels, first + 2u < pixels, first + 3u < pixels);

    var sum = mat4x4<f32>();
    for (var c = 0u; c < c4_len; c++) {
        sum += mat4x4<f32>(input[p0 + c], input[p1 + c], input[p2 + c], input[p3 + c]);
    }
    let channels = f32(params.channels);
    let mean = means_of(sum, channels);
    var squares = vec4<f32>(0.0);
    for (var c = 0u; c < c4_len; c++) {
        squares += squared_deviations(
            mat4x4<f32>(input[p0 + c], input[p1 + c], input[p2 + c], input[p3 + c]), mean);
    }
    let inv_std = inverseSqrt(squares / channels + params.eps);
    for (var c = 0u; c < c4_len; c++) {
        let g = weight[c];
        let b = bias[c];
        output[p0 + c] = activate(normalised(input[p0 + c], mean.x, inv_std.x, g, b));
        if (stored.y) { output[p1 + c] = activate(normalised(input[p1 + c], mean.y, inv_std.y, g, b)); }
        if (stored.z) { output[p2 + c] = activate(normalised(input[p2 + c], mean.z, inv_std.z, g, b)); }
        if (stored.w) { output[p3 + c] = activate(normalised(input[p3 + c], mean.w, inv_std.w, g, b)); }
    }
}
