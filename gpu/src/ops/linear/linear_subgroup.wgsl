// The linear kernel for adapters whose subgroups are exactly 8 invocations wide, as on
// llvmpipe, where one subgroup is one SIMD register of 8 lanes (bindings, weights and epilogue
// in linear_vec4_common.wgsl).
//
// There, each load is a loop over the 8 lanes, so the cost of a kernel is its count of loads
// per lane. A workgroup is one subgroup; lane l owns the 8 output columns 8l..8l+7 of the
// workgroup's 64 and all its 32 rows. Per step of 4 along K a lane loads its own weights
// (2 vec4 per K row, or 2 int8 words for all 4 rows) and 4 vec4 of x, for rows l, 8 + l,
// 16 + l and 24 + l; the 32 rows' x then reach every lane by subgroupBroadcast, a register
// shuffle. 1024 multiply-adds per lane per step against 12 loads (f32) or 6 (int8), where
// linear_tiled.wgsl makes 256 against 16. (16 rows ran 12 % slower on llvmpipe, 40 and 64 no
// faster.)

const ROWS: u32 = 32u;

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
    let x0 = min(row0 + lane, m - 1u) * k4;
    let x1 = min(row0 + 8u + lane, m - 1u) * k4;
    let x2 = min(row0 + 16u + lane, m - 1u) * k4;
    let x3 = min(row0 + 24u + lane, m - 1u) * k4;
    // acc[2r] and acc[2r + 1]: row r, column blocks a and b.
    var acc: array<vec4<f32>, 64>;
    for (var q = 0u; q < k4; q++) {
        let wa = weights(q, col_a);
        let wb = weights(q, col_b);
        accumulate_8_rows(&acc, 0u, input[x0 + q], wa, wb);
        accumulate_8_rows(&acc, 16u, input[x1 + q], wa, wb);
        accumulate_8_rows(&acc, 32u, input[x2 + q], wa, wb);
        accumulate_8_rows(&acc, 48u, input[x3 + q], wa, wb);
    }
    let ends = ends_of(first, col_a, col_b);
    // Not a loop over rows: one the compiler declined to unroll (GELU makes it long) would
    // index acc dynamically and move all of it out of registers.
    store_8_rows(&acc, 0u, row0, ends);
    store_8_rows(&acc, 16u, row0 + 8u, ends);
    store_8_rows(&acc, 32u, row0 + 16u, ends);
    store_8_rows(&acc, 48u, row0 + 24u, ends);
}

// Rows row .. row + 7 from acc[at ..], constant `at` only (see accumulate_8_rows).
fn store_8_rows(acc: ptr<function, array<vec4<f32>, 64>>, at: u32, row: u32, e: Ends) {
    store_row(row, e, (*acc)[at], (*acc)[at + 1u]);
    store_row(row + 1u, e, (*acc)[at + 2u], (*acc)[at + 3u]);
    store_row(row + 2u, e, (*acc)[at + 4u], (*acc)[at + 5u]);
    store_row(row + 3u, e, (*acc)[at + 6u], (*acc)[at + 7u]);
    store_row(row + 4u, e, (*acc)[at + 8u], (*acc)[at + 9u]);
    store_row(row + 5u, e, (*acc)[at + 10u], (*acc)[at + 11u]);
    store_row(row + 6u, e, (*acc)[at + 12u], (*acc)[at + 13u]);
    store_row(row + 7u, e, (*acc)[at + 14u], (*acc)[at + 15u]);
}

// Rows at / 2 .. at / 2 + 7 from x, lane i holding row at / 2 + i. Called with constant `at`
// only, so that every index into acc is a constant once inlined and acc stays in registers.
fn accumulate_8_rows(acc: ptr<function, array<vec4<f32>, 64>>, at: u32, x: vec4<f32>,
                     wa: mat4x4<f32>, wb: mat4x4<f32>) {
    var row = subgroupBroadcast(x, 0u);
    (*acc)[at] += wa * row;
    (*acc)[at + 1u] += wb * row;
    row = subgroupBroadcast(x, 1u);
    (*acc)[at + 2u] += wa * row;
    (*acc)[at + 3u] += wb * row;
    row = subgroupBroadcast(x, 2u);
    (*acc)[at + 4u] += wa * row;
    (*acc)[at + 5u] += wb * row;
    row = subgroupBroadcast(x, 3u);
    (*acc)[at + 6u] += wa * row;
    (*acc)[at + 7u] += wb * row;
    row = subgroupBroadcast(x, 4u);
    (*acc)[at + 8u] += wa * row;
    (*acc)[at + 9u] += wb * row;
    row = subgroupBroadcast(x, 5u);
    (*acc)[at + 10u] += wa * row;
    (*acc)[at + 11u] += wb * row;
    row = subgroupBroadcast(x, 6u);
    (*acc)[at + 12u] += wa * row;
    (*acc)[at + 13u] += wb * row;
    row = subgroupBroadcast(x, 7u);
    (*acc)[at + 14u] += wa * row;
    (*acc)[at + 15u] += wb * row;
}
