//! Fetching a file with its progress reported as it streams in.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Bytes received so far and the total, when the server says it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub received: u64,
    pub total: Option<u64>,
}

impl Progress {
    pub fn describe(&self) -> String {
        let mb = |b: u64| b as f64 / 1e6;
        match self.total {
            Some(total) if total > 0 => format!(
                "{:.1} of {:.1} MB ({:.0} %)",
                mb(self.received),
                mb(total),
                100.0 * self.received as f64 / total as f64
            ),
            _ => format!("{:.1} MB", mb(self.received)),
        }
    }
}

fn js_error(what: &str, error: wasm_bindgen::JsValue) -> String {
    format!(
        "{what}: {}",
        error.as_string().unwrap_or_else(|| format!("{error:?}"))
    )
}

/// GETs `url`, calling `on_progress` after every chunk.
pub async fn fetch_with_progress(
    url: &str,
    on_progress: impl Fn(Progress),
) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| js_error("the request failed", e))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!("{} {}", response.status(), response.status_text()));
    }
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|l| l.parse().ok());
    let body = response.body().ok_or("the response has no body")?;
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| js_error("the download broke off", e))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map_err(|e| js_error("read", e))?;
        if done.as_bool().unwrap_or(true) {
            break;
        }
        let value =
            js_sys::Reflect::get(&chunk, &"value".into()).map_err(|e| js_error("read", e))?;
        bytes.extend(js_sys::Uint8Array::new(&value).to_vec());
        on_progress(Progress {
            received: bytes.len() as u64,
            total,
        });
    }
    Ok(bytes)
}

/// What a weights file must be, from the catalog that lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub size: u64,
    pub sha256: String,
}

/// One model the server offers (`public/weights/catalog.json`, written by `cargo xtask serve`).
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogEntry {
    /// Path from the site root.
    pub file: String,
    pub manifest: Manifest,
    pub description: String,
    pub classes: u32,
}

impl CatalogEntry {
    pub fn file_name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }
}

/// Where verified bytes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Network,
    BrowserCache,
}

const CACHE_NAME: &str = "internimage-weights";

/// Reads `{"models": [{"file", "size", "sha256", "description", "classes"}, ...]}`.
pub async fn fetch_catalog(url: &str) -> Result<Vec<CatalogEntry>, String> {
    let response = gloo::net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("{} {}", response.status(), response.status_text()));
    }
    let text = response.text().await.map_err(|e| e.to_string())?;
    let json = js_sys::JSON::parse(&text).map_err(|_| "the catalog is not JSON".to_owned())?;
    let models = js_sys::Reflect::get(&json, &"models".into())
        .ok()
        .filter(js_sys::Array::is_array)
        .ok_or("the catalog has no list of models")?;
    js_sys::Array::from(&models)
        .iter()
        .map(|entry| {
            let field = |name: &str| js_sys::Reflect::get(&entry, &name.into()).ok();
            let text = |name: &str| {
                field(name)
                    .and_then(|v| v.as_string())
                    .ok_or(format!("a catalog entry has no {name}"))
            };
            let number = |name: &str| {
                field(name)
                    .and_then(|v| v.as_f64())
                    .ok_or(format!("a catalog entry has no {name}"))
            };
            Ok(CatalogEntry {
                file: text("file")?,
                manifest: Manifest {
                    size: number("size")? as u64,
                    sha256: text("sha256")?.to_lowercase(),
                },
                description: text("description").unwrap_or_default(),
                classes: number("classes").unwrap_or(0.0) as u32,
            })
        })
        .collect()
}

/// The file at `url`, from the browser's Cache Storage when an entry for this manifest is there,
/// else downloaded (with progress) and cached. Either way its size and SHA-256 are checked
/// against the manifest before it is returned.
pub async fn fetch_verified(
    url: &str,
    manifest: &Manifest,
    on_progress: impl Fn(Progress),
) -> Result<(Vec<u8>, Origin), String> {
    // The key names the content, so a new file never meets a stale entry.
    let key = format!("{url}?sha256={}", manifest.sha256);
    let cache = open_cache().await;
    if let Some(cache) = &cache
        && let Some(bytes) = cached(cache, &key).await
    {
        if verify(&bytes, manifest).await.is_ok() {
            return Ok((bytes, Origin::BrowserCache));
        }
        let _ = cache.delete_with_str(&key);
    }
    let bytes = fetch_with_progress(url, on_progress).await?;
    verify(&bytes, manifest).await?;
    if let Some(cache) = &cache {
        let body = js_sys::Uint8Array::from(&bytes[..]);
        if let Ok(response) = web_sys::Response::new_with_opt_buffer_source(Some(&body)) {
            // A full or unavailable cache only costs the next visit a download.
            let _ = JsFuture::from(cache.put_with_str(&key, &response)).await;
        }
    }
    Ok((bytes, Origin::Network))
}

async fn open_cache() -> Option<web_sys::Cache> {
    let caches = web_sys::window()?.caches().ok()?;
    JsFuture::from(caches.open(CACHE_NAME))
        .await
        .ok()
        .map(JsCast::unchecked_into)
}

async fn cached(cache: &web_sys::Cache, key: &str) -> Option<Vec<u8>> {
    let found = JsFuture::from(cache.match_with_str(key)).await.ok()?;
    let response: web_sys::Response = found.dyn_into().ok()?;
    let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

async fn verify(bytes: &[u8], manifest: &Manifest) -> Result<(), String> {
    if bytes.len() as u64 != manifest.size {
        return Err(format!(
            "the file has {} bytes, the catalog says {}: it is truncated or not the file described",
            bytes.len(),
            manifest.size
        ));
    }
    let digest = sha256_hex(bytes).await?;
    if digest != manifest.sha256 {
        return Err(format!(
            "its SHA-256 is {digest}, the catalog says {}",
            manifest.sha256
        ));
    }
    Ok(())
}

async fn sha256_hex(bytes: &[u8]) -> Result<String, String> {
    let subtle = web_sys::window()
        .ok_or("no window")?
        .crypto()
        .map_err(|e| js_error("no crypto", e))?
        .subtle();
    let promise = subtle
        .digest_with_str_and_u8_array("SHA-256", bytes)
        .map_err(|e| js_error("digest", e))?;
    let digest = JsFuture::from(promise)
        .await
        .map_err(|e| js_error("digest", e))?;
    Ok(js_sys::Uint8Array::new(&digest)
        .to_vec()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
