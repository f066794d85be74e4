// Where the depthwise branch also lays out its DCNv3 layer's input for the filtered reader
// (the planes of dcnv3/planes.wgsl, whose dispatch it saves; dcnv3/planes_layout.wgsl): the input projection's output,
// [H, W, C] as the branch's own input, written cell by cell as the branch visits its pixels.

@group(0) @binding(6) var<storage, read> dcn_input: array<vec4<f32>>; // [H, W, C / 4]
@group(0) @binding(7) var planes: texture_storage_2d_array<rgba32float, write>;

// Channels 4c..4c+3 of the pixel at (x, y), whose vec4 of them is dcn_input[at].
fn write_planes(at: u32, x: u32, y: u32, c: u32) {
    textureStore(planes, planes_texel(x, y), c, dcn_input[at]);
}
