//! The Web Worker that downloads and converts official checkpoints for the page
//! (`app::install`), started only when a person asks for one.

fn main() {
    console_error_panic_hook::set_once();
    app::convert_worker::run();
}
