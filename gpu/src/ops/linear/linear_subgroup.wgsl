// The linear kernel for adapters with subgroups of LANES invocations, a workgroup being one
// subgroup (bindings, weights and epilogue in linear_vec4_common.wgsl; tile.rs spells out the
// marked lines as for linear_tiled.wgsl). On llvmpipe (8 lanes) and SwiftShader (4) a
// subgroup is one SIMD register and each load is a loop over its lanes, so the cost of a
// kernel is its count of loads per lane.
//
// Lane l owns BLOCKS blocks of 4 output columns and all ROWS rows of the workgroup's tile (ROWS
// fitted to M: Tile::fitted_to; where it is not a multiple of LANES, the last load's lanes past
// it load rows of the next tile that nothing here uses).
// Per step of 4 along K it loads its own weights (4 texels a block; int8: one) and one vec4
// of x for each of rows l, LANES + l, 2 LANES + l, ...; every row's x then reaches every lane
// by subgroupBroadcast, a register shuffle (with NORMALIZE, x - s, its sums kept by the lane
// that loaded it; int8 and halves load gamma too, one load more a step). On llvmpipe, 8 lanes
// x 32 rows x 2 blocks: 1,024 multiply-adds per lane per step against 12 loads (int8: 6),
// where linear_tiled.wgsl's 8 x 8 tile makes 256 against 16. On SwiftShader, 4 lanes x 8 rows
// x 2 blocks: 256 against 10 (int8: 4), where the 16 x 16 tile makes 1,024 against 32 but
// compiles to 4 times the code (tile.rs has the sweeps).

const ROWS: u32 = $ROWSu;
const BLOCKS: u32 = $BLOCKSu;
const LANES: u32 = $LANESu;

@compute @workgroup_size($LANES)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let m = params.m;
    let n4 = params.n4;
    let k4 = params.k / 4u;
    let first = (group.x * LANES + lane) * BLOCKS;
    let row0 = group.y * ROWS;
    // Past N or M, lanes compute on clamped indices and store nothing: every lane must stay
    // active for the broadcasts.
    $EACH_BLOCK let col$b = min(first + $bu, n4 - 1u);
    $EACH_LOAD let x$g = min(row0 + $gu * LANES + lane, m - 1u) * k4;
    // NORMALIZE: the sums of the lane's rows (linear_vec4_common.wgsl).
    $EACH_LOAD let shift$g = shift_of(x$g);
    $EACH_LOAD var sum$g = vec4<f32>(0.0);
    $EACH_LOAD var squares$g = vec4<f32>(0.0);
    var acc: array<vec4<f32>, $ACCUMULATORS>;
    for (var q = 0u; q < k4; q++) {
        $EACH_BLOCK let w$b = weights(q, col$b);
        let gamma = gamma_of(q);
        $EACH_LOAD let loaded$g = deviation(input[x$g + q], shift$g, gamma, &sum$g, &squares$g);
        $EACH_ROW let v$r = subgroupBroadcast(loaded$g, $lu);
        $AND_EACH_BLOCK acc[$a] += w$b * v$r;
    }
    $EACH_LOAD let row_norm$g = norm_of_row(total(sum$g), total(squares$g));
    // A last load past the tile's rows loaded the next tile's: that tile writes their statistics.
    $EACH_LOAD if ($gu * LANES + lane < ROWS) { store_stats(group.x, row0 + $gu * LANES + lane, shift$g, row_norm$g); }
    $EACH_PAIR let ends$b = ends_of(first + $bu, col$b, col$c);
    $EACH_ROW let norm$r = subgroupBroadcast(row_norm$g, $lu);
    $EACH_ROW_PAIR store_row(row0 + $ru, ends$b, acc[$a], acc[$a + 1u], norm$r);
}
