//! What the explorer shows, as plain data with two written forms: a link's query
//! (`?model=…&image=…&layer=3&group=1&x=112&y=80&show=offset`), which anyone may type or tamper
//! with, and the JSON a reload restores. Both are read without trusting a byte: whatever cannot
//! be used is dropped and named, and the rest is still shown.

mod query;
mod saved;

pub use query::{Ignored, Link, MAX_VALUE_BYTES};
pub use saved::{ChosenModel, Saved};

use serde::{Deserialize, Serialize};

/// The network's input is this many pixels square; points are in its pixels.
pub const INPUT_SIZE: u32 = 224;

/// The most DCNv3 layers or groups a link may name; no InternImage comes near either.
pub const MAX_LAYER: usize = 255;
pub const MAX_GROUP: u32 = 1023;

/// What is painted over the image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Show {
    /// Each group's sampling points at the chosen point.
    #[default]
    Points,
    /// The mean distance of the sampling points from the regular grid, per feature pixel.
    Offset,
    /// The largest modulation weight, per feature pixel.
    Concentration,
    /// How far the weighted sampling points scatter, per feature pixel.
    Spread,
}

impl Show {
    pub const ALL: [Self; 4] = [
        Self::Points,
        Self::Offset,
        Self::Concentration,
        Self::Spread,
    ];

    /// The name in a link.
    pub fn name(self) -> &'static str {
        match self {
            Self::Points => "points",
            Self::Offset => "offset",
            Self::Concentration => "concentration",
            Self::Spread => "spread",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The explorer's view of one image: which layer and group, at which point, showing what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// Index into the model's DCNv3 layers, first layer first.
    pub layer: usize,
    /// One group, or all.
    pub group: Option<u32>,
    /// The chosen point in input-image pixels (pixel centres at integers).
    pub point: (f32, f32),
    #[serde(default)]
    pub show: Show,
}

impl Default for View {
    fn default() -> Self {
        let centre = INPUT_SIZE as f32 / 2.0;
        Self {
            layer: 0,
            group: None,
            point: (centre, centre),
            show: Show::Points,
        }
    }
}

impl View {
    /// Whether `point` lies on the input image.
    pub fn point_on_image(point: (f32, f32)) -> bool {
        let limit = (INPUT_SIZE - 1) as f32;
        [point.0, point.1]
            .iter()
            .all(|v| v.is_finite() && (0.0..=limit).contains(v))
    }
}

/// The image shown, in a form another browser can fetch: a bundled sample or an address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageRef {
    /// A file under `public/samples/`, such as `shapes/heart.png`.
    Sample(String),
    /// An `http(s)` address.
    Url(String),
}
