// int8 weights are packed four to a u32, byte j holding output channel 4c + j; this widens one
// word to four f32 in registers.
fn unpack_i8x4(word: u32) -> vec4<f32> {
    let shifted = vec4<u32>(word << 24u, word << 16u, word << 8u, word);
    return vec4<f32>(bitcast<vec4<i32>>(shifted) >> vec4<u32>(24u));
}

