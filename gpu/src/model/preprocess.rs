//! The test transform of spec section 1: shorter side to `size` (PIL's bicubic, reproduced to
//! the byte), centre crop, [0, 1], normalise by the ImageNet mean and std. Output channels last,
//! `[size, size, 3]`.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, RgbImage, metadata::Orientation};

use crate::error::{Error, Result};

pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Decodes a JPEG, PNG or WebP file, turned upright as its EXIF orientation says. A phone
/// stores a portrait photo sideways with such a tag, and browsers show it upright; torchvision's
/// plain `Image.open` ignores the tag, which changes nothing for images without one (ImageNet's).
/// A tag that cannot be read leaves the image as stored.
/// Pictures larger than this are refused before their pixels are decoded: 100 megapixels
/// (a 12-megapixel phone photo is 12), and at most 40,000 pixels a side.
pub const MAX_PIXELS: u64 = 100_000_000;
pub const MAX_SIDE: u32 = 40_000;

pub fn decode(bytes: &[u8]) -> Result<DynamicImage> {
    let unreadable = |e: ImageError| Error::Image(e.to_string());
    let mut decoder = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Image(e.to_string()))?
        .into_decoder()
        .map_err(unreadable)?;
    // The header's size, checked before anything is allocated for the pixels.
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Error::Image(format!(
            "the picture is {width} x {height} pixels; at most {} megapixels and {MAX_SIDE} \
             pixels a side are taken",
            MAX_PIXELS / 1_000_000
        )));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // 16-bit RGBA at the largest size, with room for the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 8 + (64 << 20));
    decoder.set_limits(limits).map_err(unreadable)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// The network input for `image`, as the official evaluation prepares it (torchvision's
/// `Resize(size)` and `CenterCrop(size)` on a PIL image, then `ToTensor` and `Normalize`).
pub fn preprocess(image: &DynamicImage, size: u32) -> Vec<f32> {
    normalise(resize_and_crop(&to_rgb8_as_pil(image), size).as_raw())
}

/// The picture as PIL's `convert("RGB")` sees it: alpha dropped, grey repeated, and a 16-bit
/// PNG read by the high byte of each sample (PIL's `RGB;16B` unpacker), where the image crate
/// would round.
/// One difference is kept on purpose: PIL clips a 16-bit grey PNG's values at 255, which turns
/// almost every such picture white; here grey is scaled like colour.
pub fn to_rgb8_as_pil(image: &DynamicImage) -> RgbImage {
    match image {
        DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_) => {
            let wide = image.to_rgb16();
            let (width, height) = wide.dimensions();
            let bytes = wide
                .into_raw()
                .into_iter()
                .map(|v| (v >> 8) as u8)
                .collect();
            RgbImage::from_raw(width, height, bytes).expect("one byte per 16-bit sample")
        }
        _ => image.to_rgb8(),
    }
}

/// The shorter side scaled to `size` with PIL's bicubic filter, then the centre `size` x `size`
/// square, as torchvision computes both on a PIL image. Only the pixels inside the crop are
/// computed, so an extreme aspect ratio costs no more than a square picture.
pub fn resize_and_crop(rgb: &RgbImage, size: u32) -> RgbImage {
    let (w, h) = rgb.dimensions();
    // torchvision: the longer side is `int(size * long / short)`.
    let (rw, rh) = if w <= h {
        (size, ((size as u64 * h as u64) / w as u64) as u32)
    } else {
        (((size as u64 * w as u64) / h as u64) as u32, size)
    };
    let (left, top) = (crop_offset(rw, size), crop_offset(rh, size));
    let columns: Vec<Taps> = (left..left + size)
        .map(|x| Taps::bicubic(w, rw, x))
        .collect();
    let rows: Vec<Taps> = (top..top + size).map(|y| Taps::bicubic(h, rh, y)).collect();
    // PIL resizes horizontally first, into 8-bit rows, over the input rows the second pass reads.
    let first_row = rows.iter().map(|t| t.first).min().unwrap_or(0);
    let end_row = rows
        .iter()
        .map(|t| t.first + t.weights.len())
        .max()
        .unwrap_or(0);
    let input = rgb.as_raw();
    let stride = 3 * w as usize;
    let mut between = Vec::with_capacity((end_row - first_row) * 3 * size as usize);
    for y in first_row..end_row {
        let row = &input[y * stride..(y + 1) * stride];
        for taps in &columns {
            for channel in 0..3 {
                between.push(taps.apply(|i| row[3 * i + channel]));
            }
        }
    }
    let between_stride = 3 * size as usize;
    let mut output = Vec::with_capacity((size * size * 3) as usize);
    for taps in &rows {
        for column in 0..between_stride {
            output.push(taps.apply(|i| between[(i - first_row) * between_stride + column]));
        }
    }
    RgbImage::from_raw(size, size, output).expect("size x size x 3 bytes")
}

