//! The page's state and the actions that change it: start the engine, load a model, classify an
//! image. Panels read the signals and call the actions; nothing else writes the state. One
//! [`Page`] is provided as context at the root.

use std::rc::Rc;
use std::sync::Arc;

use catalog::CatalogEntry;
use gpu::model::sampling::LayerSampling;
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::download::{self, Origin, Progress};
use crate::engine::{AdapterView, Engine, KernelCheck, ModelView, Prediction};
use crate::error::AppError;
use crate::panels::explore::ViewState;
use crate::persist::{self, Saved};
use crate::prepare::{INPUT_SIZE, ImageWorker};
use crate::samples::{self, Sample};

/// Where the page is in its start-up.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Searching,
    Checking(AdapterView),
    Ready(AdapterView),
    Failed(AppError),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ModelState {
    Waiting,
    Downloading {
        name: String,
        progress: Option<Progress>,
    },
    Loading(String),
    Loaded(ModelView),
    Failed {
        error: AppError,
        /// The model still loaded, if any: a failed load leaves it in place.
        previous: Option<ModelView>,
    },
}

impl ModelState {
    /// The model a classification would use now.
    pub fn loaded(&self) -> Option<&ModelView> {
        match self {
            Self::Loaded(view) => Some(view),
            Self::Failed { previous, .. } => previous.as_ref(),
            _ => None,
        }
    }

    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Self::Waiting | Self::Downloading { .. } | Self::Loading(_)
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum PredictionState {
    Idle,
    Running(String),
    Done {
        name: String,
        prediction: Prediction,
    },
    Failed(AppError),
}

/// An image to classify.
pub enum ImageSource {
    Sample(Sample),
    File(web_sys::File),
}

/// The page: its signals, and the engine and image worker its actions share. Copy, so that
/// every handler holds it whole.
#[derive(Clone, Copy)]
pub struct Page {
    pub phase: RwSignal<Phase>,
    pub checks: RwSignal<Vec<KernelCheck>>,
    pub model: RwSignal<ModelState>,
    pub catalog: RwSignal<Vec<CatalogEntry>>,
    pub prediction: RwSignal<PredictionState>,
    /// The bundled sample shown, if it is one: what a reload restores.
    pub sample: RwSignal<Option<String>>,
    pub view: RwSignal<ViewState>,
    /// The network's input as the last classification saw it.
    pub preview: NodeRef<Canvas>,
    /// Set once the adapter is found.
    engine: StoredValue<Option<Rc<Engine>>, LocalStorage>,
    images: StoredValue<Rc<ImageWorker>, LocalStorage>,
}

impl Page {
    /// The page as the last visit left it (sample and view), and saving it from now on.
    pub fn restore() -> Self {
        let saved = persist::load();
        let page = Self {
            phase: RwSignal::new(Phase::Searching),
            checks: RwSignal::new(Vec::new()),
            model: RwSignal::new(ModelState::Waiting),
            catalog: RwSignal::new(Vec::new()),
            prediction: RwSignal::new(PredictionState::Idle),
            sample: RwSignal::new(saved.sample),
            view: RwSignal::new(saved.view),
            preview: NodeRef::new(),
            engine: StoredValue::new_local(None),
            images: StoredValue::new_local(Rc::new(ImageWorker::start())),
        };
        Effect::new(move |_| {
            persist::save(&Saved {
                sample: page.sample.get(),
                view: page.view.get(),
            })
        });
        page
    }

    /// Every DCNv3 layer's sampling for the image shown.
    pub fn sampling(self) -> Signal<Option<Arc<Vec<LayerSampling>>>> {
        Signal::derive(move || match self.prediction.get() {
            PredictionState::Done { prediction, .. } => Some(prediction.sampling),
            _ => None,
        })
    }

    fn engine(self) -> Result<Rc<Engine>, AppError> {
        self.engine.get_value().ok_or(AppError::NoEngine)
    }

    /// Opens the GPU, loads the first model of the catalog, classifies the saved sample, then
    /// checks the DCNv3 kernel at InternImage-T's four shapes.
    pub fn start(self) {
        spawn_local(async move {
            let engine = match Engine::open().await {
                Ok(engine) => Rc::new(engine),
                Err(error) => return self.phase.set(Phase::Failed(error)),
            };
            let adapter = engine.adapter();
            engine.on_device_lost(move |error| self.phase.set(Phase::Failed(error)));
            self.engine.set_value(Some(engine.clone()));
            self.phase.set(Phase::Checking(adapter.clone()));
            self.load_default_model().await;
            let saved = self.sample.get_untracked();
            if let Some(sample) = saved.as_deref().and_then(samples::named) {
                self.classify(ImageSource::Sample(sample));
            }
            for level in 0..4 {
                match engine.check_dcnv3_level(level).await {
                    Ok(check) => self.checks.update(|rows| rows.push(check)),
                    // A lost device fails the checks too: keep its message, which says why.
                    Err(error) => return self.fail_unless_failed(error),
                }
            }
            self.phase.update(|phase| {
                if !matches!(phase, Phase::Failed(_)) {
                    *phase = Phase::Ready(adapter);
                }
            });
        });
    }

