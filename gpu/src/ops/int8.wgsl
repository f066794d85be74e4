// int8 weights are packed four to a u32, byte j holding output channel 4c + j; this widens one
// word to four f32 in registers, each 2^24 times its byte: a product moves the byte to the top
// of the word and a mask clears the bytes below it. Shifts right would do without the factor,
// but SwiftShader runs a shift by a vector of counts as a loop over the lanes (SSE has no
// per-lane shift), and a product and a mask are one instruction each. The kernels multiply
// their sums by the scales times INT8_UNIT, which undoes the factor exactly.
const INT8_UNIT: f32 = 5.9604644775390625e-8; // 2^-24

fn unpack_i8x4(word: u32) -> vec4<f32> {
    let top = vec4<u32>(
        word * 16777216u,
        (word * 65536u) & 0xff000000u,
        (word * 256u) & 0xff000000u,
        word & 0xff000000u,
    );
    return vec4<f32>(bitcast<vec4<i32>>(top));
}
