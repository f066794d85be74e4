//! Reading PyTorch checkpoints (`torch.save` zip files holding a pickled state dict): the
//! official release (weights under `'model'`), a bare state dict, and the Hugging Face port
//! (`model.`-prefixed names). The pickle is read by candle's reader; nothing is executed.

use std::collections::HashMap;
use std::path::Path;

use candle_core::pickle::PthTensors;
use gpu::model::WeightSource;

/// One tensor of a checkpoint: its shape and, when it is a floating-point tensor, its values.
pub struct LoadedTensor {
    pub shape: Vec<usize>,
    pub dtype: String,
    pub values: Option<Vec<f32>>,
}

/// A checkpoint's tensors by state-dict name, prefixes removed.
pub struct Checkpoint {
    pub tensors: HashMap<String, LoadedTensor>,
    /// Where the state dict was found: `'model'`, `'state_dict'`, or the top level.
    pub found_under: &'static str,
}

/// Keys under which training scripts store the state dict, the official one first.
const STATE_DICT_KEYS: [(Option<&str>, &str); 4] = [
    (Some("model"), "'model'"),
    (Some("state_dict"), "'state_dict'"),
    (Some("model_ema"), "'model_ema'"),
    (None, "the top level"),
];

pub fn read(path: &Path) -> Result<Checkpoint, String> {
    let (mut last_error, mut readable) = (None, false);
    for (key, found_under) in STATE_DICT_KEYS {
        match PthTensors::new(path, key) {
            Ok(pth) if !pth.tensor_infos().is_empty() => {
                let mut tensors = HashMap::new();
                for (name, info) in pth.tensor_infos() {
                    let tensor = pth
                        .get(name)
                        .map_err(|e| format!("tensor `{name}` cannot be read: {e}"))?
                        .ok_or_else(|| format!("tensor `{name}` vanished while reading"))?;
                    let values = if info.dtype.is_float() {
                        let flat = tensor
                            .to_dtype(candle_core::DType::F32)
                            .and_then(|t| t.flatten_all())
                            .and_then(|t| t.to_vec1::<f32>())
                            .map_err(|e| format!("tensor `{name}` cannot be converted: {e}"))?;
                        Some(flat)
                    } else {
                        None
                    };
                    let name = name
                        .strip_prefix("model.")
                        .or_else(|| name.strip_prefix("module."))
                        .unwrap_or(name);
                    tensors.insert(
                        name.to_owned(),
                        LoadedTensor {
                            shape: info.layout.dims().to_vec(),
                            dtype: format!("{:?}", info.dtype),
                            values,
                        },
                    );
                }
                return Ok(Checkpoint {
                    tensors,
                    found_under,
                });
            }
            Ok(_) => readable = true,
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    Err(match last_error {
        Some(_) if readable => {
            "the file holds no tensors: it is a PyTorch file, but not a checkpoint".to_owned()
        }
        Some(e) => format!("not a readable PyTorch checkpoint (a torch.save zip file): {e}"),
        None => "the file holds no tensors: it is a PyTorch file, but not a checkpoint".to_owned(),
    })
}

impl Checkpoint {
    pub fn shapes(&self) -> HashMap<String, Vec<usize>> {
        self.tensors
            .iter()
            .map(|(n, t)| (n.clone(), t.shape.clone()))
            .collect()
    }
}

impl WeightSource for Checkpoint {
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
        t.values.clone().ok_or_else(|| {
            weights(format!(
                "tensor `{name}` is {}, expected a floating-point type",
                t.dtype
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpu::model::ModelConfig;

    fn tiny_checkpoint() -> Checkpoint {
        let tensors = ModelConfig::test_tiny()
            .expected_tensors()
            .into_iter()
            .map(|(name, shape)| {
                let len = shape.iter().product();
                (
                    name,
                    LoadedTensor {
                        shape,
                        dtype: "F32".into(),
                        values: Some(vec![0.5; len]),
                    },
                )
            })
            .collect();
        Checkpoint {
            tensors,
            found_under: "the top level",
        }
    }

    fn error_of(checkpoint: &Checkpoint) -> String {
        let config = ModelConfig::test_tiny();
        match gpu::model::weights::to_safetensors(&config, checkpoint, None, None) {
            Ok(_) => "no error".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_complete_checkpoint_converts() {
        assert_eq!(error_of(&tiny_checkpoint()), "no error");
    }

    #[test]
    fn missing_misshapen_and_integer_tensors_are_named() {
        let mut c = tiny_checkpoint();
        c.tensors.remove("levels.1.blocks.0.mlp.fc1.weight");
        assert!(error_of(&c).contains(
            "tensor `levels.1.blocks.0.mlp.fc1.weight` is missing (expected shape [128, 32])"
        ));

        let mut c = tiny_checkpoint();
        c.tensors.get_mut("head.bias").unwrap().shape = vec![11];
        assert!(error_of(&c).contains("tensor `head.bias` has shape [11], expected [10]"));

        let mut c = tiny_checkpoint();
        let t = c.tensors.get_mut("patch_embed.conv1.bias").unwrap();
        (t.dtype, t.values) = ("I64".into(), None);
        assert!(
            error_of(&c)
                .contains("tensor `patch_embed.conv1.bias` is I64, expected a floating-point type")
        );
    }
}
