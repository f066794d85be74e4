// The linear kernel of linear.wgsl (same bindings, weights, epilogues) for adapters whose
// subgroups are exactly 8 invocations wide, as on llvmpipe, where one subgroup is one SIMD
// register of 8 lanes.
//
// There, each load is a loop over the 8 lanes, so the cost of a kernel is its count of loads
// per lane. A workgroup is one subgroup; lane l owns the 8 output columns 8l..8l+7 of the
// workgroup's 64 and all its 16 rows. Per step of 4 along K a lane loads its own weights
// (2 vec4 per K row, or 2 int8 words for all 4 rows) and ONE vec4 of x, for row l or 8 + l;
// the 16 rows' x then reach every lane by subgroupBroadcast, a register shuffle. 512
// multiply-adds per lane per step against 10 loads (f32) or 4 (int8), where linear.wgsl makes
// 128 against 9.
//
// Needs K and N to be multiples of 4: x and the output are read and written as vec4.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    n4: u32, // N / 4
}

override EPILOGUE: u32 = 0u;
override QUANTIZED: bool = false;

const ROWS: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;  // [M, K / 4]
@group(0) @binding(2) var<storage, read> weight: array<vec4<u32>>; // as in linear.wgsl
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;   // [N4]
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>; // [M, N / 4]
@group(0) @binding(5) var<storage, read> scale: array<vec4<f32>>;  // int8: [N4]

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

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let m = params.m;
    let n4 = params.n4;
    let k4 = params.k / 4u;
    let first = (group.x * 8u + lane) * 2u;
    // Past N or M, lanes compute on clamped indices and store nothing: every lane must stay
    // active for the broadcasts.
    let col_a = min(first, n4 - 1u);
    let col_b = min(first + 1u, n4 - 1u);
    let row0 = group.y * ROWS;
    let x_low = min(row0 + lane, m - 1u) * k4;
    let x_high = min(row0 + 8u + lane, m - 1u) * k4;
    // acc[2r] and acc[2r + 1]: row r, column blocks a and b. Indexed by constants only, so
    // the compiler keeps them in registers.
    var acc: array<vec4<f32>, 32>;
    for (var q = 0u; q < k4; q++) {
        let wa = weights(q, col_a);
        let wb = weights(q, col_b);
        let low = input[x_low + q];
        let high = input[x_high + q];
        var x = subgroupBroadcast(low, 0u);
        acc[0] += wa * x;
        acc[1] += wb * x;
        x = subgroupBroadcast(low, 1u);
        acc[2] += wa * x;
        acc[3] += wb * x;
        x = subgroupBroadcast(low, 2u);
        acc[4] += wa * x;
        acc[5] += wb * x;
        x = subgroupBroadcast(low, 3u);
        acc[6] += wa * x;
        acc[7] += wb * x;
        x = subgroupBroadcast(low, 4u);
        acc[8] += wa * x;
        acc[9] += wb * x;
        x = subgroupBroadcast(low, 5u);
        acc[10] += wa * x;
        acc[11] += wb * x;
        x = subgroupBroadcast(low, 6u);
        acc[12] += wa * x;
        acc[13] += wb * x;
        x = subgroupBroadcast(low, 7u);
        acc[14] += wa * x;
        acc[15] += wb * x;
        x = subgroupBroadcast(high, 0u);
        acc[16] += wa * x;
        acc[17] += wb * x;
        x = subgroupBroadcast(high, 1u);
        acc[18] += wa * x;
        acc[19] += wb * x;
        x = subgroupBroadcast(high, 2u);
        acc[20] += wa * x;
        acc[21] += wb * x;
        x = subgroupBroadcast(high, 3u);
        acc[22] += wa * x;
        acc[23] += wb * x;
        x = subgroupBroadcast(high, 4u);
        acc[24] += wa * x;
        acc[25] += wb * x;
        x = subgroupBroadcast(high, 5u);
        acc[26] += wa * x;
        acc[27] += wb * x;
        x = subgroupBroadcast(high, 6u);
        acc[28] += wa * x;
        acc[29] += wb * x;
        x = subgroupBroadcast(high, 7u);
        acc[30] += wa * x;
        acc[31] += wb * x;
    }
    var scale_a = vec4<f32>(1.0);
    var scale_b = vec4<f32>(1.0);
    if (QUANTIZED) {
        scale_a = scale[col_a];
        scale_b = scale[col_b];
    }
    let bias_a = bias[col_a];
    let bias_b = bias[col_b];
    // One call per row, not a loop: a loop that the compiler declines to unroll (GELU makes
    // it long) would index acc dynamically and move all of it out of registers.
    store_row(row0 + 0u, first, acc[0] * scale_a + bias_a, acc[1] * scale_b + bias_b);
    store_row(row0 + 1u, first, acc[2] * scale_a + bias_a, acc[3] * scale_b + bias_b);
    store_row(row0 + 2u, first, acc[4] * scale_a + bias_a, acc[5] * scale_b + bias_b);
    store_row(row0 + 3u, first, acc[6] * scale_a + bias_a, acc[7] * scale_b + bias_b);
    store_row(row0 + 4u, first, acc[8] * scale_a + bias_a, acc[9] * scale_b + bias_b);
    store_row(row0 + 5u, first, acc[10] * scale_a + bias_a, acc[11] * scale_b + bias_b);
    store_row(row0 + 6u, first, acc[12] * scale_a + bias_a, acc[13] * scale_b + bias_b);
    store_row(row0 + 7u, first, acc[14] * scale_a + bias_a, acc[15] * scale_b + bias_b);
    store_row(row0 + 8u, first, acc[16] * scale_a + bias_a, acc[17] * scale_b + bias_b);
    store_row(row0 + 9u, first, acc[18] * scale_a + bias_a, acc[19] * scale_b + bias_b);
    store_row(row0 + 10u, first, acc[20] * scale_a + bias_a, acc[21] * scale_b + bias_b);
    store_row(row0 + 11u, first, acc[22] * scale_a + bias_a, acc[23] * scale_b + bias_b);
    store_row(row0 + 12u, first, acc[24] * scale_a + bias_a, acc[25] * scale_b + bias_b);
    store_row(row0 + 13u, first, acc[26] * scale_a + bias_a, acc[27] * scale_b + bias_b);
    store_row(row0 + 14u, first, acc[28] * scale_a + bias_a, acc[29] * scale_b + bias_b);
    store_row(row0 + 15u, first, acc[30] * scale_a + bias_a, acc[31] * scale_b + bias_b);
}

// Row `row`, column blocks `first` and `first + 1`, where they lie inside the output.
fn store_row(row: u32, first: u32, a: vec4<f32>, b: vec4<f32>) {
    let n4 = params.n4;
    if (row >= params.m) {
        return;
    }
    let at = row * n4 + first;
    if (first < n4) {
        store(at, a);
    }
    if (first + 1u < n4) {
        store(at + 1u, b);
    }
}

fn store(at: u32, y: vec4<f32>) {
    if (EPILOGUE == 1u) {
        output[at] = vec4<f32>(gelu(y.x), gelu(y.y), gelu(y.z), gelu(y.w));
    } else if (EPILOGUE == 2u) {
        output[at] += y;
    } else {
        output[at] = y;
    }
}
