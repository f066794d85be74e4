// The f32 weights of linear_vec4_common.wgsl's kernels from a texture: texel (c, k) holds the
// bits of K row k, columns 4c..4c+3, the layout of pack_weight. Both CPU adapters run the
// kernels faster so than from a storage buffer (llvmpipe, whose every storage load is a loop
// over the lanes with a bounds check per component, 1.2-1.3x; SwiftShader 1.2x): see
// docs/performance.md.

@group(0) @binding(2) var weight: texture_2d<u32>;

// Weights of K rows 4q..4q+3 for the 4 columns of block `col4`, one K row per matrix column.
fn weights(q: u32, col4: u32) -> mat4x4<f32> {
    let row = q * 4u;
    return mat4x4<f32>(
        bitcast<vec4<f32>>(textureLoad(weight, vec2<u32>(col4, row), 0)),
        bitcast<vec4<f32>>(textureLoad(weight, vec2<u32>(col4, row + 1u), 0)),
        bitcast<vec4<f32>>(textureLoad(weight, vec2<u32>(col4, row + 2u), 0)),
        bitcast<vec4<f32>>(textureLoad(weight, vec2<u32>(col4, row + 3u), 0)),
    );
}
