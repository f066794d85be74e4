//! The page. Components and page state only; GPU work goes through [`engine`].

pub mod canvas;
pub mod download;
pub mod engine;
pub mod explore;
pub mod persist;
pub mod prepare;

use std::cell::OnceCell;
use std::rc::Rc;

use leptos::ev::{DragEvent, Event};
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;

use engine::{AdapterView, Engine, INPUT_SIZE, KernelCheck, ModelView, Prediction};
use prepare::ImageWorker;

/// The models the server offers, the default first; written by `cargo xtask serve`.
const CATALOG: &str = "public/weights/catalog.json";

/// Where the page is in its start-up.
#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Searching,
    Checking(AdapterView),
    Ready(AdapterView),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
enum ModelState {
    Waiting,
    Downloading {
        name: String,
        progress: Option<download::Progress>,
    },
    Loading(String),
    Loaded(ModelView),
    Failed {
        message: String,
        previous: Option<ModelView>,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum PredictionState {
    Idle,
    Running(String),
    Done {
        name: String,
        prediction: Prediction,
    },
    Failed(String),
}

/// Set once the adapter is found; shared by every task of the page.
type SharedEngine = Rc<OnceCell<Engine>>;

/// What a classification needs: the worker that prepares the image, the engine that runs it.
#[derive(Clone)]
struct Classifier {
    images: Rc<ImageWorker>,
    engine: SharedEngine,
}

#[component]
pub fn App() -> impl IntoView {
    let engine: SharedEngine = Rc::new(OnceCell::new());
    let classifier = Classifier {
        images: Rc::new(ImageWorker::start()),
        engine: engine.clone(),
    };
    let (phase, set_phase) = signal(Phase::Searching);
    let (checks, set_checks) = signal(Vec::<KernelCheck>::new());
    let (model, set_model) = signal(ModelState::Waiting);
    let (prediction, set_prediction) = signal(PredictionState::Idle);
    let (catalog, set_catalog) = signal(Vec::<download::CatalogEntry>::new());
    let canvas = NodeRef::<Canvas>::new();
    let saved = persist::load();
    let view = RwSignal::new(saved.view.clone());
    let (sample, set_sample) = signal(saved.sample.clone());
    Effect::new(move |_| {
        persist::save(&persist::Saved {
            sample: sample.get(),
            view: view.get(),
        })
    });
    let sampling = Signal::derive(move || match prediction.get() {
        PredictionState::Done { prediction, .. } => Some(prediction.sampling),
        _ => None,
    });

    let startup = engine.clone();
    let restore = classifier.clone();
    spawn_local(async move {
        let opened = match Engine::open().await {
            Ok(opened) => opened,
            Err(message) => return set_phase.set(Phase::Failed(message)),
        };
        let adapter = opened.adapter();
        opened.on_device_lost(move |message| set_phase.set(Phase::Failed(message)));
        let engine = startup.get_or_init(|| opened);
        set_phase.set(Phase::Checking(adapter.clone()));
        load_default_model(engine, set_catalog, model, set_model).await;
        if let Some(name) = saved.sample.as_deref().and_then(sample_named) {
            spawn_local(classify_sample(restore, name, set_prediction, canvas));
        }
        for level in 0..4 {
            match engine.check_dcnv3_level(level).await {
                Ok(check) => set_checks.update(|rows| rows.push(check)),
                // A lost device fails the checks too: keep its message, which says why.
                Err(message) => {
                    return set_phase.update(|phase| {
                        if !matches!(phase, Phase::Failed(_)) {
                            *phase = Phase::Failed(message);
                        }
                    });
                }
            }
        }
        set_phase.update(|phase| {
            if !matches!(phase, Phase::Failed(_)) {
                *phase = Phase::Ready(adapter);
            }
        });
    });

    let on_image: Rc<dyn Fn(web_sys::File)> = {
        let classifier = classifier.clone();
        Rc::new(move |file: web_sys::File| {
            // Only bundled samples can be restored after a reload.
            set_sample.set(None);
            spawn_local(classify_file(
                classifier.clone(),
                file,
                set_prediction,
                canvas,
            ));
        })
    };
    let on_sample: Rc<dyn Fn(&'static str)> = {
        let classifier = classifier.clone();
        Rc::new(move |name: &'static str| {
            set_sample.set(Some(name.to_owned()));
            spawn_local(classify_sample(
                classifier.clone(),
                name,
                set_prediction,
                canvas,
            ));
        })
    };
    // Paste an image anywhere on the page.
    {
        let on_image = on_image.clone();
        let handle =
            window_event_listener(leptos::ev::paste, move |ev: web_sys::ClipboardEvent| {
                if let Some(file) = first_file(ev.clipboard_data().and_then(|d| d.files())) {
                    ev.prevent_default();
                    on_image(file);
                }
            });
        on_cleanup(move || handle.remove());
    }
    let on_served: Rc<dyn Fn(download::CatalogEntry)> = {
        let engine = engine.clone();
        Rc::new(move |entry| {
            let engine = engine.clone();
            spawn_local(async move {
                if let Some(engine) = engine.get() {
                    load_served_model(engine, entry, model, set_model).await;
                }
            });
        })
    };
    let on_weights: Rc<dyn Fn(web_sys::File)> = {
        let engine = engine.clone();
        Rc::new(move |file: web_sys::File| {
            let engine = engine.clone();
            spawn_local(load_weights_file(engine, file, model, set_model));
        })
    };

    view! {
        <header>
            <h1>"InternImage explorer"</h1>
            <p class="tagline">"The InternImage classifier and its DCNv3 deformable convolutions, running on WebGPU in this tab."</p>
        </header>
        <main>
            <AdapterPanel phase=phase />
            <ModelPanel model=model catalog=catalog on_served=on_served on_file=on_weights />
            <ImagePanel model=model prediction=prediction canvas=canvas on_file=on_image on_sample=on_sample.clone() />
            <explore::ExplorePanel sampling=sampling preview=canvas view=view />
            <ChecksTable phase=phase checks=checks />
        </main>
    }
}

/// Reads the catalog and loads its first model.
async fn load_default_model(
    engine: &Engine,
    set_catalog: WriteSignal<Vec<download::CatalogEntry>>,
    model: ReadSignal<ModelState>,
    set_model: WriteSignal<ModelState>,
) {
    let entries = match download::fetch_catalog(CATALOG).await {
        Ok(entries) if entries.is_empty() => {
            return fail_catalog(set_model, "it lists no model".into());
        }
        Ok(entries) => entries,
        Err(e) => return fail_catalog(set_model, e),
    };
    set_catalog.set(entries.clone());
    load_served_model(engine, entries[0].clone(), model, set_model).await;
}

fn fail_catalog(set_model: WriteSignal<ModelState>, reason: String) {
    set_model.set(ModelState::Failed {
        message: format!(
            "The list of models on this server ({CATALOG}) cannot be read: {reason}. Drop a .safetensors file below."
        ),
        previous: None,
    });
}

/// The model already loaded, if any: what a failed load leaves in place.
fn still_loaded(model: ReadSignal<ModelState>) -> Option<ModelView> {
    match model.get_untracked() {
        ModelState::Loaded(view) => Some(view),
        ModelState::Failed { previous, .. } => previous,
        _ => None,
    }
}

/// Downloads (or takes from the browser cache) one model of the catalog, checks it against its
/// size and SHA-256 there, and loads it.
async fn load_served_model(
    engine: &Engine,
    entry: download::CatalogEntry,
    model: ReadSignal<ModelState>,
    set_model: WriteSignal<ModelState>,
) {
    let previous = still_loaded(model);
    let name = entry.file_name().to_owned();
    set_model.set(ModelState::Downloading {
        name: name.clone(),
        progress: None,
    });
    let fetched = download::fetch_verified(&entry.file, &entry.manifest, |progress| {
        set_model.set(ModelState::Downloading {
            name: name.clone(),
            progress: Some(progress),
        });
    })
    .await
    .map_err(|e| format!("{name} cannot be used: {e}. Drop a .safetensors file below."));
    let result = match fetched {
        Ok((bytes, origin)) => {
            set_model.set(ModelState::Loading(name.clone()));
            let source = match origin {
                download::Origin::Network => {
                    format!("{name} from this server (downloaded, size and SHA-256 verified)")
                }
                download::Origin::BrowserCache => format!(
                    "{name} from this server (from the browser cache, size and SHA-256 verified)"
                ),
            };
            engine
                .load_weights(&source, &bytes)
                .await
                .map(|view| ModelView {
                    served_file: Some(entry.file.clone()),
                    ..view
                })
        }
        Err(message) => Err(message),
    };
    set_model.set(match result {
        Ok(view) => ModelState::Loaded(view),
        Err(message) => ModelState::Failed { message, previous },
    });
}

async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    gloo::file::futures::read_as_bytes(&gloo::file::Blob::from(file.clone()))
        .await
        .map_err(|e| format!("The file could not be read: {e}."))
}

