//! What survives a reload ([`link::Saved`]: the chosen model, the chosen sample, the explorer's
//! view), as JSON in the browser's local storage. Dropped files are not kept.

use link::Saved;

const KEY: &str = "internimage-explorer.view";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// What was saved, or the defaults where nothing (or something unreadable) was.
pub fn load() -> Saved {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .map(|text| Saved::parse(&text))
        .unwrap_or_default()
}

pub fn save(saved: &Saved) {
    if let Some(storage) = storage() {
        // A full or refused storage only costs the next visit its view.
        let _ = storage.set_item(KEY, &saved.to_json());
    }
}
