//! Installing an official checkpoint: the page hands a source (an address, or a file the person
//! dropped) to a Web Worker, which downloads it, converts it to int8 with the converter
//! `internimage convert` uses, and sends back the converted bytes. The worker's code is its own
//! WebAssembly, loaded only when a conversion starts, so the page's does not grow by the
//! converter; a cancel ends the worker and whatever it was doing.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::mpsc;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::error::DownloadError;

/// The script trunk writes to load the worker's WebAssembly (the `convert_checkpoint` bin,
/// `data-loader-shim` in index.html).
const WORKER_SCRIPT: &str = "./convert_checkpoint_loader.js";

/// What the worker posts once it listens.
pub const READY: &str = "ready";

/// What the worker is asked to convert. A dropped file travels beside it, as itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The checkpoint's file name, which the converted file's description names.
    pub name: String,
    /// Where to download it from; `None` for a dropped file.
    pub url: Option<String>,
    /// The Hub's `config.json` beside it.
    pub config_url: Option<String>,
    /// What the converted file says it is; `None` describes the variant.
    pub description: Option<String>,
}

/// Where an installation is: the worker reports the download and the conversion, the page
/// the start and the storing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Stage {
    Starting,
    Downloading {
        received: u64,
        total: Option<u64>,
        /// Since the download started.
        elapsed_ms: f64,
    },
    Converting {
        done: usize,
        total: usize,
    },
    Storing,
}

/// What the worker tells the page, in order: progress, then done or failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Report {
    Progress(Stage),
    /// The converted bytes travel beside this report.
    Done(Summary),
    Failed(InstallError),
}

/// What the worker measured of a finished conversion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Of the checkpoint as downloaded or dropped: it names the model in storage.
    pub source_sha256: String,
    pub source_bytes: u64,
    pub tensors_read: usize,
    pub download_ms: f64,
    pub convert_ms: f64,
    /// The worker's WebAssembly memory at the end, which never shrinks: its peak.
    pub worker_memory_bytes: u64,
}

/// Why an installation failed, in words that say what to do.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum InstallError {
    /// `fetch` itself failed: no network, or a host that refuses other sites (CORS); the
    /// browser does not say which.
    #[error(
        "the download could not start ({0}). Either the network is down, or the host does not \
         allow other sites to fetch it (CORS). Download the file yourself and drop it on this \
         page"
    )]
    Unreachable(String),
    #[error("{}", download_advice(.0))]
    Download(DownloadError),
    #[error("{0}")]
    Convert(String),
    #[error(
        "nothing was heard from the download or the conversion for {0} s. Check the connection \
         and press Retry"
    )]
    Silent(u32),
    /// The worker died: out of memory, most likely.
    #[error(
        "the conversion stopped ({0}). The file may be larger than this browser lets a page \
         hold in memory; close other tabs and try again, or convert it with `internimage \
         convert` and drop the result here"
    )]
    Stopped(String),
}

/// A failed download, and what to do about it when trying again may help.
fn download_advice(error: &DownloadError) -> String {
    match error {
        DownloadError::BrokeOff(_) | DownloadError::Status { .. } => format!(
            "{error}. Check the connection and press Retry, or download the file yourself and \
             drop it here"
        ),
        other => other.to_string(),
    }
}

impl InstallError {
    /// A failure that trying again may mend: the network's.
    pub fn may_retry(&self) -> bool {
        matches!(
            self,
            Self::Unreachable(_)
                | Self::Silent(_)
                | Self::Download(DownloadError::BrokeOff(_) | DownloadError::Status { .. })
        )
    }
}

impl From<DownloadError> for InstallError {
    fn from(error: DownloadError) -> Self {
        match error {
            DownloadError::Request(why) => Self::Unreachable(why),
            other => Self::Download(other),
        }
    }
}

/// What the page hears from a running conversion.
pub enum Event {
    Report(Report),
    /// The converted file, after [`Report::Done`].
    Converted(Summary, Vec<u8>),
    Cancelled,
}

/// What a conversion says, in order, until it ends.
pub type Events = mpsc::UnboundedReceiver<Event>;

