//! One op per folder: launcher, WGSL kernel and CPU reference together.

pub mod dcnv3;
