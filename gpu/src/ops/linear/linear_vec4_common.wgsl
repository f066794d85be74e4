// What the linear kernels that read x and write y as vec4 share (K and N multiples of 4):
// bindings as in linear.wgsl but for the weights, which come from a texture, the weights of 4 K
// rows as a matrix, the LayerNorm they may apply to x, and the epilogue. The launcher prepends
// it to linear_tiled.wgsl and linear_subgroup.wgsl.
//
// NORMALIZE: x is a LayerNorm's input, the norm folded in (mod.rs, `NormFold`), so that the
// norm needs no dispatch of its own. With LN(x) = (x - mean) r gamma + beta and W the weights,
//   W LN(x) + b = r (W' (x - s) - (mean - s) S) + b',   W' = W gamma, S = W' 1, b' = b + W beta,
// where s is the row's first value: the sums of x - s give the row's mean and variance in the
// same loop (x - s keeps the variance's sums small where the mean is large), and no extra load
// of x is made. gamma is in W' for f32 weights and multiplies x - s as it is loaded for int8
// and halves, which cannot hold it exactly. The first column tile writes each row's mean and r
// for the depthwise branch, which reads the same norm's output.

override EPILOGUE: u32 = 0u;
override QUANTIZED: bool = false;
override HALVES: bool = false; // f16 weights
override NORMALIZE: bool = false;

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
@group(0) @binding(6) var<storage, read> norm: array<vec4<f32>>;   // NORMALIZE: gamma [K / 4], S [N4]
@group(0) @binding(7) var<storage, read_write> stats: array<vec2<f32>>; // NORMALIZE: [M] (mean, r)

// gamma for K rows 4q..4q+3 where it multiplies x as loaded (int8 and halves), else 1.
fn gamma_of(q: u32) -> vec4<f32> {
    if (NORMALIZE && (QUANTIZED || HALVES)) {
        return norm[q];
    }
    return vec4<f32>(1.0);
}

// The shift s of the row whose x starts at `x`: its first value.
fn shift_of(x: u32) -> f32 {
    if (NORMALIZE) {
        return input[x].x;
    }
    return 0.0;
}

// x as the product takes it: with NORMALIZE, (x - s) gamma, its deviation from s added to the
// row's sums. (A step past K, where K is split, passes x and s times 0.)
fn deviation(x: vec4<f32>, shift: f32, gamma: vec4<f32>,
             sum: ptr<function, vec4<f32>>, squares: ptr<function, vec4<f32>>) -> vec4<f32> {
    if (!NORMALIZE) {
        return x;
    }
    let d = x - shift;
    *sum += d;
    *squares += d * d;
    if (QUANTIZED || HALVES) {
        return d * gamma;
    }
    return d;
}

// The row's (mean - s, r) from the sums of x - s; (0, 1) without NORMALIZE.
fn norm_of_row(sum: f32, squares: f32) -> vec2<f32> {
    if (!NORMALIZE) {
        return vec2<f32>(0.0, 1.0);
    }
    let k = f32(params.k);
    let mean = sum / k;
    let variance = max(squares / k - mean * mean, 0.0);
    return vec2<f32>(mean, inverseSqrt(variance + params.eps));
}

fn total(v: vec4<f32>) -> f32 {
    return v.x + v.y + v.z + v.w;
}

// The row's mean and r, for the depthwise branch, from the first column tile.
fn store_stats(column_tile: u32, row: u32, shift: f32, row_norm: vec2<f32>) {
    if (NORMALIZE && column_tile == 0u && row < params.m) {
        stats[row] = vec2<f32>(shift + row_norm.x, row_norm.y);
    }
}

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

// What turns an invocation's sums into outputs: its first column block, scales, biases and
// (NORMALIZE) the sums S of its columns' weights.
struct Ends {
    first: u32,
    scale_a: vec4<f32>,
    scale_b: vec4<f32>,
    bias_a: vec4<f32>,
    bias_b: vec4<f32>,
    sums_a: vec4<f32>,
    sums_b: vec4<f32>,
}

// For the column blocks `first` and `first + 1`, read at their clamped indices a and b.
fn ends_of(first: u32, col_a: u32, col_b: u32) -> Ends {
    var scale_a = vec4<f32>(1.0);
    var scale_b = vec4<f32>(1.0);
    if (QUANTIZED) {
        scale_a = scale[col_a] * INT8_UNIT;
        scale_b = scale[col_b] * INT8_UNIT;
    }
    var sums_a = vec4<f32>(0.0);
    var sums_b = vec4<f32>(0.0);
    if (NORMALIZE) {
        let k4 = params.k / 4u;
        sums_a = norm[k4 + col_a];
        sums_b = norm[k4 + col_b];
    }
    return Ends(first, scale_a, scale_b, bias[col_a], bias[col_b], sums_a, sums_b);
}

// Row `row`, column blocks `first` and `first + 1`, where they lie inside the output;
// `row_norm`: the row's (mean - s, r).
fn store_row(row: u32, e: Ends, a: vec4<f32>, b: vec4<f32>, row_norm: vec2<f32>) {
    let n4 = params.n4;
    if (row >= params.m) {
        return;
    }
    let at = row * n4 + e.first;
    if (e.first < n4) {
        store(at, normalised(a * e.scale_a, e.sums_a, row_norm) + e.bias_a);
    }
    if (e.first + 1u < n4) {
        store(at + 1u, normalised(b * e.scale_b, e.sums_b, row_norm) + e.bias_b);
    }
}

// W' (x - s) to r (W' (x - s) - (mean - s) S).
fn normalised(product: vec4<f32>, sums: vec4<f32>, row_norm: vec2<f32>) -> vec4<f32> {
    if (NORMALIZE) {
        return (product - row_norm.x * sums) * row_norm.y;
    }
    return product;
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
