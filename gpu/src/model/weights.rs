//! Where the model's tensors come from: a safetensors file (config in its metadata), or a seeded
//! generator that `tools/internimage_reference.py` reproduces, so that large test weights are
//! never committed.

use std::collections::HashMap;

use half::f16;
use safetensors::{Dtype, SafeTensors};

use super::config::ModelConfig;
use super::quant;
use crate::error::{Error, Result, ensure_finite};
use crate::seeded::SeededRng;

/// A provider of named f32 tensors, each checked against the shape the model expects.
pub trait WeightSource {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>>;

    /// The tensor as int8 with one scale per output row (`value = q * scale[row]`), when the
    /// source holds it so; `tensor` then returns the same values dequantized.
    fn quantized(&self, _name: &str, _shape: &[usize]) -> Result<Option<(Vec<i8>, Vec<f32>)>> {
        Ok(None)
    }

    /// The tensor as f16, when the source holds it so; `tensor` then returns the same values
    /// widened.
    fn halves(&self, _name: &str, _shape: &[usize]) -> Result<Option<Vec<f16>>> {
        Ok(None)
    }
}

/// Any weight source seen as an f16 file would hold it: every tensor rounded to f16.
pub struct Halved<'a>(pub &'a dyn WeightSource);

impl Halved<'_> {
    fn rounded(&self, name: &str, shape: &[usize]) -> Result<Vec<f16>> {
        let values = self.0.tensor(name, shape)?;
        Ok(values.into_iter().map(f16::from_f32).collect())
    }
}

impl WeightSource for Halved<'_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        Ok(widened(self.rounded(name, shape)?))
    }

    fn halves(&self, name: &str, shape: &[usize]) -> Result<Option<Vec<f16>>> {
        self.rounded(name, shape).map(Some)
    }
}

/// Any weight source seen through int8: the chosen tensors are quantized on the fly, and
/// `tensor` returns their dequantized values so every path agrees.
pub struct Quantized<'a> {
    pub inner: &'a dyn WeightSource,
    pub keep_offset_and_mask: bool,
}

impl WeightSource for Quantized<'_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        match self.quantized(name, shape)? {
            Some((q, scales)) => Ok(quant::dequantize_rows(&q, &scales)),
            None => self.inner.tensor(name, shape),
        }
    }

    fn quantized(&self, name: &str, shape: &[usize]) -> Result<Option<(Vec<i8>, Vec<f32>)>> {
        if !quant::is_quantized(name, shape, self.keep_offset_and_mask) {
            return Ok(None);
        }
        Ok(Some(quant::quantize_rows(
            &self.inner.tensor(name, shape)?,
            shape[0],
        )))
    }
}

fn widened(halves: Vec<f16>) -> Vec<f32> {
    halves.into_iter().map(f16::to_f32).collect()
}

/// Weights read from a safetensors file held in memory.
pub struct SafetensorsWeights<'a> {
    file: SafeTensors<'a>,
    pub config: ModelConfig,
    /// Class names, when the file's metadata carries them (key `labels`, a JSON array).
    pub labels: Option<Vec<String>>,
    /// What these weights are, in words (key `description`), when the file says.
    pub description: Option<String>,
}

fn weights_error(message: impl Into<String>) -> Error {
    Error::Weights(message.into())
}

impl<'a> SafetensorsWeights<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| weights_error(format!("not a readable safetensors file: {e}")))?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| weights_error(format!("unreadable safetensors header: {e}")))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let config_json = metadata
            .get("config")
            .ok_or_else(|| weights_error("the file's metadata has no `config` entry"))?;
        let config: ModelConfig = serde_json::from_str(config_json).map_err(|e| {
            weights_error(format!(
                "the `config` metadata is not a model configuration: {e}"
            ))
        })?;
        config.validate()?;
        // Checked before any tensor is read: a small file cannot ask for a huge network.
        let parameters = config.parameter_count();
        if parameters > bytes.len() {
            return Err(weights_error(format!(
                "the config describes {parameters} parameters, more than a file of {} bytes \
                 can hold (at least one byte each)",
                bytes.len()
            )));
        }
        let labels = match metadata.get("labels") {
            Some(json) => Some(serde_json::from_str::<Vec<String>>(json).map_err(|e| {
                weights_error(format!("the `labels` metadata is not a list of names: {e}"))
            })?),
            None => None,
        };
        if let Some(labels) = &labels
            && labels.len() != config.num_classes as usize
        {
            return Err(weights_error(format!(
                "{} labels for {} classes",
                labels.len(),
                config.num_classes
            )));
        }
        let description = metadata.get("description").cloned();
        Ok(Self {
            file,
            config,
            labels,
            description,
        })
    }
}

