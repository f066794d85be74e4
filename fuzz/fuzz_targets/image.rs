//! An image file as the page's worker and the CLI take it: decoded within the limits, turned
//! upright, scaled and cropped to the network's input.

#![no_main]

use gpu::model::preprocess::{decode, preprocess};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(image) = decode(bytes) {
        let input = preprocess(&image, 224);
        assert_eq!(input.len(), 224 * 224 * 3);
    }
});
