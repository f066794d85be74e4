// y = x W^T + b for x [M, K], with the weight stored transposed as [K, N]; then, by EPILOGUE,
// nothing (0), GELU (1), or accumulation into the output, out += y (2: the residual adds).
//
// Tiled: a 16x16 workgroup computes a 64x64 block of the output, each invocation a 4x4 patch,
// from 64x16 and 16x64 tiles staged in workgroup memory.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    _pad: u32,
}

override EPILOGUE: u32 = 0u;

const TILE: u32 = 64u;
const TILE_K: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;        // [M, K]
@group(0) @binding(2) var<storage, read> weight: array<f32>;       // [K, N]
@group(0) @binding(3) var<storage, read> bias: array<f32>;         // [N]
@group(0) @binding(4) var<storage, read_write> output: array<f32>; // [M, N]

var<workgroup> a_tile: array<f32, 1024>; // [TILE rows][TILE_K]
var<workgroup> b_tile: array<f32, 1024>; // [TILE_K][TILE cols]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) flat: u32) {
    let m = params.m;
    let n = params.n;
    let k = params.k;
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    var acc: array<vec4<f32>, 4>;

    for (var k0 = 0u; k0 < k; k0 += TILE_K) {
        for (var e = flat; e < TILE * TILE_K; e += 256u) {
            let ar = row0 + e / TILE_K;
            let ak = k0 + e % TILE_K;
            var a = 0.0;
            if (ar < m && ak < k) {
                a = input[ar * k + ak];
            }
            a_tile[e] = a;
            let bk = k0 + e / TILE;
            let bc = col0 + e % TILE;
            var b = 0.0;
            if (bk < k && bc < n) {
                b = weight[bk * n + bc];
            }
            b_tile[e] = b;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let bi = kk * TILE + lid.x * 4u;
            let b = vec4<f32>(b_tile[bi], b_tile[bi + 1u], b_tile[bi + 2u], b_tile[bi + 3u]);
            for (var i = 0u; i < 4u; i++) {
                acc[i] += a_tile[(lid.y * 4u + i) * TILE_K + kk] * b;
            }
        }
        workgroupBarrier();
    }

    for (var i = 0u; i < 4u; i++) {
        let row = row0 + lid.y * 4u + i;
        if (row >= m) {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x * 4u + j;
            if (col >= n) {
                break;
            }
            var y = acc[i][j] + bias[col];
            let at = row * n + col;
            if (EPILOGUE == 1u) {
                y = gelu(y);
            } else if (EPILOGUE == 2u) {
                y += output[at];
            }
            output[at] = y;
        }
    }
}
