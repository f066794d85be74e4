//! The model's configuration: what varies between InternImage variants. It travels as JSON in the
//! weights file's metadata under the key `config`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// LayerNorm epsilon everywhere but the head (spec section 1).
pub const LAYER_NORM_EPS: f32 = 1e-6;
/// The head's BatchNorm epsilon.
pub const BATCH_NORM_EPS: f32 = 1e-5;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Channels of the first level; level i has `channels * 2^i`.
    pub channels: u32,
    /// Blocks per level.
    pub depths: Vec<u32>,
    /// DCNv3 groups per level.
    pub groups: Vec<u32>,
    pub mlp_ratio: f32,
    pub offset_scale: f32,
    /// Head width is `int(last level channels * cls_scale)`.
    pub cls_scale: f32,
    pub num_classes: u32,
    /// Features of the larger variants this engine does not implement yet; T has none of them.
    #[serde(default)]
    pub layer_scale: Option<f32>,
    #[serde(default)]
    pub post_norm: bool,
    #[serde(default)]
    pub res_post_norm: bool,
    #[serde(default)]
    pub center_feature_scale: bool,
    #[serde(default)]
    pub remove_center: bool,
    #[serde(default)]
    pub dw_kernel_size: Option<u32>,
}

/// What a configuration may ask for: above the largest published InternImage (G: 512 channels,
/// depths up to 32 a level, ImageNet-22k's 21,841 classes), so that no real variant is refused
/// and no file can ask for an unbounded network.
pub mod limits {
    pub const MAX_LEVELS: usize = 4;
    pub const MAX_DEPTH: u32 = 64;
    pub const MAX_CHANNELS: u32 = 1024;
    pub const MAX_CLASSES: u32 = 100_000;
    /// For the MLP ratio, the head's scale and the offset scale.
    pub const MAX_RATIO: f32 = 16.0;
}

impl ModelConfig {
    /// InternImage-T, ImageNet-1k (spec section 1).
    pub fn internimage_t() -> Self {
        Self {
            channels: 64,
            depths: vec![4, 4, 18, 4],
            groups: vec![4, 8, 16, 32],
            mlp_ratio: 4.0,
            offset_scale: 1.0,
            cls_scale: 1.5,
            num_classes: 1000,
            layer_scale: None,
            post_norm: false,
            res_post_norm: false,
            center_feature_scale: false,
            remove_center: false,
            dw_kernel_size: None,
        }
    }

    /// A narrow, shallow member of the family for fixtures: every code path, 16 channels a group.
    pub fn test_tiny() -> Self {
        Self {
            channels: 16,
            depths: vec![1, 1, 2, 1],
            groups: vec![1, 2, 4, 8],
            num_classes: 10,
            ..Self::internimage_t()
        }
    }

    /// Reads the variant off the shapes of a state dict's tensors (official names): channels from
    /// the stem, depths from the block indices, groups from the offset linears, the MLP ratio,
    /// head width and class count from their weights. `offset_scale` cannot be seen in shapes:
    /// it is T's 1.0 unless the caller changes it.
    pub fn infer_from_shapes(
        shapes: &std::collections::HashMap<String, Vec<usize>>,
    ) -> Result<Self> {
        let get = |name: &str| {
            shapes.get(name).ok_or_else(|| {
                Error::Weights(format!(
                    "cannot tell the InternImage variant: tensor `{name}` is missing"
                ))
            })
        };
        let dim = |name: &str, axis: usize| -> Result<u32> {
            get(name)?.get(axis).map(|&d| d as u32).ok_or_else(|| {
                Error::Weights(format!(
                    "tensor `{name}` has shape {:?}, too few dimensions",
                    shapes[name]
                ))
            })
        };
        let channels = dim("patch_embed.conv2.weight", 0)?;
        let (mut depths, mut groups) = (Vec::new(), Vec::new());
        for level in 0.. {
            let depth = (0..)
                .take_while(|b| {
                    shapes.contains_key(&format!("levels.{level}.blocks.{b}.norm1.0.weight"))
                })
                .count();
            if depth == 0 {
                break;
            }
            depths.push(depth as u32);
            groups.push(dim(&format!("levels.{level}.blocks.0.dcn.offset.weight"), 0)? / 18);
        }
        if depths.is_empty() {
            return Err(Error::Weights(
                "no `levels.*.blocks.*` tensors: this is not an InternImage state dict".into(),
            ));
        }
        let last = channels << (depths.len() - 1);
        let has = |suffix: &str| shapes.keys().any(|k| k.ends_with(suffix));
        Ok(Self {
            channels,
            mlp_ratio: dim("levels.0.blocks.0.mlp.fc1.weight", 0)? as f32 / channels as f32,
            cls_scale: dim("head.weight", 1)? as f32 / last as f32,
            num_classes: dim("head.weight", 0)?,
            depths,
            groups,
            offset_scale: 1.0,
            layer_scale: has(".gamma1").then_some(1.0),
            post_norm: false,
            res_post_norm: has(".res_post_norm1.weight") || has(".res_post_norm1.0.weight"),
            center_feature_scale: has("center_feature_scale_proj_weight"),
            remove_center: false,
            dw_kernel_size: Some(dim("levels.0.blocks.0.dcn.dw_conv.0.weight", 2)?),
        })
    }

