// LayerNorm statistics for GPUs: a team of LANES invocations per pixel (a power of two, at most
// 64), each holding VECS vec4 of the pixel's channels in registers (channel 4 * (j * LANES +
// lane) in its j-th), the sums taken over the team in workgroup memory. Where four_pixels.wgsl
// gives one invocation 4 whole pixels (few threads, each with much work: right for CPU
// adapters), this gives a GPU 16 to 64 threads a pixel, so that a 14 x 14 map of 320 channels
// is 12,544 threads rather than 49. layernorm/mod.rs chooses LANES and VECS per channel count.

override LANES: u32 = 64u;
override VECS: u32 = 1u;
// The registers each invocation sets aside: channels up to 64 x 16 x 4 = 4,096.
const MAX_VECS: u32 = 16u;
const TEAM_WORKGROUP: u32 = 64u;

var<workgroup> partial: array<f32, TEAM_WORKGROUP>;

// The sum of `value` over the calling invocation's team. Every invocation of the workgroup
// calls it (it holds barriers), those of pixels past the end included.
fn team_sum(value: f32, local: u32) -> f32 {
    let lane = local % LANES;
    partial[local] = value;
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
        if (lane < stride) {
            partial[local] += partial[local + stride];
        }
        workgroupBarrier();
    }
    let sum = partial[local - lane];
    // Every team has read its sum before the next call overwrites the array.
    workgroupBarrier();
    return sum;
}

// The mean and the inverse standard deviation (biased) of the team's pixel, from each lane's
// VECS vec4 of its channels (those past `c4_len` ignored).
fn team_statistics(values: ptr<function, array<vec4<f32>, MAX_VECS>>, local: u32, c4_len: u32,
                   eps: f32) -> vec2<f32> {
    let lane = local % LANES;
    var sum = 0.0;
    for (var j = 0u; j < VECS; j++) {
        sum += select(0.0, dot((*values)[j], vec4(1.0)), j * LANES + lane < c4_len);
    }
    let channels = f32(4u * c4_len);
    let mean = team_sum(sum, local) / channels;
    var squares = 0.0;
    for (var j = 0u; j < VECS; j++) {
        let d = (*values)[j] - mean;
        squares += select(0.0, dot(d, d), j * LANES + lane < c4_len);
    }
    return vec2<f32>(mean, inverseSqrt(team_sum(squares, local) / channels + eps));
}

// The team's pixel, and whether it exists (past the end: the last pixel, never stored).
fn team_pixel(wg: vec3<u32>, grid: vec3<u32>, local: u32, pixels: u32) -> vec2<u32> {
    let pixel = (wg.y * grid.x + wg.x) * (TEAM_WORKGROUP / LANES) + local / LANES;
    return vec2<u32>(min(pixel, pixels - 1u), u32(pixel < pixels));
}