async fn load_weights_file(
    engine: SharedEngine,
    file: web_sys::File,
    model: ReadSignal<ModelState>,
    set_model: WriteSignal<ModelState>,
) {
    let previous = still_loaded(model);
    set_model.set(ModelState::Loading(file.name()));
    let result = match read_file(&file).await {
        Ok(bytes) => match engine.get() {
            Some(engine) => engine.load_weights(&file.name(), &bytes).await,
            None => Err("The GPU engine is not running.".into()),
        },
        Err(message) => Err(message),
    };
    set_model.set(match result {
        Ok(view) => ModelState::Loaded(view),
        Err(message) => ModelState::Failed {
            message: format!("{}: {message}", file.name()),
            previous,
        },
    });
}

/// The bundled samples under `public/samples/`: (file, button title, test id). Generated shapes
/// (held-out images of the demo model's task, made by tools/train_demo.py), then photographs for
/// ImageNet weights such as InternImage-T.
const SHAPE_SAMPLES: [(&str, &str, &str); 4] = [
    ("shapes/star-large.png", "large star", "star-large"),
    ("shapes/star-small.png", "small star", "star-small"),
    ("shapes/heart.png", "heart", "heart"),
    ("shapes/arrow-small.png", "small arrow", "arrow-small"),
];
const PHOTO_SAMPLES: [(&str, &str, &str); 4] = [
    ("coffee.jpg", "coffee", "coffee"),
    ("chelsea-the-cat.jpg", "cat", "cat"),
    ("astronaut.jpg", "astronaut", "astronaut"),
    ("rocket.jpg", "rocket", "rocket"),
];

