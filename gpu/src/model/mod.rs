//! The InternImage network: configuration, weights, the forward pass and input preprocessing.

mod build;
pub mod config;
pub mod internimage;
pub mod predictions;
pub mod preprocess;
pub mod quant;
pub mod sampling;
pub mod weights;

pub use config::ModelConfig;
pub use internimage::{DcnLayer, InternImage, PendingSampling};
pub use weights::{Halved, Quantized, SafetensorsWeights, SeededWeights, WeightSource};