/// The companion tensor holding an int8 tensor's per-row scales.
pub fn scale_name(name: &str) -> String {
    format!("{name}.scale")
}

impl SafetensorsWeights<'_> {
    fn view(&self, name: &str, shape: &[usize]) -> Result<safetensors::tensor::TensorView<'_>> {
        let view = self.file.tensor(name).map_err(|_| {
            weights_error(format!(
                "tensor `{name}` is missing (expected shape {shape:?})"
            ))
        })?;
        if view.shape() != shape {
            return Err(weights_error(format!(
                "tensor `{name}` has shape {:?}, expected {shape:?}",
                view.shape()
            )));
        }
        Ok(view)
    }
}

impl WeightSource for SafetensorsWeights<'_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        if let Some((q, scales)) = self.quantized(name, shape)? {
            return Ok(quant::dequantize_rows(&q, &scales));
        }
        if let Some(halves) = self.halves(name, shape)? {
            return Ok(widened(halves));
        }
        let view = self.view(name, shape)?;
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => bytemuck::pod_collect_to_vec(data),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(weights_error(format!(
                    "tensor `{name}` is {other:?}; expected F32, F16, BF16 or I8 with scales"
                )));
            }
        };
        ensure_finite(|| format!("tensor `{name}`"), &values)?;
        Ok(values)
    }

    fn quantized(&self, name: &str, shape: &[usize]) -> Result<Option<(Vec<i8>, Vec<f32>)>> {
        let view = self.view(name, shape)?;
        if view.dtype() != Dtype::I8 {
            return Ok(None);
        }
        let scales = self.tensor(&scale_name(name), &shape[..1])?;
        Ok(Some((bytemuck::cast_slice(view.data()).to_vec(), scales)))
    }

    fn halves(&self, name: &str, shape: &[usize]) -> Result<Option<Vec<f16>>> {
        let view = self.view(name, shape)?;
        if view.dtype() != Dtype::F16 {
            return Ok(None);
        }
        let halves: Vec<f16> = bytemuck::pod_collect_to_vec(view.data());
        ensure_finite(|| format!("tensor `{name}`"), &halves)?;
        Ok(Some(halves))
    }
}

/// Deterministic random weights for a configuration: tensor `i` of the sorted names is drawn
/// from `SeededRng::new(seed + i)` by the rule of [`seeded_range`]. Offsets and masks come out
/// non-zero, so the deformable path is exercised.
pub struct SeededWeights {
    seed: u64,
    index: HashMap<String, u64>,
}

impl SeededWeights {
    pub fn new(config: &ModelConfig, seed: u64) -> Self {
        let mut names: Vec<String> = config
            .expected_tensors()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        names.sort();
        let index = names.into_iter().zip(0..).collect();
        Self { seed, index }
    }
}

/// The uniform range of a seeded tensor, by its name and shape.
pub fn seeded_range(name: &str, shape: &[usize]) -> (f32, f32) {
    if name.ends_with("running_var") {
        (0.5, 1.5)
    } else if name.ends_with("running_mean") || (shape.len() == 1 && name.ends_with("bias")) {
        (-0.1, 0.1)
    } else if shape.len() == 1 {
        (0.8, 1.2)
    } else {
        let fan_in: usize = shape[1..].iter().product();
        // Unit-variance outputs for unit-variance inputs; offsets twice that, about 1.5 pixels.
        let gain = if name.ends_with("dcn.offset.weight") {
            2.0
        } else {
            1.0
        };
        let bound = gain * (3.0 / fan_in as f32).sqrt();
        (-bound, bound)
    }
}

