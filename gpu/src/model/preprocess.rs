//! The test transform of spec section 1: shorter side to `size` (bicubic), centre crop, [0, 1],
//! normalise by the ImageNet mean and std. Output channels last, `[size, size, 3]`.

use image::{DynamicImage, imageops::FilterType};

use crate::error::{Error, Result};

pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Decodes a JPEG, PNG or WebP file.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage> {
    image::load_from_memory(bytes).map_err(|e| Error::Image(e.to_string()))
}

/// The network input for `image`, as the official evaluation prepares it.
pub fn preprocess(image: &DynamicImage, size: u32) -> Vec<f32> {
    let rgb = image.to_rgb8();
    let (w, h) = rgb.dimensions();
    // Shorter side to `size`, the other scaled alike (torchvision truncates it to an integer).
    let (rw, rh) = if w <= h {
        (size, ((size as u64 * h as u64) / w as u64) as u32)
    } else {
        (((size as u64 * w as u64) / h as u64) as u32, size)
    };
    // Catmull-Rom is the a = -0.5 cubic that PIL's BICUBIC uses, widened when downscaling.
    let resized = image::imageops::resize(&rgb, rw.max(size), rh.max(size), FilterType::CatmullRom);
    let (left, top) = (
        crop_offset(resized.width(), size),
        crop_offset(resized.height(), size),
    );
    let mut cropped = Vec::with_capacity((size * size * 3) as usize);
    for y in 0..size {
        for x in 0..size {
            cropped.extend(resized.get_pixel(left + x, top + y).0);
        }
    }
    normalise(&cropped)
}

/// Channels-last RGB bytes already at the network's size -> the network input: [0, 1], then
/// the ImageNet mean and std.
pub fn normalise(rgb: &[u8]) -> Vec<f32> {
    rgb.iter()
        .enumerate()
        .map(|(i, &p)| (f32::from(p) / 255.0 - MEAN[i % 3]) / STD[i % 3])
        .collect()
}

/// torchvision's `int(round((length - size) / 2))`, Python rounding half to even.
fn crop_offset(length: u32, size: u32) -> u32 {
    let excess = length - size;
    let half = excess / 2;
    if excess % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_offset_rounds_half_to_even_like_python() {
        // round(0.5) = 0, round(1.5) = 2, round(2.5) = 2, round(3) = 3
        assert_eq!(
            [1, 3, 5, 6].map(|e| crop_offset(224 + e, 224)),
            [0, 2, 2, 3]
        );
    }

    #[test]
    fn preprocess_gives_a_normalised_square() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(300, 200, |x, _| {
            image::Rgb([(x % 256) as u8, 128, 255])
        }));
        let input = preprocess(&image, 224);
        assert_eq!(input.len(), 224 * 224 * 3);
        // Blue is saturated everywhere: (1 - 0.406) / 0.225.
        assert!((input[2] - (1.0 - 0.406) / 0.225).abs() < 1e-5);
    }
}
