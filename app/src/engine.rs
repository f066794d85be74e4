//! The app's only door to the GPU engine: plain data in, plain data out, no wgpu types.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use gpu::GpuContext;
use gpu::model::predictions::top_k;
use gpu::model::sampling::LayerSampling;
use gpu::model::{InternImage, PendingSampling, SafetensorsWeights};
use gpu::ops::dcnv3;

use crate::error::AppError;
use crate::prepare::{INPUT_SIZE, PreparedImage};

/// The adapter as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterView {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub timestamp_queries: bool,
    pub shader_f16: bool,
    /// The subgroup width ("4 lanes") or "no": with subgroups the linear layers share loads.
    pub subgroups: String,
    /// How the DCNv3 kernel reads its input here.
    pub dcnv3_read: String,
}

/// One row of the DCNv3 self-check table.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelCheck {
    pub shape: String,
    pub relative_error: f64,
    pub passed: bool,
    pub millis: f64,
}

/// The loaded model, as the page describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelView {
    pub source: String,
    /// The catalog file it was loaded from; None for a dropped file.
    pub served_file: Option<String>,
    /// Its key in this browser's store, when it was converted here.
    pub stored_key: Option<String>,
    pub description: String,
    pub classes: usize,
    pub parameters: usize,
    pub dispatches: usize,
    pub gflops: f64,
    /// What the GPU holds for it, in words: weights (as stored on the GPU: int8, f16 where the
    /// adapter keeps halves, else f32) and activations.
    pub gpu_memory: String,
}

/// One classified image.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// (label, probability), best first.
    pub top: Vec<(String, f32)>,
    /// From the image's upload to its logits.
    pub millis: f64,
    /// From the logits to every layer's sampling read back and unpacked; 0 until then.
    pub sampling_millis: f64,
    /// The network's input, un-normalised, as RGBA [INPUT_SIZE, INPUT_SIZE, 4].
    pub preview_rgba: Vec<u8>,
    /// Where every DCNv3 layer sampled for this image, first layer first (empty until it is
    /// read back: [`Engine::sampling`]).
    pub sampling: Arc<Vec<LayerSampling>>,
}

/// The bound the kernel is held to against its f64 CPU reference, as in the engine's tests.
pub const DCNV3_TOLERANCE: f64 = 1e-5;

struct LoadedModel {
    network: InternImage,
    labels: Option<Vec<String>>,
}

/// Every method takes `&self`: the page shares one engine between concurrent tasks. A run holds
/// its own handle on the model, so loading other weights meanwhile never disturbs it.
pub struct Engine {
    ctx: GpuContext,
    model: RefCell<Option<Rc<LoadedModel>>>,
    /// One piece of GPU work at a time: each is checked inside its own error scopes, which
    /// nest as a stack and must not interleave.
    turn: futures::lock::Mutex<()>,
}

impl Engine {
    pub async fn open() -> Result<Self, AppError> {
        let ctx = GpuContext::new().await?;
        Ok(Self {
            ctx,
            model: RefCell::new(None),
            turn: futures::lock::Mutex::new(()),
        })
    }

    /// Calls `callback` if the GPU device is lost (driver reset, out of memory, or destroyed).
    pub fn on_device_lost(&self, callback: impl Fn(AppError) + Send + 'static) {
        self.ctx
            .device
            .set_device_lost_callback(move |_reason, detail| {
                let detail = detail.trim_end_matches('.');
                let detail = if detail.is_empty() {
                    "no reason given"
                } else {
                    detail
                };
                callback(AppError::DeviceLost(detail.to_owned()));
            });
    }

    pub fn adapter(&self) -> AdapterView {
        let a = &self.ctx.adapter;
        AdapterView {
            name: a.name.clone(),
            backend: format!("{:?}", a.backend),
            device_type: format!("{:?}", a.device_type),
            timestamp_queries: a.timestamp_queries,
            shader_f16: a.shader_f16,
            subgroups: a.subgroups(),
            dcnv3_read: match dcnv3::Dcnv3Read::for_adapter(a) {
                dcnv3::Dcnv3Read::Gather { split: 1 } => {
                    "its 4 corners, gathered from a buffer".to_owned()
                }
                dcnv3::Dcnv3Read::Gather { split } => format!(
                    "its 4 corners, gathered from a buffer ({split} invocations a group, each \
                     with its share of the channels)"
                ),
                dcnv3::Dcnv3Read::Filtered => "one filtered texture sample".to_owned(),
            },
        }
    }

