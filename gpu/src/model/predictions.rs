//! From logits to what a person reads: probabilities and the top classes.

/// The `k` most probable classes as (class index, softmax probability), best first.
pub fn top_k(logits: &[f32], k: usize) -> Vec<(usize, f32)> {
    let largest = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = logits
        .iter()
        .map(|&l| f64::from(l - largest).exp())
        .collect();
    let total: f64 = exps.iter().sum();
    let mut ranked: Vec<(usize, f32)> = exps
        .iter()
        .map(|&e| (e / total) as f32)
        .enumerate()
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(k);
    ranked
}

/// The index of the largest logit: the predicted class.
pub fn argmax(logits: &[f32]) -> usize {
    logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_ranks_by_probability() {
        let top = top_k(&[0.0, 2.0, 1.0], 2);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2]);
        let e = [1.0f64, 2.0f64.exp(), 1.0f64.exp()];
        assert!((f64::from(top[0].1) - e[1] / e.iter().sum::<f64>()).abs() < 1e-6);
    }
}
