//! The models the server offers: its catalog, and each file fetched with its progress reported
//! as it streams in, kept in the browser's Cache Storage and checked against the catalog. The
//! fetch and the digest work on the page and in a worker alike (the checkpoint converter
//! downloads in its worker).

use catalog::{CATALOG_PATH, Catalog, CatalogEntry};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{AppError, DownloadError};

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

pub fn js_text(error: &JsValue) -> String {
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}

/// `fetch(url)` from the page or from a worker.
fn fetch(url: &str) -> Result<js_sys::Promise, DownloadError> {
    let global = js_sys::global();
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        Ok(window.fetch_with_str(url))
    } else if let Some(worker) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        Ok(worker.fetch_with_str(url))
    } else {
        Err(DownloadError::Request("no fetch here".into()))
    }
}

/// The Web Crypto of the page or of a worker.
fn crypto() -> Result<web_sys::Crypto, JsValue> {
    let global = js_sys::global();
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        window.crypto()
    } else if let Some(worker) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        worker.crypto()
    } else {
        Err(JsValue::from_str("no Web Crypto here"))
    }
}

/// One read of a stream: `{done, value}`, the value a `Uint8Array` until done.
#[derive(serde::Deserialize)]
struct Chunk {
    done: bool,
    #[serde(default, with = "serde_bytes")]
    value: Option<Vec<u8>>,
}

/// GETs `url`, calling `on_progress` after every chunk. `refuse_over` stops a download that
/// says, or turns out, to be larger.
pub async fn fetch_with_progress(
    url: &str,
    refuse_over: Option<u64>,
    on_progress: impl Fn(Progress),
) -> Result<Vec<u8>, DownloadError> {
    let response: web_sys::Response = JsFuture::from(fetch(url)?)
        .await
        .map_err(|e| DownloadError::Request(js_text(&e)))?
        .unchecked_into();
    if !response.ok() {
        return Err(DownloadError::Status {
            status: response.status(),
            text: response.status_text(),
        });
    }
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|l| l.parse().ok());
    let too_large = |size: u64| refuse_over.is_some_and(|limit| size > limit);
    if let Some(size) = total.filter(|&t| too_large(t)) {
        return Err(DownloadError::TooLarge { size });
    }
    let body =
        (response.body()).ok_or(DownloadError::BrokeOff("the response has no body".into()))?;
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    loop {
        let read = JsFuture::from(reader.read())
            .await
            .map_err(|e| DownloadError::BrokeOff(js_text(&e)))?;
        let chunk: Chunk = serde_wasm_bindgen::from_value(read)
            .map_err(|e| DownloadError::BrokeOff(e.to_string()))?;
        match chunk {
            Chunk { done: true, .. } => break,
            Chunk { value, .. } => bytes.extend(value.unwrap_or_default()),
        }
        if too_large(bytes.len() as u64) {
            let _ = reader.cancel();
            return Err(DownloadError::TooLarge {
                size: bytes.len() as u64,
            });
        }
        on_progress(Progress {
            received: bytes.len() as u64,
            total,
        });
    }
    Ok(bytes)
}

/// Where verified bytes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Network,
    BrowserCache,
}

const CACHE_NAME: &str = "internimage-weights";

/// Reads the catalog `cargo xtask serve` wrote.
pub async fn fetch_catalog() -> Result<Catalog, AppError> {
    let fail = |why: String| AppError::Catalog(why);
    let response = gloo::net::http::Request::get(CATALOG_PATH)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !response.ok() {
        return Err(fail(format!(
            "{} {}",
            response.status(),
            response.status_text()
        )));
    }
    let text = response.text().await.map_err(|e| fail(e.to_string()))?;
    let json = js_sys::JSON::parse(&text).map_err(|_| fail("it is not JSON".into()))?;
    let catalog: Catalog = serde_wasm_bindgen::from_value(json).map_err(|e| fail(e.to_string()))?;
    if catalog.models.is_empty() {
        return Err(fail("it lists no model".into()));
    }
    Ok(catalog)
}

/// The file of `entry`, from the browser's Cache Storage when it is there, else downloaded (with
/// progress) and cached. Either way its size and SHA-256 are checked against the entry before
/// it is returned.
pub async fn fetch_verified(
    entry: &CatalogEntry,
    on_progress: impl Fn(Progress),
) -> Result<(Vec<u8>, Origin), DownloadError> {
    // The key names the content, so a new file never meets a stale entry.
    let key = format!("{}?sha256={}", entry.file, entry.sha256);
    let cache = open_cache(CACHE_NAME).await.ok();
    if let Some(cache) = &cache
        && let Some(bytes) = cached(cache, &key).await
    {
        if verify(&bytes, entry).await.is_ok() {
            return Ok((bytes, Origin::BrowserCache));
        }
        let _ = cache.delete_with_str(&key);
    }
    let bytes = fetch_with_progress(&entry.file, None, on_progress).await?;
    verify(&bytes, entry).await?;
    if let Some(cache) = &cache {
        let body = js_sys::Uint8Array::from(&bytes[..]);
        if let Ok(response) = web_sys::Response::new_with_opt_buffer_source(Some(&body)) {
            // A full or unavailable cache only costs the next visit a download.
            let _ = JsFuture::from(cache.put_with_str(&key, &response)).await;
        }
    }
    Ok((bytes, Origin::Network))
}

/// One of the browser's Cache Storage caches, opened by name.
pub async fn open_cache(name: &str) -> Result<web_sys::Cache, String> {
    let caches = (web_sys::window().ok_or("no window")?)
        .caches()
        .map_err(|e| js_text(&e))?;
    JsFuture::from(caches.open(name))
        .await
        .map(JsCast::unchecked_into)
        .map_err(|e| js_text(&e))
}

/// The bytes kept under `key`, if they are there.
pub async fn cached(cache: &web_sys::Cache, key: &str) -> Option<Vec<u8>> {
    let found = JsFuture::from(cache.match_with_str(key)).await.ok()?;
    let response: web_sys::Response = found.dyn_into().ok()?;
    let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

async fn verify(bytes: &[u8], entry: &CatalogEntry) -> Result<(), DownloadError> {
    if bytes.len() as u64 != entry.size {
        return Err(DownloadError::Size {
            actual: bytes.len() as u64,
            expected: entry.size,
        });
    }
    let digest = sha256_hex(bytes).await?;
    if digest != entry.sha256.to_lowercase() {
        return Err(DownloadError::Digest {
            actual: digest,
            expected: entry.sha256.clone(),
        });
    }
    Ok(())
}

pub async fn sha256_hex(bytes: &[u8]) -> Result<String, DownloadError> {
    let fail = |e: JsValue| DownloadError::NoDigest(js_text(&e));
    let subtle = crypto().map_err(fail)?.subtle();
    let promise = subtle
        .digest_with_str_and_u8_array("SHA-256", bytes)
        .map_err(fail)?;
    let digest = JsFuture::from(promise).await.map_err(fail)?;
    Ok(js_sys::Uint8Array::new(&digest)
        .to_vec()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
