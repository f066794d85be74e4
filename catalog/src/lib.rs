//! The list of models the server offers (`public/weights/catalog.json`): `cargo xtask serve`
//! writes it before each build, the page reads it at start and loads the first model. It also
//! names the official checkpoints the page offers to fetch and convert, and where they are, so
//! that a deployment can point elsewhere.

use serde::{Deserialize, Serialize};

/// Where the catalog lies, from the site root (and from the workspace root, which the site
/// mirrors under `public/`).
pub const CATALOG_PATH: &str = "public/weights/catalog.json";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// The default model first.
    pub models: Vec<CatalogEntry>,
    /// Checkpoints the page converts itself, fetched from elsewhere.
    #[serde(default)]
    pub checkpoints: Vec<CheckpointOffer>,
}

/// An official checkpoint the page offers: fetched from one of its sources, converted to int8
/// in the page's worker and kept in the browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointOffer {
    /// Names the model in the browser's storage.
    pub id: String,
    /// "InternImage-T".
    pub name: String,
    /// "ImageNet-1k, 83.5 % top-1".
    pub summary: String,
    /// Who made the weights and under which licence.
    pub credit: String,
    /// About what the int8 conversion keeps, in bytes.
    pub converted_size: u64,
    /// The preferred source first.
    pub sources: Vec<CheckpointSource>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointSource {
    /// "Hugging Face, safetensors".
    pub label: String,
    pub url: String,
    /// About how many bytes it downloads (the server's Content-Length is shown when it comes).
    pub size: u64,
    /// The Hub's `config.json` beside the weights: it gives DCNv3's offset scale.
    #[serde(default)]
    pub config_url: Option<String>,
}

impl CheckpointOffer {
    /// What the converted file says it is (its `description` metadata).
    pub fn description(&self, file_name: &str) -> String {
        format!(
            "{}, {} ({}), converted to int8 from {file_name}",
            self.name, self.summary, self.credit
        )
    }
}

impl CheckpointSource {
    /// The file's name: the last segment of its address.
    pub fn file_name(&self) -> &str {
        file_name_of(&self.url)
    }
}

/// The last segment of an address's path, without its query or fragment.
pub fn file_name_of(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

/// InternImage-T as OpenGVLab publishes it: the Hub's safetensors first (no pickle to read in
/// the browser), then the release's .pth.
pub fn internimage_t_offer() -> CheckpointOffer {
    CheckpointOffer {
        id: "internimage-t-1k-224".into(),
        name: "InternImage-T".into(),
        summary: "ImageNet-1k, 83.5 % top-1, 30 M parameters".into(),
        credit: "official OpenGVLab weights, MIT licence".into(),
        converted_size: 31_000_000,
        sources: vec![
            CheckpointSource {
                label: "Hugging Face, safetensors".into(),
                url: "https://huggingface.co/OpenGVLab/internimage_t_1k_224/resolve/main/model.safetensors".into(),
                size: 120_000_000,
                config_url: Some(
                    "https://huggingface.co/OpenGVLab/internimage_t_1k_224/resolve/main/config.json".into(),
                ),
            },
            CheckpointSource {
                label: "Hugging Face, the release's .pth".into(),
                url: "https://huggingface.co/OpenGVLab/InternImage/resolve/main/internimage_t_1k_224.pth".into(),
                size: 120_000_000,
                config_url: None,
            },
        ],
    }
}

/// One model the server offers. The page checks `size` and `sha256` before it loads the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// Path from the site root.
    pub file: String,
    pub size: u64,
    /// Lower-case hexadecimal.
    pub sha256: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub classes: u32,
}

impl CatalogEntry {
    /// The file's name without its folder.
    pub fn file_name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_round_trips_and_optional_fields_default() {
        let entry = CatalogEntry {
            file: "public/models/shapes-demo.safetensors".into(),
            size: 2_000_000,
            sha256: "ab".repeat(32),
            description: "demo".into(),
            classes: 10,
        };
        let catalog = Catalog {
            models: vec![entry.clone()],
            checkpoints: vec![internimage_t_offer()],
        };
        let text = serde_json::to_string(&catalog).expect("serialises");
        assert_eq!(serde_json::from_str::<Catalog>(&text).ok(), Some(catalog));
        assert_eq!(entry.file_name(), "shapes-demo.safetensors");
        let bare: CatalogEntry =
            serde_json::from_str(r#"{"file": "a.safetensors", "size": 1, "sha256": "00"}"#)
                .expect("description and classes may be missing");
        assert_eq!((bare.description.as_str(), bare.classes), ("", 0));
        let older: Catalog = serde_json::from_str(r#"{"models": []}"#).expect("no checkpoints");
        assert!(older.checkpoints.is_empty());
    }

    #[test]
    fn a_source_names_its_file() {
        let offer = internimage_t_offer();
        assert_eq!(offer.sources[0].file_name(), "model.safetensors");
        assert_eq!(offer.sources[1].file_name(), "internimage_t_1k_224.pth");
    }
}
