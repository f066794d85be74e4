// The 3x3 neighbourhoods of a channels-last map as rows: output row p (an output pixel) holds,
// for each tap (ky, kx) and input channel c, the input at (oy * stride + ky - pad,
// ox * stride + kx - pad, c), zero outside the map. The convolution is then one linear layer
// over these rows, run by the linear kernel. A row is 9 Cin values, then zeros up to a multiple
// of 4 (the stem's 27 → 28), so that the linear kernel reads it in vec4s.
//
// The launcher prepends `Chunk` (f32, or vec4<f32> when the input channels come in fours) and
// CHUNK, its width: one invocation copies one chunk, since on CPU adapters the count of loads,
// not their width, sets the cost. Taps outside the map load a pixel inside and select zero, so
// that no lane branches away from the others.

@group(0) @binding(1) var<storage, read> input: array<Chunk>;         // [H, W, Cin / CHUNK]
@group(0) @binding(2) var<storage, read_write> columns: array<Chunk>; // [Ho * Wo, row_chunks]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let index = (wg.y * grid.x + wg.x) * 64u + local;
    if (index >= params.total) {
        return;
    }
    let chunks = params.in_channels / CHUNK;
    let within = index % params.row_chunks;
    let c = within % chunks;
    let tap = within / chunks; // 9 and past: the row's padding
    let pixel = index / params.row_chunks;
    let ox = pixel % params.out_width;
    let oy = pixel / params.out_width;
    let iy = i32(oy * params.stride + tap / 3u) - i32(params.pad);
    let ix = i32(ox * params.stride + tap % 3u) - i32(params.pad);
    let inside = tap < 9u && iy >= 0 && iy < i32(params.in_height) && ix >= 0
        && ix < i32(params.in_width);
    let at = select(0u, (u32(iy) * params.in_width + u32(ix)) * chunks + c, inside);
    columns[index] = select(Chunk(0.0), input[at], inside);
}