fn sample_named(name: &str) -> Option<&'static str> {
    SHAPE_SAMPLES
        .iter()
        .chain(&PHOTO_SAMPLES)
        .map(|(file, _, _)| *file)
        .find(|file| *file == name)
}

async fn classify_sample(
    classifier: Classifier,
    name: &'static str,
    set_prediction: WriteSignal<PredictionState>,
    canvas: NodeRef<Canvas>,
) {
    set_prediction.set(PredictionState::Running(name.to_owned()));
    let fetched = async {
        let response = gloo::net::http::Request::get(&format!("public/samples/{name}"))
            .send()
            .await
            .map_err(|e| format!("The sample could not be fetched: {e}."))?;
        if !response.ok() {
            return Err(format!(
                "The sample is not served here ({}).",
                response.status()
            ));
        }
        response
            .binary()
            .await
            .map_err(|e| format!("The sample download broke off: {e}."))
    };
    match fetched.await {
        Ok(bytes) => {
            classify_bytes(classifier, name.to_owned(), bytes, set_prediction, canvas).await
        }
        Err(message) => set_prediction.set(PredictionState::Failed(message)),
    }
}

async fn classify_file(
    classifier: Classifier,
    file: web_sys::File,
    set_prediction: WriteSignal<PredictionState>,
    canvas: NodeRef<Canvas>,
) {
    let name = file.name();
    set_prediction.set(PredictionState::Running(name.clone()));
    match read_file(&file).await {
        Ok(bytes) => classify_bytes(classifier, name, bytes, set_prediction, canvas).await,
        Err(message) => set_prediction.set(PredictionState::Failed(message)),
    }
}

async fn classify_bytes(
    classifier: Classifier,
    name: String,
    bytes: Vec<u8>,
    set_prediction: WriteSignal<PredictionState>,
    canvas: NodeRef<Canvas>,
) {
    let result = match classifier.engine.get() {
        Some(engine) => match classifier.images.prepare(bytes).await {
            Ok(image) => engine.classify(image).await,
            Err(message) => Err(message),
        },
        None => Err("The GPU engine is not running.".into()),
    };
    match result {
        Ok(prediction) => {
            draw_preview(canvas, &prediction.preview_rgba);
            set_prediction.set(PredictionState::Done { name, prediction });
        }
        Err(message) => set_prediction.set(PredictionState::Failed(format!("{name}: {message}"))),
    }
}

