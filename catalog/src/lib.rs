//! The list of models the server offers (`public/weights/catalog.json`): `cargo xtask serve`
//! writes it before each build, the page reads it at start and loads the first model.

use serde::{Deserialize, Serialize};

/// Where the catalog lies, from the site root (and from the workspace root, which the site
/// mirrors under `public/`).
pub const CATALOG_PATH: &str = "public/weights/catalog.json";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// The default model first.
    pub models: Vec<CatalogEntry>,
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
        };
        let text = serde_json::to_string(&catalog).expect("serialises");
        assert_eq!(serde_json::from_str::<Catalog>(&text).ok(), Some(catalog));
        assert_eq!(entry.file_name(), "shapes-demo.safetensors");
        let bare: CatalogEntry =
            serde_json::from_str(r#"{"file": "a.safetensors", "size": 1, "sha256": "00"}"#)
                .expect("description and classes may be missing");
        assert_eq!((bare.description.as_str(), bare.classes), ("", 0));
    }
}
