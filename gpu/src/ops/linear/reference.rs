//! The CPU reference of the linear kernel, in f64: what its tests hold the GPU to.

use super::Epilogue;

/// CPU reference with PyTorch's `[N, K]` weight, f64; `residual` is the output's prior content.
pub fn linear(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    k: usize,
    epilogue: Epilogue,
    residual: Option<&[f32]>,
) -> Vec<f32> {
    let n = bias.len();
    let mut out = Vec::with_capacity(input.len() / k * n);
    for (row, x) in input.chunks_exact(k).enumerate() {
        for (col, w) in weight.chunks_exact(k).enumerate() {
            let mut y = f64::from(bias[col])
                + x.iter()
                    .zip(w)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum::<f64>();
            match epilogue {
                Epilogue::Store => {}
                Epilogue::Gelu => y = crate::ops::gelu_reference(y),
                Epilogue::Accumulate => {
                    y += f64::from(residual.expect("residual for accumulate")[row * n + col])
                }
            }
            out.push(y as f32);
        }
    }
    out
}
