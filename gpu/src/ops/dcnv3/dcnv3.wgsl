// DCNv3 core (spec section 4): for every output pixel and group, softmax the 9 mask logits, then
// sum the 9 bilinear samples of the group's channels at the offset locations, weighted by the mask.
//
// One invocation computes one (pixel, group): the softmax and the 4 bilinear corner weights of
// each point are computed once and reused across all GROUP_CHANNELS channels, which are read and
// written as vec4. Locations are computed directly in the unpadded map (as the official CUDA
// kernel does); corners outside [0, W-1] x [0, H-1] contribute zero.

struct Params {
    height: u32,
    width: u32,
    groups: u32,
    offset_scale: f32,
}

// Channels per group (16 for every InternImage-T level); a multiple of 4, at most 4 * MAX_VEC.
override GROUP_CHANNELS: u32 = 16u;
// Whether to write the sampling locations and weights (for the visualisation) besides the output.
override EMIT_SAMPLING: bool = false;

const MAX_VEC: u32 = 8u;
const POINTS: u32 = 9u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;        // [H, W, G * GROUP_CHANNELS]
@group(0) @binding(2) var<storage, read> offsets: array<f32>;            // [H, W, G, 9, 2] (dx, dy)
@group(0) @binding(3) var<storage, read> mask_logits: array<f32>;        // [H, W, G, 9]
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>; // [H, W, G * GROUP_CHANNELS]
@group(0) @binding(5) var<storage, read_write> sampling: array<f32>;     // [H, W, G, 9, 3] (p_x, p_y, m)

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let index = (wg.y * grid.x + wg.x) * 64u + local;
    let groups = params.groups;
    let width = params.width;
    if (index >= params.height * width * groups) {
        return;
    }
    let g = index % groups;
    let pixel = index / groups;
    let w = pixel % width;
    let h = pixel / width;

    // Softmax over the 9 points of this group, max-subtracted for stability.
    let point_base = index * POINTS;
    var m: array<f32, 9>;
    var largest = mask_logits[point_base];
    for (var k = 1u; k < POINTS; k++) {
        largest = max(largest, mask_logits[point_base + k]);
    }
    var total = 0.0;
    for (var k = 0u; k < POINTS; k++) {
        m[k] = exp(mask_logits[point_base + k] - largest);
        total += m[k];
    }

    let vec_per_group = GROUP_CHANNELS / 4u;
    let vec_per_pixel = groups * vec_per_group;
    let group_vec = g * vec_per_group;
    let max_x = f32(width - 1u);
    let max_y = f32(params.height - 1u);
    let s = params.offset_scale;
    var acc: array<vec4<f32>, MAX_VEC>;

    for (var k = 0u; k < POINTS; k++) {
        let weight = m[k] / total;
        // Base grid: k = 3 * (bx + 1) + (by + 1), the column offset is the outer loop.
        let bx = f32(k / 3u) - 1.0;
        let by = f32(k % 3u) - 1.0;
        let px = f32(w) + s * (bx + offsets[2u * (point_base + k)]);
        let py = f32(h) + s * (by + offsets[2u * (point_base + k) + 1u]);
        if (EMIT_SAMPLING) {
            let out = 3u * (point_base + k);
            sampling[out] = px;
            sampling[out + 1u] = py;
            sampling[out + 2u] = weight;
        }

        let x0 = floor(px);
        let y0 = floor(py);
        let fx = px - x0;
        let fy = py - y0;
        // Bounds are tested in float, so a huge offset never reaches an overflowing integer cast.
        let left = x0 >= 0.0 && x0 <= max_x;
        let right = x0 + 1.0 >= 0.0 && x0 + 1.0 <= max_x;
        let top = y0 >= 0.0 && y0 <= max_y;
        let bottom = y0 + 1.0 >= 0.0 && y0 + 1.0 <= max_y;
        if (!((left || right) && (top || bottom))) {
            continue;
        }
        let xi = i32(x0);
        let yi = i32(y0);
        for (var corner = 0u; corner < 4u; corner++) {
            let dx = corner & 1u;
            let dy = corner >> 1u;
            let inside = select(left, right, dx == 1u) && select(top, bottom, dy == 1u);
            if (!inside) {
                continue;
            }
            let wx = select(1.0 - fx, fx, dx == 1u);
            let wy = select(1.0 - fy, fy, dy == 1u);
            let cw = weight * wx * wy;
            let cell = u32(yi + i32(dy)) * width + u32(xi + i32(dx));
            let base = cell * vec_per_pixel + group_vec;
            for (var v = 0u; v < vec_per_group; v++) {
                acc[v] += cw * input[base + v];
            }
        }
    }

    let out_base = pixel * vec_per_pixel + group_vec;
    for (var v = 0u; v < vec_per_group; v++) {
        output[out_base + v] = acc[v];
    }
}