impl WeightSource for SeededWeights {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let index = self
            .index
            .get(name)
            .ok_or_else(|| weights_error(format!("no seeded tensor `{name}`")))?;
        let (lo, hi) = seeded_range(name, shape);
        let mut rng = SeededRng::new(self.seed.wrapping_add(*index));
        Ok(rng.uniform_vec(shape.iter().product(), lo, hi))
    }
}

/// The element type a weights file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredAs {
    F32,
    /// Half the size. Where the adapter has `shader-f16` the linear and dense convolution
    /// weights stay f16 on the GPU; the engine widens the rest, and all of it elsewhere, to
    /// f32 when it loads.
    F16,
    /// Linear and 1x1-convolution weights as int8 with per-output-channel f32 scales in
    /// `<name>.scale` (the rest f32): a quarter of the size, and int8 on the GPU too.
    /// `keep_offset_and_mask` leaves the DCNv3 offset and mask linears in f32.
    Int8 {
        keep_offset_and_mask: bool,
    },
}

/// Serialises every tensor of `config` from `source` as an f32 safetensors file with the config,
/// and the labels and description if given, in its metadata.
pub fn to_safetensors(
    config: &ModelConfig,
    source: &dyn WeightSource,
    labels: Option<&[String]>,
    description: Option<&str>,
) -> Result<Vec<u8>> {
    to_safetensors_as(config, source, labels, description, StoredAs::F32)
}

/// [`to_safetensors`] in a chosen element type.
pub fn to_safetensors_as(
    config: &ModelConfig,
    source: &dyn WeightSource,
    labels: Option<&[String]>,
    description: Option<&str>,
    stored_as: StoredAs,
) -> Result<Vec<u8>> {
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, shape) in config.expected_tensors() {
        if let StoredAs::Int8 {
            keep_offset_and_mask,
        } = stored_as
            && quant::is_quantized(&name, &shape, keep_offset_and_mask)
        {
            let (q, scales) = match source.quantized(&name, &shape)? {
                Some(quantized) => quantized,
                None => quant::quantize_rows(&source.tensor(&name, &shape)?, shape[0]),
            };
            let scale_bytes = bytemuck::cast_slice(&scales).to_vec();
            tensors.push((scale_name(&name), Dtype::F32, vec![shape[0]], scale_bytes));
            tensors.push((name, Dtype::I8, shape, bytemuck::cast_slice(&q).to_vec()));
            continue;
        }
        let data = source.tensor(&name, &shape)?;
        let (dtype, bytes) = match stored_as {
            StoredAs::F16 => (
                Dtype::F16,
                data.iter()
                    .flat_map(|&v| f16::from_f32(v).to_le_bytes())
                    .collect(),
            ),
            _ => (Dtype::F32, bytemuck::cast_slice(&data).to_vec()),
        };
        tensors.push((name, dtype, shape, bytes));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            let view = safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
                .map_err(|e| weights_error(format!("{name}: {e}")))?;
            Ok((name.clone(), view))
        })
        .collect::<Result<_>>()?;
    let mut metadata = HashMap::from([(
        "config".to_owned(),
        serde_json::to_string(config).expect("config serialises"),
    )]);
    if let Some(labels) = labels {
        metadata.insert(
            "labels".into(),
            serde_json::to_string(labels).expect("labels serialise"),
        );
    }
    if let Some(description) = description {
        metadata.insert("description".into(), description.to_owned());
    }
    let bytes =
        safetensors::serialize(views, Some(metadata)).map_err(|e| weights_error(e.to_string()))?;
    Ok(with_sorted_header(bytes))
}

