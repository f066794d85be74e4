//! One file per panel of the page. Each takes the [`Page`]
//! from context.
//!
//! [`Page`]: crate::state::Page

pub mod adapter;
pub mod camera;
pub mod checks;
pub mod explore;
pub mod file_drop;
pub mod gallery;
pub mod image;
pub mod model;
pub mod prediction;
