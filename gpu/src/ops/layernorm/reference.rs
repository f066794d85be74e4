//! The CPU reference of the layernorm kernel, in f64: what its tests hold the GPU to.

/// CPU reference: LayerNorm over the last axis of `[P, C]`, then GELU when asked; f64.
pub fn layer_norm(
    input: &[f32],
    channels: usize,
    weight: &[f32],
    bias: &[f32],
    eps: f64,
    gelu: bool,
) -> Vec<f32> {
    input
        .chunks_exact(channels)
        .flat_map(|x| {
            let (mean, inv) = mean_and_inverse_std(x, eps);
            x.iter().enumerate().map(move |(c, &v)| {
                let y = (f64::from(v) - mean) * inv * f64::from(weight[c]) + f64::from(bias[c]);
                (if gelu {
                    crate::ops::gelu_reference(y)
                } else {
                    y
                }) as f32
            })
        })
        .collect()
}

/// The mean of `x` and 1 / sqrt(its biased variance + `eps`), in f64.
pub fn mean_and_inverse_std(x: &[f32], eps: f64) -> (f64, f64) {
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64;
    let var = x
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / x.len() as f64;
    (mean, 1.0 / (var + eps).sqrt())
}
