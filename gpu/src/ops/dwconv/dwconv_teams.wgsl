// The depthwise branch (depthwise 3x3 convolution with bias, LayerNorm over channels, GELU) with
// a team of invocations per pixel (layernorm/teams.wgsl): the GPUs' version of dwconv.wgsl. A
// lane convolves its channels, keeps them in registers through the norm's two sums, and writes
// each once.

@compute @workgroup_size(TEAM_WORKGROUP)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let width = params.width;
    let height = params.height;
    let pixel = team_pixel(wg, grid, local, height * width);
    let y = i32(pixel.x / width);
    let x = i32(pixel.x % width);
    let lane = local % LANES;
    let c4_len = params.channels / 4u;
    // NORMALIZE_INPUT: each tap's pixel's statistics, loaded once for all channels.
    var tap_stats: array<vec2<f32>, 9>;
    for (var tap = 0; tap < 9; tap++) {
        let iy = clamp(y + tap / 3 - 1, 0, i32(height) - 1);
        let ix = clamp(x + tap % 3 - 1, 0, i32(width) - 1);
        tap_stats[tap] = stats_of(u32(iy) * width + u32(ix));
    }
    var conv: array<vec4<f32>, MAX_VECS>;
    for (var j = 0u; j < VECS; j++) {
        let c = j * LANES + lane;
        if (c < c4_len) {
            var acc = conv_bias(c);
            for (var tap = 0; tap < 9; tap++) {
                let iy = y + tap / 3 - 1;
                let ix = x + tap % 3 - 1;
                if (iy >= 0 && iy < i32(height) && ix >= 0 && ix < i32(width)) {
                    let v = input[(u32(iy) * width + u32(ix)) * c4_len + c];
                    acc += normalised_input(v, tap_stats[tap], c) * tap_weight(u32(tap), c);
                }
            }
            conv[j] = acc;
        }
    }
    let stats = team_statistics(&conv, local, c4_len, params.eps);
    if (pixel.y == 0u) {
        return;
    }
    let base = pixel.x * c4_len;
    for (var j = 0u; j < VECS; j++) {
        let c = j * LANES + lane;
        if (c < c4_len) {
            output[base + c] = gelu4((conv[j] - stats.x) * stats.y * norm_weight(c) + norm_bias(c));
        }
    }
}