/// safetensors writes its metadata map in hash order, which differs from run to run and between
/// the CLI and the page: the header is written again with its keys sorted, so that the same
/// weights always give the same bytes.
fn with_sorted_header(bytes: Vec<u8>) -> Vec<u8> {
    let length = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + length]).expect("safetensors wrote JSON");
    let mut text = serde_json::to_string(&header)
        .expect("serialises")
        .into_bytes();
    // The data stays aligned as safetensors aligns it.
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut sorted = Vec::with_capacity(bytes.len() + 8);
    sorted.extend((text.len() as u64).to_le_bytes());
    sorted.extend(text);
    sorted.extend(&bytes[8 + length..]);
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeded tiny variant with one tensor's first value replaced.
    struct Poisoned<'a> {
        inner: &'a SeededWeights,
        name: &'static str,
        value: f32,
    }

    impl WeightSource for Poisoned<'_> {
        fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
            let mut values = self.inner.tensor(name, shape)?;
            if name == self.name {
                values[0] = self.value;
            }
            Ok(values)
        }
    }

    #[test]
    fn the_same_weights_give_the_same_bytes() {
        let config = ModelConfig::test_tiny();
        let seeded = SeededWeights::new(&config, 1);
        let labels: Vec<String> = (0..config.num_classes).map(|i| i.to_string()).collect();
        let write = || to_safetensors(&config, &seeded, Some(&labels), Some("seeded")).unwrap();
        let first = write();
        // Metadata maps hash with a new seed each time: several writes would differ.
        assert!((0..4).all(|_| write() == first));
        let parsed = SafetensorsWeights::parse(&first).expect("still safetensors");
        assert_eq!(parsed.description.as_deref(), Some("seeded"));
    }

    #[test]
    fn a_weight_that_is_not_a_number_is_refused_naming_its_tensor() {
        let config = ModelConfig::test_tiny();
        let seeded = SeededWeights::new(&config, 1);
        let name = "levels.1.blocks.0.mlp.fc1.weight";
        let shape = config
            .expected_tensors()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1;
        for (value, stored_as) in [(f32::NAN, StoredAs::F32), (f32::INFINITY, StoredAs::F16)] {
            let poisoned = Poisoned {
                inner: &seeded,
                name,
                value,
            };
            let bytes = to_safetensors_as(&config, &poisoned, None, None, stored_as).unwrap();
            let file = SafetensorsWeights::parse(&bytes).unwrap();
            let error = file.tensor(name, &shape).unwrap_err().to_string();
            assert_eq!(
                error,
                format!(
                    "tensor `{name}` holds 1 values that are not finite numbers (NaN or infinity)"
                )
            );
        }
    }

    #[test]
    fn a_small_file_cannot_ask_for_a_large_network() {
        let config = serde_json::to_string(&ModelConfig::internimage_t()).unwrap();
        let metadata = HashMap::from([("config".to_owned(), config)]);
        let no_tensors: Vec<(&str, safetensors::tensor::TensorView<'_>)> = Vec::new();
        let bytes = safetensors::serialize(no_tensors, Some(metadata)).unwrap();
        let error = SafetensorsWeights::parse(&bytes).err().unwrap().to_string();
        assert!(
            error.contains("describes 29918424 parameters, more than a file of"),
            "{error}"
        );
    }

    #[test]
    fn a_file_of_no_bytes_is_refused_as_not_safetensors() {
        let error = SafetensorsWeights::parse(&[]).err().unwrap().to_string();
        assert!(error.contains("not a readable safetensors file"), "{error}");
    }

    #[test]
    fn a_header_that_lies_about_its_offsets_is_refused() {
        let config = ModelConfig::test_tiny();
        let bytes = to_safetensors_as(
            &config,
            &SeededWeights::new(&config, 1),
            None,
            None,
            StoredAs::F32,
        )
        .unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
        let mut header: serde_json::Value = serde_json::from_str(header).unwrap();
        // Past the end of the file, then overlapping the tensor before it.
        for lie in [[0, 1u64 << 40], [0, 4]] {
            header["head.bias"]["data_offsets"] = serde_json::json!(lie);
            let text = serde_json::to_string(&header).unwrap();
            let mut lying = (text.len() as u64).to_le_bytes().to_vec();
            lying.extend(text.as_bytes());
            lying.extend(&bytes[8 + header_len..]);
            let error = SafetensorsWeights::parse(&lying).err().unwrap().to_string();
            assert!(
                error.contains("not a readable safetensors file"),
                "{lie:?}: {error}"
            );
        }
    }
}
