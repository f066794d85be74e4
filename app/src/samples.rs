//! The bundled samples under `public/samples/`, as data: generated shapes (held-out images of
//! the demo model's task, made by tools/train_demo.py), then photographs for ImageNet weights
//! such as InternImage-T.

/// One sample: its file under `public/samples/`, its button's title and its test id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub file: &'static str,
    pub title: &'static str,
    pub id: &'static str,
}

const fn sample(file: &'static str, title: &'static str, id: &'static str) -> Sample {
    Sample { file, title, id }
}

pub const SHAPES: [Sample; 4] = [
    sample("shapes/star-large.png", "large star", "star-large"),
    sample("shapes/star-small.png", "small star", "star-small"),
    sample("shapes/heart.png", "heart", "heart"),
    sample("shapes/arrow-small.png", "small arrow", "arrow-small"),
];

pub const PHOTOS: [Sample; 4] = [
    sample("coffee.jpg", "coffee", "coffee"),
    sample("chelsea-the-cat.jpg", "cat", "cat"),
    sample("astronaut.jpg", "astronaut", "astronaut"),
    sample("rocket.jpg", "rocket", "rocket"),
];

/// The sample saved under `file`, if it is still bundled.
pub fn named(file: &str) -> Option<Sample> {
    SHAPES
        .iter()
        .chain(&PHOTOS)
        .copied()
        .find(|s| s.file == file)
}

/// Where the page fetches a sample from.
pub fn url(sample: Sample) -> String {
    format!("public/samples/{}", sample.file)
}