/// A conversion under way in its own worker.
pub struct Conversion {
    worker: web_sys::Worker,
    sender: mpsc::UnboundedSender<Event>,
    _handlers: [Closure<dyn FnMut(web_sys::Event)>; 2],
}

impl Conversion {
    /// Starts a worker on `job` (and `file`, when the person dropped one); what it says comes
    /// through the events.
    pub fn start(
        job: &Job,
        file: Option<&web_sys::File>,
    ) -> Result<(Rc<Self>, Events), InstallError> {
        let stopped =
            |e: wasm_bindgen::JsValue| InstallError::Stopped(crate::download::js_text(&e));
        let worker = web_sys::Worker::new(WORKER_SCRIPT).map_err(stopped)?;
        let (sender, events) = mpsc::unbounded();
        let message = js_sys::Object::new();
        let set = |key: &str, value: &wasm_bindgen::JsValue| {
            js_sys::Reflect::set(&message, &key.into(), value).map(drop)
        };
        set(
            "job",
            &serde_wasm_bindgen::to_value(job).expect("a job serialises"),
        )
        .and_then(|()| {
            set(
                "file",
                &file.map_or(wasm_bindgen::JsValue::UNDEFINED, |f| f.into()),
            )
        })
        .map_err(stopped)?;
        // The worker listens only once its WebAssembly has started, and says so: a job sent
        // before would be lost.
        let on_message = {
            let (sender, worker, job) =
                (sender.clone(), worker.clone(), RefCell::new(Some(message)));
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                let data = event.unchecked_into::<web_sys::MessageEvent>().data();
                if data.as_string().as_deref() == Some(READY) {
                    if let Some(job) = job.borrow_mut().take()
                        && let Err(e) = worker.post_message(&job)
                    {
                        let why = InstallError::Stopped(crate::download::js_text(&e));
                        let _ = sender.unbounded_send(Event::Report(Report::Failed(why)));
                    }
                    return;
                }
                let _ = sender.unbounded_send(read_message(&data));
            })
        };
        let on_error = {
            let sender = sender.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                let why = event
                    .dyn_ref::<web_sys::ErrorEvent>()
                    .map(|e| e.message())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "the worker ended without a word".into());
                let _ = sender
                    .unbounded_send(Event::Report(Report::Failed(InstallError::Stopped(why))));
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let conversion = Self {
            worker,
            sender,
            _handlers: [on_message, on_error],
        };
        Ok((Rc::new(conversion), events))
    }

    /// Ends the worker now: its download and conversion stop with it.
    pub fn cancel(&self) {
        self.worker.terminate();
        let _ = self.sender.unbounded_send(Event::Cancelled);
    }
}

impl Drop for Conversion {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// A message from the worker: `{report}`, with `bytes` (an `ArrayBuffer`) when done.
fn read_message(data: &wasm_bindgen::JsValue) -> Event {
    let field = |key: &str| js_sys::Reflect::get(data, &key.into()).unwrap_or_default();
    let report = serde_wasm_bindgen::from_value(field("report")).unwrap_or_else(|e| {
        Report::Failed(InstallError::Stopped(format!("an unreadable message: {e}")))
    });
    match report {
        Report::Done(summary) => {
            let bytes = js_sys::Uint8Array::new(&field("bytes")).to_vec();
            Event::Converted(summary, bytes)
        }
        other => Event::Report(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_failures_say_what_to_do_and_offer_retry() {
        let broke = InstallError::from(DownloadError::BrokeOff("network error".into()));
        assert!(broke.may_retry());
        assert!(broke.to_string().contains("press Retry"), "{broke}");
        let refused = InstallError::from(DownloadError::Request("Failed to fetch".into()));
        assert!(refused.may_retry());
        assert!(refused.to_string().contains("(CORS)") && refused.to_string().contains("drop it"));
        let large = InstallError::from(DownloadError::TooLarge { size: 1 << 34 });
        assert!(!large.may_retry());
        assert_eq!(
            large.to_string(),
            "the file is 16384 MB, more than the 1024 MB this page reads"
        );
    }
}
