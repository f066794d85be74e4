//! Official InternImage checkpoints to the engine's safetensors, one implementation for the
//! command line (`internimage convert`) and the page (its conversion worker). Two official forms
//! are read from bytes in memory:
//!
//! - the PyTorch release, `internimage_t_1k_224.pth` (a `torch.save` zip; the state dict under
//!   `'model'`, or bare): [`pth`];
//! - the Hugging Face Hub's `model.safetensors` (f32, the official names under a wrapper's
//!   prefix such as `model.`), beside its `config.json`: [`hub`].
//!
//! The variant is read off the shapes, every tensor is checked, the ImageNet-1k names go into
//! the metadata, and the output is byte for byte the same wherever it runs.

pub mod checkpoint;
pub mod hub;
pub mod pth;

use gpu::model::ModelConfig;
use gpu::model::weights::{StoredAs, to_safetensors_as};

pub use checkpoint::{Checkpoint, Format};

/// ImageNet-1k class names in class order (from torchvision's metadata, BSD-3-Clause).
pub const IMAGENET_LABELS: &str = include_str!("../../public/labels/imagenet-1k.txt");

/// The largest checkpoint read: the official InternImage-T is 120 MB, -XL about 1.3 GB; a file
/// over this would not fit beside its conversion in a browser tab's WebAssembly memory.
pub const MAX_CHECKPOINT_BYTES: u64 = 1 << 30;

/// Why a checkpoint cannot be converted, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(
        "the file is {size} bytes; checkpoints over {} MB are not read here (InternImage-T's is \
         120 MB)",
        MAX_CHECKPOINT_BYTES >> 20
    )]
    TooLarge { size: u64 },
    #[error(
        "it is neither a PyTorch checkpoint (.pth) nor a safetensors file: choose \
         internimage_t_1k_224.pth or model.safetensors"
    )]
    UnknownFormat,
    #[error("the file is cut short ({0}): download it again")]
    Truncated(String),
    #[error("a zip file, but not a PyTorch checkpoint ({0})")]
    NotACheckpoint(String),
    #[error("a PyTorch file that holds no tensors: it is not a checkpoint")]
    NoTensors,
    #[error(
        "not an InternImage checkpoint: none of its {count} tensors ({examples}) is one of \
         InternImage's, such as `patch_embed.conv1.weight` or `levels.0.blocks.0.dcn.offset.weight`"
    )]
    NotInternImage { count: usize, examples: String },
    #[error("an InternImage checkpoint with {count} tensors missing: {examples}")]
    Missing { count: usize, examples: String },
    #[error("an InternImage the engine cannot run: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Tensor(String),
    #[error("{what}: {detail}")]
    Unreadable { what: &'static str, detail: String },
}

impl From<gpu::Error> for ConvertError {
    fn from(error: gpu::Error) -> Self {
        match error {
            gpu::Error::Unsupported(what) => Self::Unsupported(what),
            gpu::Error::Weights(what) => Self::Tensor(what),
            other => Self::Tensor(other.to_string()),
        }
    }
}

/// How to write the converted file.
#[derive(Clone, Debug)]
pub struct Options {
    pub stored_as: StoredAs,
    /// Class names; `None` gives the ImageNet-1k names to a 1000-class model, none otherwise.
    pub labels: Option<Vec<String>>,
    /// DCNv3's offset scale, which the shapes do not show (the Hub's `config.json` says it).
    pub offset_scale: f32,
    /// What the page says the weights are; `None` describes the variant and `source_name`.
    pub description: Option<String>,
    /// The checkpoint's file name, for the description.
    pub source_name: String,
}

impl Options {
    /// What the page installs: int8, as `internimage convert --dtype int8` writes it.
    pub fn int8(source_name: &str) -> Self {
        Self {
            stored_as: StoredAs::Int8 {
                keep_offset_and_mask: false,
            },
            labels: None,
            offset_scale: 1.0,
            description: None,
            source_name: source_name.to_owned(),
        }
    }
}

/// A converted checkpoint.
#[derive(Clone, Debug)]
pub struct Converted {
    pub bytes: Vec<u8>,
    pub config: ModelConfig,
    /// Tensors in the checkpoint, and where its state dict was found.
    pub tensors_read: usize,
    pub found_under: String,
    pub format: Format,
}

/// Reads `bytes` (either official form), checks it and writes the engine's safetensors.
/// `on_tensor(done, total)` is called after each tensor written.
pub fn convert(
    bytes: &[u8],
    options: &Options,
    on_tensor: &mut dyn FnMut(usize, usize),
) -> Result<Converted, ConvertError> {
    let checkpoint = Checkpoint::read(bytes)?;
    let mut config = checkpoint.config()?;
    config.offset_scale = options.offset_scale;
    config.validate()?;
    checkpoint.check_complete(&config)?;
    let labels = match &options.labels {
        Some(names) if names.len() != config.num_classes as usize => {
            return Err(ConvertError::Tensor(format!(
                "{} labels for {} classes",
                names.len(),
                config.num_classes
            )));
        }
        Some(names) => Some(names.clone()),
        None if config.num_classes == 1000 => {
            Some(IMAGENET_LABELS.lines().map(String::from).collect())
        }
        None => None,
    };
    let description = options.description.clone().unwrap_or_else(|| {
        format!(
            "InternImage ({} channels, depths {:?}, {} classes) converted from {}",
            config.channels, config.depths, config.num_classes, options.source_name
        )
    });
    let counted = checkpoint::Counted::new(&checkpoint, config.expected_tensors().len(), on_tensor);
    let bytes = to_safetensors_as(
        &config,
        &counted,
        labels.as_deref(),
        Some(&description),
        options.stored_as,
    )?;
    Ok(Converted {
        bytes,
        config,
        tensors_read: checkpoint.len(),
        found_under: checkpoint.found_under.clone(),
        format: checkpoint.format,
    })
}
