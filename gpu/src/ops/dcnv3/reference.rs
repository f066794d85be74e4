//! The CPU reference of DCNv3 (spec section 4), in f64, written for clarity rather than speed.

use super::{Dcnv3Shape, POINTS, SAMPLING_STRIDE};

/// Returns the output `[H, W, G * Cg]` and the sampling records `[H, W, G, 9, 3]`.
pub fn dcnv3(
    shape: &Dcnv3Shape,
    input: &[f32],
    offsets: &[f32],
    mask_logits: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let (h_len, w_len) = (shape.height as usize, shape.width as usize);
    let (groups, gc) = (shape.groups as usize, shape.group_channels as usize);
    let channels = groups * gc;
    let s = f64::from(shape.offset_scale);
    let mut output = vec![0f32; shape.input_len()];
    let mut sampling = vec![0f32; shape.sampling_len()];
    let at = |y: i64, x: i64, c: usize| -> f64 {
        if (0..h_len as i64).contains(&y) && (0..w_len as i64).contains(&x) {
            f64::from(input[(y as usize * w_len + x as usize) * channels + c])
        } else {
            0.0
        }
    };
    for h in 0..h_len {
        for w in 0..w_len {
            for g in 0..groups {
                let point_base = ((h * w_len + w) * groups + g) * POINTS;
                let weights = softmax(&mask_logits[point_base..point_base + POINTS]);
                let mut acc = vec![0f64; gc];
                for (k, &m) in weights.iter().enumerate() {
                    let (bx, by) = ((k / 3) as f64 - 1.0, (k % 3) as f64 - 1.0);
                    let px = w as f64 + s * (bx + f64::from(offsets[2 * (point_base + k)]));
                    let py = h as f64 + s * (by + f64::from(offsets[2 * (point_base + k) + 1]));
                    let record = SAMPLING_STRIDE * (point_base + k);
                    sampling[record..record + 3].copy_from_slice(&[px as f32, py as f32, m as f32]);
                    let (x0, y0) = (px.floor(), py.floor());
                    if x0.abs() > 1e9 || y0.abs() > 1e9 {
                        continue;
                    }
                    for (xa, ya) in [
                        (x0, y0),
                        (x0 + 1.0, y0),
                        (x0, y0 + 1.0),
                        (x0 + 1.0, y0 + 1.0),
                    ] {
                        let corner = m * (1.0 - (px - xa).abs()) * (1.0 - (py - ya).abs());
                        for (c, a) in acc.iter_mut().enumerate() {
                            *a += corner * at(ya as i64, xa as i64, g * gc + c);
                        }
                    }
                }
                let out = (h * w_len + w) * channels + g * gc;
                for (o, a) in output[out..out + gc].iter_mut().zip(&acc) {
                    *o = *a as f32;
                }
            }
        }
    }
    (output, sampling)
}

fn softmax(logits: &[f32]) -> Vec<f64> {
    let largest = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exps: Vec<f64> = logits
        .iter()
        .map(|&l| (f64::from(l) - largest).exp())
        .collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}
