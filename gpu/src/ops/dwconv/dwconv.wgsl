// The DCNv3 offset branch's front: depthwise 3x3 convolution (padding 1, bias), then LayerNorm
// over channels, then GELU, fused. One invocation computes a run of 4 horizontally adjacent
// pixels: it writes their C channels, then normalises them in place (it only ever touches its
// own pixels). A run shares its 3 x 6 input cells and its taps' weights: per 4 channels of 4
// pixels, 18 input loads, 9 weight loads and 1 bias load, against 76 + 36 + 4 when each pixel
// was an invocation of its own (the loads, looped over the SIMD lanes on CPU adapters, are
// what the kernel's time goes to). Four channels per load (see layernorm.wgsl); taps outside
// the picture, and pixels past the right edge, read a clamped cell with a zero factor, so that
// no lane branches away from the others; only the stores are skipped. Where planes.wgsl is
// prepended, the run's pixels of DCNv3's input go to its planes on the way.

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let run = (wg.y * grid.x + wg.x) * WORKGROUP + local;
    let width = params.width;
    let height = params.height;
    let runs_per_row = (width + PIXELS - 1u) / PIXELS;
    if (run >= height * runs_per_row) {
        return;
    }
    let y = run / runs_per_row;
    let x0 = (run % runs_per_row) * PIXELS;
    let c4_len = params.channels / 4u;
    // The run's pixels, clamped to the row (past its end: the last pixel again, never stored).
    let row = y * width;
    let p0 = (row + x0) * c4_len;
    let p1 = (row + min(x0 + 1u, width - 1u)) * c4_len;
    let p2 = (row + min(x0 + 2u, width - 1u)) * c4_len;
    let p3 = (row + min(x0 + 3u, width - 1u)) * c4_len;
    let stored = vec4<bool>(true, x0 + 1u < width, x0 + 2u < width, x0 + 3u < width);

    // The three rows of cells, with (NORMALIZE_INPUT) their statistics, for all channels.
    let above = cells_of(y, 0u, x0);
    let level = cells_of(y, 1u, x0);
    let below = cells_of(y, 2u, x0);
    var sum = mat4x4<f32>();
    for (var c = 0u; c < c4_len; c++) {
        let b = conv_bias(c);
        var acc = mat4x4<f32>(b, b, b, b);
        acc += taps(above, 0u, c, c4_len);
        acc += taps(level, 1u, c, c4_len);
        acc += taps(below, 2u, c, c4_len);
        output[p0 + c] = acc[0];
        if (stored.y) { output[p1 + c] = acc[1]; }
        if (stored.z) { output[p2 + c] = acc[2]; }
        if (stored.w) { output[p3 + c] = acc[3]; }
        sum += acc;
        write_planes(p0 + c, x0, y, c);
        if (stored.y) { write_planes(p1 + c, x0 + 1u, y, c); }
        if (stored.z) { write_planes(p2 + c, x0 + 2u, y, c); }
        if (stored.w) { write_planes(p3 + c, x0 + 3u, y, c); }
    }
    // Pixels past the edge (of a row not a multiple of 4 wide) get statistics of their own
    // that nothing uses: they are never stored.
    let channels = f32(params.channels);
    let mean = means_of(sum, channels);
    var squares = vec4<f32>(0.0);
    for (var c = 0u; c < c4_len; c++) {
        squares += squared_deviations(
            mat4x4<f32>(output[p0 + c], output[p1 + c], output[p2 + c], output[p3 + c]), mean);
    }
    let inv_std = inverseSqrt(squares / channels + params.eps);
    for (var c = 0u; c < c4_len; c++) {
        let g = norm_weight(c);
        let b = norm_bias(c);
        output[p0 + c] = gelu4(normalised(output[p0 + c], mean.x, inv_std.x, g, b));
        if (stored.y) { output[p1 + c] = gelu4(normalised(output[p1 + c], mean.y, inv_std.y, g, b)); }
        if (stored.z) { output[p2 + c] = gelu4(normalised(output[p2 + c], mean.z, inv_std.z, g, b)); }
        if (stored.w) { output[p3 + c] = gelu4(normalised(output[p3 + c], mean.w, inv_std.w, g, b)); }
    }
}

// The 6 cells x0 - 1 .. x0 + 4 of input row y + ky - 1 that a run's taps of row ky read,
// named rather than in an array, which SwiftShader would keep in memory.
struct Cells {
    c0: Cell,
    c1: Cell,
    c2: Cell,
    c3: Cell,
    c4: Cell,
    c5: Cell,
}

// A cell's pixel (clamped into the picture), a factor of zero outside it, and its statistics.
struct Cell {
    pixel: u32,
    on: f32,
    stats: vec2<f32>,
}

fn cells_of(y: u32, ky: u32, x0: u32) -> Cells {
    let iy = i32(y + ky) - 1;
    let x = i32(x0);
    return Cells(cell_at(iy, x - 1), cell_at(iy, x), cell_at(iy, x + 1), cell_at(iy, x + 2),
                 cell_at(iy, x + 3), cell_at(iy, x + 4));
}

fn cell_at(iy: i32, x: i32) -> Cell {
    let width = i32(params.width);
    let height = i32(params.height);
    let pixel = u32(clamp(iy, 0, height - 1) * width + clamp(x, 0, width - 1));
    let on = iy >= 0 && iy < height && x >= 0 && x < width;
    return Cell(pixel, select(0.0, 1.0, on), stats_of(pixel));
}

// The row-ky taps' part of the run's 4 sums, channels 4c..4c+3.
fn taps(cells: Cells, ky: u32, c: u32, c4_len: u32) -> mat4x4<f32> {
    let w0 = tap_weight(3u * ky, c);
    let w1 = tap_weight(3u * ky + 1u, c);
    let w2 = tap_weight(3u * ky + 2u, c);
    let v0 = cell(cells.c0, c, c4_len);
    let v1 = cell(cells.c1, c, c4_len);
    let v2 = cell(cells.c2, c, c4_len);
    let v3 = cell(cells.c3, c, c4_len);
    let v4 = cell(cells.c4, c, c4_len);
    let v5 = cell(cells.c5, c, c4_len);
    return mat4x4<f32>(
        v0 * w0 + v1 * w1 + v2 * w2,
        v1 * w0 + v2 * w1 + v3 * w2,
        v2 * w0 + v3 * w1 + v4 * w2,
        v3 * w0 + v4 * w1 + v5 * w2,
    );
}

// Input channels 4c..4c+3 of a cell, as the norm gives them; zero outside the picture.
fn cell(at: Cell, c: u32, c4_len: u32) -> vec4<f32> {
    return normalised_input(input[at.pixel * c4_len + c], at.stats, c) * at.on;
}
