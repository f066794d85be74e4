//! What survives a reload: the chosen model (one the server offers, or one converted and kept
//! here), the chosen sample (dropped files are not kept) and the explorer's layer, group and
//! point, as JSON in the browser's local storage.

use serde::{Deserialize, Serialize};

use crate::panels::explore::ViewState;

const KEY: &str = "internimage-explorer.view";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    #[serde(default)]
    pub model: Option<ChosenModel>,
    pub sample: Option<String>,
    pub view: ViewState,
}

/// The model a visit starts with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ChosenModel {
    /// A catalog entry's file.
    Served(String),
    /// A key of [`crate::store`].
    Stored(String),
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// What was saved, or the defaults where nothing (or something unreadable) was.
pub fn load() -> Saved {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

pub fn save(saved: &Saved) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(saved)) {
        // A full or refused storage only costs the next visit its view.
        let _ = storage.set_item(KEY, &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let saved = Saved {
            model: Some(ChosenModel::Stored("converted/internimage-t".into())),
            sample: Some("coffee.jpg".into()),
            view: ViewState {
                layer: 3,
                group: Some(2),
                point: (10.5, 200.0),
            },
        };
        let text = serde_json::to_string(&saved).expect("serialises");
        assert_eq!(serde_json::from_str::<Saved>(&text).ok(), Some(saved));
        assert!(serde_json::from_str::<Saved>("sample|3|2|10.5|200").is_err());
    }
}
