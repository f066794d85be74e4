//! One file per panel of the page, in the order the page shows them. Each takes the [`Page`]
//! from context.
//!
//! [`Page`]: crate::state::Page

pub mod adapter;
pub mod checks;
pub mod explore;
pub mod file_drop;
pub mod image;
pub mod model;