fn draw_preview(canvas: NodeRef<Canvas>, rgba: &[u8]) {
    let Some(canvas) = canvas.get_untracked() else {
        return;
    };
    canvas::put_rgba(&canvas, rgba, INPUT_SIZE, INPUT_SIZE);
}

/// The first file of a file input's change event or of a drop.
fn first_file(files: Option<web_sys::FileList>) -> Option<web_sys::File> {
    files.and_then(|f| f.get(0))
}

#[component]
fn FileDrop(
    label: &'static str,
    hint: &'static str,
    accept: &'static str,
    testid: &'static str,
    on_file: Rc<dyn Fn(web_sys::File)>,
) -> impl IntoView {
    let (dragging, set_dragging) = signal(false);
    let on_change = {
        let on_file = on_file.clone();
        move |ev: Event| {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            if let Some(file) = first_file(input.files()) {
                on_file(file);
            }
            input.set_value("");
        }
    };
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        set_dragging.set(false);
        if let Some(file) = first_file(ev.data_transfer().and_then(|d| d.files())) {
            on_file(file);
        }
    };
    view! {
        <label
            class="drop"
            class:dragging=dragging
            on:dragover=move |ev: DragEvent| {
                ev.prevent_default();
                set_dragging.set(true);
            }
            on:dragleave=move |_| set_dragging.set(false)
            on:drop=on_drop
        >
            <span class="drop-label">{label}</span>
            <span class="hint">{hint}</span>
            <input type="file" accept=accept data-testid=testid on:change=on_change />
        </label>
    }
}

#[component]
fn AdapterPanel(phase: ReadSignal<Phase>) -> impl IntoView {
    move || match phase.get() {
        Phase::Searching => view! {
            <section class="panel" data-testid="status" aria-live="polite">
                <p>"Looking for a WebGPU adapter…"</p>
            </section>
        }
        .into_any(),
        Phase::Failed(message) => view! {
            <section class="panel error" data-testid="error" role="alert">
                <h2>"The GPU engine is not running"</h2>
                <p>{message}</p>
                <button type="button" class="secondary" data-testid="reload"
                    on:click=|_| { let _ = web_sys::window().map(|w| w.location().reload()); }>
                    "Reload the page"
                </button>
            </section>
        }
        .into_any(),
        Phase::Checking(adapter) | Phase::Ready(adapter) => view! {
            <section class="panel" data-testid="adapter">
                <h2>"WebGPU adapter"</h2>
                <dl>
                    <dt>"Name"</dt><dd data-testid="adapter-name">{adapter.name}</dd>
                    <dt>"Backend"</dt><dd>{adapter.backend}</dd>
                    <dt>"Type"</dt><dd>{adapter.device_type}</dd>
                    <dt>"Timestamp queries"</dt><dd>{yes_no(adapter.timestamp_queries)}</dd>
                    <dt>"shader-f16"</dt><dd>{yes_no(adapter.shader_f16)}</dd>
                    <dt>"Subgroups"</dt><dd>{adapter.subgroups}</dd>
                    <dt>"DCNv3 reads a location by"</dt><dd>{adapter.dcnv3_read}</dd>
                </dl>
            </section>
        }
        .into_any(),
    }
}

