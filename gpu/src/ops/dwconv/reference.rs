//! The CPU reference of the dwconv kernel, in f64: what its tests hold the GPU to.

/// CPU reference, PyTorch weight layout `[C, 1, 3, 3]`, f64.
#[allow(clippy::too_many_arguments)]
pub fn dwconv(
    input: &[f32],
    height: usize,
    width: usize,
    channels: usize,
    weight: &[f32],
    bias: &[f32],
    ln_weight: &[f32],
    ln_bias: &[f32],
    eps: f64,
) -> Vec<f32> {
    let mut conv = vec![0f32; input.len()];
    for y in 0..height {
        for x in 0..width {
            for c in 0..channels {
                let mut acc = f64::from(bias[c]);
                for tap in 0..9 {
                    let (iy, ix) = (y as i64 + tap as i64 / 3 - 1, x as i64 + tap as i64 % 3 - 1);
                    if (0..height as i64).contains(&iy) && (0..width as i64).contains(&ix) {
                        let v = input[(iy as usize * width + ix as usize) * channels + c];
                        acc += f64::from(v) * f64::from(weight[c * 9 + tap]);
                    }
                }
                conv[(y * width + x) * channels + c] = acc as f32;
            }
        }
    }
    crate::ops::layernorm::reference::layer_norm(&conv, channels, ln_weight, ln_bias, eps, true)
}
