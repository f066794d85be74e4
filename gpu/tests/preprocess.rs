//! The engine's preprocessing against the official evaluation's, as PIL computes it
//! (tools/make_preprocess_fixtures.py): byte for byte on PNG pictures of every colour type, size
//! and aspect ratio; within the decoders' difference on JPEG photographs. GPU-free, so it runs
//! natively and in both browsers, where the page prepares its images.

mod common;

use gpu::model::preprocess::{decode, normalise, preprocess, resize_and_crop, to_rgb8_as_pil};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const SIZE: u32 = 224;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/preprocess/", $name))
    };
}

/// Inputs a stranger may give (docs/reliability.md).
macro_rules! bad_input {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/bad-inputs/", $name))
    };
}

/// (name, source PNG, what PIL made of it: 224 x 224 RGB as PNG)
const PNG_CASES: &[(&str, &[u8], &[u8])] = &[
    (
        "landscape-640x427",
        fixture!("landscape-640x427.png"),
        fixture!("landscape-640x427.expected.png"),
    ),
    (
        "portrait-301x453",
        fixture!("portrait-301x453.png"),
        fixture!("portrait-301x453.expected.png"),
    ),
    (
        "smaller-97x61",
        fixture!("smaller-97x61.png"),
        fixture!("smaller-97x61.expected.png"),
    ),
    (
        "square-224",
        fixture!("square-224.png"),
        fixture!("square-224.expected.png"),
    ),
    (
        "wide-1000x150",
        fixture!("wide-1000x150.png"),
        fixture!("wide-1000x150.expected.png"),
    ),
    (
        "odd-225x999",
        fixture!("odd-225x999.png"),
        fixture!("odd-225x999.expected.png"),
    ),
    (
        "rgb16-320x240",
        fixture!("rgb16-320x240.png"),
        fixture!("rgb16-320x240.expected.png"),
    ),
    (
        "alpha-280x350",
        fixture!("alpha-280x350.png"),
        fixture!("alpha-280x350.expected.png"),
    ),
    (
        "grey-250x181",
        fixture!("grey-250x181.png"),
        fixture!("grey-250x181.expected.png"),
    ),
    (
        "palette-333x222",
        fixture!("palette-333x222.png"),
        fixture!("palette-333x222.expected.png"),
    ),
];

/// (name, the sample photograph, what PIL made of it)
const JPEG_CASES: &[(&str, &[u8], &[u8])] = &[
    (
        "astronaut",
        include_bytes!("../../public/samples/astronaut.jpg"),
        fixture!("astronaut.jpeg-expected.png"),
    ),
    (
        "chelsea-the-cat",
        include_bytes!("../../public/samples/chelsea-the-cat.jpg"),
        fixture!("chelsea-the-cat.jpeg-expected.png"),
    ),
    (
        "coffee",
        include_bytes!("../../public/samples/coffee.jpg"),
        fixture!("coffee.jpeg-expected.png"),
    ),
    (
        "rocket",
        include_bytes!("../../public/samples/rocket.jpg"),
        fixture!("rocket.jpeg-expected.png"),
    ),
];

/// PIL decodes JPEG with libjpeg, the image crate with its own decoder: their pixels differ by a
/// few steps in places, which the resize averages. Measured on the four sample photographs (PIL
/// 12.3, image 0.25): largest 3-4 /255 after the resize, mean 0.11-0.28 /255.
const JPEG_MAX: u8 = 6;
const JPEG_MEAN: f64 = 0.4;

/// The engine's bytes for a picture: decoded, as PIL's `convert("RGB")`, resized and cropped.
fn ours(file: &[u8]) -> Vec<u8> {
    let decoded = decode(file).expect("fixture decodes");
    resize_and_crop(&to_rgb8_as_pil(&decoded), SIZE).into_raw()
}

