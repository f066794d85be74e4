//! From logits to what a person reads: probabilities and the top classes.

/// The `k` most probable classes as (class index, softmax probability), best first.
///
/// Logits that are not numbers (from weights or a GPU gone wrong) make no prediction: they are
/// refused rather than shown as "NaN %".
pub fn top_k(logits: &[f32], k: usize) -> crate::Result<Vec<(usize, f32)>> {
    crate::error::ensure_finite(|| "the network's output".to_owned(), logits)?;
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
    Ok(ranked)
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
        let top = top_k(&[0.0, 2.0, 1.0], 2).unwrap();
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2]);
        let e = [1.0f64, 2.0f64.exp(), 1.0f64.exp()];
        assert!((f64::from(top[0].1) - e[1] / e.iter().sum::<f64>()).abs() < 1e-6);
    }

    #[test]
    fn logits_that_are_not_numbers_make_no_prediction() {
        let error = top_k(&[0.5, f32::NAN, 1.0, f32::INFINITY], 2).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the network's output holds 2 values that are not finite numbers (NaN or infinity)"
        );
    }
}
