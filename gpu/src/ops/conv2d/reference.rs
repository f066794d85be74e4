//! CPU reference of the 3x3 convolution, PyTorch weight layout, f64.

use super::{Conv2dShape, KERNEL};

pub fn conv2d(
    shape: &Conv2dShape,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let (h, w, cin, cout) = (
        shape.in_height as i64,
        shape.in_width as i64,
        shape.in_channels as usize,
        shape.out_channels as usize,
    );
    let (oh, ow) = (shape.out_height() as usize, shape.out_width() as usize);
    let s = i64::from(shape.stride);
    let mut out = vec![0f32; oh * ow * cout];
    for oy in 0..oh {
        for ox in 0..ow {
            for o in 0..cout {
                let mut acc = bias.map_or(0.0, |b| f64::from(b[o]));
                for ky in 0..KERNEL {
                    for kx in 0..KERNEL {
                        let iy = oy as i64 * s + ky as i64 - 1;
                        let ix = ox as i64 * s + kx as i64 - 1;
                        if !(0..h).contains(&iy) || !(0..w).contains(&ix) {
                            continue;
                        }
                        let base = (iy * w + ix) as usize * cin;
                        for i in 0..cin {
                            let wv = weight[((o * cin + i) * KERNEL + ky) * KERNEL + kx];
                            acc += f64::from(input[base + i]) * f64::from(wv);
                        }
                    }
                }
                out[(oy * ow + ox) * cout + o] = acc as f32;
            }
        }
    }
    out
}