    pub fn levels(&self) -> usize {
        self.depths.len()
    }

    pub fn level_channels(&self, level: usize) -> u32 {
        self.channels << level
    }

    pub fn group_channels(&self, level: usize) -> u32 {
        self.level_channels(level) / self.groups[level]
    }

    pub fn mlp_hidden(&self, level: usize) -> u32 {
        (self.level_channels(level) as f32 * self.mlp_ratio) as u32
    }

    pub fn head_width(&self) -> u32 {
        (self.level_channels(self.levels() - 1) as f32 * self.cls_scale) as u32
    }

    pub fn validate(&self) -> Result<()> {
        let unsupported = |what: &str| Err(Error::Unsupported(what.to_owned()));
        if self.levels() == 0 || self.groups.len() != self.levels() {
            return unsupported("depths and groups must list the same, non-zero number of levels");
        }
        // Bounds first, so that nothing below computes or allocates from an absurd number.
        let in_range = |v: f32| v.is_finite() && v > 0.0 && v <= limits::MAX_RATIO;
        if self.levels() > limits::MAX_LEVELS
            || self.depths.iter().any(|&d| d == 0 || d > limits::MAX_DEPTH)
            || self.channels > limits::MAX_CHANNELS
            || self.num_classes == 0
            || self.num_classes > limits::MAX_CLASSES
            || !in_range(self.mlp_ratio)
            || !in_range(self.cls_scale)
            || !in_range(self.offset_scale)
        {
            return unsupported(&format!(
                "outside the bounds of any InternImage: at most {} levels of 1 to {} blocks, \
                 {} channels, 1 to {} classes, ratios and scales above 0 up to {}",
                limits::MAX_LEVELS,
                limits::MAX_DEPTH,
                limits::MAX_CHANNELS,
                limits::MAX_CLASSES,
                limits::MAX_RATIO
            ));
        }
        if self.layer_scale.is_some() || self.post_norm || self.res_post_norm {
            return unsupported(
                "layer scale and post-norm (InternImage-B and larger) are not implemented",
            );
        }
        if self.center_feature_scale || self.remove_center {
            return unsupported("center_feature_scale and remove_center are not implemented");
        }
        if self.dw_kernel_size.is_some_and(|k| k != 3) {
            return unsupported("only a 3x3 depthwise kernel is implemented");
        }
        // The stem's first norm has channels / 2, and the kernels read channels 4 at a time.
        if !self.channels.is_multiple_of(8) {
            return unsupported("channels must be a multiple of 8");
        }
        for level in 0..self.levels() {
            let (c, g) = (self.level_channels(level), self.groups[level]);
            let gc = c.checked_div(g).unwrap_or(0);
            if gc == 0 || !c.is_multiple_of(g) || !gc.is_multiple_of(4) || gc > 32 {
                return unsupported(
                    "every level needs group channels that are a multiple of 4 up to 32",
                );
            }
        }
        Ok(())
    }

    /// Learned parameters: every tensor the model reads but the BatchNorm's running
    /// statistics.
    pub fn parameter_count(&self) -> usize {
        self.expected_tensors()
            .iter()
            .filter(|(name, _)| !name.contains("running_"))
            .map(|(_, shape)| shape.iter().product::<usize>())
            .sum()
    }

