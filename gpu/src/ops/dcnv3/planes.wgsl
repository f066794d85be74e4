// DCNv3's input [H, W, C] laid out for the filtered reader (dcnv3_filtered.wgsl): channels
// 4l..4l+3 of cell (x, y) to layer l, at planes_texel(x, y) (planes_layout.wgsl). One
// invocation per vec4, layers fastest, so that neighbouring invocations read neighbouring
// memory.

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(2) var planes: texture_storage_2d_array<rgba32float, write>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(num_workgroups) grid: vec3<u32>) {
    let index = (wg.y * grid.x + wg.x) * 64u + local;
    if (index >= params.height * params.width * params.layers) {
        return;
    }
    let layer = index % params.layers;
    let cell = index / params.layers;
    let x = cell % params.width;
    let y = cell / params.width;
    textureStore(planes, planes_texel(x, y), layer, input[index]);
}
