//! The page's state and the actions that change it: start the engine, load a model, classify an
//! image. Panels read the signals and call the actions; nothing else writes the state. One
//! [`Page`] is provided as context at the root.

use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;

use catalog::{CatalogEntry, CheckpointOffer};
use futures::StreamExt;
use futures::future::{Either, select};
use gloo::timers::future::TimeoutFuture;
use gpu::model::sampling::LayerSampling;
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::download::{self, Origin, Progress};
use crate::engine::{AdapterView, Classified, Engine, KernelCheck, ModelView, Prediction};
use crate::error::AppError;
use crate::history;
use crate::install::{Conversion, Event, InstallError, Job, Report, Stage, Summary};
use crate::persist;
use crate::prepare::{INPUT_SIZE, ImageWorker};
use crate::samples::{self, Sample};
use crate::store::{self, Estimate, StoredModel};
use link::{ChosenModel, ImageRef, Link, Saved, View};

/// Where the page is in its start-up.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Searching,
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
    /// A checkpoint on its way: downloaded and converted in the worker, then kept.
    Installing {
        name: String,
        stage: Stage,
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
            Self::Waiting | Self::Downloading { .. } | Self::Installing { .. } | Self::Loading(_)
        )
    }
}

/// What to install: a catalog offer from one of its sources, an address, or a dropped file.
#[derive(Clone, Debug)]
pub enum Install {
    Offer {
        offer: CheckpointOffer,
        source: usize,
    },
    Url(String),
    File(web_sys::File),
}

impl Install {
    /// The model's name as the page shows it.
    fn name(&self) -> String {
        match self {
            Self::Offer { offer, .. } => offer.name.clone(),
            Self::Url(url) => catalog::file_name_of(url).to_owned(),
            Self::File(file) => file.name(),
        }
    }

    fn job(&self) -> Job {
        match self {
            Self::Offer { offer, source } => {
                let source = &offer.sources[*source];
                Job {
                    name: source.file_name().to_owned(),
                    url: Some(source.url.clone()),
                    config_url: source.config_url.clone(),
                    description: Some(offer.description(source.file_name())),
                }
            }
            Self::Url(url) => Job {
                name: catalog::file_name_of(url).to_owned(),
                url: Some(url.clone()),
                config_url: None,
                description: None,
            },
            Self::File(file) => Job {
                name: file.name(),
                url: None,
                config_url: None,
                description: None,
            },
        }
    }

