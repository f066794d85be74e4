//! A checkpoint's tensors as read from its bytes, borrowed where the file stores them plainly,
//! and checked against the variant their shapes describe.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use gpu::model::{ModelConfig, WeightSource};
use half::{bf16, f16};

use crate::{ConvertError, MAX_CHECKPOINT_BYTES};

/// Which of the two official forms a checkpoint came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `torch.save`'s zip with a pickled state dict.
    Pth,
    /// safetensors, as the Hugging Face Hub publishes the weights.
    Safetensors,
}

/// How a tensor's elements are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElementType {
    F32,
    F16,
    Bf16,
    F64,
    /// Not floating point (a BatchNorm's `num_batches_tracked`, say): never read as a weight.
    Other(String),
}

impl ElementType {
    pub fn size(&self) -> Option<usize> {
        match self {
            Self::F32 => Some(4),
            Self::F16 | Self::Bf16 => Some(2),
            Self::F64 => Some(8),
            Self::Other(_) => None,
        }
    }
}

/// One tensor: its shape, element type and little-endian bytes.
pub struct RawTensor<'a> {
    pub shape: Vec<usize>,
    pub element: ElementType,
    pub data: Cow<'a, [u8]>,
}

impl RawTensor<'_> {
    fn to_f32(&self) -> Vec<f32> {
        let data = &self.data[..];
        match self.element {
            ElementType::F32 => bytemuck::pod_collect_to_vec(data),
            ElementType::F16 => data
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            ElementType::Bf16 => data
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            ElementType::F64 => bytemuck::pod_collect_to_vec::<u8, f64>(data)
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            ElementType::Other(_) => Vec::new(),
        }
    }
}

/// A checkpoint's tensors by their official names (a wrapper's prefix removed).
pub struct Checkpoint<'a> {
    pub tensors: HashMap<String, RawTensor<'a>>,
    /// Where the state dict was found: `'model'`, the top level, …
    pub found_under: String,
    pub format: Format,
}

/// Prefixes a wrapper puts before the official names: the Hub's port, `DataParallel`.
const WRAPPER_PREFIXES: [&str; 2] = ["model.", "module."];

/// The official name of `name`: without a wrapper's prefix.
pub fn official_name(name: &str) -> &str {
    WRAPPER_PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

impl<'a> Checkpoint<'a> {
    /// Reads either official form, told apart by the first bytes.
    pub fn read(bytes: &'a [u8]) -> Result<Self, ConvertError> {
        if bytes.len() as u64 > MAX_CHECKPOINT_BYTES {
            return Err(ConvertError::TooLarge {
                size: bytes.len() as u64,
            });
        }
        if bytes.starts_with(b"PK") {
            crate::pth::read(bytes)
        } else if crate::hub::looks_like_safetensors(bytes) {
            crate::hub::read(bytes)
        } else {
            Err(ConvertError::UnknownFormat)
        }
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    pub fn shapes(&self) -> HashMap<String, Vec<usize>> {
        self.tensors
            .iter()
            .map(|(n, t)| (n.clone(), t.shape.clone()))
            .collect()
    }

    /// The variant the shapes describe; a state dict of another network is named as such.
    pub fn config(&self) -> Result<ModelConfig, ConvertError> {
        let is_internimage = self
            .tensors
            .keys()
            .any(|n| n.starts_with("patch_embed.") || n.starts_with("levels."));
        if !is_internimage {
            let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
            names.sort_unstable();
            return Err(ConvertError::NotInternImage {
                count: names.len(),
                examples: listed(&names),
            });
        }
        Ok(ModelConfig::infer_from_shapes(&self.shapes())?)
    }

    /// Every tensor `config` reads is present; all that are not are counted, the first named.
    pub fn check_complete(&self, config: &ModelConfig) -> Result<(), ConvertError> {
        let missing: Vec<String> = config
            .expected_tensors()
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| !self.tensors.contains_key(name))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = missing.iter().map(String::as_str).collect();
        Err(ConvertError::Missing {
            count: missing.len(),
            examples: listed(&names),
        })
    }
}

/// The first few names in backticks, and how many more.
fn listed(names: &[&str]) -> String {
    const SHOWN: usize = 4;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text += &format!(" and {} more", names.len() - SHOWN);
    }
    text
}

impl WeightSource for Checkpoint<'_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> gpu::Result<Vec<f32>> {
        let weights = |m: String| gpu::Error::Weights(m);
        let t = self.tensors.get(name).ok_or_else(|| {
            weights(format!(
                "tensor `{name}` is missing (expected shape {shape:?})"
            ))
        })?;
        if t.shape != shape {
            return Err(weights(format!(
                "tensor `{name}` has shape {:?}, expected {shape:?}",
                t.shape
            )));
        }
        if let ElementType::Other(kind) = &t.element {
            return Err(weights(format!(
                "tensor `{name}` is {kind}, expected a floating-point type"
            )));
        }
        Ok(t.to_f32())
    }
}

/// A checkpoint that reports each tensor read, for a progress bar.
pub struct Counted<'c, 'a, 'f> {
    inner: &'c Checkpoint<'a>,
    total: usize,
    done: Cell<usize>,
    on_tensor: RefCell<&'f mut dyn FnMut(usize, usize)>,
}

impl<'c, 'a, 'f> Counted<'c, 'a, 'f> {
    pub fn new(
        inner: &'c Checkpoint<'a>,
        total: usize,
        on_tensor: &'f mut dyn FnMut(usize, usize),
    ) -> Self {
        Self {
            inner,
            total,
            done: Cell::new(0),
            on_tensor: RefCell::new(on_tensor),
        }
    }
}

impl WeightSource for Counted<'_, '_, '_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> gpu::Result<Vec<f32>> {
        let values = self.inner.tensor(name, shape)?;
        self.done.set(self.done.get() + 1);
        (self.on_tensor.borrow_mut())(self.done.get(), self.total);
        Ok(values)
    }
}
