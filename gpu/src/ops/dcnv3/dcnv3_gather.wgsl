// DCNv3's reader for a storage buffer: the 4 corners of each location gathered as vec4 and
// weighted. Corners outside [0, W-1] x [0, H-1] read a clamped cell with a zero weight rather
// than branch, since on CPU adapters lanes that branch apart still pay for each other's loads.

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>; // [H, W, G * GROUP_CHANNELS]

struct Point {
    corners: vec4<u32>, // the invocation's first vec4 of the group in each corner's cell
    weights: vec4<f32>, // bilinear weight times the point's mask weight, zero outside the map
}

fn point_at(px: f32, py: f32, weight: f32, first_vec: u32) -> Point {
    let width = params.width;
    let max_x = f32(width - 1u);
    let max_y = f32(params.height - 1u);
    let x0 = floor(px);
    let y0 = floor(py);
    let fx = px - x0;
    let fy = py - y0;
    // Bounds are tested in float, so a huge offset never reaches an overflowing integer cast.
    let on_x = vec2<f32>(select(0.0, 1.0 - fx, x0 >= 0.0 && x0 <= max_x),
                         select(0.0, fx, x0 + 1.0 >= 0.0 && x0 + 1.0 <= max_x));
    let on_y = vec2<f32>(select(0.0, 1.0 - fy, y0 >= 0.0 && y0 <= max_y),
                         select(0.0, fy, y0 + 1.0 >= 0.0 && y0 + 1.0 <= max_y));
    let xi = u32(clamp(x0, 0.0, max_x));
    let yi = u32(clamp(y0, 0.0, max_y));
    let xj = u32(clamp(x0 + 1.0, 0.0, max_x));
    let yj = u32(clamp(y0 + 1.0, 0.0, max_y));
    let cells = vec4<u32>(yi * width + xi, yi * width + xj, yj * width + xi, yj * width + xj);
    let vec_per_pixel = params.groups * (GROUP_CHANNELS / 4u);
    return Point(
        cells * vec_per_pixel + first_vec,
        weight * vec4<f32>(on_x.x * on_y.x, on_x.y * on_y.x, on_x.x * on_y.y, on_x.y * on_y.y),
    );
}

// Channels 4v..4v+3 of the group at the point, bilinearly sampled and weighted.
fn sample(point: Point, v: u32) -> vec4<f32> {
    let c = point.corners;
    let w = point.weights;
    return w.x * input[c.x + v] + w.y * input[c.y + v] + w.z * input[c.z + v] + w.w * input[c.w + v];
}
