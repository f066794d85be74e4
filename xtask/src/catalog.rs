//! The list of models the page offers, written beside the app before each build: the demo model
//! trained here (committed), then every `.safetensors` file a user put in `public/weights/`
//! (not kept in git), such as a converted InternImage-T checkpoint. The first is loaded at start.

use std::path::{Path, PathBuf};

use catalog::{CATALOG_PATH, Catalog, CatalogEntry};
use sha2::Digest;

use crate::workspace_root;

/// Trained by `tools/train_demo.py`, shipped int8.
pub const DEMO_MODEL: &str = "public/models/shapes-demo.safetensors";
/// Where users put other weights for the page to offer.
pub const USER_WEIGHTS: &str = "public/weights";
/// Writes the catalog. Fails when the demo model is missing or broken; a file in
/// `public/weights/` the engine cannot read is left out with a warning, so it is found here
/// rather than in the page.
pub fn write() -> Result<(), String> {
    let root = workspace_root();
    let mut entries = vec![entry(&root, &root.join(DEMO_MODEL))?];
    for path in user_weights(&root.join(USER_WEIGHTS))? {
        match entry(&root, &path) {
            Ok(e) => entries.push(e),
            Err(why) => eprintln!("xtask: warning: not offering {why}"),
        }
    }
    let catalog = Catalog {
        models: entries,
        checkpoints: vec![catalog::internimage_t_offer()],
    };
    let json = serde_json::to_string_pretty(&catalog).expect("serialises");
    let path = root.join(CATALOG_PATH);
    std::fs::create_dir_all(path.parent().expect("has a folder")).map_err(|e| e.to_string())?;
    std::fs::write(&path, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    for e in &catalog.models {
        println!(
            "xtask: the page offers {} ({:.1} MB)",
            e.file,
            e.size as f64 / 1e6
        );
    }
    Ok(())
}

/// The `.safetensors` files of `folder`, sorted; none when it does not exist.
fn user_weights(folder: &Path) -> Result<Vec<PathBuf>, String> {
    let Ok(listing) = std::fs::read_dir(folder) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    Ok(files)
}

/// Converts an official checkpoint as the page would (int8), into `public/weights/` under its
/// own name, for `cargo xtask serve --weights`.
pub fn convert_into_user_weights(checkpoint: &Path) -> Result<PathBuf, String> {
    convert_into(checkpoint, &workspace_root().join(USER_WEIGHTS))
}

fn convert_into(checkpoint: &Path, folder: &Path) -> Result<PathBuf, String> {
    let at = |e: String| format!("{}: {e}", checkpoint.display());
    let bytes = std::fs::read(checkpoint).map_err(|e| at(e.to_string()))?;
    let name = (checkpoint.file_stem())
        .ok_or_else(|| at("no file name".into()))?
        .to_string_lossy()
        .into_owned();
    let file_name = checkpoint
        .file_name()
        .expect("has a stem")
        .to_string_lossy();
    let converted = convert::convert(&bytes, &convert::Options::int8(&file_name), &mut |_, _| {})
        .map_err(|e| at(e.to_string()))?;
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let output = folder.join(format!("{name}.int8.safetensors"));
    std::fs::write(&output, &converted.bytes).map_err(|e| format!("{}: {e}", output.display()))?;
    println!(
        "xtask: converted {} to {} ({:.1} MB, int8)",
        checkpoint.display(),
        output.display(),
        converted.bytes.len() as f64 / 1e6
    );
    Ok(output)
}

/// `file` is the path from the site root; the page checks `size` and `sha256` before it loads.
fn entry(root: &Path, path: &Path) -> Result<CatalogEntry, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read {}: {e}{}",
            path.display(),
            if path.ends_with(DEMO_MODEL) {
                " (the demo model is committed; `python3 tools/train_demo.py` makes it anew)"
            } else {
                ""
            }
        )
    })?;
    let weights = gpu::model::SafetensorsWeights::parse(&bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let config = &weights.config;
    let sha256: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(CatalogEntry {
        file: (path.strip_prefix(root).expect("under the workspace"))
            .to_string_lossy()
            .replace('\\', "/"),
        size: bytes.len() as u64,
        sha256,
        description: weights.description.clone().unwrap_or_default(),
        classes: config.num_classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_model_entry_names_its_file_size_hash_and_classes() {
        let root = workspace_root();
        let e = entry(&root, &root.join(DEMO_MODEL)).expect("the demo model is readable");
        assert_eq!(e.file, DEMO_MODEL);
        let size = std::fs::metadata(root.join(DEMO_MODEL))
            .expect("exists")
            .len();
        assert_eq!(e.size, size);
        assert_eq!(e.sha256.len(), 64);
        assert_eq!(e.classes, 10);
        assert!(e.description.contains("trained here"), "{}", e.description);
    }

    #[test]
    fn a_checkpoint_is_converted_into_weights_the_catalog_offers() {
        let root = workspace_root();
        let folder = std::env::temp_dir().join(format!("serve-weights-{}", std::process::id()));
        let checkpoint = root.join("tests/fixtures/checkpoints/wrapped.pth");
        let written = convert_into(&checkpoint, &folder).expect("converts");
        assert_eq!(written, folder.join("wrapped.int8.safetensors"));
        // The same bytes as `internimage convert wrapped.pth --dtype int8`.
        let expected =
            std::fs::read(root.join("tests/fixtures/checkpoints/wrapped.int8.safetensors"));
        assert!(std::fs::read(&written).ok() == expected.ok());
        assert_eq!(entry(&folder, &written).expect("offered").classes, 4);
        let why = convert_into(&root.join("tests/fixtures/checkpoints/resnet.pth"), &folder);
        assert!(why.is_err_and(|w| w.contains("resnet.pth") && w.contains("not an InternImage")));
        std::fs::remove_dir_all(&folder).ok();
    }

    #[test]
    fn a_file_that_is_not_weights_is_refused_with_its_name() {
        let folder = std::env::temp_dir().join(format!("catalog-test-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("temp folder");
        let path = folder.join("notes.safetensors");
        std::fs::write(&path, b"{}").expect("written");
        let why = entry(&folder, &path).expect_err("not weights");
        assert!(why.contains("notes.safetensors"), "{why}");
        assert_eq!(user_weights(&folder).expect("listed"), [path]);
        std::fs::remove_dir_all(&folder).ok();
    }
}
