//! The two things every drawing of the page needs from a canvas.

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

pub fn context_2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
}

/// Paints `rgba` ([height, width, 4]) at the canvas's top-left corner, one pixel each.
pub fn put_rgba(canvas: &HtmlCanvasElement, rgba: &[u8], width: u32, height: u32) {
    let image = web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width, height);
    if let (Some(context), Ok(image)) = (context_2d(canvas), image) {
        let _ = context.put_image_data(&image, 0.0, 0.0);
    }
}
