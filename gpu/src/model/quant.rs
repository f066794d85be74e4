//! int8 weights: symmetric, one scale per output channel (`value = q * scale`, q in -127..=127).

/// Quantizes a `[rows, ...]` tensor row by row: each row's largest magnitude maps to 127.
pub fn quantize_rows(values: &[f32], rows: usize) -> (Vec<i8>, Vec<f32>) {
    let per_row = values.len() / rows.max(1);
    let mut q = Vec::with_capacity(values.len());
    let mut scales = Vec::with_capacity(rows);
    for row in values.chunks(per_row.max(1)) {
        let largest = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
        q.extend(
            row.iter()
                .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8),
        );
        scales.push(scale);
    }
    (q, scales)
}

pub fn dequantize_rows(q: &[i8], scales: &[f32]) -> Vec<f32> {
    let per_row = q.len() / scales.len().max(1);
    q.chunks(per_row.max(1))
        .zip(scales)
        .flat_map(|(row, &s)| row.iter().map(move |&v| f32::from(v) * s))
        .collect()
}

/// Which tensors are quantized: the weights of the linear layers (1x1 convolutions among them)
/// and of the dense 3x3 convolutions whose input channels come in fours (all but the stem's
/// first, on 3 colour channels; the depthwise ones have one). `keep_offset_and_mask` leaves the
/// DCNv3 offset and mask linears in f32, since they move sampling locations.
pub fn is_quantized(name: &str, shape: &[usize], keep_offset_and_mask: bool) -> bool {
    let offset_or_mask = name.ends_with("dcn.offset.weight") || name.ends_with("dcn.mask.weight");
    let linear = shape.len() == 2 && name.ends_with(".weight");
    let pointwise = shape.len() == 4 && shape[2] == 1 && shape[3] == 1;
    let dense_3x3 = shape.len() == 4
        && shape[2] == 3
        && shape[1].is_multiple_of(4)
        && name.ends_with(".weight");
    (linear || pointwise || dense_3x3) && !(keep_offset_and_mask && offset_or_mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_largest_value_exactly() {
        let values = [0.5, -1.0, 0.25, 0.0, 0.0, 0.0, 3.0, 1.5, -0.75];
        let (q, scales) = quantize_rows(&values, 3);
        assert_eq!(&q[..3], &[64, -127, 32]);
        assert_eq!(&q[3..6], &[0, 0, 0]);
        assert_eq!(scales[1], 1.0);
        let back = dequantize_rows(&q, &scales);
        for (a, b) in back.iter().zip(&values) {
            assert!((a - b).abs() <= 3.0 / 127.0 / 2.0 + 1e-6);
        }
    }

    #[test]
    fn linear_and_dense_convolution_weights_are_quantized() {
        assert!(is_quantized(
            "levels.0.blocks.0.mlp.fc1.weight",
            &[256, 64],
            true
        ));
        assert!(is_quantized("conv_head.0.weight", &[768, 512, 1, 1], true));
        assert!(!is_quantized(
            "levels.0.blocks.0.dcn.offset.weight",
            &[72, 64],
            true
        ));
        assert!(is_quantized(
            "levels.0.blocks.0.dcn.offset.weight",
            &[72, 64],
            false
        ));
        assert!(!is_quantized(
            "patch_embed.conv1.weight",
            &[32, 3, 3, 3],
            true
        ));
        assert!(!is_quantized(
            "levels.0.blocks.0.norm1.0.weight",
            &[64],
            true
        ));
    }
}
