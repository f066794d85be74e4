// The portable linear kernel where K and N are multiples of 4 (bindings, weights and epilogue
// in linear_vec4_common.wgsl). Each invocation computes ROWS rows x BLOCKS blocks of 4 columns
// from vec4 loads: per step of 4 along K, 4 weight texels per block (int8: one) and one vec4 of
// x per row, ROWS x BLOCKS x 16 multiply-adds. tile.rs picks the tile for the adapter and
// spells out the marked lines per block, row or both, so that every accumulator has
// a constant index and may stay in a register: 8 x 2 blocks where registers are few (GPUs);
// 16 x 4 blocks on SwiftShader, where each load costs a loop over the lanes and fewer loads
// per multiply-add pay for the spilled accumulators (docs/performance.md).

const ROWS: u32 = $ROWSu;
const BLOCKS: u32 = $BLOCKSu;

@compute @workgroup_size($WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let m = params.m;
    let n4 = params.n4;
    let k4 = params.k / 4u;
    let first = id.x * BLOCKS;
    let row0 = id.y * ROWS;
    // Past N or M, invocations compute on clamped indices and store nothing.
    $EACH_BLOCK let col$b = min(first + $bu, n4 - 1u);
    $EACH_ROW let x$r = min(row0 + $ru, m - 1u) * k4;
    var acc: array<vec4<f32>, $ACCUMULATORS>;
    for (var q = 0u; q < k4; q++) {
        $EACH_BLOCK let w$b = weights(q, col$b);
        $EACH_ROW let v$r = input[x$r + q];
        $AND_EACH_BLOCK acc[$a] += w$b * v$r;
    }
    $EACH_PAIR let ends$b = ends_of(first + $bu, col$b, col$c);
    $EACH_ROW_PAIR store_row(row0 + $ru, ends$b, acc[$a], acc[$a + 1u]);
}
