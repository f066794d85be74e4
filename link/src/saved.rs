//! What survives a reload, as JSON in the browser's local storage.

use serde::{Deserialize, Serialize};

use crate::View;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    #[serde(default)]
    pub model: Option<ChosenModel>,
    pub sample: Option<String>,
    pub view: View,
}

/// The model a visit starts with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ChosenModel {
    /// A catalog entry's file.
    Served(String),
    /// A key of the page's store of converted models.
    Stored(String),
}

/// Saved state longer than this is not read: what the page writes is a few hundred bytes.
const MAX_SAVED_CHARS: usize = 64 * 1024;

impl Saved {
    /// What was saved, or the defaults where the text is unreadable or its view impossible.
    pub fn parse(text: &str) -> Self {
        if text.len() > MAX_SAVED_CHARS {
            return Self::default();
        }
        let mut saved: Self = serde_json::from_str(text).unwrap_or_default();
        let view = &mut saved.view;
        if view.layer > crate::MAX_LAYER
            || view.group.is_some_and(|g| g > crate::MAX_GROUP)
            || !View::point_on_image(view.point)
        {
            *view = View::default();
        }
        saved
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Show;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let saved = Saved {
            model: Some(ChosenModel::Stored("converted/internimage-t".into())),
            sample: Some("coffee.jpg".into()),
            view: View {
                layer: 3,
                group: Some(2),
                point: (10.5, 200.0),
                show: Show::Spread,
            },
        };
        assert_eq!(Saved::parse(&saved.to_json()), saved);
        assert_eq!(Saved::parse("sample|3|2|10.5|200"), Saved::default());
        // Saved by the page before `show` existed.
        let old = r#"{"sample":null,"view":{"layer":1,"group":null,"point":[3.0,4.0]}}"#;
        assert_eq!(Saved::parse(old).view.point, (3.0, 4.0));
        let far = r#"{"sample":null,"view":{"layer":1,"group":null,"point":[3.0,1e30]}}"#;
        assert_eq!(Saved::parse(far).view, View::default());
    }
}