    /// Every tensor the model reads, with its shape, named as in the official state dict
    /// (spec section 5), in that order.
    pub fn expected_tensors(&self) -> Vec<(String, Vec<usize>)> {
        let mut t: Vec<(String, Vec<usize>)> = Vec::new();
        let mut add = |name: String, shape: &[u32]| {
            t.push((name, shape.iter().map(|&d| d as usize).collect()))
        };
        let (c, half) = (self.channels, self.channels / 2);
        add("patch_embed.conv1.weight".into(), &[half, 3, 3, 3]);
        add("patch_embed.conv1.bias".into(), &[half]);
        add("patch_embed.norm1.1.weight".into(), &[half]);
        add("patch_embed.norm1.1.bias".into(), &[half]);
        add("patch_embed.conv2.weight".into(), &[c, half, 3, 3]);
        add("patch_embed.conv2.bias".into(), &[c]);
        add("patch_embed.norm2.1.weight".into(), &[c]);
        add("patch_embed.norm2.1.bias".into(), &[c]);
        for level in 0..self.levels() {
            let (c, g, hidden) = (
                self.level_channels(level),
                self.groups[level],
                self.mlp_hidden(level),
            );
            for block in 0..self.depths[level] {
                let p = format!("levels.{level}.blocks.{block}.");
                for (name, shape) in [
                    ("norm1.0.weight", vec![c]),
                    ("norm1.0.bias", vec![c]),
                    ("dcn.dw_conv.0.weight", vec![c, 1, 3, 3]),
                    ("dcn.dw_conv.0.bias", vec![c]),
                    ("dcn.dw_conv.1.1.weight", vec![c]),
                    ("dcn.dw_conv.1.1.bias", vec![c]),
                    ("dcn.offset.weight", vec![18 * g, c]),
                    ("dcn.offset.bias", vec![18 * g]),
                    ("dcn.mask.weight", vec![9 * g, c]),
                    ("dcn.mask.bias", vec![9 * g]),
                    ("dcn.input_proj.weight", vec![c, c]),
                    ("dcn.input_proj.bias", vec![c]),
                    ("dcn.output_proj.weight", vec![c, c]),
                    ("dcn.output_proj.bias", vec![c]),
                    ("norm2.0.weight", vec![c]),
                    ("norm2.0.bias", vec![c]),
                    ("mlp.fc1.weight", vec![hidden, c]),
                    ("mlp.fc1.bias", vec![hidden]),
                    ("mlp.fc2.weight", vec![c, hidden]),
                    ("mlp.fc2.bias", vec![c]),
                ] {
                    add(format!("{p}{name}"), &shape);
                }
            }
            add(format!("levels.{level}.norm.0.weight"), &[c]);
            add(format!("levels.{level}.norm.0.bias"), &[c]);
            if level + 1 < self.levels() {
                add(
                    format!("levels.{level}.downsample.conv.weight"),
                    &[2 * c, c, 3, 3],
                );
                add(format!("levels.{level}.downsample.norm.1.weight"), &[2 * c]);
                add(format!("levels.{level}.downsample.norm.1.bias"), &[2 * c]);
            }
        }
        let (last, head) = (self.level_channels(self.levels() - 1), self.head_width());
        add("conv_head.0.weight".into(), &[head, last, 1, 1]);
        for stat in ["weight", "bias", "running_mean", "running_var"] {
            add(format!("conv_head.1.0.{stat}"), &[head]);
        }
        add("head.weight".into(), &[self.num_classes, head]);
        add("head.bias".into(), &[self.num_classes]);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internimage_t_has_the_official_parameter_count() {
        let config = ModelConfig::internimage_t();
        config.validate().unwrap();
        let tensors = config.expected_tensors();
        // 633 state-dict entries less num_batches_tracked; 29,918,424 parameters (spec section 5).
        assert_eq!(tensors.len(), 632);
        let params: usize = tensors
            .iter()
            .filter(|(n, _)| !n.contains("running_"))
            .map(|(_, s)| s.iter().product::<usize>())
            .sum();
        assert_eq!(params, 29_918_424);
        assert_eq!(config.head_width(), 768);
    }

    #[test]
    fn the_variant_is_read_off_the_shapes() {
        for config in [ModelConfig::internimage_t(), ModelConfig::test_tiny()] {
            let shapes = config.expected_tensors().into_iter().collect();
            let mut inferred = ModelConfig::infer_from_shapes(&shapes).unwrap();
            assert_eq!(inferred.dw_kernel_size, Some(3));
            inferred.dw_kernel_size = None;
            assert_eq!(inferred, config);
        }
        let mut shapes: std::collections::HashMap<_, _> = ModelConfig::test_tiny()
            .expected_tensors()
            .into_iter()
            .collect();
        shapes.remove("head.weight");
        let error = ModelConfig::infer_from_shapes(&shapes)
            .unwrap_err()
            .to_string();
        assert!(error.contains("`head.weight` is missing"), "{error}");
    }

    #[test]
    fn configurations_beyond_any_internimage_are_refused_before_any_arithmetic() {
        let t = ModelConfig::internimage_t;
        let absurd = [
            ModelConfig {
                depths: vec![1; 40],
                groups: vec![4; 40],
                ..t()
            },
            ModelConfig {
                depths: vec![4, 4, 1_000_000_000, 4],
                ..t()
            },
            ModelConfig {
                channels: 1 << 30,
                ..t()
            },
            ModelConfig {
                num_classes: 0,
                ..t()
            },
            ModelConfig {
                num_classes: u32::MAX,
                ..t()
            },
            ModelConfig {
                mlp_ratio: f32::NAN,
                ..t()
            },
            ModelConfig {
                cls_scale: 1e30,
                ..t()
            },
            ModelConfig {
                offset_scale: -1.0,
                ..t()
            },
        ];
        for config in absurd {
            let error = config.validate().unwrap_err().to_string();
            assert!(
                error.contains("outside the bounds of any InternImage"),
                "{error}"
            );
        }
    }

    #[test]
    fn unsupported_variants_are_refused() {
        let mut config = ModelConfig::internimage_t();
        config.layer_scale = Some(1e-5);
        assert!(config.validate().is_err());
        let mut config = ModelConfig::internimage_t();
        config.groups = vec![4, 8, 16, 3];
        assert!(config.validate().is_err());
    }
}
