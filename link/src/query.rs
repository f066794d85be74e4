//! The link's query string.

use std::fmt;

use crate::{INPUT_SIZE, ImageRef, MAX_GROUP, MAX_LAYER, Show, View};

/// Values longer than this (decoded) are dropped unread: no sample name or model needs more,
/// and an image address beyond it is no address a person shares. Written again, percent-encoded,
/// every value fits well within a link the page reads.
pub const MAX_VALUE_BYTES: usize = 2048;

/// Links longer than this are not read at all.
const MAX_QUERY_CHARS: usize = 16 * 1024;

/// Everything a link can say. Absent parts are `None` (the model and image) or the default
/// view's (the rest).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Link {
    /// A served model's file or an offered checkpoint's id.
    pub model: Option<String>,
    pub image: Option<ImageRef>,
    pub view: View,
}

/// A part of a link that was not used, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    pub key: String,
    pub reason: String,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.key, self.reason)
    }
}

impl Ignored {
    pub fn new(key: &str, reason: impl Into<String>) -> Self {
        // A key from a stranger's link is shown back to the person: keep it short.
        let key: String = key.chars().take(40).collect();
        Self {
            key,
            reason: reason.into(),
        }
    }
}

impl Link {
    /// Reads a query string (with or without its leading `?`). Never fails: each part that
    /// cannot be used is left at its default and listed.
    pub fn parse(query: &str) -> (Self, Vec<Ignored>) {
        let mut link = Self::default();
        let mut ignored = Vec::new();
        let query = query.strip_prefix('?').unwrap_or(query);
        if query.len() > MAX_QUERY_CHARS {
            ignored.push(Ignored::new(
                "the whole link",
                format!("{} characters, more than {MAX_QUERY_CHARS}", query.len()),
            ));
            return (link, ignored);
        }
        let (mut x, mut y) = (None, None);
        let mut seen = Vec::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if key.is_empty() && value.is_empty() {
                continue;
            }
            if seen.contains(&key) {
                ignored.push(Ignored::new(&key, "given twice; the first is used"));
                continue;
            }
            seen.push(key.clone());
            if value.len() > MAX_VALUE_BYTES {
                ignored.push(Ignored::new(
                    &key,
                    format!("longer than {MAX_VALUE_BYTES} bytes"),
                ));
                continue;
            }
            let outcome = match &*key {
                "model" => model_name(&value).map(|m| link.model = Some(m)),
                "image" => image(&value).map(|i| link.image = Some(i)),
                "layer" => whole(&value, MAX_LAYER as u64).map(|l| link.view.layer = l as usize),
                "group" if value == "all" => {
                    link.view.group = None;
                    Ok(())
                }
                "group" => {
                    whole(&value, u64::from(MAX_GROUP)).map(|g| link.view.group = Some(g as u32))
                }
                "x" => coordinate(&value).map(|v| x = Some(v)),
                "y" => coordinate(&value).map(|v| y = Some(v)),
                "show" => Show::from_name(&value)
                    .map(|s| link.view.show = s)
                    .ok_or_else(|| {
                        let names: Vec<_> = Show::ALL.iter().map(|s| s.name()).collect();
                        format!("not one of {}", names.join(", "))
                    }),
                _ => Err("not a part of this page's links".to_owned()),
            };
            if let Err(reason) = outcome {
                ignored.push(Ignored::new(&key, reason));
            }
        }
        // A point needs both coordinates.
        match (x, y) {
            (Some(x), Some(y)) => link.view.point = (x, y),
            (None, None) => {}
            (Some(_), None) => ignored.push(Ignored::new("x", "given without y")),
            (None, Some(_)) => ignored.push(Ignored::new("y", "given without x")),
        }
        (link, ignored)
    }

    /// The query string (with its `?`) that [`Link::parse`] reads back as `self`. Points are
    /// written to a tenth of a pixel.
    pub fn to_query(&self) -> String {
        let mut query = form_urlencoded::Serializer::for_suffix(String::from("?"), 1);
        if let Some(model) = &self.model {
            query.append_pair("model", model);
        }
        match &self.image {
            Some(ImageRef::Sample(file)) | Some(ImageRef::Url(file)) => {
                query.append_pair("image", file);
            }
            None => {}
        }
        let view = &self.view;
        query.append_pair("layer", &view.layer.to_string());
        query.append_pair(
            "group",
            &view
                .group
                .map_or_else(|| "all".to_owned(), |g| g.to_string()),
        );
        query.append_pair("x", &tenths(view.point.0));
        query.append_pair("y", &tenths(view.point.1));
        query.append_pair("show", view.show.name());
        query.finish()
    }
}

