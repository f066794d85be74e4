// The portable linear kernel where K and N are multiples of 4 (bindings, weights and epilogue
// in linear_vec4_common.wgsl). Each invocation computes 8 rows x 8 columns from vec4 loads:
// per step of 4 along K, 8 vec4 of weights (int8: 2 words) and one vec4 of x per row, 256
// multiply-adds against 16 loads, where linear.wgsl (any K and N) makes 128 against 9 scalar
// and vector loads. On CPU adapters the count of loads sets the cost: 1.45x faster on llvmpipe,
// 1.26x on SwiftShader.

const ROWS: u32 = 8u;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let m = params.m;
    let n4 = params.n4;
    let k4 = params.k / 4u;
    let first = id.x * 2u;
    // Past N or M, invocations compute on clamped indices and store nothing.
    let col_a = min(first, n4 - 1u);
    let col_b = min(first + 1u, n4 - 1u);
    let row0 = id.y * ROWS;
    let x0 = min(row0, m - 1u) * k4;
    let x1 = min(row0 + 1u, m - 1u) * k4;
    let x2 = min(row0 + 2u, m - 1u) * k4;
    let x3 = min(row0 + 3u, m - 1u) * k4;
    let x4 = min(row0 + 4u, m - 1u) * k4;
    let x5 = min(row0 + 5u, m - 1u) * k4;
    let x6 = min(row0 + 6u, m - 1u) * k4;
    let x7 = min(row0 + 7u, m - 1u) * k4;
    // acc[2r] and acc[2r + 1]: row r, column blocks a and b; constant indices only, so that
    // the compiler keeps them in registers.
    var acc: array<vec4<f32>, 16>;
    for (var q = 0u; q < k4; q++) {
        let wa = weights(q, col_a);
        let wb = weights(q, col_b);
        accumulate_row(&acc, 0u, input[x0 + q], wa, wb);
        accumulate_row(&acc, 2u, input[x1 + q], wa, wb);
        accumulate_row(&acc, 4u, input[x2 + q], wa, wb);
        accumulate_row(&acc, 6u, input[x3 + q], wa, wb);
        accumulate_row(&acc, 8u, input[x4 + q], wa, wb);
        accumulate_row(&acc, 10u, input[x5 + q], wa, wb);
        accumulate_row(&acc, 12u, input[x6 + q], wa, wb);
        accumulate_row(&acc, 14u, input[x7 + q], wa, wb);
    }
    let ends = ends_of(first, col_a, col_b);
    store_row(row0, ends, acc[0], acc[1]);
    store_row(row0 + 1u, ends, acc[2], acc[3]);
    store_row(row0 + 2u, ends, acc[4], acc[5]);
    store_row(row0 + 3u, ends, acc[6], acc[7]);
    store_row(row0 + 4u, ends, acc[8], acc[9]);
    store_row(row0 + 5u, ends, acc[10], acc[11]);
    store_row(row0 + 6u, ends, acc[12], acc[13]);
    store_row(row0 + 7u, ends, acc[14], acc[15]);
}

fn accumulate_row(acc: ptr<function, array<vec4<f32>, 16>>, at: u32, x: vec4<f32>,
                  wa: mat4x4<f32>, wb: mat4x4<f32>) {
    (*acc)[at] += wa * x;
    (*acc)[at + 1u] += wb * x;
}