    /// What the stored list says it came from.
    fn source(&self) -> String {
        match self {
            Self::Offer { offer, source } => offer.sources[*source].url.clone(),
            Self::Url(url) => url.clone(),
            Self::File(file) => format!("{} (a file dropped on this page)", file.name()),
        }
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

/// The model loaded, as the bytes it was built from.
struct Held {
    source: String,
    bytes: Vec<u8>,
    view: ModelView,
}

/// How long the conversion worker may say nothing (it reports every tenth of a second while it
/// works) before it is given up: a stalled download, or a worker that died without a word.
const SILENCE_PATIENCE_MS: u32 = 60_000;

/// How long a failed kernel check waits for the device-lost report that may explain it.
const DEVICE_LOST_GRACE_MS: u32 = 1_000;

/// Devices replaced in one visit before the page stops and asks for a reload.
const MAX_RECOVERIES: u32 = 3;

/// What a device-lost error says of the reason.
fn lost_reason(error: &AppError) -> String {
    match error {
        AppError::DeviceLost(reason) => reason.clone(),
        other => other.to_string(),
    }
}

/// An image to classify.
#[derive(Clone)]
pub enum ImageSource {
    Sample(Sample),
    /// An http(s) address, from a link.
    Url(String),
    File(web_sys::File),
}

impl ImageSource {
    fn name(&self) -> String {
        match self {
            Self::Sample(sample) => sample.file.to_owned(),
            Self::Url(url) => catalog::file_name_of(url).to_owned(),
            Self::File(file) => file.name(),
        }
    }

    /// How a link names it; a file from this computer has no such name.
    fn reference(&self) -> Option<ImageRef> {
        match self {
            Self::Sample(sample) => Some(ImageRef::Sample(sample.file.to_owned())),
            Self::Url(url) => Some(ImageRef::Url(url.clone())),
            Self::File(_) => None,
        }
    }
}

/// An image chosen or dropped in this visit.
#[derive(Clone)]
pub struct GalleryImage {
    pub id: u32,
    pub name: String,
    /// An object URL of the file, for its thumbnail.
    pub thumbnail: String,
    pub file: web_sys::File,
}

/// The gallery keeps this many images; older ones leave it.
const GALLERY_LIMIT: usize = 48;

/// The page: its signals, and the engine and image worker its actions share. Copy, so that
/// every handler holds it whole.
#[derive(Clone, Copy)]
pub struct Page {
    pub phase: RwSignal<Phase>,
    pub checks: RwSignal<Vec<KernelCheck>>,
    pub model: RwSignal<ModelState>,
    pub catalog: RwSignal<Vec<CatalogEntry>>,
    /// Official checkpoints the page can fetch and convert.
    pub offers: RwSignal<Vec<CheckpointOffer>>,
    pub prediction: RwSignal<PredictionState>,
    /// The image shown as a link names it: None before the first image, or for a file from
    /// this computer (which `shown_file` then says).
    pub image: RwSignal<Option<ImageRef>>,
    pub shown_file: RwSignal<bool>,
    pub view: RwSignal<View>,
    /// The parts of the link the page was opened with that it could not use.
    pub link_ignored: RwSignal<Vec<link::Ignored>>,
    /// What else a person should know of that link (a model this browser does not have yet).
    pub link_notice: RwSignal<Option<String>>,
    /// Whether the DCNv3 self-check runs now.
    pub checking: RwSignal<bool>,
    /// The images chosen or dropped in this visit, and which of them is shown.
    pub gallery: RwSignal<Vec<GalleryImage>, LocalStorage>,
    pub gallery_shown: RwSignal<Option<u32>>,
    /// The last image classified and what the network made of it: still shown while the next
    /// one runs (a camera's frames follow one another without a blank between).
    pub result: RwSignal<Option<(String, Prediction)>>,
    /// The second image of a comparison, classified beside the one shown.
    pub compared: RwSignal<Option<PredictionState>>,
    /// The models converted and kept in this browser, and its storage estimate.
    pub stored: RwSignal<Vec<StoredModel>>,
    pub storage: RwSignal<Option<Estimate>>,
    /// Said of the model loaded, beside it: that it was not kept, say.
    pub notice: RwSignal<Option<String>>,
    /// What a failed installation would retry.
    pub retry: RwSignal<Option<Install>, LocalStorage>,
    /// The network's input as the last classification saw it.
    pub preview: NodeRef<Canvas>,
    /// Set once the adapter is found.
    engine: StoredValue<Option<Rc<Engine>>, LocalStorage>,
    images: StoredValue<Rc<ImageWorker>, LocalStorage>,
    /// The bytes of the model loaded, to build it again on a new device.
    held: StoredValue<Option<Rc<Held>>, LocalStorage>,
    /// Devices replaced this visit.
    recoveries: StoredValue<u32, LocalStorage>,
    /// Counts classifications, so that only the last one started is shown.
    classifications: StoredValue<u64, LocalStorage>,
    /// The classification whose top-5 (or failure) is shown, and the one whose sampling is:
    /// the sampling follows the top-5 (`Engine::sampling`), and while they differ the image
    /// and its overlay are still the one before.
    pub top5_of: RwSignal<u64>,
    pub explored_of: RwSignal<u64>,
    /// The image shown, classified again when another model loads.
    shown: StoredValue<Option<ImageSource>, LocalStorage>,
    /// The conversion under way, which Cancel ends.
    conversion: StoredValue<Option<Rc<Conversion>>, LocalStorage>,
    /// The model the next visit starts with.
    chosen: RwSignal<Option<ChosenModel>>,
    /// The model a link asked for, until it is loaded or found missing.
    linked_model: StoredValue<Option<String>>,
    /// Whether the view came from a link, to be checked against the model's layers once.
    linked_view: StoredValue<bool>,
}

impl Page {
    /// The page as its link says, else as the last visit left it (model, sample and view), and
    /// saving it from now on.
    pub fn restore() -> Self {
        let mut saved = persist::load();
        let (link, ignored) = history::opened_with();
        let linked = link.is_some();
        let mut image = saved.sample.clone().map(ImageRef::Sample);
        let mut linked_model = None;
        if let Some(link) = link {
            saved.view = link.view;
            image = link.image.or(image);
            linked_model = link.model;
        }
        let page = Self {
            phase: RwSignal::new(Phase::Searching),
            checks: RwSignal::new(Vec::new()),
            model: RwSignal::new(ModelState::Waiting),
            catalog: RwSignal::new(Vec::new()),
            offers: RwSignal::new(Vec::new()),
            prediction: RwSignal::new(PredictionState::Idle),
            image: RwSignal::new(image),
            shown_file: RwSignal::new(false),
            view: RwSignal::new(saved.view),
            link_ignored: RwSignal::new(ignored),
            link_notice: RwSignal::new(None),
            checking: RwSignal::new(false),
            gallery: RwSignal::new_local(Vec::new()),
            gallery_shown: RwSignal::new(None),
            compared: RwSignal::new(None),
            result: RwSignal::new(None),
            stored: RwSignal::new(store::list()),
            storage: RwSignal::new(None),
            notice: RwSignal::new(None),
            retry: RwSignal::new_local(None),
            preview: NodeRef::new(),
            engine: StoredValue::new_local(None),
            images: StoredValue::new_local(Rc::new(ImageWorker::start())),
            conversion: StoredValue::new_local(None),
            shown: StoredValue::new_local(None),
            held: StoredValue::new_local(None),
            recoveries: StoredValue::new_local(0),
            classifications: StoredValue::new_local(0),
            top5_of: RwSignal::new(0),
            explored_of: RwSignal::new(0),
            chosen: RwSignal::new(saved.model),
            linked_model: StoredValue::new(linked_model),
            linked_view: StoredValue::new(linked),
        };
        Effect::new(move |_| {
            persist::save(&Saved {
                model: page.chosen.get(),
                sample: match page.image.get() {
                    Some(ImageRef::Sample(file)) => Some(file),
                    _ => None,
                },
                view: page.view.get(),
            })
        });
        page.fit_view_to_model();
        history::follow(page);
        page
    }

    /// The link that shows what the page shows now.
    pub fn link(self) -> Link {
        Link {
            model: self.model_link_name(),
            image: self.image.get(),
            view: self.view.get(),
        }
    }

    /// [`Page::link`] without tracking it, for event handlers.
    pub fn link_untracked(self) -> Link {
        untrack(|| self.link())
    }

    /// The loaded model as a link names it: a served file's name, or the id of the offer a
    /// kept model was converted from. A dropped file has none.
    fn model_link_name(self) -> Option<String> {
        self.model.with(|m| {
            let view = m.loaded()?;
            if let Some(file) = &view.served_file {
                return Some(catalog::file_name_of(file).to_owned());
            }
            let key = view.stored_key.as_ref()?;
            self.stored.with(|s| {
                s.iter()
                    .find(|m| &m.key == key)
                    .and_then(|m| m.offer.clone())
            })
        })
    }

    /// Keeps the view inside the model's layers and groups; a link's impossible layer or group
    /// is named in the link notice.
    fn fit_view_to_model(self) {
        Effect::new(move |_| {
            let Some(layers) = self.sampling().get() else {
                return;
            };
            let view = self.view.get_untracked();
            let mut fitted = view.clone();
            let ignored = match layers.get(view.layer) {
                None => {
                    fitted.layer = 0;
                    fitted.group = None;
                    Some(link::Ignored::new(
                        "layer",
                        format!("this model has {} DCNv3 layers", layers.len()),
                    ))
                }
                Some(layer) if view.group.is_some_and(|g| g >= layer.groups) => {
                    fitted.group = None;
                    Some(link::Ignored::new(
                        "group",
                        format!("this layer has {} groups", layer.groups),
                    ))
                }
                Some(_) => None,
            };
            if fitted != view {
                self.view.set(fitted);
            }
            if self.linked_view.get_value() {
                self.linked_view.set_value(false);
                self.link_ignored.update(|all| all.extend(ignored));
            }
        });
    }

    /// Every DCNv3 layer's sampling for the image shown.
    pub fn sampling(self) -> Signal<Option<Arc<Vec<LayerSampling>>>> {
        Signal::derive(move || {
            self.result
                .with(|r| r.as_ref().map(|(_, p)| p.sampling.clone()))
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
            engine.on_device_lost(move |error| self.recover_from(error));
            self.engine.set_value(Some(engine));
            self.phase.set(Phase::Ready(adapter));
            self.load_default_model().await;
            if let Some(image) = self.image.get_untracked() {
                self.show(image);
            }
        });
    }

    /// Classifies the image a link or the last visit named; an unknown sample is named in the
    /// link notice.
    pub fn show(self, image: ImageRef) {
        match image {
            ImageRef::Sample(file) => match samples::named(&file) {
                Some(sample) => self.classify(ImageSource::Sample(sample)),
                None => {
                    self.image.set(None);
                    self.link_ignored.update(|all| {
                        all.push(link::Ignored::new(
                            "image",
                            format!("{file} is not one of this page's samples"),
                        ))
                    });
                }
            },
            ImageRef::Url(url) => self.classify(ImageSource::Url(url)),
        }
    }

    /// Adds image files to the gallery and shows the first of them. Files that are not images
    /// (a folder holds other things too) are left out.
    pub fn add_images(self, files: Vec<web_sys::File>) {
        let images: Vec<web_sys::File> = files
            .into_iter()
            .filter(|f| f.type_().starts_with("image/") || f.type_().is_empty())
            .collect();
        let Some(first) = images.first().cloned() else {
            return;
        };
        let first_id = self
            .gallery
            .with_untracked(|g| g.last().map_or(0, |i| i.id + 1));
        self.gallery.update(|gallery| {
            for (n, file) in images.into_iter().enumerate() {
                let thumbnail =
                    web_sys::Url::create_object_url_with_blob(&file).unwrap_or_default();
                gallery.push(GalleryImage {
                    id: first_id + n as u32,
                    name: file.name(),
                    thumbnail,
                    file,
                });
            }
            let over = gallery.len().saturating_sub(GALLERY_LIMIT);
            for old in gallery.drain(..over) {
                let _ = web_sys::Url::revoke_object_url(&old.thumbnail);
            }
        });
        self.classify(ImageSource::File(first));
        self.gallery_shown.set(Some(first_id));
    }

    /// Shows one image of the gallery.
    pub fn show_gallery_image(self, id: u32) {
        let file = self
            .gallery
            .with_untracked(|g| g.iter().find(|i| i.id == id).map(|i| i.file.clone()));
        if let Some(file) = file {
            self.classify(ImageSource::File(file));
            self.gallery_shown.set(Some(id));
        }
    }

    /// Checks the DCNv3 kernel at InternImage-T's four shapes against its CPU reference.
    pub fn run_checks(self) {
        if self.checking.get_untracked() {
            return;
        }
        let Ok(engine) = self.engine() else {
            return;
        };
        self.checking.set(true);
        self.checks.set(Vec::new());
        spawn_local(async move {
            for level in 0..4 {
                match engine.check_dcnv3_level(level).await {
                    Ok(check) => self.checks.update(|rows| rows.push(check)),
                    Err(error) => {
                        // A lost device fails the checks too, and its own report may come a
                        // moment later: then the checks stop, and the recovery speaks.
                        TimeoutFuture::new(DEVICE_LOST_GRACE_MS).await;
                        if self.recoveries.get_value() == 0 {
                            self.fail_unless_failed(error);
                        }
                        break;
                    }
                }
            }
            self.checking.set(false);
        });
    }

    fn fail_unless_failed(self, error: AppError) {
        self.phase.update(|phase| {
            if !matches!(phase, Phase::Failed(_)) {
                *phase = Phase::Failed(error);
            }
        });
    }

    /// The model chosen on the last visit (kept here, or on the server), else the catalog's
    /// first. A kept model loads with no network request for weights.
    async fn load_default_model(self) {
        self.refresh_storage();
        // The catalog names the offers even when the weights come from storage.
        let catalog = download::fetch_catalog().await;
        if let Ok(catalog) = &catalog {
            self.catalog.set(catalog.models.clone());
            self.offers.set(catalog.checkpoints.clone());
        }
        let linked = self.linked_model.get_value();
        let chosen = match linked {
            Some(name) => self.chosen_by_link(&name),
            None => self.chosen.get_untracked(),
        };
        if let Some(ChosenModel::Stored(key)) = &chosen
            && let Some(model) = self
                .stored
                .get_untracked()
                .into_iter()
                .find(|m| &m.key == key)
            && self.load_stored_now(model).await
        {
            return;
        }
        match catalog {
            Ok(catalog) => {
                let wanted = match &chosen {
                    Some(ChosenModel::Served(file)) => {
                        catalog.models.iter().find(|m| &m.file == file).cloned()
                    }
                    _ => None,
                };
                let first = wanted.unwrap_or_else(|| catalog.models[0].clone());
                self.load_served(first).await;
            }
            Err(error) => self.model.set(ModelState::Failed {
                error,
                previous: None,
            }),
        }
    }

    /// The model a link names, among the served models and the offers kept here. An offer not
    /// kept yet, or a name nobody knows, is said in the link notice.
    fn chosen_by_link(self, name: &str) -> Option<ChosenModel> {
        self.linked_model.set_value(None);
        if let Some(entry) = self
            .catalog
            .with_untracked(|c| c.iter().find(|e| e.file_name() == name).cloned())
        {
            return Some(ChosenModel::Served(entry.file));
        }
        let offer = self
            .offers
            .with_untracked(|o| o.iter().find(|o| o.id == name).cloned());
        let Some(offer) = offer else {
            self.link_ignored.update(|all| {
                all.push(link::Ignored::new(
                    "model",
                    format!("{name} is not a model this page offers"),
                ))
            });
            return None;
        };
        let kept = self.stored.with_untracked(|s| {
            s.iter()
                .find(|m| m.offer.as_deref() == Some(name))
                .map(|m| m.key.clone())
        });
        if kept.is_none() {
            self.link_notice.set(Some(format!(
                "This link shows {0}, which this browser does not have yet: press Get {0} \
                 below to see the same view. Until then the demo model shows it.",
                offer.name
            )));
        }
        kept.map(ChosenModel::Stored)
    }

    /// Loads the model a link names, when it is not the one loaded (Back and Forward).
    pub fn open_linked_model(self, name: &str) {
        if self.model_link_name().as_deref() == Some(name) || self.model.get_untracked().is_busy() {
            return;
        }
        match self.chosen_by_link(name) {
            Some(ChosenModel::Served(file)) => {
                if let Some(entry) = self
                    .catalog
                    .with_untracked(|c| c.iter().find(|e| e.file == file).cloned())
                {
                    self.load_served_model(entry);
                }
            }
            Some(ChosenModel::Stored(key)) => {
                if let Some(model) = self
                    .stored
                    .with_untracked(|s| s.iter().find(|m| m.key == key).cloned())
                {
                    self.load_stored(model);
                }
            }
            None => {}
        }
    }

    /// Reads the stored list and the storage estimate again.
    fn refresh_storage(self) {
        self.stored.set(store::list());
        spawn_local(async move { self.storage.set(store::estimate().await) });
    }

    /// Loads a model kept in this browser; false when it is no longer there (it is then
    /// dropped from the list).
    pub fn load_stored(self, model: StoredModel) {
        spawn_local(async move {
            self.load_stored_now(model).await;
        });
    }

    async fn load_stored_now(self, model: StoredModel) -> bool {
        let previous = self.model.get_untracked().loaded().cloned();
        self.model.set(ModelState::Loading(model.name.clone()));
        let Some(bytes) = store::get(&model.key).await else {
            store::remove(&model.key).await;
            self.refresh_storage();
            self.finish_load(Err(AppError::StoredGone(model.name.clone())), previous);
            return false;
        };
        let source = format!(
            "{} (converted on this page, kept in this browser)",
            model.name
        );
        let key = model.key.clone();
        let result = self
            .build(&source, bytes, |view| view.stored_key = Some(key))
            .await;
        self.finish_load(result.map_err(|e| e.of(&model.name)), previous);
        true
    }

    /// Removes a kept model from this browser; the one loaded stays loaded.
    pub fn remove_stored(self, key: String) {
        spawn_local(async move {
            store::remove(&key).await;
            if self.chosen.get_untracked() == Some(ChosenModel::Stored(key)) {
                self.chosen.set(None);
            }
            self.refresh_storage();
        });
    }

    /// Downloads (or reads) a checkpoint, converts it in the worker, keeps it, and loads it.
    pub fn install(self, what: Install) {
        if self.conversion.with_value(Option::is_some) {
            return;
        }
        spawn_local(async move {
            let previous = self.model.get_untracked().loaded().cloned();
            let name = what.name();
            self.retry.set(None);
            self.notice.set(None);
            self.model.set(ModelState::Installing {
                name: name.clone(),
                stage: Stage::Starting,
            });
            let file = match &what {
                Install::File(file) => Some(file.clone()),
                _ => None,
            };
            let (conversion, mut events) = match Conversion::start(&what.job(), file.as_ref()) {
                Ok(started) => started,
                Err(reason) => return self.install_failed(&name, reason, what, previous),
            };
            self.conversion.set_value(Some(conversion.clone()));
            let outcome = loop {
                let next = events.next();
                let event = match select(pin!(next), TimeoutFuture::new(SILENCE_PATIENCE_MS)).await
                {
                    Either::Left((event, _)) => event,
                    Either::Right(_) => {
                        break Err(Some(InstallError::Silent(SILENCE_PATIENCE_MS / 1000)));
                    }
                };
                match event {
                    Some(Event::Report(Report::Progress(stage))) => {
                        self.install_stage(&name, stage)
                    }
                    Some(Event::Report(Report::Failed(reason))) => break Err(Some(reason)),
                    Some(Event::Report(Report::Done(_))) => {}
                    Some(Event::Converted(summary, bytes)) => break Ok((summary, bytes)),
                    Some(Event::Cancelled) | None => break Err(None),
                }
            };
            self.conversion.set_value(None);
            drop(conversion);
            match outcome {
                Ok((summary, bytes)) => self.keep_and_load(&name, &what, summary, bytes).await,
                Err(Some(reason)) => self.install_failed(&name, reason, what, previous),
                // Cancelled: back to what was loaded before.
                Err(None) => self.model.set(match previous {
                    Some(view) => ModelState::Loaded(view),
                    None => ModelState::Failed {
                        error: AppError::Cancelled,
                        previous: None,
                    },
                }),
            }
        });
    }

    /// Ends the conversion under way.
    pub fn cancel_install(self) {
        if let Some(conversion) = self.conversion.get_value() {
            conversion.cancel();
        }
    }

    /// Tries the last failed installation again.
    pub fn retry_install(self) {
        if let Some(what) = self.retry.get_untracked() {
            self.install(what);
        }
    }

    fn install_stage(self, name: &str, stage: Stage) {
        self.model.set(ModelState::Installing {
            name: name.to_owned(),
            stage,
        });
    }

    fn install_failed(
        self,
        name: &str,
        reason: InstallError,
        what: Install,
        previous: Option<ModelView>,
    ) {
        if reason.may_retry() {
            self.retry.set(Some(what));
        }
        self.finish_load(
            Err(AppError::Install {
                name: name.to_owned(),
                reason,
            }),
            previous,
        );
    }

    async fn keep_and_load(self, name: &str, what: &Install, summary: Summary, bytes: Vec<u8>) {
        let previous = self.model.get_untracked().loaded().cloned();
        self.install_stage(name, Stage::Storing);
        let offer = match what {
            Install::Offer { offer, .. } => Some(offer.id.clone()),
            _ => None,
        };
        let kept = StoredModel::new(
            name,
            offer,
            &what.source(),
            &summary.source_sha256,
            bytes.len() as u64,
        );
        let stored = store::put(&kept, &bytes).await;
        self.model.set(ModelState::Loading(name.to_owned()));
        let source = format!("{name} (converted on this page from {})", what.source());
        let converted_bytes = bytes.len();
        let key = stored.is_ok().then(|| kept.key.clone());
        let result = self
            .build(&source, bytes, |view| view.stored_key = key)
            .await;
        match &stored {
            Ok(()) if result.is_ok() => {
                self.chosen.set(Some(ChosenModel::Stored(kept.key.clone())))
            }
            Ok(()) => {}
            Err(why) => self.notice.set(Some(format!(
                "{name} is loaded for this visit, but this browser did not keep it ({why}): the \
                 next visit will download it again."
            ))),
        }
        self.measured(&summary, converted_bytes);
        self.finish_load(result.map_err(|e| e.of(name)), previous);
        self.refresh_storage();
    }

    /// What the worker measured, for whoever watches the page (and the end-to-end tests).
    fn measured(self, summary: &Summary, converted_bytes: usize) {
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let text = serde_json::json!({
                "source_bytes": summary.source_bytes,
                "source_sha256": summary.source_sha256,
                "converted_bytes": converted_bytes,
                "tensors_read": summary.tensors_read,
                "download_ms": summary.download_ms,
                "convert_ms": summary.convert_ms,
                "worker_memory_bytes": summary.worker_memory_bytes,
            });
            let _ = body.set_attribute("data-last-install", &text.to_string());
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
            let file = entry.file.clone();
            self.build(&source, bytes, |view| view.served_file = Some(file))
                .await
        };
        let result = result.await;
        if result.is_ok() {
            self.chosen
                .set(Some(ChosenModel::Served(entry.file.clone())));
        }
        self.finish_load(result, previous);
    }

    /// Loads weights from a file the person chose or dropped.
    /// An official checkpoint (a .pth, or safetensors without the engine's config) goes to the
    /// converter; the engine's own files load directly.
    pub fn load_weights_file(self, file: web_sys::File) {
        spawn_local(async move {
            if is_checkpoint(&file).await {
                return self.install(Install::File(file));
            }
            let previous = self.model.get_untracked().loaded().cloned();
            let name = file.name();
            self.model.set(ModelState::Loading(name.clone()));
            let result = async {
                let bytes = read_file(&file).await?;
                self.build(&name, bytes, |_| {}).await
            };
            self.finish_load(result.await.map_err(|e| e.of(&name)), previous);
        });
    }

    /// Builds the model from `bytes` and holds them, to build it again on a new device should
    /// this one be lost. `mark` says where the model came from.
    async fn build(
        self,
        source: &str,
        bytes: Vec<u8>,
        mark: impl FnOnce(&mut ModelView),
    ) -> Result<ModelView, AppError> {
        let mut view = self.engine()?.load_weights(source, &bytes).await?;
        mark(&mut view);
        self.held.set_value(Some(Rc::new(Held {
            source: source.to_owned(),
            bytes,
            view: view.clone(),
        })));
        Ok(view)
    }

    /// A lost device (a driver reset, the tab out of GPU memory) is replaced: a new device,
    /// the model built again from the bytes held, the image shown classified again. Only when
    /// that fails, or keeps happening, does the page ask for a reload.
    fn recover_from(self, lost: AppError) {
        spawn_local(async move {
            if self.recoveries.get_value() >= MAX_RECOVERIES {
                return self.phase.set(Phase::Failed(lost));
            }
            self.recoveries.update_value(|n| *n += 1);
            self.notice
                .set(Some(format!("{lost} Starting a new GPU device…")));
            match self.recover().await {
                Ok(rebuilt) => self.notice.set(Some(format!(
                    "The GPU device was lost ({}); the page started a new one{}.",
                    lost_reason(&lost),
                    if rebuilt {
                        ", built the model on it again and classified the image again"
                    } else {
                        ""
                    }
                ))),
                Err(_) => self.phase.set(Phase::Failed(lost)),
            }
        });
    }

    /// Whether a model was built again.
    async fn recover(self) -> Result<bool, AppError> {
        let engine = Rc::new(Engine::open().await?);
        engine.on_device_lost(move |error| self.recover_from(error));
        self.engine.set_value(Some(engine.clone()));
        let Some(held) = self.held.get_value() else {
            return Ok(false);
        };
        self.model
            .set(ModelState::Loading(held.view.source.clone()));
        let view = engine.load_weights(&held.source, &held.bytes).await?;
        self.model.set(ModelState::Loaded(ModelView {
            served_file: held.view.served_file.clone(),
            stored_key: held.view.stored_key.clone(),
            ..view
        }));
        if let Some(image) = self.shown.get_value() {
            self.classify(image);
        }
        Ok(true)
    }

    fn finish_load(self, result: Result<ModelView, AppError>, previous: Option<ModelView>) {
        let loaded = result.is_ok();
        self.model.set(match result {
            Ok(view) => ModelState::Loaded(view),
            Err(error) => ModelState::Failed { error, previous },
        });
        // The image shown is seen by the new model at once.
        if loaded && let Some(image) = self.shown.get_value() {
            self.classify(image);
        }
    }

    /// Classifies an image and shows it as the network saw it. Only bundled samples are
    /// remembered for the next visit.
    pub fn classify(self, image: ImageSource) {
        let name = image.name();
        self.image.set(image.reference());
        self.shown_file.set(matches!(image, ImageSource::File(_)));
        self.gallery_shown.set(None);
        self.prediction.set(PredictionState::Running(name.clone()));
        self.shown.set_value(Some(image.clone()));
        self.classifications.update_value(|n| *n += 1);
        let this = self.classifications.get_value();
        spawn_local(async move {
            let classified = self.run_classification(image).await;
            // A later classification (another image, a new model, a new device) has the say.
            if self.classifications.get_value() != this {
                return;
            }
            let classified = match classified {
                Ok(classified) => classified,
                Err(error) => {
                    self.result.set(None);
                    self.top5_of.set(this);
                    self.prediction
                        .set(PredictionState::Failed(error.of(&name)));
                    return;
                }
            };
            self.top5_of.set(this);
            self.prediction.set(PredictionState::Done {
                name: name.clone(),
                prediction: classified.prediction.clone(),
            });
            let explored = self.explore(classified).await;
            // Shown unless a later classification has come to its own top-5 or failure: a
            // camera's next frame may already run.
            if self.top5_of.get_untracked() != this {
                return;
            }
            match explored {
                Ok(prediction) => {
                    if let Some(canvas) = self.preview.get_untracked() {
                        crate::canvas::put_rgba(
                            &canvas,
                            &prediction.preview_rgba,
                            INPUT_SIZE,
                            INPUT_SIZE,
                        );
                    }
                    self.result.set(Some((name, prediction)));
                    self.explored_of.set(this);
                }
                Err(error) if self.classifications.get_value() == this => {
                    self.result.set(None);
                    self.prediction
                        .set(PredictionState::Failed(error.of(&name)));
                }
                Err(_) => {}
            }
        });
    }

    async fn run_classification(self, image: ImageSource) -> Result<Classified, AppError> {
        let bytes = match image {
            ImageSource::Sample(sample) => fetch_image(&samples::url(sample)).await?,
            ImageSource::Url(url) => fetch_image(&url).await?,
            ImageSource::File(file) => read_file(&file).await?,
        };
        let engine = self.engine()?;
        let prepared = self.images.get_value().prepare(bytes).await?;
        engine.classify(prepared).await
    }

    /// Whether the last classification is over: failed, or shown with its sampling.
    pub fn settled(self) -> bool {
        match self.prediction.get_untracked() {
            PredictionState::Running(_) => false,
            PredictionState::Done { .. } => {
                self.top5_of.get_untracked() == self.explored_of.get_untracked()
            }
            PredictionState::Idle | PredictionState::Failed(_) => true,
        }
    }

    /// A classified image with its sampling read back.
    async fn explore(self, classified: Classified) -> Result<Prediction, AppError> {
        self.engine()?.sampling(classified).await
    }

    /// Classifies a second image for the comparison, leaving the one shown as it is.
    pub fn classify_for_compare(self, image: ImageSource) {
        let name = image.name();
        self.compared
            .set(Some(PredictionState::Running(name.clone())));
        spawn_local(async move {
            let result = match self.run_classification(image).await {
                Ok(classified) => self.explore(classified).await,
                Err(error) => Err(error),
            };
            self.compared.set(Some(match result {
                Ok(prediction) => PredictionState::Done { name, prediction },
                Err(error) => PredictionState::Failed(error.of(&name)),
            }));
        });
    }
}

/// Whether `file` is an official checkpoint rather than the engine's safetensors: a .pth or any
/// zip, or a safetensors file whose header carries no model config. Only the header is read.
async fn is_checkpoint(file: &web_sys::File) -> bool {
    if file.name().to_lowercase().ends_with(".pth") {
        return true;
    }
    let read = |start: f64, end: f64| async move {
        let part = file.slice_with_f64_and_f64(start, end).ok()?;
        gloo::file::futures::read_as_bytes(&gloo::file::Blob::from(part))
            .await
            .ok()
    };
    let Some(prefix) = read(0.0, 8.0).await else {
        return false;
    };
    // A zip: what `torch.save` writes, whatever the file is called.
    if prefix.starts_with(b"PK") {
        return true;
    }
    let Ok(length) = <[u8; 8]>::try_from(&prefix[..]).map(u64::from_le_bytes) else {
        return false;
    };
    // An absurd header is the engine's to refuse, with its own message.
    if length > 100_000_000 || length + 8 > file.size() as u64 {
        return false;
    }
    let Some(header) = read(8.0, 8.0 + length as f64).await else {
        return false;
    };
    match serde_json::from_slice::<serde_json::Value>(&header) {
        Ok(header) => header
            .get("__metadata__")
            .and_then(|m| m.get("config"))
            .is_none(),
        Err(_) => false,
    }
}

async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, AppError> {
    gloo::file::futures::read_as_bytes(&gloo::file::Blob::from(file.clone()))
        .await
        .map_err(|e| AppError::FileRead(e.to_string()))
}

/// A sample, or an image a link names: within the size the image reader accepts.
async fn fetch_image(url: &str) -> Result<Vec<u8>, AppError> {
    let response = gloo::net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| AppError::ImageFetch(e.to_string()))?;
    if !response.ok() {
        return Err(AppError::ImageMissing(response.status()));
    }
    let announced = response
        .headers()
        .get("content-length")
        .and_then(|l| l.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_IMAGE_FILE_BYTES) {
        return Err(AppError::ImageFetch(format!(
            "the image is {} MB, more than the {} MB this page reads",
            announced.unwrap_or(0) / 1_000_000,
            MAX_IMAGE_FILE_BYTES / 1_000_000
        )));
    }
    (response.binary().await).map_err(|e| AppError::ImageFetch(e.to_string()))
}

/// The largest image file fetched from an address.
const MAX_IMAGE_FILE_BYTES: u64 = 64_000_000;
