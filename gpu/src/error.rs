//! The engine's one error type. The app maps each variant to a message a person understands.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("this browser does not offer WebGPU (navigator.gpu is missing or gives no adapter)")]
    WebGpuUnavailable,
    #[error("the GPU ran out of memory: {0}")]
    GpuOutOfMemory(String),
    #[error("the GPU refused the work (a validation error): {0}")]
    GpuValidation(String),
    #[error("no WebGPU adapter was found: {0}")]
    NoAdapter(String),
    #[error("the GPU refused to create a device: {0}")]
    RequestDevice(#[from] wgpu::RequestDeviceError),
    #[error("reading a result back from the GPU failed: {0}")]
    Readback(String),
    #[error("shape mismatch for {what}: expected {expected}, got {actual}")]
    Shape {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("bad weights: {0}")]
    Weights(String),
    #[error("the image could not be decoded: {0}")]
    Image(String),
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    #[error("{what} holds {count} values that are not finite numbers (NaN or infinity)")]
    NotFinite { what: String, count: usize },
}

/// Fails with `Error::NotFinite` naming `what` when any value is NaN or infinite.
pub fn ensure_finite<T: Finite>(what: impl FnOnce() -> String, values: &[T]) -> Result<()> {
    match values.iter().filter(|v| !v.is_finite_value()).count() {
        0 => Ok(()),
        count => Err(Error::NotFinite {
            what: what(),
            count,
        }),
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A number that can be NaN or infinite: f32 as computed, f16 as stored.
pub trait Finite {
    fn is_finite_value(&self) -> bool;
}

impl Finite for f32 {
    fn is_finite_value(&self) -> bool {
        self.is_finite()
    }
}

impl Finite for half::f16 {
    fn is_finite_value(&self) -> bool {
        self.is_finite()
    }
}
