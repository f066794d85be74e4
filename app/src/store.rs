//! Models converted on this page, kept in the browser: the int8 file in Cache Storage under a
//! key that names its source and the source's SHA-256, and a list of what is kept (name, size,
//! source) in local storage. A later visit loads a kept model with no network request.

use serde::{Deserialize, Serialize};
use wasm_bindgen_futures::JsFuture;

const CACHE_NAME: &str = "internimage-converted";
const INDEX_KEY: &str = "internimage-explorer.stored";

/// One model kept in this browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredModel {
    /// Its Cache Storage key.
    pub key: String,
    /// "InternImage-T", or the dropped file's name.
    pub name: String,
    /// The catalog offer it came from, if any.
    pub offer: Option<String>,
    /// The address it was downloaded from, or the dropped file's name.
    pub source: String,
    pub source_sha256: String,
    /// Of the converted file.
    pub size: u64,
}

impl StoredModel {
    pub fn new(
        name: &str,
        offer: Option<String>,
        source: &str,
        source_sha256: &str,
        size: u64,
    ) -> Self {
        let slug: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        Self {
            key: format!(
                "converted/{slug}.int8.safetensors?source={}&sha256={source_sha256}",
                String::from(js_sys::encode_uri_component(source))
            ),
            name: name.to_owned(),
            offer,
            source: source.to_owned(),
            source_sha256: source_sha256.to_owned(),
            size,
        }
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// What the list says is kept.
pub fn list() -> Vec<StoredModel> {
    local_storage()
        .and_then(|s| s.get_item(INDEX_KEY).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn write_list(models: &[StoredModel]) -> Result<(), String> {
    let storage = local_storage().ok_or("local storage is not available")?;
    let text = serde_json::to_string(models).expect("serialises");
    storage
        .set_item(INDEX_KEY, &text)
        .map_err(|e| crate::download::js_text(&e))
}

async fn cache() -> Result<web_sys::Cache, String> {
    crate::download::open_cache(CACHE_NAME).await
}

/// Keeps `bytes` as `model`; on any refusal nothing is left half kept, and the reason is given.
pub async fn put(model: &StoredModel, bytes: &[u8]) -> Result<(), String> {
    let cache = cache().await?;
    let body = js_sys::Uint8Array::from(bytes);
    let response = web_sys::Response::new_with_opt_buffer_source(Some(&body))
        .map_err(|e| crate::download::js_text(&e))?;
    if let Err(e) = JsFuture::from(cache.put_with_str(&model.key, &response)).await {
        let _ = JsFuture::from(cache.delete_with_str(&model.key)).await;
        return Err(crate::download::js_text(&e));
    }
    let mut models: Vec<StoredModel> = list().into_iter().filter(|m| m.key != model.key).collect();
    models.push(model.clone());
    if let Err(why) = write_list(&models) {
        let _ = JsFuture::from(cache.delete_with_str(&model.key)).await;
        return Err(why);
    }
    Ok(())
}

/// The kept bytes of `key`, if they are still there.
pub async fn get(key: &str) -> Option<Vec<u8>> {
    crate::download::cached(&cache().await.ok()?, key).await
}

pub async fn remove(key: &str) {
    if let Ok(cache) = cache().await {
        let _ = JsFuture::from(cache.delete_with_str(key)).await;
    }
    let models: Vec<StoredModel> = list().into_iter().filter(|m| m.key != key).collect();
    let _ = write_list(&models);
}

/// Bytes this site uses and may use, as the browser estimates them.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct Estimate {
    #[serde(default)]
    pub usage: f64,
    #[serde(default)]
    pub quota: f64,
}

pub async fn estimate() -> Option<Estimate> {
    let storage = web_sys::window()?.navigator().storage();
    let promise = storage.estimate().ok()?;
    let value = JsFuture::from(promise).await.ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}
