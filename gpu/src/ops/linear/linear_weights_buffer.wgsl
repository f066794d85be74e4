// The weights of linear_vec4_common.wgsl's kernels from a storage buffer, f32 or int8.

@group(0) @binding(2) var<storage, read> weight: array<vec4<u32>>; // as in linear.wgsl

// Weights of K rows 4q..4q+3 for the 4 columns of block `col4`, one K row per matrix column.
fn weights(q: u32, col4: u32) -> mat4x4<f32> {
    let n4 = params.n4;
    if (QUANTIZED) {
        let words = weight[q * n4 + col4];
        return mat4x4<f32>(unpack_i8x4(words.x), unpack_i8x4(words.y), unpack_i8x4(words.z), unpack_i8x4(words.w));
    }
    let at = q * 4u * n4 + col4;
    return mat4x4<f32>(
        bitcast<vec4<f32>>(weight[at]),
        bitcast<vec4<f32>>(weight[at + n4]),
        bitcast<vec4<f32>>(weight[at + 2u * n4]),
        bitcast<vec4<f32>>(weight[at + 3u * n4]),
    );
}