#[component]
fn ModelPanel(
    model: ReadSignal<ModelState>,
    catalog: ReadSignal<Vec<download::CatalogEntry>>,
    on_served: Rc<dyn Fn(download::CatalogEntry)>,
    on_file: Rc<dyn Fn(web_sys::File)>,
) -> impl IntoView {
    let busy = move || {
        matches!(
            model.get(),
            ModelState::Waiting | ModelState::Downloading { .. } | ModelState::Loading(_)
        )
    };
    let served_file = move || match model.get() {
        ModelState::Loaded(view) => view.served_file,
        ModelState::Failed { previous, .. } => previous.and_then(|v| v.served_file),
        _ => None,
    };
    // Leptos wants what a reactive closure holds to be Send; the callback stays on this thread.
    let on_served = StoredValue::new_local(on_served);
    let served = move || {
        catalog
            .get()
            .into_iter()
            .map(|entry| {
                let name = entry.file_name().to_owned();
                let is_loaded = {
                    let file = entry.file.clone();
                    move || served_file().as_deref() == Some(file.as_str())
                };
                let summary = format!(
                    "{:.1} MB, {} classes",
                    entry.manifest.size as f64 / 1e6,
                    entry.classes
                );
                let testid = format!("served-{}", name.trim_end_matches(".safetensors"));
                view! {
                    <li data-testid=testid>
                        <button type="button" class="secondary"
                            disabled=move || busy() || is_loaded()
                            on:click=move |_| on_served.with_value(|load| load(entry.clone()))>
                            {let is_loaded = is_loaded.clone(); move || if is_loaded() { "Loaded" } else { "Load" }}
                        </button>
                        " " <strong>{name}</strong> <span class="hint">{format!(" ({summary})")}</span>
                    </li>
                }
            })
            .collect_view()
    };
    let describe = |view: ModelView| {
        view! {
            <dl data-testid="model-info">
                <dt>"Weights"</dt><dd>{view.source}</dd>
                <dt>"What it is"</dt><dd class="plain" data-testid="model-description">{view.description}</dd>
                <dt>"Size"</dt>
                <dd>{format!("{:.2} M parameters, {} classes", view.parameters as f64 / 1e6, view.classes)}</dd>
                <dt>"Forward pass"</dt>
                <dd>{format!("{} GPU dispatches, {:.2} GFLOP per image", view.dispatches, view.gflops)}</dd>
                <dt>"GPU memory"</dt><dd data-testid="model-memory">{view.gpu_memory}</dd>
            </dl>
        }
    };
    view! {
        <section class="panel" data-testid="model">
            <h2>"Model"</h2>
            {move || match model.get() {
                ModelState::Waiting => view! { <p class="hint">"Waiting for the GPU…"</p> }.into_any(),
                ModelState::Downloading { name, progress } => view! {
                    <p aria-live="polite" data-testid="model-downloading">
                        {format!("Downloading {name}: {}", progress.map_or("starting…".to_owned(), |p| p.describe()))}
                    </p>
                    <progress
                        max=move || progress.and_then(|p| p.total).unwrap_or(1) as f64
                        value=move || progress.map_or(0.0, |p| p.received as f64)
                    ></progress>
                }
                .into_any(),
                ModelState::Loading(name) => view! {
                    <p aria-live="polite" data-testid="model-loading">
                        {format!("Checking and uploading {name} to the GPU…")}
                    </p>
                }
                .into_any(),
                ModelState::Loaded(view) => describe(view).into_any(),
                ModelState::Failed { message, previous } => view! {
                    <p class="error-text" role="alert" data-testid="model-error">{message}</p>
                    {previous.map(|view| view! {
                        <p class="hint">"Still loaded:"</p>
                        {describe(view)}
                    })}
                }
                .into_any(),
            }}
            <div class="served" hidden=move || catalog.get().is_empty()>
                <h3>"Models on this server"</h3>
                <ul class="served-list" data-testid="served-models">{served}</ul>
                <p class="hint">
                    "To offer InternImage-T here, convert the official checkpoint into public/weights/ "
                    "(internimage convert internimage_t_1k_224.pth -o public/weights/internimage-t.safetensors) "
                    "and restart cargo xtask serve; or drop the converted file below."
                </p>
            </div>
            <FileDrop
                label="Load other weights"
                hint="Drop or choose a .safetensors file with the model config in its metadata"
                accept=".safetensors"
                testid="weights-input"
                on_file=on_file
            />
        </section>
    }
}