    /// Checks the DCNv3 kernel at the `level`-th InternImage-T shape against the CPU reference.
    pub async fn check_dcnv3_level(&self, level: usize) -> Result<KernelCheck, AppError> {
        let shape = dcnv3::internimage_t_shapes()[level];
        let _turn = self.turn.lock().await;
        let started = now_ms();
        let comparison = self
            .ctx
            .checked(dcnv3::check_against_reference(
                &self.ctx,
                &shape,
                level as u64 + 1,
            ))
            .await?;
        Ok(KernelCheck {
            shape: format!(
                "{}×{}×{}, G={}",
                shape.height,
                shape.width,
                shape.channels(),
                shape.groups
            ),
            relative_error: comparison.relative_error,
            passed: comparison.within(DCNV3_TOLERANCE),
            millis: now_ms() - started,
        })
    }

    /// Replaces the model with the one in `bytes` (safetensors, config in the metadata). On
    /// failure the previous model stays loaded. The build yields to the browser after each
    /// block, so the page stays responsive while a big model is checked and uploaded.
    pub async fn load_weights(&self, source: &str, bytes: &[u8]) -> Result<ModelView, AppError> {
        let weights = SafetensorsWeights::parse(bytes)?;
        let size = [INPUT_SIZE, INPUT_SIZE];
        let yield_to_page = || async {
            self.ctx.queue_done().await;
            gloo::timers::future::TimeoutFuture::new(0).await;
        };
        let _turn = self.turn.lock().await;
        // An out-of-memory or invalid build fails here, and the model before stays.
        let network = self
            .ctx
            .checked(InternImage::new_with_pauses(
                &self.ctx,
                &weights.config,
                &weights,
                size,
                yield_to_page,
            ))
            .await?;
        let config = &weights.config;
        let view = ModelView {
            source: source.to_owned(),
            served_file: None,
            stored_key: None,
            description: weights.description.clone().unwrap_or_else(|| {
                format!(
                    "InternImage with {} channels and depths {:?} (the file does not say what it was trained on)",
                    config.channels, config.depths
                )
            }),
            classes: config.num_classes as usize,
            parameters: config.parameter_count(),
            dispatches: network.dispatch_count(),
            gflops: network.flops() as f64 / 1e9,
            gpu_memory: {
                let memory = network.memory();
                format!(
                    "{:.1} MB of weights, {:.1} MB of activations",
                    memory.weights as f64 / 1e6,
                    memory.activations as f64 / 1e6
                )
            },
        };
        self.model.replace(Some(Rc::new(LoadedModel {
            network,
            labels: weights.labels,
        })));
        Ok(view)
    }

    /// Classifies a prepared image: the top-5 as soon as the logits are back, every layer's
    /// sampling through [`Engine::sampling`] after it.
    pub async fn classify(&self, image: PreparedImage) -> Result<Classified, AppError> {
        let _turn = self.turn.lock().await;
        let model = self.model.borrow().clone().ok_or(AppError::NoModel)?;
        let started = now_ms();
        let every: Vec<usize> = (0..model.network.dcn_layers().len()).collect();
        let (logits, sampling) = self
            .ctx
            .checked(model.network.run_exploring(&self.ctx, &image.input, &every))
            .await?;
        let millis = now_ms() - started;
        let top = top_k(&logits, 5)?
            .into_iter()
            .map(|(class, p)| {
                let label = model
                    .labels
                    .as_ref()
                    .map_or_else(|| format!("class {class}"), |l| l[class].clone());
                (label, p)
            })
            .collect();
        Ok(Classified {
            prediction: Prediction {
                top,
                millis,
                sampling_millis: 0.0,
                preview_rgba: image.preview_rgba,
                sampling: Arc::default(),
            },
            sampling,
        })
    }

    /// The prediction with every layer's sampling, once it is read back. Needs no turn of its
    /// own: the copies were queued with the pass, and the next pass may run meanwhile.
    pub async fn sampling(&self, classified: Classified) -> Result<Prediction, AppError> {
        let started = now_ms();
        let sampling = classified.sampling.read(&self.ctx).await?;
        Ok(Prediction {
            sampling_millis: now_ms() - started,
            sampling: Arc::new(sampling),
            ..classified.prediction
        })
    }
}

/// A classified image whose top-5 is known and whose sampling is still on its way.
pub struct Classified {
    /// Its sampling still empty.
    pub prediction: Prediction,
    sampling: PendingSampling,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
