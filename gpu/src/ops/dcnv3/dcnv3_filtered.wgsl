// DCNv3's reader for CPU adapters: the input as planes (planes.wgsl: 4 channels a layer of a
// texture array, a border of zeros: planes_layout.wgsl) read by one filtered
// sample per location and vec4, where the gather reader makes 4 loads and the bilinear weights
// itself. llvmpipe and SwiftShader filter in f32 (relative error 2e-6 against the f64
// reference, as the gather reader) and their sampler gathers the 4 texels without the per-lane
// loop of a storage load. Locations off the map sample the zero border: clamp-to-edge repeats
// it however far out they fall.

@group(0) @binding(1) var input: texture_2d_array<f32>; // [G * GROUP_CHANNELS / 4][H, W and the border]
@group(0) @binding(6) var planes_sampler: sampler;      // linear filtering, clamp to edge

struct Point {
    uv: vec2<f32>, // the location in the texture's normalised coordinates
    weight: f32,
    layer: u32, // the invocation's first layer of the group
}

fn point_at(px: f32, py: f32, weight: f32, first_vec: u32) -> Point {
    let texels = vec2<f32>(f32(params.width + 2u * PLANES_BORDER), f32(params.height + 2u * PLANES_BORDER));
    // Texel i's centre is at (i + 0.5) / size; cell x is texel x + PLANES_BORDER.
    return Point((vec2<f32>(px, py) + f32(PLANES_BORDER) + 0.5) / texels, weight, first_vec);
}

fn sample(point: Point, v: u32) -> vec4<f32> {
    return point.weight * textureSampleLevel(input, planes_sampler, point.uv, point.layer + v, 0.0);
}