    fn fail_unless_failed(self, error: AppError) {
        self.phase.update(|phase| {
            if !matches!(phase, Phase::Failed(_)) {
                *phase = Phase::Failed(error);
            }
        });
    }

    async fn load_default_model(self) {
        match download::fetch_catalog().await {
            Ok(catalog) => {
                let first = catalog.models[0].clone();
                self.catalog.set(catalog.models);
                self.load_served(first).await;
            }
            Err(error) => self.model.set(ModelState::Failed {
                error,
                previous: None,
            }),
        }
    }

    /// Loads one model of the catalog, downloaded or from the browser's cache, verified.
    pub fn load_served_model(self, entry: CatalogEntry) {
        spawn_local(self.load_served(entry));
    }

    async fn load_served(self, entry: CatalogEntry) {
        let previous = self.model.get_untracked().loaded().cloned();
        let name = entry.file_name().to_owned();
        self.model.set(ModelState::Downloading {
            name: name.clone(),
            progress: None,
        });
        let result = async {
            let (bytes, origin) = download::fetch_verified(&entry, |progress| {
                self.model.set(ModelState::Downloading {
                    name: name.clone(),
                    progress: Some(progress),
                });
            })
            .await
            .map_err(|reason| AppError::Download {
                name: name.clone(),
                reason,
            })?;
            self.model.set(ModelState::Loading(name.clone()));
            let origin = match origin {
                Origin::Network => "downloaded",
                Origin::BrowserCache => "from the browser cache",
            };
            let source = format!("{name} from this server ({origin}, size and SHA-256 verified)");
            let view = self.engine()?.load_weights(&source, &bytes).await?;
            Ok(ModelView {
                served_file: Some(entry.file.clone()),
                ..view
            })
        };
        self.finish_load(result.await, previous);
    }

    /// Loads weights from a file the person chose or dropped.
    pub fn load_weights_file(self, file: web_sys::File) {
        spawn_local(async move {
            let previous = self.model.get_untracked().loaded().cloned();
            let name = file.name();
            self.model.set(ModelState::Loading(name.clone()));
            let result = async {
                let bytes = read_file(&file).await?;
                self.engine()?.load_weights(&name, &bytes).await
            };
            self.finish_load(result.await.map_err(|e| e.of(&name)), previous);
        });
    }

    fn finish_load(self, result: Result<ModelView, AppError>, previous: Option<ModelView>) {
        self.model.set(match result {
            Ok(view) => ModelState::Loaded(view),
            Err(error) => ModelState::Failed { error, previous },
        });
    }

    /// Classifies an image and shows it as the network saw it. Only bundled samples are
    /// remembered for the next visit.
    pub fn classify(self, image: ImageSource) {
        let name = match &image {
            ImageSource::Sample(sample) => sample.file.to_owned(),
            ImageSource::File(file) => file.name(),
        };
        self.sample.set(match &image {
            ImageSource::Sample(sample) => Some(sample.file.to_owned()),
            ImageSource::File(_) => None,
        });
        self.prediction.set(PredictionState::Running(name.clone()));
        spawn_local(async move {
            let result = async {
                let bytes = match image {
                    ImageSource::Sample(sample) => fetch_sample(sample).await?,
                    ImageSource::File(file) => read_file(&file).await?,
                };
                let engine = self.engine()?;
                let prepared = self.images.get_value().prepare(bytes).await?;
                engine.classify(prepared).await
            };
            self.prediction.set(match result.await {
                Ok(prediction) => {
                    if let Some(canvas) = self.preview.get_untracked() {
                        crate::canvas::put_rgba(
                            &canvas,
                            &prediction.preview_rgba,
                            INPUT_SIZE,
                            INPUT_SIZE,
                        );
                    }
                    PredictionState::Done { name, prediction }
                }
                Err(error) => PredictionState::Failed(error.of(&name)),
            });
        });
    }
}

async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, AppError> {
    gloo::file::futures::read_as_bytes(&gloo::file::Blob::from(file.clone()))
        .await
        .map_err(|e| AppError::FileRead(e.to_string()))
}

async fn fetch_sample(sample: Sample) -> Result<Vec<u8>, AppError> {
    let response = gloo::net::http::Request::get(&samples::url(sample))
        .send()
        .await
        .map_err(|e| AppError::SampleFetch(e.to_string()))?;
    if !response.ok() {
        return Err(AppError::SampleMissing(response.status()));
    }
    (response.binary().await).map_err(|e| AppError::SampleFetch(e.to_string()))
}