/// PIL's fixed-point weights: 22 bits of fraction, leaving room for 8 bits and overshoot.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// The input samples one output pixel reads along one axis, with PIL's weights
/// (`precompute_coeffs` and `normalize_coeffs_8bpc` of its Resample.c).
struct Taps {
    first: usize,
    weights: Vec<i32>,
}

impl Taps {
    fn bicubic(in_size: u32, out_size: u32, out_index: u32) -> Self {
        const SUPPORT: f64 = 2.0;
        let scale = f64::from(in_size) / f64::from(out_size);
        // Downscaling widens the filter to cover every input pixel.
        let filter_scale = scale.max(1.0);
        let support = SUPPORT * filter_scale;
        let centre = (f64::from(out_index) + 0.5) * scale;
        // C's (int) truncates towards zero; a negative start is clamped to 0 either way.
        let first = ((centre - support + 0.5) as i64).max(0) as usize;
        let end = ((centre + support + 0.5) as i64).min(i64::from(in_size)) as usize;
        // PIL multiplies by the reciprocal; dividing could round the last bit otherwise.
        let reciprocal = 1.0 / filter_scale;
        let raw: Vec<f64> = (first..end)
            .map(|i| bicubic((i as f64 - centre + 0.5) * reciprocal))
            .collect();
        let total: f64 = raw.iter().sum();
        let one = f64::from(1u32 << PRECISION_BITS);
        let weights = raw
            .iter()
            .map(|&w| {
                let w = if total != 0.0 { w / total } else { w };
                // Rounded half away from zero, as PIL does.
                (if w < 0.0 {
                    -0.5 + w * one
                } else {
                    0.5 + w * one
                }) as i32
            })
            .collect();
        Taps { first, weights }
    }

    /// The weighted sum of `sample(first..)`, rounded and clipped to a byte as PIL's `clip8`.
    fn apply(&self, sample: impl Fn(usize) -> u8) -> u8 {
        let mut sum: i32 = 1 << (PRECISION_BITS - 1);
        for (k, &w) in self.weights.iter().enumerate() {
            sum += i32::from(sample(self.first + k)) * w;
        }
        (sum >> PRECISION_BITS).clamp(0, 255) as u8
    }
}

/// The a = -0.5 cubic convolution kernel (Keys), PIL's BICUBIC.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
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
    fn a_picture_too_large_to_hold_is_refused_from_its_header() {
        // A PNG whose header says 60000 x 60000 (3.6 gigapixels), with a few bytes of data.
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut bytes = (data.len() as u32).to_be_bytes().to_vec();
            bytes.extend(kind);
            bytes.extend(data);
            bytes.extend(crc32(&[kind, data].concat()).to_be_bytes());
            bytes
        };
        let side = 60_000u32.to_be_bytes();
        let header = [&side[..], &side, &[8, 2, 0, 0, 0]].concat();
        let png = [
            &b"\x89PNG\r\n\x1a\n"[..],
            &chunk(b"IHDR", &header),
            &chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0, 0, 0, 0, 1]),
            &chunk(b"IEND", &[]),
        ]
        .concat();
        let error = decode(&png).unwrap_err().to_string();
        assert!(
            error.contains("60000 x 60000 pixels; at most 100 megapixels"),
            "{error}"
        );
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
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
