//! The test transform of spec section 1: shorter side to `size` (bicubic), centre crop, [0, 1],
//! normalise by the ImageNet mean and std. Output channels last, `[size, size, 3]`.

use std::io::Cursor;

use image::{
    DynamicImage, ImageDecoder, ImageError, ImageReader, imageops::FilterType,
    metadata::Orientation,
};

use crate::error::{Error, Result};

pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Decodes a JPEG, PNG or WebP file, turned upright as its EXIF orientation says. A phone
/// stores a portrait photo sideways with such a tag, and browsers show it upright; torchvision's
/// plain `Image.open` ignores the tag, which changes nothing for images without one (ImageNet's).
/// A tag that cannot be read leaves the image as stored.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage> {
    let unreadable = |e: ImageError| Error::Image(e.to_string());
    let mut decoder = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Image(e.to_string()))?
        .into_decoder()
        .map_err(unreadable)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    Ok(image)
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
    use image::ImageEncoder;
    use image::codecs::jpeg::JpegEncoder;

    /// A JPEG of a 40 x 20 gradient, with an EXIF block holding `orientation` if given.
    fn jpeg(orientation: Option<u16>) -> Vec<u8> {
        let image =
            image::RgbImage::from_fn(40, 20, |x, y| image::Rgb([6 * x as u8, 12 * y as u8, 90]));
        let mut bytes = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut bytes, 95);
        if let Some(value) = orientation {
            // Big-endian TIFF header, one IFD of one entry: tag 0x0112 (orientation), SHORT.
            let mut exif = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
            exif.extend(value.to_be_bytes());
            exif.extend([0; 6]);
            encoder.set_exif_metadata(exif).unwrap();
        }
        encoder
            .write_image(image.as_raw(), 40, 20, image::ExtendedColorType::Rgb8)
            .unwrap();
        bytes
    }

    #[test]
    fn a_photo_is_turned_upright_as_its_exif_orientation_says() {
        let stored = decode(&jpeg(None)).unwrap();
        assert_eq!((stored.width(), stored.height()), (40, 20));
        // 6: the camera was turned a quarter clockwise; shown upright, the picture is tall.
        let upright = decode(&jpeg(Some(6))).unwrap();
        assert_eq!(upright, stored.rotate90());
        assert_eq!(decode(&jpeg(Some(3))).unwrap(), stored.rotate180());
        assert_eq!(decode(&jpeg(Some(1))).unwrap(), stored);
    }

    #[test]
    fn a_file_that_is_not_an_image_is_an_image_error() {
        assert!(matches!(
            decode(b"this is not a JPEG"),
            Err(Error::Image(_))
        ));
    }

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
