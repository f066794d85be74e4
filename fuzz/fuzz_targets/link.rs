//! A link's query, as anyone may type or tamper with it: read, and what was read written again
//! and read back to the same view.

#![no_main]

use libfuzzer_sys::fuzz_target;
use link::Link;

fuzz_target!(|bytes: &[u8]| {
    let Ok(query) = std::str::from_utf8(bytes) else {
        return;
    };
    let (link, _) = Link::parse(query);
    let (again, ignored) = Link::parse(&link.to_query());
    assert!(ignored.is_empty(), "{ignored:?} from {:?}", link.to_query());
    assert_eq!(again.model, link.model);
    assert_eq!(again.image, link.image);
    assert_eq!(again.view.layer, link.view.layer);
    assert_eq!(again.view.group, link.view.group);
    assert_eq!(again.view.show, link.view.show);
    // Points are written to a tenth of a pixel.
    let (x, y) = link.view.point;
    let (ax, ay) = again.view.point;
    assert!((x - ax).abs() <= 0.05 + 1e-4 && (y - ay).abs() <= 0.05 + 1e-4);
});
