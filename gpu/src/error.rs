//! The engine's one error type. The app maps each variant to a message a person understands.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("this browser does not offer WebGPU (navigator.gpu is missing or gives no adapter)")]
    WebGpuUnavailable,
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
}

pub type Result<T> = std::result::Result<T, Error>;
