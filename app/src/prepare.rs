//! Decoding an image file and scaling it to the network's input, in a Web Worker. On the
//! page's own thread a large photo froze the tab (decoding and the exact bicubic downscale in
//! WebAssembly; docs/performance.md#the-build-and-the-pages-thread), so the page hands the
//! bytes to a worker and stays responsive while it works.

use std::cell::{Cell, RefCell};
use std::pin::pin;

use futures::future::{Either, select};
use gloo::timers::future::TimeoutFuture;
use gloo::worker::Spawnable;
use gloo::worker::oneshot::{OneshotBridge, oneshot};
use serde::{Deserialize, Serialize};

use gpu::model::preprocess::{MEAN, STD, decode, preprocess};

use crate::error::AppError;

/// The network's input side: images are scaled and cropped to this square.
pub use link::INPUT_SIZE;

/// Where trunk puts the worker's script (the `prepare_image` bin, index.html).
const WORKER_SCRIPT: &str = "./prepare_image.js";

/// How long the first image waits for the worker's first answer before the page prepares it
/// itself. A worker that never loads (its files not served, a browser that refuses it) gives no
/// sign to the page through gloo's bridge; a loaded one prepares even a 12-megapixel photo
/// well within this patience (docs/performance.md#the-build-and-the-pages-thread).
const FIRST_ANSWER_PATIENCE_MS: u32 = 20_000;

/// How long a worker that has answered before may take: far more than any image within the
/// size limits needs. One that takes longer has died (gloo's bridge gives no sign of that); it
/// is replaced, and this image is prepared on the page's thread.
const ANSWER_PATIENCE_MS: u32 = 60_000;

/// An image file's bytes on their way to the worker. As bytes, not a sequence of numbers, the
/// message codec copies them in one piece: a phone photo is several MB.
#[derive(Serialize, Deserialize)]
pub struct ImageFile(#[serde(with = "serde_bytes")] pub Vec<u8>);

/// An image ready for the network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreparedImage {
    /// Channels-last `[INPUT_SIZE, INPUT_SIZE, 3]`, normalised as the official evaluation does.
    pub input: Vec<f32>,
    /// The same pixels, un-normalised, as RGBA for the page to show.
    #[serde(with = "serde_bytes")]
    pub preview_rgba: Vec<u8>,
}

/// Decodes and preprocesses an image file; the worker's whole job.
pub fn prepare(bytes: &[u8]) -> Result<PreparedImage, AppError> {
    let image = decode(bytes)?;
    let input = preprocess(&image, INPUT_SIZE);
    let preview_rgba = to_rgba(&input);
    Ok(PreparedImage {
        input,
        preview_rgba,
    })
}

/// The worker's answer carries an error as the text the page will show.
#[oneshot]
pub async fn PrepareImage(file: ImageFile) -> Result<PreparedImage, String> {
    prepare(&file.0).map_err(|e| e.to_string())
}

/// The page's handle on the worker, started once and shared by every classification.
pub struct ImageWorker {
    bridge: RefCell<OneshotBridge<PrepareImage>>,
    state: Cell<WorkerState>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WorkerState {
    /// It has not answered yet: it may be loading, or may never load.
    Unproven,
    /// It has answered once: it runs, so a slow answer is a big image, not a dead worker.
    Answering,
    /// It did not answer in time: images are prepared on the page's thread instead.
    Failed,
}

impl ImageWorker {
    pub fn start() -> Self {
        Self {
            bridge: RefCell::new(PrepareImage::spawner().spawn(WORKER_SCRIPT)),
            state: Cell::new(WorkerState::Unproven),
        }
    }

    /// Several images may be under way at once (a person picks another before the first is
    /// done): each gets a bridge of its own to the one worker, which takes them in turn.
    pub async fn prepare(&self, bytes: Vec<u8>) -> Result<PreparedImage, AppError> {
        match self.state.get() {
            WorkerState::Failed => prepare(&bytes),
            WorkerState::Answering => {
                let mut bridge = self.bridge.borrow().fork();
                let answer = bridge.run(ImageFile(bytes.clone()));
                match select(pin!(answer), TimeoutFuture::new(ANSWER_PATIENCE_MS)).await {
                    Either::Left((prepared, _)) => prepared.map_err(AppError::Prepared),
                    Either::Right(_) => {
                        // A new worker proves itself on the next image, as the first did.
                        *self.bridge.borrow_mut() = PrepareImage::spawner().spawn(WORKER_SCRIPT);
                        self.state.set(WorkerState::Unproven);
                        prepare(&bytes)
                    }
                }
            }
            WorkerState::Unproven => {
                // The page keeps the bytes, to prepare them itself should no answer come.
                let mut bridge = self.bridge.borrow().fork();
                let answer = bridge.run(ImageFile(bytes.clone()));
                match select(pin!(answer), TimeoutFuture::new(FIRST_ANSWER_PATIENCE_MS)).await {
                    Either::Left((prepared, _)) => {
                        if self.state.get() == WorkerState::Unproven {
                            self.state.set(WorkerState::Answering);
                        }
                        prepared.map_err(AppError::Prepared)
                    }
                    Either::Right(_) => {
                        self.state.set(WorkerState::Failed);
                        prepare(&bytes)
                    }
                }
            }
        }
    }
}

/// The normalised `[H, W, 3]` input back to displayable RGBA.
fn to_rgba(input: &[f32]) -> Vec<u8> {
    input
        .chunks_exact(3)
        .flat_map(|rgb| {
            let channel = |c: usize| {
                ((rgb[c] * STD[c] + MEAN[c]) * 255.0)
                    .round()
                    .clamp(0.0, 255.0) as u8
            };
            [channel(0), channel(1), channel(2), 255]
        })
        .collect()
}