fn tenths(v: f32) -> String {
    let text = format!("{v:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

fn whole(value: &str, max: u64) -> Result<u64, String> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "\u{201c}{}\u{201d} is not a whole number",
            shown(value)
        ));
    }
    match value.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(format!("more than {max}")),
    }
}

fn coordinate(value: &str) -> Result<f32, String> {
    let v: f32 = value
        .parse()
        .ok()
        .filter(|v: &f32| !v.is_nan())
        .ok_or_else(|| format!("\u{201c}{}\u{201d} is not a number", shown(value)))?;
    let limit = (INPUT_SIZE - 1) as f32;
    if v.is_finite() && (0.0..=limit).contains(&v) {
        Ok(v)
    } else {
        Err(format!("outside the image (0 to {limit})"))
    }
}

/// A model is named by a file or an id: letters, digits and `.-_`, no path.
fn model_name(value: &str) -> Result<String, String> {
    let plain = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !value.starts_with('.');
    if plain {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "\u{201c}{}\u{201d} is not a model's name",
            shown(value)
        ))
    }
}

/// A sample path (`shapes/heart.png`: no `..`, no leading `/`) or an http(s) address.
fn image(value: &str) -> Result<ImageRef, String> {
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        let printable = value.chars().all(|c| !c.is_control() && !c.is_whitespace());
        return if printable && value.len() > "https://".len() {
            Ok(ImageRef::Url(value.to_owned()))
        } else {
            Err("not a usable address".to_owned())
        };
    }
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
        && !value.starts_with('/')
        && !value
            .split('/')
            .any(|part| part.is_empty() || part.starts_with('.'));
    if plain {
        Ok(ImageRef::Sample(value.to_owned()))
    } else {
        Err(format!(
            "\u{201c}{}\u{201d} is neither a sample nor an http(s) address",
            shown(value)
        ))
    }
}

/// A stranger's value, cut short for a message.
fn shown(value: &str) -> String {
    let mut text: String = value.chars().take(24).collect();
    if value.chars().count() > 24 {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_round_trips_through_its_link() {
        let link = Link {
            model: Some("internimage-t".into()),
            image: Some(ImageRef::Sample("shapes/heart.png".into())),
            view: View {
                layer: 17,
                group: Some(5),
                point: (31.5, 200.0),
                show: Show::Concentration,
            },
        };
        let query = link.to_query();
        assert_eq!(
            query,
            "?model=internimage-t&image=shapes%2Fheart.png&layer=17&group=5&x=31.5&y=200&show=concentration"
        );
        assert_eq!(Link::parse(&query), (link, vec![]));
        let address = Link {
            image: Some(ImageRef::Url(
                "https://example.org/a%20b.jpg?x=1&y=2".into(),
            )),
            ..Link::default()
        };
        assert_eq!(Link::parse(&address.to_query()), (address, vec![]));
    }

    #[test]
    fn garbage_leaves_the_defaults_and_says_what_was_ignored() {
        let (link, ignored) = Link::parse(
            "?layer=abc&group=-1&x=NaN&y=5&show=everything&model=../../etc&image=/etc/passwd&zoom=3",
        );
        assert_eq!(link, Link::default());
        let keys: Vec<_> = ignored.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            ["layer", "group", "x", "show", "model", "image", "zoom", "y"]
        );
        assert!(
            ignored[0].to_string().contains("not a whole number"),
            "{}",
            ignored[0]
        );
        let (link, ignored) = Link::parse(&format!(
            "layer=99999999999999999999&x={}",
            "9".repeat(5000)
        ));
        assert_eq!(link, Link::default());
        assert_eq!(ignored.len(), 2);
        assert!(ignored[1].reason.contains("longer than"));
        let (_, ignored) = Link::parse(&"a=b&".repeat(10_000));
        assert_eq!(ignored.len(), 1);
        assert_eq!(Link::parse("").0, Link::default());
        assert_eq!(Link::parse("?&&=&").1, vec![]);
    }

    #[test]
    fn points_off_the_image_are_refused() {
        for bad in ["-1", "224", "inf", "1e9"] {
            let (link, ignored) = Link::parse(&format!("x={bad}&y=3"));
            assert_eq!(link.view.point, View::default().point, "{bad}");
            assert_eq!(ignored.len(), 2, "{bad}: {ignored:?}");
        }
        let (link, _) = Link::parse("x=0&y=223");
        assert_eq!(link.view.point, (0.0, 223.0));
    }
}