fn pil(expected_png: &[u8]) -> Vec<u8> {
    let image = decode(expected_png).expect("fixture decodes").to_rgb8();
    assert_eq!(image.dimensions(), (SIZE, SIZE));
    image.into_raw()
}

/// The largest and the mean absolute difference, in 8-bit steps.
fn difference(ours: &[u8], theirs: &[u8]) -> (u8, f64) {
    assert_eq!(ours.len(), theirs.len());
    let diffs = ours.iter().zip(theirs).map(|(a, b)| a.abs_diff(*b));
    let max = diffs.clone().max().unwrap_or(0);
    let mean = diffs.map(f64::from).sum::<f64>() / ours.len() as f64;
    (max, mean)
}

dual_test! {
    async fn png_pictures_are_prepared_byte_for_byte_as_pil_prepares_them() {
        for (name, source, expected) in PNG_CASES {
            let theirs = pil(expected);
            let (max, mean) = difference(&ours(source), &theirs);
            common::log(&format!("{name}: largest difference from PIL {max}/255, mean {mean:.5}/255"));
            assert_eq!(max, 0, "{name}: differs from PIL by up to {max}/255 (mean {mean:.5})");
            // The network input is those bytes through ToTensor and Normalize, in the same f32 steps.
            let decoded = decode(source).unwrap();
            assert_eq!(preprocess(&decoded, SIZE), normalise(&theirs), "{name}: network input");
        }
    }

    async fn jpeg_photographs_stay_within_the_decoders_difference() {
        for (name, source, expected) in JPEG_CASES {
            let (max, mean) = difference(&ours(source), &pil(expected));
            common::log(&format!("{name}.jpg: largest difference from PIL {max}/255, mean {mean:.4}/255"));
            assert!(max <= JPEG_MAX && mean <= JPEG_MEAN, "{name}.jpg: {max}/255, mean {mean:.4}/255");
        }
    }

    async fn an_extreme_aspect_ratio_costs_no_more_than_a_square() {
        // 20000 x 1: scaled whole it would be 4,480,000 x 224; only the centre square is computed.
        let line = image::RgbImage::from_fn(20_000, 1, |x, _| image::Rgb([(x % 251) as u8, 7, 200]));
        let started = web_time::Instant::now();
        let square = resize_and_crop(&line, SIZE);
        assert_eq!(square.dimensions(), (SIZE, SIZE));
        let took = common::ms_since(started);
        assert!(took < 2000.0, "took {took:.0} ms");
    }

    async fn a_file_of_no_bytes_is_refused_as_not_an_image() {
        let error = decode(&[]).err();
        assert!(matches!(error, Some(gpu::Error::Image(_))), "{error:?}");
    }

    async fn a_gif_is_refused_as_a_format_not_read() {
        // The page reads JPEG, PNG and WebP, and says so; a GIF is none of them.
        let error = decode(bad_input!("red-3x2.gif")).err();
        assert!(matches!(&error, Some(gpu::Error::Image(why)) if why.contains("Gif")), "{error:?}");
    }

    async fn a_cmyk_jpeg_is_prepared_in_the_colours_pil_sees() {
        // Cyan ink on the left half, yellow on the right, as Pillow writes a CMYK JPEG; Pillow
        // reads them back as (0, 255, 255) and (255, 255, 0).
        let picture = to_rgb8_as_pil(&decode(bad_input!("cmyk-16x12.jpg")).expect("decodes"));
        assert_eq!(picture.dimensions(), (16, 12));
        for (x, expected) in [(2, [0, 255, 255]), (12, [255, 255, 0])] {
            let got = picture.get_pixel(x, 5).0;
            let off = got.iter().zip(expected).map(|(a, b)| a.abs_diff(b)).max().unwrap_or(0);
            assert!(off <= 8, "pixel ({x}, 5): {got:?}, Pillow reads {expected:?}");
        }
        assert_eq!(preprocess(&decode(bad_input!("cmyk-16x12.jpg")).unwrap(), SIZE).len(), 224 * 224 * 3);
    }
}
