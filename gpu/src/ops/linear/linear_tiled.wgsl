// The portable linear kernel where K and N are multiples of 4 (bindings, weights and epilogue
// in linear_vec4_common.wgsl). Each invocation computes ROWS rows x BLOCKS blocks of 4 columns
// from vec4 loads: per step of 4 along K, 4 weight texels per block (int8: one) and one vec4 of
// x per row, ROWS x BLOCKS x 16 multiply-adds. tile.rs picks the tile for the adapter and
// spells out the marked lines per block, row or both, so that every accumulator has
// a constant index and may stay in a register: 8 x 2 blocks on llvmpipe; 16 x 4 blocks on
// SwiftShader, where each load costs a loop over the lanes and fewer loads per multiply-add
// pay for the spilled accumulators; 2 x 2 blocks on GPUs, whose threads want little work each
// (docs/performance.md). On GPUs SPLIT invocations also share a tile's K steps, taking every
// SPLIT-th, and add their sums in workgroup memory: a thread's chain of dependent loads is
// then SPLIT times shorter; with NORMALIZE they meet their rows' sums there first. Lines marked
// `$SPLIT` are left out where SPLIT is 1.

const ROWS: u32 = $ROWSu;
const BLOCKS: u32 = $BLOCKSu;
$SPLIT const SPLIT: u32 = $SPLITu;
$SPLIT const ACCUMULATORS: u32 = $ACCUMULATORSu;
$SPLIT const TILES: u32 = $TILESu; // invocations of a workgroup with a tile of their own
// Each tile's sums from the invocations that took its K steps 1.., SPLIT - 1.
$SPLIT var<workgroup> partials: array<vec4<f32>, $PARTIALS>;

@compute @workgroup_size($WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>,
        @builtin(local_invocation_index) local: u32) {
    let m = params.m;
    let n4 = params.n4;
    let k4 = params.k / 4u;
    let first = id.x * BLOCKS;
    let row0 = id.y * ROWS;
    // Past N or M, invocations compute on clamped indices and store nothing.
    $EACH_BLOCK let col$b = min(first + $bu, n4 - 1u);
    $EACH_ROW let x$r = min(row0 + $ru, m - 1u) * k4;
    // NORMALIZE: the sums of the rows (linear_vec4_common.wgsl).
    $EACH_ROW let shift$r = shift_of(x$r);
    $EACH_ROW var sum$r = vec4<f32>(0.0);
    $EACH_ROW var squares$r = vec4<f32>(0.0);
    var acc: array<vec4<f32>, $ACCUMULATORS>;
    $NO_SPLIT let steps = k4;
    // The same number of steps for each invocation of a workgroup, so that all reach the
    // barrier below; a step past K reads the last one and adds nothing.
    $SPLIT let part = id.z; // the workgroup's z extent is SPLIT, the grid's 1
    $SPLIT let steps = (k4 + SPLIT - 1u) / SPLIT;
    for (var step = 0u; step < steps; step++) {
        $NO_SPLIT let q = step;
        $SPLIT let q = min(step * SPLIT + part, k4 - 1u);
        $SPLIT let live = select(0.0, 1.0, step * SPLIT + part < k4);
        $EACH_BLOCK let w$b = weights(q, col$b);
        let gamma = gamma_of(q);
        $EACH_ROW let v$r = deviation(input[x$r + q]$LIVE, shift$r$LIVE, gamma, &sum$r, &squares$r);
        $AND_EACH_BLOCK acc[$a] += w$b * v$r;
    }
    $SPLIT let tile = local % TILES;
    // With NORMALIZE, the rows' sums are met first, in the same workgroup memory.
    $SPLIT if (NORMALIZE) {
    $SPLIT     if (part > 0u) {
    $SPLIT         let slot = ((part - 1u) * TILES + tile) * ROWS;
    $SPLIT         $EACH_ROW partials[slot + $ru] = vec4<f32>(total(sum$r), total(squares$r), 0.0, 0.0);
    $SPLIT     }
    $SPLIT     workgroupBarrier();
    $SPLIT     if (part == 0u) {
    $SPLIT         for (var p = 0u; p + 1u < SPLIT; p++) {
    $SPLIT             let slot = (p * TILES + tile) * ROWS;
    $SPLIT             $EACH_ROW sum$r.x += partials[slot + $ru].x; squares$r.x += partials[slot + $ru].y;
    $SPLIT         }
    $SPLIT     }
    $SPLIT     workgroupBarrier();
    $SPLIT }
    $SPLIT if (part > 0u) {
    $SPLIT     let slot = ((part - 1u) * TILES + tile) * ACCUMULATORS;
    $SPLIT     $EACH_ACC partials[slot + $au] = acc[$a];
    $SPLIT }
    $SPLIT workgroupBarrier();
    $SPLIT if (part > 0u) {
    $SPLIT     return;
    $SPLIT }
    $SPLIT for (var p = 0u; p + 1u < SPLIT; p++) {
    $SPLIT     let slot = (p * TILES + tile) * ACCUMULATORS;
    $SPLIT     $EACH_ACC acc[$a] += partials[slot + $au];
    $SPLIT }
    $EACH_ROW let norm$r = norm_of_row(total(sum$r), total(squares$r));
    $EACH_ROW store_stats(id.x, row0 + $ru, shift$r, norm$r);
    $EACH_PAIR let ends$b = ends_of(first + $bu, col$b, col$c);
    $EACH_ROW_PAIR store_row(row0 + $ru, ends$b, acc[$a], acc[$a + 1u], norm$r);
}
