// GELU after the norm where the network applies one (the stem's first norm): shared by both
// LayerNorm kernels.

override APPLY_GELU: bool = false;

fn activate(y: vec4<f32>) -> vec4<f32> {
    if (APPLY_GELU) {
        return gelu4(y);
    }
    return y;
}
