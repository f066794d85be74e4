//! What survives a reload: the chosen sample (dropped files are not kept) and the explorer's
//! layer, group and point, in the browser's local storage.

use crate::explore::ViewState;

const KEY: &str = "internimage-explorer.view";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Saved {
    pub sample: Option<String>,
    pub view: ViewState,
}

/// `sample|layer|group|x|y`, with `-` for no sample and `all` for every group.
fn encode(saved: &Saved) -> String {
    let v = &saved.view;
    format!(
        "{}|{}|{}|{}|{}",
        saved.sample.as_deref().unwrap_or("-"),
        v.layer,
        v.group.map_or("all".to_owned(), |g| g.to_string()),
        v.point.0,
        v.point.1
    )
}

fn decode(text: &str) -> Option<Saved> {
    let parts: Vec<&str> = text.split('|').collect();
    let [sample, layer, group, x, y] = parts[..] else {
        return None;
    };
    Some(Saved {
        sample: (sample != "-").then(|| sample.to_owned()),
        view: ViewState {
            layer: layer.parse().ok()?,
            group: if group == "all" {
                None
            } else {
                Some(group.parse().ok()?)
            },
            point: (x.parse().ok()?, y.parse().ok()?),
        },
    })
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn load() -> Saved {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|text| decode(&text))
        .unwrap_or_default()
}

pub fn save(saved: &Saved) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(KEY, &encode(saved));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let saved = Saved {
            sample: Some("coffee.jpg".into()),
            view: ViewState {
                layer: 3,
                group: Some(2),
                point: (10.5, 200.0),
            },
        };
        assert_eq!(decode(&encode(&saved)), Some(saved));
        assert_eq!(decode(&encode(&Saved::default())), Some(Saved::default()));
        assert_eq!(decode("garbage"), None);
    }
}
