//! The conversion worker's side of [`crate::install`]: download (or read the dropped file),
//! digest, convert, and send the int8 file back, transferred rather than copied. Only the
//! `convert_checkpoint` bin calls [`run`], so only its WebAssembly holds the converter.

use std::cell::Cell;

use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_time::Instant;

use crate::download::{self, Progress};
use crate::error::DownloadError;
use crate::install::{InstallError, Job, Report, Stage, Summary};

/// Progress is sent at most this often: each message redraws the page.
const REPORT_EVERY_MS: f64 = 100.0;

/// Listens for the page's one job.
pub fn run() {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(|event: web_sys::MessageEvent| {
            spawn_local(answer(event.data()));
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let _ = scope.post_message(&crate::install::READY.into());
}

fn post(report: &Report, bytes: Option<Vec<u8>>) {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let message = js_sys::Object::new();
    let report = serde_wasm_bindgen::to_value(report).expect("a report serialises");
    let _ = js_sys::Reflect::set(&message, &"report".into(), &report);
    let transfer = js_sys::Array::new();
    if let Some(bytes) = bytes {
        let buffer = js_sys::Uint8Array::from(&bytes[..]).buffer();
        let _ = js_sys::Reflect::set(&message, &"bytes".into(), &buffer);
        transfer.push(&buffer);
    }
    let _ = scope.post_message_with_transfer(&message, &transfer);
}

async fn answer(data: JsValue) {
    let field = |key: &str| js_sys::Reflect::get(&data, &key.into()).unwrap_or_default();
    let job: Result<Job, _> = serde_wasm_bindgen::from_value(field("job"));
    let file = field("file").dyn_into::<web_sys::File>().ok();
    let outcome = match job {
        Ok(job) => work(&job, file).await,
        Err(e) => Err(InstallError::Stopped(format!("an unreadable job: {e}"))),
    };
    match outcome {
        Ok((summary, bytes)) => post(&Report::Done(summary), Some(bytes)),
        Err(error) => post(&Report::Failed(error), None),
    }
}

/// Sends a report when the last was long enough ago, or when `last` says it is the final one.
struct Throttle {
    sent_at: Cell<f64>,
}

impl Throttle {
    fn send(&self, report: Report, last: bool) {
        let now = js_sys::Date::now();
        if last || now - self.sent_at.get() >= REPORT_EVERY_MS {
            self.sent_at.set(now);
            post(&report, None);
        }
    }
}

async fn work(job: &Job, file: Option<web_sys::File>) -> Result<(Summary, Vec<u8>), InstallError> {
    let throttle = Throttle {
        sent_at: Cell::new(0.0),
    };
    let started = Instant::now();
    let limit = convert::MAX_CHECKPOINT_BYTES;
    let bytes = match (file, &job.url) {
        (Some(file), _) => {
            let size = file.size() as u64;
            if size > limit {
                return Err(DownloadError::TooLarge { size }.into());
            }
            let buffer = JsFuture::from(file.array_buffer()).await.map_err(|e| {
                InstallError::Convert(format!(
                    "the file could not be read: {}",
                    download::js_text(&e)
                ))
            })?;
            js_sys::Uint8Array::new(&buffer).to_vec()
        }
        (None, Some(url)) => {
            download::fetch_with_progress(url, Some(limit), |p: Progress| {
                throttle.send(
                    Report::Progress(Stage::Downloading {
                        received: p.received,
                        total: p.total,
                        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
                    }),
                    p.total == Some(p.received),
                );
            })
            .await?
        }
        (None, None) => return Err(InstallError::Stopped("nothing to convert".into())),
    };
    let download_ms = started.elapsed().as_secs_f64() * 1e3;
    let offset_scale = match &job.config_url {
        Some(url) => offset_scale_of(url).await?,
        None => 1.0,
    };
    let source_sha256 = download::sha256_hex(&bytes).await?;
    let converting = Instant::now();
    let options = convert::Options {
        offset_scale,
        description: job.description.clone(),
        ..convert::Options::int8(&job.name)
    };
    let converted = convert::convert(&bytes, &options, &mut |done, total| {
        throttle.send(
            Report::Progress(Stage::Converting { done, total }),
            done == total,
        );
    })
    .map_err(|e| InstallError::Convert(e.to_string()))?;
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    let worker_memory_bytes = memory
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as u64;
    let summary = Summary {
        source_sha256,
        source_bytes: bytes.len() as u64,
        tensors_read: converted.tensors_read,
        download_ms,
        convert_ms: converting.elapsed().as_secs_f64() * 1e3,
        worker_memory_bytes,
    };
    Ok((summary, converted.bytes))
}

/// DCNv3's offset scale from the Hub's `config.json`, which the shapes cannot tell.
async fn offset_scale_of(url: &str) -> Result<f32, InstallError> {
    let json = download::fetch_with_progress(url, Some(1 << 20), |_| {}).await?;
    let config = convert::hub::HubConfig::parse(&json)
        .map_err(|e| InstallError::Convert(format!("config.json: {e}")))?;
    Ok(config.offset_scale.unwrap_or(1.0))
}
