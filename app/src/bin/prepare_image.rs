//! The Web Worker that decodes and scales images for the page (`app::prepare`).

use gloo::worker::Registrable;

fn main() {
    console_error_panic_hook::set_once();
    app::prepare::PrepareImage::registrar().register();
}
