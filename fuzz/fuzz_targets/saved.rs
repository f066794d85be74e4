//! The state a reload restores, as local storage holds it (which any script of the site, or a
//! person, may have rewritten): read, and always a view the page can show.

#![no_main]

use libfuzzer_sys::fuzz_target;
use link::{Saved, View};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let saved = Saved::parse(text);
    assert!(View::point_on_image(saved.view.point));
    assert!(saved.view.layer <= link::MAX_LAYER);
    assert_eq!(Saved::parse(&saved.to_json()), saved);
});
