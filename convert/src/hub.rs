//! The Hugging Face Hub's form of the official weights: `model.safetensors` (f32, the official
//! names under a wrapper's prefix such as `model.`) beside a `config.json` that gives what the
//! shapes cannot, such as DCNv3's offset scale.

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::{Dtype, SafeTensorError, SafeTensors};
use serde::Deserialize;

use crate::ConvertError;
use crate::checkpoint::{Checkpoint, ElementType, Format, RawTensor, official_name};

/// A safetensors file begins with its header's length (8 bytes, little-endian) and the header,
/// a JSON object.
pub fn looks_like_safetensors(bytes: &[u8]) -> bool {
    bytes.len() > 8 && bytes[8] == b'{'
}

pub fn read(bytes: &[u8]) -> Result<Checkpoint<'_>, ConvertError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| match e {
        SafeTensorError::MetadataIncompleteBuffer | SafeTensorError::InvalidOffset(_) => {
            ConvertError::Truncated(e.to_string())
        }
        other => ConvertError::Unreadable {
            what: "not a readable safetensors file",
            detail: other.to_string(),
        },
    })?;
    let mut tensors = HashMap::new();
    for (name, view) in file.tensors() {
        let element = match view.dtype() {
            Dtype::F32 => ElementType::F32,
            Dtype::F16 => ElementType::F16,
            Dtype::BF16 => ElementType::Bf16,
            Dtype::F64 => ElementType::F64,
            other => ElementType::Other(format!("{other:?}")),
        };
        tensors.insert(
            official_name(&name).to_owned(),
            RawTensor {
                shape: view.shape().to_vec(),
                element,
                data: Cow::Borrowed(view.data()),
            },
        );
    }
    if tensors.is_empty() {
        return Err(ConvertError::NoTensors);
    }
    Ok(Checkpoint {
        tensors,
        found_under: "the top level".to_owned(),
        format: Format::Safetensors,
    })
}

/// What is read of the Hub's `config.json`: the fields the shapes do not show.
#[derive(Debug, Default, Deserialize)]
pub struct HubConfig {
    pub offset_scale: Option<f32>,
    pub core_op: Option<String>,
}

impl HubConfig {
    pub fn parse(json: &[u8]) -> Result<Self, ConvertError> {
        let config: Self = serde_json::from_slice(json).map_err(|e| ConvertError::Unreadable {
            what: "config.json is not a model configuration",
            detail: e.to_string(),
        })?;
        // `DCNv3_pytorch` names the same operator, in PyTorch instead of CUDA.
        if let Some(op) = &config.core_op
            && !op.starts_with("DCNv3")
        {
            return Err(ConvertError::Unsupported(format!(
                "its core operator is {op}; the engine runs DCNv3"
            )));
        }
        Ok(config)
    }
}
