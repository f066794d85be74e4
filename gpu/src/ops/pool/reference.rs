//! The CPU reference of the pool kernel, in f64: what its tests hold the GPU to.

/// CPU reference, f64.
pub fn mean_pool(input: &[f32], channels: usize) -> Vec<f32> {
    let pixels = input.len() / channels;
    (0..channels)
        .map(|c| {
            (input
                .iter()
                .skip(c)
                .step_by(channels)
                .map(|&v| f64::from(v))
                .sum::<f64>()
                / pixels as f64) as f32
        })
        .collect()
}
