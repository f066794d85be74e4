// y = x W^T + b for x [M, K], with the weight stored transposed and padded as [K, N4 * 4]; then,
// by EPILOGUE, nothing (0), GELU (1), or accumulation into the output, out += y (2: residuals).
//
// With QUANTIZED, W is int8, symmetric per output column: four k-rows of a 4-column block share
// one vec4<u32> (component r holds row 4q + r, byte j column 4c + j), widened in registers and
// scaled once per column after the K loop; f32 weights are never formed in memory.
//
// Register-blocked, no workgroup memory: each invocation computes ROWS rows x 4 columns, reading
// ROWS scalars of x (the same addresses across neighbouring invocations, which share rows) and
// one vec4 of W per step of K. On the CPU adapters we target, workgroup memory is only a copy
// of cached memory, and its barriers cost more than they save.

override EPILOGUE: u32 = 0u;
override QUANTIZED: bool = false;

const ROWS: u32 = 8u;

@group(0) @binding(1) var<storage, read> input: array<f32>;        // [M, K]
// f32: [K, N4] as bit patterns; int8: [ceil(K / 4), N4] packed as above.
@group(0) @binding(2) var<storage, read> weight: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;   // [N4]
@group(0) @binding(4) var<storage, read_write> output: array<f32>; // [M, N]
@group(0) @binding(5) var<storage, read> scale: array<vec4<f32>>;  // int8: [N4] column scales

@compute @workgroup_size(16, 4)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let col4 = id.x;
    let row0 = id.y * ROWS;
    let m = params.m;
    let k_len = params.k;
    let n4 = params.n4;
    if (col4 >= n4 || row0 >= m) {
        return;
    }
    // Rows past M repeat the last row: their results are computed but never stored.
    var base: array<u32, 8>;
    for (var i = 0u; i < ROWS; i++) {
        base[i] = min(row0 + i, m - 1u) * k_len;
    }
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);
    // The 8 row updates are written out in both branches so that the accumulators stay in
    // registers (an array indexed in a loop is spilled to memory by some compilers).
    if (QUANTIZED) {
        for (var q = 0u; q < (k_len + 3u) / 4u; q++) {
            let words = weight[q * n4 + col4];
            for (var r = 0u; r < 4u; r++) {
                // Rows past K are zero weights; any valid input index will do.
                let k = min(q * 4u + r, k_len - 1u);
                let w = unpack_i8x4(words[r]);
                acc0 += input[base[0] + k] * w;
                acc1 += input[base[1] + k] * w;
                acc2 += input[base[2] + k] * w;
                acc3 += input[base[3] + k] * w;
                acc4 += input[base[4] + k] * w;
                acc5 += input[base[5] + k] * w;
                acc6 += input[base[6] + k] * w;
                acc7 += input[base[7] + k] * w;
            }
        }
        let s = scale[col4] * INT8_UNIT;
        acc0 *= s;
        acc1 *= s;
        acc2 *= s;
        acc3 *= s;
        acc4 *= s;
        acc5 *= s;
        acc6 *= s;
        acc7 *= s;
    } else {
        for (var k = 0u; k < k_len; k++) {
            let w = bitcast<vec4<f32>>(weight[k * n4 + col4]);
            acc0 += input[base[0] + k] * w;
            acc1 += input[base[1] + k] * w;
            acc2 += input[base[2] + k] * w;
            acc3 += input[base[3] + k] * w;
            acc4 += input[base[4] + k] * w;
            acc5 += input[base[5] + k] * w;
            acc6 += input[base[6] + k] * w;
            acc7 += input[base[7] + k] * w;
        }
    }
    let b = bias[col4];
    let acc = array<vec4<f32>, 8>(acc0 + b, acc1 + b, acc2 + b, acc3 + b, acc4 + b, acc5 + b, acc6 + b, acc7 + b);
    for (var i = 0u; i < ROWS; i++) {
        let row = row0 + i;
        if (row >= m) {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = col4 * 4u + j;
            if (col >= params.n) {
                break;
            }
            var y = acc[i][j];
            let at = row * params.n + col;
            if (EPILOGUE == 1u) {
                y = gelu(y);
            } else if (EPILOGUE == 2u) {
                y += output[at];
            }
            output[at] = y;
        }
    }
}
