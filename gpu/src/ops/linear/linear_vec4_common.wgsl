// What the linear kernels that read x and write y as vec4 share (K and N multiples of 4):
// bindings as in linear.wgsl but for the weights, which come from a texture, the weights of 4 K
// rows as a matrix, and the epilogue. The launcher prepends it to linear_tiled.wgsl and
// linear_subgroup.wgsl.

override EPILOGUE: u32 = 0u;
override QUANTIZED: bool = false;
override HALVES: bool = false; // f16 weights

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;  // [M, K / 4]
// Texel (c, k) holds the bits of K row k, columns 4c..4c+3 (f32, the layout of pack_weight);
// int8: texel (c, q) holds the 4 words of K rows 4q..4q+3 (pack_weight_int8); f16: texel (c, h)
// holds K rows 2h and 2h + 1, columns 4c..4c+3, two to a word (half_texels). On both CPU
// adapters, the kernels run faster so than from a storage buffer: llvmpipe makes every storage
// load a loop over the lanes with a bounds check per component (docs/performance.md).
@group(0) @binding(2) var weight: texture_2d<u32>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;   // [N4]
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>; // [M, N / 4]
@group(0) @binding(5) var<storage, read> scale: array<vec4<f32>>;  // int8: [N4]

// Weights of K rows 4q..4q+3 for the 4 columns of block `col4`, one K row per matrix column.
fn weights(q: u32, col4: u32) -> mat4x4<f32> {
    if (QUANTIZED) {
        let words = textureLoad(weight, vec2<u32>(col4, q), 0);
        return mat4x4<f32>(unpack_i8x4(words.x), unpack_i8x4(words.y), unpack_i8x4(words.z), unpack_i8x4(words.w));
    }
    if (HALVES) {
        let even = textureLoad(weight, vec2<u32>(col4, q * 2u), 0);
        let odd = textureLoad(weight, vec2<u32>(col4, q * 2u + 1u), 0);
        return mat4x4<f32>(halves(even.xy), halves(even.zw), halves(odd.xy), halves(odd.zw));
    }
    let row = q * 4u;
    return mat4x4<f32>(
        bitcast<vec4<f32>>(textureLoad(weight, vec2<u32>(col4, row), 0)),
        bitcast<vec4<f32>>(textureLoad(weight, vec2<u32>(col4, row + 1u), 0)),
        bitcast<vec4<f32>>(textureLoad(weight, vec2<u32>(col4, row + 2u), 0)),
        bitcast<vec4<f32>>(textureLoad(weight, vec2<u32>(col4, row + 3u), 0)),
    );
}

// Four f16 values, two to a word, widened: core WGSL, no `shader-f16` needed.
fn halves(words: vec2<u32>) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(words.x), unpack2x16float(words.y));
}

// What turns an invocation's sums into outputs: its first column block, scales and biases.
struct Ends {
    first: u32,
    scale_a: vec4<f32>,
    scale_b: vec4<f32>,
    bias_a: vec4<f32>,
    bias_b: vec4<f32>,
}

// For the column blocks `first` and `first + 1`, read at their clamped indices a and b.
fn ends_of(first: u32, col_a: u32, col_b: u32) -> Ends {
    var scale_a = vec4<f32>(1.0);
    var scale_b = vec4<f32>(1.0);
    if (QUANTIZED) {
        scale_a = scale[col_a] * INT8_UNIT;
        scale_b = scale[col_b] * INT8_UNIT;
    }
    return Ends(first, scale_a, scale_b, bias[col_a], bias[col_b]);
}

// Row `row`, column blocks `first` and `first + 1`, where they lie inside the output.
fn store_row(row: u32, e: Ends, a: vec4<f32>, b: vec4<f32>) {
    let n4 = params.n4;
    if (row >= params.m) {
        return;
    }
    let at = row * n4 + e.first;
    if (e.first < n4) {
        store(at, a * e.scale_a + e.bias_a);
    }
    if (e.first + 1u < n4) {
        store(at + 1u, b * e.scale_b + e.bias_b);
    }
}

fn store(at: u32, y: vec4<f32>) {
    if (EPILOGUE == 1u) {
        output[at] = gelu4(y);
    } else if (EPILOGUE == 2u) {
        output[at] += y;
    } else {
        output[at] = y;
    }
}
