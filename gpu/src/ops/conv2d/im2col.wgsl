// The 3x3 neighbourhoods of a channels-last map as rows: output row p (an output pixel) holds,
// for each tap (ky, kx) and input channel c, the input at (oy * stride + ky - pad,
// ox * stride + kx - pad, c), zero outside the map. The convolution is then one linear layer
// over these rows, run by the linear kernel. A row is 9 Cin values, then zeros up to a multiple
// of 4 (the stem's 27 → 28), so that the linear kernel reads it in vec4s.
//
// The launcher prepends `Chunk` (f32, or vec4<f32> when the input channels come in fours) and
// CHUNK, its width. One invocation copies SPAN chunks of one tap of one output pixel. On CPU
// adapters a span is the tap's every chunk: there the count of loads, not their width, sets the
// cost, and the index arithmetic, with its divisions by runtime values (a scalar loop over the
// lanes on llvmpipe), is paid once a tap instead of once a chunk. GPUs take one chunk an
// invocation, neighbours writing neighbours. Taps outside the map load a pixel inside and
// select zero, so that no lane branches away from the others.

@group(0) @binding(1) var<storage, read> input: array<Chunk>;         // [H, W, Cin / CHUNK]
@group(0) @binding(2) var<storage, read_write> columns: array<Chunk>; // [Ho * Wo, row_chunks]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let index = (wg.y * grid.x + wg.x) * 64u + local; // (pixel * 9 + tap) * spans + span
    if (index >= params.total) {
        return;
    }
    let chunks = params.in_channels / CHUNK;
    let spans = chunks / params.span;
    let first = (index % spans) * params.span;
    let tap = (index / spans) % 9u;
    let pixel = index / spans / 9u;
    let ox = pixel % params.out_width;
    let oy = pixel / params.out_width;
    let iy = i32(oy * params.stride + tap / 3u) - i32(params.pad);
    let ix = i32(ox * params.stride + tap % 3u) - i32(params.pad);
    let inside = iy >= 0 && iy < i32(params.in_height) && ix >= 0 && ix < i32(params.in_width);
    let source = select(0u, (u32(iy) * params.in_width + u32(ix)) * chunks, inside) + first;
    let row = pixel * params.row_chunks;
    let into = row + tap * chunks + first;
    for (var c = 0u; c < params.span; c++) {
        columns[into + c] = select(Chunk(0.0), input[source + c], inside);
    }
    // The zeros after the 9 taps (the stem's 27 → 28), from the last span of the last tap.
    if (tap == 8u && first + params.span == chunks) {
        for (var c = 9u * chunks; c < params.row_chunks; c++) {
            columns[row + c] = Chunk(0.0);
        }
    }
}
