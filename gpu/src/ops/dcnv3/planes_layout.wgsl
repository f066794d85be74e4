// Where the planes (ops::dcnv3::Planes) keep cell (x, y) of a layer's input: inside a border of
// PLANES_BORDER texels (the const prepended from Planes::BORDER) that is never written and keeps
// the zeros the texture was created with, which clamp-to-edge repeats as DCNv3's zero padding.
fn planes_texel(x: u32, y: u32) -> vec2<u32> {
    return vec2<u32>(x, y) + PLANES_BORDER;
}
