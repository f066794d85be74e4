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
