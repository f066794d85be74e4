// DCNv3 core (spec section 4): for every output pixel and group, softmax the 9 mask logits, then
// sum the 9 bilinear samples of the group's channels at the offset locations, weighted by the mask.
//
// One invocation computes one (pixel, group), or its share where CHANNEL_SPLIT invocations share
// it (on GPUs, for more threads with shorter chains of loads): the softmax and each point's
// location are computed once and reused across its channels, which are read and written as
// vec4, each into its own accumulator: on SwiftShader a local array indexed in a loop lives in memory, every
// access a loop over the lanes (slower in the browser, and no faster natively:
// docs/performance.md#how-swiftshader-runs-a-compute-shader). Locations are
// in the unpadded map (as the official CUDA kernel computes them); corners outside it contribute
// zero. How the input is read at a location is the reader's part, appended to this file by the
// launcher: `dcnv3_gather.wgsl` (four corners from a storage buffer) or `dcnv3_filtered.wgsl`
// (one filtered texture sample). Each declares binding 1 (and 6), `Point`, `point_at` and
// `sample`.

// Channels per group (16 for every InternImage-T level); a multiple of 4, at most 32 (acc0..acc7).
override GROUP_CHANNELS: u32 = 16u;
// Whether to write the sampling locations and weights (for the visualisation) besides the output.
override EMIT_SAMPLING: bool = false;
// Invocations per (pixel, group); it divides GROUP_CHANNELS / 4.
override CHANNEL_SPLIT: u32 = 1u;

const POINTS: u32 = 9u;

// Both the points buffer [H, W, point_row]: per pixel the offsets [G, 9] (dx, dy), then the
// mask logits [G, 9]; bound twice, to read the offsets as pairs.
@group(0) @binding(2) var<storage, read> offsets: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> mask_logits: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>; // [H, W, G * GROUP_CHANNELS]
// [H, W, G, SAMPLING_WORDS]: per (pixel, group) its 9 locations as snorm16 pairs, (p - pixel) /
// SAMPLING_RANGE, then its 9 weights as unorm16 pairs (the last half empty): half the bytes of
// three floats a point, within 0.002 feature pixels (ops::dcnv3::unpack_sampling reads it).
@group(0) @binding(5) var<storage, read_write> sampling: array<u32>;
const SAMPLING_WORDS: u32 = 14u;
const SAMPLING_RANGE: f32 = 128.0;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let index = (wg.y * grid.x + wg.x) * 64u + local;
    let groups = params.groups;
    let width = params.width;
    if (index >= params.height * width * groups * CHANNEL_SPLIT) {
        return;
    }
    let part = index % CHANNEL_SPLIT;
    let unit = index / CHANNEL_SPLIT; // (pixel, group)
    let g = unit % groups;
    let pixel = unit / groups;
    let w = pixel % width;
    let h = pixel / width;

    // Softmax over the 9 points of this group, max-subtracted for stability.
    let record = unit * SAMPLING_WORDS;
    let offset_base = pixel * (params.point_row / 2u) + g * POINTS;
    let logit_base = pixel * params.point_row + 18u * groups + g * POINTS;
    var m: array<f32, 9>;
    var largest = -3.402823e38;
    for (var k = 0u; k < POINTS; k++) {
        m[k] = mask_logits[logit_base + k];
        largest = max(largest, m[k]);
    }
    var total = 0.0;
    for (var k = 0u; k < POINTS; k++) {
        m[k] = exp(m[k] - largest);
        total += m[k];
    }

    let vec_per_group = GROUP_CHANNELS / 4u;
    let vec_per_pixel = groups * vec_per_group;
    let vecs = vec_per_group / CHANNEL_SPLIT; // this invocation's
    let first_vec = g * vec_per_group + part * vecs;
    let s = params.offset_scale;
    // Accumulators past vecs are never touched: the tests of the override constant
    // fold away when the pipeline is created.
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);

    for (var k = 0u; k < POINTS; k++) {
        let weight = m[k] / total;
        // Base grid: k = 3 * (bx + 1) + (by + 1), the column offset is the outer loop.
        let bx = f32(k / 3u) - 1.0;
        let by = f32(k % 3u) - 1.0;
        let offset = offsets[offset_base + k];
        let px = f32(w) + s * (bx + offset.x);
        let py = f32(h) + s * (by + offset.y);
        if (EMIT_SAMPLING && part == 0u) {
            let from_pixel = vec2<f32>(px - f32(w), py - f32(h));
            sampling[record + k] = pack2x16snorm(from_pixel / SAMPLING_RANGE);
        }

        let point = point_at(px, py, weight, first_vec);
        acc0 += sample(point, 0u);
        if (vecs > 1u) { acc1 += sample(point, 1u); }
        if (vecs > 2u) { acc2 += sample(point, 2u); }
        if (vecs > 3u) { acc3 += sample(point, 3u); }
        if (vecs > 4u) { acc4 += sample(point, 4u); }
        if (vecs > 5u) { acc5 += sample(point, 5u); }
        if (vecs > 6u) { acc6 += sample(point, 6u); }
        if (vecs > 7u) { acc7 += sample(point, 7u); }
    }

    if (EMIT_SAMPLING && part == 0u) {
        for (var k = 0u; k < POINTS; k += 2u) {
            let next = select(0.0, m[min(k + 1u, POINTS - 1u)] / total, k + 1u < POINTS);
            sampling[record + POINTS + k / 2u] = pack2x16unorm(vec2<f32>(m[k] / total, next));
        }
    }

    let out = pixel * vec_per_pixel + first_vec;
    output[out] = acc0;
    if (vecs > 1u) { output[out + 1u] = acc1; }
    if (vecs > 2u) { output[out + 2u] = acc2; }
    if (vecs > 3u) { output[out + 3u] = acc3; }
    if (vecs > 4u) { output[out + 4u] = acc4; }
    if (vecs > 5u) { output[out + 5u] = acc5; }
    if (vecs > 6u) { output[out + 6u] = acc6; }
    if (vecs > 7u) { output[out + 7u] = acc7; }
}