#[component]
fn ImagePanel(
    model: ReadSignal<ModelState>,
    prediction: ReadSignal<PredictionState>,
    canvas: NodeRef<Canvas>,
    on_file: Rc<dyn Fn(web_sys::File)>,
    on_sample: Rc<dyn Fn(&'static str)>,
) -> impl IntoView {
    let buttons = |samples: &[(&'static str, &'static str, &'static str)]| {
        samples
            .iter()
            .map(|&(file, title, id)| {
                let on_sample = on_sample.clone();
                view! {
                    <button type="button" class="secondary" data-testid=format!("sample-{id}")
                        on:click=move |_| on_sample(file)>{title}</button>
                }
            })
            .collect_view()
    };
    let shapes = buttons(&SHAPE_SAMPLES);
    let photos = buttons(&PHOTO_SAMPLES);
    let loaded = move || {
        matches!(
            model.get(),
            ModelState::Loaded(_)
                | ModelState::Failed {
                    previous: Some(_),
                    ..
                }
        )
    };
    let has_preview = move || matches!(prediction.get(), PredictionState::Done { .. });
    view! {
        <section class="panel" data-testid="classify" hidden=move || !loaded()>
            <h2>"Classify an image"</h2>
            <div class="classify">
                <div>
                    <FileDrop
                        label="Choose or drop an image"
                        hint="JPEG, PNG or WebP, any size: the shorter side is scaled to 224 and the centre cropped"
                        accept="image/*"
                        testid="image-input"
                        on_file=on_file
                    />
                    <div class="samples">
                        <span class="hint">"Or a generated shape, the demo model's task:"</span>
                        <span class="sample-buttons">{shapes}</span>
                        <span class="hint">"Or a photograph, for ImageNet weights such as InternImage-T:"</span>
                        <span class="sample-buttons">{photos}</span>
                    </div>
                    <p class="hint">"You can also paste an image (Ctrl+V)."</p>
                    <figure hidden=move || !has_preview()>
                        <canvas node_ref=canvas width=INPUT_SIZE height=INPUT_SIZE data-testid="preview"
                            aria-label="The image as the network sees it"></canvas>
                        <figcaption>"As the network sees it (224×224)"</figcaption>
                    </figure>
                </div>
                <div class="prediction">
                    {move || match prediction.get() {
                        PredictionState::Idle => view! { <p class="hint">"No image yet."</p> }.into_any(),
                        PredictionState::Running(name) => view! {
                            <p aria-live="polite" data-testid="classifying">{format!("Classifying {name}…")}</p>
                        }
                        .into_any(),
                        PredictionState::Failed(message) => view! {
                            <p class="error-text" role="alert" data-testid="image-error">{message}</p>
                        }
                        .into_any(),
                        PredictionState::Done { name, prediction } => view! {
                            <h3>{name}</h3>
                            <ol class="top5" data-testid="top5">
                                {prediction.top.into_iter().map(|(label, p)| view! {
                                    <li data-testid="top5-row">
                                        <span class="label">{label}</span>
                                        <span class="bar" style=format!("width: {:.1}%", p * 100.0)></span>
                                        <span class="num">{format!("{:.1} %", p * 100.0)}</span>
                                    </li>
                                }).collect_view()}
                            </ol>
                            <p class="hint" data-testid="forward-time">
                                {format!("Forward pass on the GPU: {:.0} ms (upload, all dispatches, logits and every layer's sampling read back)", prediction.millis)}
                            </p>
                        }
                        .into_any(),
                    }}
                </div>
            </div>
        </section>
    }
}

#[component]
fn ChecksTable(phase: ReadSignal<Phase>, checks: ReadSignal<Vec<KernelCheck>>) -> impl IntoView {
    let status = move || match phase.get() {
        Phase::Checking(_) => format!(
            "Running the DCNv3 kernel… {} of 4 shapes checked",
            checks.get().len()
        ),
        Phase::Ready(_) if checks.get().iter().all(|c| c.passed) => {
            "All four InternImage-T shapes match the CPU reference.".to_owned()
        }
        Phase::Ready(_) => "Some shapes do NOT match the CPU reference.".to_owned(),
        _ => String::new(),
    };
    let started = move || matches!(phase.get(), Phase::Checking(_) | Phase::Ready(_));
    view! {
        <section class="panel" data-testid="dcnv3-checks" hidden=move || !started()>
            <h2>"DCNv3 kernel self-check"</h2>
            <p class="hint">
                "Seeded random inputs with offsets up to ±3 pixels; GPU output against the f64 CPU "
                "reference, relative error ‖gpu − ref‖ / ‖ref‖, tolerance "
                {format!("{:.0e}", engine::DCNV3_TOLERANCE)} "."
            </p>
            <table>
                <thead>
                    <tr><th scope="col">"Shape (H×W×C)"</th><th scope="col">"Relative error"</th>
                        <th scope="col">"Result"</th><th scope="col">"Time (GPU + CPU reference)"</th></tr>
                </thead>
                <tbody>
                    <For each=move || checks.get() key=|c| c.shape.clone() let:check>
                        <tr data-testid="dcnv3-row" data-passed=check.passed.to_string()>
                            <td>{check.shape.clone()}</td>
                            <td class="num">{format!("{:.2e}", check.relative_error)}</td>
                            <td class=if check.passed { "pass" } else { "fail" }>
                                {if check.passed { "pass" } else { "FAIL" }}
                            </td>
                            <td class="num">{format!("{:.0} ms", check.millis)}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <p data-testid="dcnv3-summary" aria-live="polite">{status}</p>
        </section>
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
