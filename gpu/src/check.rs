//! Comparing an output with its reference: one metric for every numeric test, bench and self-check.

use std::fmt;

/// How far `actual` is from `expected`: the relative error `||actual - expected|| / ||expected||`
/// (Euclidean norms over the whole tensor, so near-zero elements cannot blow it up), and the
/// single worst element for diagnosis.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub relative_error: f64,
    pub max_abs_error: f64,
    pub worst_index: usize,
    pub worst_actual: f32,
    pub worst_expected: f32,
}

impl Comparison {
    pub fn new(actual: &[f32], expected: &[f32]) -> Self {
        assert_eq!(
            actual.len(),
            expected.len(),
            "compared tensors differ in length"
        );
        let (mut diff_sq, mut ref_sq) = (0.0f64, 0.0f64);
        let (mut worst_index, mut max_abs_error) = (0, 0.0f64);
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            let d = (f64::from(a) - f64::from(e)).abs();
            // NaN compares false: make it the worst element rather than hide it.
            if d > max_abs_error || d.is_nan() && !max_abs_error.is_nan() {
                max_abs_error = d;
                worst_index = i;
            }
            diff_sq += d * d;
            ref_sq += f64::from(e) * f64::from(e);
        }
        let relative_error = if ref_sq == 0.0 {
            diff_sq.sqrt()
        } else {
            (diff_sq / ref_sq).sqrt()
        };
        Self {
            relative_error,
            max_abs_error,
            worst_index,
            worst_actual: actual.get(worst_index).copied().unwrap_or(0.0),
            worst_expected: expected.get(worst_index).copied().unwrap_or(0.0),
        }
    }

    /// Whether the relative error is within `tolerance` (a NaN anywhere never is).
    pub fn within(&self, tolerance: f64) -> bool {
        self.relative_error <= tolerance
    }

    /// Panics with the worst element when the relative error exceeds `tolerance`.
    #[track_caller]
    pub fn assert_within(&self, tolerance: f64, what: &str) {
        assert!(
            self.within(tolerance),
            "{what}: {self} exceeds tolerance {tolerance:.1e}"
        );
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "relative error {:.2e}, max abs error {:.2e} at [{}] ({} vs {})",
            self.relative_error,
            self.max_abs_error,
            self.worst_index,
            self.worst_actual,
            self.worst_expected
        )
    }
}

/// The cosine of the angle between two vectors: 1 when they point the same way, whatever their
/// lengths. How the int8 budget is stated for logits.
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_worst_element() {
        let c = Comparison::new(&[1.0, 2.0, 3.5], &[1.0, 2.0, 3.0]);
        assert_eq!(c.worst_index, 2);
        assert!((c.max_abs_error - 0.5).abs() < 1e-12);
        assert!((c.relative_error - 0.5 / 14f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn cosine_ignores_length() {
        assert!((cosine_similarity(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-12);
        assert!(cosine_similarity(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-12);
    }

    #[test]
    fn nan_fails_any_tolerance() {
        let c = Comparison::new(&[1.0, f32::NAN], &[1.0, 2.0]);
        assert!(!c.within(1.0));
        assert_eq!(c.worst_index, 1);
    }
}
