// LayerNorm over the channels of each pixel (biased variance), optionally followed by GELU, a
// team of invocations per pixel (teams.wgsl): the GPUs' version of layernorm.wgsl.

@compute @workgroup_size(TEAM_WORKGROUP)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let pixel = team_pixel(wg, grid, local, params.pixels);
    let lane = local % LANES;
    let c4_len = params.channels / 4u;
    let base = pixel.x * c4_len;
    var x: array<vec4<f32>, MAX_VECS>;
    for (var j = 0u; j < VECS; j++) {
        let c = j * LANES + lane;
        if (c < c4_len) {
            x[j] = input[base + c];
        }
    }
    let stats = team_statistics(&x, local, c4_len, params.eps);
    if (pixel.y == 0u) {
        return;
    }
    for (var j = 0u; j < VECS; j++) {
        let c = j * LANES + lane;
        if (c < c4_len) {
            output[base + c] = activate((x[j] - stats.x) * stats.y * weight[c] + bias[c]);
        }
    }
}
