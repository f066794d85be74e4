//! The model loaded; the official checkpoints the page fetches and converts (InternImage-T
//! first), with their progress and a Cancel; the models kept in this browser; the models the
//! server offers; and a drop zone or an address for other weights.

use catalog::CheckpointOffer;
use leptos::prelude::*;

use crate::engine::ModelView;
use crate::install::Stage;
use crate::panels::file_drop::FileDrop;
use crate::state::{Install, ModelState, Page};

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// One line for where an installation is.
pub fn describe_stage(name: &str, stage: &Stage) -> String {
    match *stage {
        Stage::Starting => format!("Starting the converter for {name}…"),
        Stage::Downloading {
            received,
            total,
            elapsed_ms,
        } => {
            let rate = received as f64 / (elapsed_ms.max(1.0) / 1e3);
            let speed = format!("{:.1} MB/s", rate / 1e6);
            match total {
                Some(total) if total > 0 => {
                    let left = (total.saturating_sub(received)) as f64 / rate.max(1.0);
                    format!(
                        "Downloading {name}: {} of {} ({:.0} %), {speed}, about {:.0} s left",
                        megabytes(received),
                        megabytes(total),
                        100.0 * received as f64 / total as f64,
                        left.ceil()
                    )
                }
                _ => format!("Downloading {name}: {}, {speed}", megabytes(received)),
            }
        }
        Stage::Converting { done, total } => {
            format!("Converting {name} to int8: {done} of {total} tensors")
        }
        Stage::Storing => format!("Keeping {name} in this browser…"),
    }
}

/// The fraction done, for the progress bar.
fn fraction(stage: &Stage) -> Option<f64> {
    match *stage {
        Stage::Downloading {
            received,
            total: Some(total),
            ..
        } if total > 0 => Some(received as f64 / total as f64),
        Stage::Converting { done, total } if total > 0 => Some(done as f64 / total as f64),
        Stage::Storing => Some(1.0),
        _ => None,
    }
}

/// The offer of an official checkpoint: what it is, what it costs, one click.
#[component]
fn Offer(offer: CheckpointOffer) -> impl IntoView {
    let page = expect_context::<Page>();
    let source = RwSignal::new(0usize);
    let id = offer.id.clone();
    let kept = {
        let id = id.clone();
        move || {
            page.stored
                .with(|s| s.iter().find(|m| m.offer.as_deref() == Some(&id)).cloned())
        }
    };
    let is_loaded = {
        let kept = kept.clone();
        move || {
            let key = kept().map(|m| m.key);
            key.is_some()
                && page
                    .model
                    .with(|m| m.loaded().and_then(|v| v.stored_key.clone()))
                    == key
        }
    };
    let busy = move || page.model.with(ModelState::is_busy);
    let size_line = {
        let offer = offer.clone();
        move || {
            let chosen = &offer.sources[source.get().min(offer.sources.len() - 1)];
            format!(
                "Downloads {} from {}, converts it here to int8 (about {}) and keeps it in this \
                 browser: later visits start it with no download.",
                megabytes(chosen.size),
                chosen.label,
                megabytes(offer.converted_size)
            )
        }
    };
    let options = offer
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| view! { <option value=i.to_string()>{format!("{} ({})", s.label, s.file_name())}</option> })
        .collect_view();
    let name = offer.name.clone();
    let get = {
        let (offer, kept) = (offer.clone(), kept.clone());
        move |_| match kept() {
            Some(model) => page.load_stored(model),
            None => page.install(Install::Offer {
                offer: offer.clone(),
                source: source.get_untracked(),
            }),
        }
    };
    let button_text = {
        let (kept, is_loaded, name) = (kept.clone(), is_loaded.clone(), name.clone());
        move || {
            if is_loaded() {
                format!("{name} is loaded")
            } else if kept().is_some() {
                format!("Use {name} (kept in this browser)")
            } else {
                format!("Get {name}")
            }
        }
    };
    view! {
        <div class="offer" data-testid=format!("offer-{id}")>
            <div class="offer-head">
                <strong class="offer-name">{offer.name.clone()}</strong>
                <span class="offer-summary">{offer.summary.clone()}</span>
            </div>
            <p class="hint">{format!("{}. ", capitalised(&offer.credit))}{size_line}</p>
            <div class="offer-actions">
                <button type="button" class="primary" data-testid="offer-get"
                    disabled=move || busy() || is_loaded()
                    on:click=get>
                    {button_text}
                </button>
                <label class="hint" hidden=move || kept().is_some()>
                    "from "
                    <select data-testid="offer-source"
                        on:change=move |ev| source.set(event_target_value(&ev).parse().unwrap_or(0))>
                        {options}
                    </select>
                </label>
            </div>
        </div>
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// The models kept in this browser, each with its size and a Remove, and the storage estimate.
#[component]
fn StoredList() -> impl IntoView {
    let page = expect_context::<Page>();
    let rows = move || {
        page.stored
            .get()
            .into_iter()
            .map(|model| {
                let key = model.key.clone();
                let load = model.clone();
                let is_loaded = {
                    let key = key.clone();
                    move || page.model.with(|m| m.loaded().and_then(|v| v.stored_key.clone())) == Some(key.clone())
                };
                view! {
                    <li data-testid="stored-model">
                        <strong>{model.name.clone()}</strong>
                        <span class="hint">{format!(" {}, from {}", megabytes(model.size), model.source)}</span>
                        " "
                        <button type="button" class="secondary"
                            disabled=move || page.model.with(ModelState::is_busy) || is_loaded()
                            on:click=move |_| page.load_stored(load.clone())>
                            {let loaded = is_loaded.clone(); move || if loaded() { "Loaded" } else { "Load" }}
                        </button>
                        " "
                        <button type="button" class="secondary" data-testid="stored-remove"
                            on:click=move |_| page.remove_stored(key.clone())>
                            "Remove"
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    let estimate = move || {
        page.storage.get().map(|e| {
            format!(
                "This site uses {} of the {} this browser allows it.",
                megabytes(e.usage as u64),
                megabytes(e.quota as u64)
            )
        })
    };
    view! {
        <div class="stored" hidden=move || page.stored.with(Vec::is_empty) data-testid="stored-models">
            <h3>"Kept in this browser"</h3>
            <ul class="served-list">{rows}</ul>
            <p class="hint" data-testid="storage-estimate">{estimate}</p>
        </div>
    }
}

/// An address of a .pth or .safetensors to fetch and convert.
#[component]
fn FromAddress() -> impl IntoView {
    let page = expect_context::<Page>();
    let address = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let url = address.get_untracked().trim().to_owned();
        if !url.is_empty() {
            page.install(Install::Url(url));
        }
    };
    view! {
        <form class="from-address" on:submit=submit>
            <label for="checkpoint-url">"Or the address of a checkpoint (.pth or .safetensors):"</label>
            <div class="row">
                <input id="checkpoint-url" type="url" data-testid="checkpoint-url"
                    placeholder="https://…/internimage_t_1k_224.pth"
                    prop:value=move || address.get()
                    on:input=move |ev| address.set(event_target_value(&ev)) />
                <button type="submit" class="secondary"
                    disabled=move || page.model.with(ModelState::is_busy)>"Convert"</button>
            </div>
        </form>
    }
}

fn describe(view: ModelView) -> impl IntoView {
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
}

#[component]
pub fn ModelPanel() -> impl IntoView {
    let page = expect_context::<Page>();
    let Page {
        model,
        catalog,
        offers,
        ..
    } = page;
    let served_file = move || model.with(|m| m.loaded().and_then(|v| v.served_file.clone()));
    let served = move || {
        catalog
            .get()
            .into_iter()
            .map(|entry| {
                let name = entry.file_name().to_owned();
                let file = entry.file.clone();
                let is_loaded = move || served_file().as_deref() == Some(file.as_str());
                let label = is_loaded.clone();
                let summary = format!(
                    "{:.1} MB, {} classes",
                    entry.size as f64 / 1e6,
                    entry.classes
                );
                let testid = format!("served-{}", name.trim_end_matches(".safetensors"));
                view! {
                    <li data-testid=testid>
                        <button type="button" class="secondary"
                            disabled=move || model.with(ModelState::is_busy) || is_loaded()
                            on:click=move |_| page.load_served_model(entry.clone())>
                            {move || if label() { "Loaded" } else { "Load" }}
                        </button>
                        " " <strong>{name}</strong> <span class="hint">{format!(" ({summary})")}</span>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="panel" data-testid="model">
            <h2>"Model"</h2>
            <div class="offers">
                {move || offers.get().into_iter().map(|offer| view! { <Offer offer /> }).collect_view()}
            </div>
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
                ModelState::Installing { name, stage } => view! {
                    <div class="installing" data-testid="model-installing">
                        <p aria-live="polite" data-testid="install-progress">{describe_stage(&name, &stage)}</p>
                        <progress
                            max="1"
                            value=fraction(&stage).map(|f| f.to_string())
                        ></progress>
                        <button type="button" class="secondary" data-testid="install-cancel"
                            on:click=move |_| page.cancel_install()>"Cancel"</button>
                    </div>
                }
                .into_any(),
                ModelState::Loading(name) => view! {
                    <p aria-live="polite" data-testid="model-loading">
                        {format!("Checking and uploading {name} to the GPU…")}
                    </p>
                }
                .into_any(),
                ModelState::Loaded(view) => describe(view).into_any(),
                ModelState::Failed { error, previous } => view! {
                    <p class="error-text" role="alert" data-testid="model-error">{error.to_string()}</p>
                    {move || page.retry.with(Option::is_some).then(|| view! {
                        <button type="button" class="secondary" data-testid="install-retry"
                            on:click=move |_| page.retry_install()>"Retry"</button>
                    })}
                    {previous.map(|view| view! {
                        <p class="hint">"Still loaded:"</p>
                        {describe(view)}
                    })}
                }
                .into_any(),
            }}
            {move || page.notice.get().map(|text| view! {
                <p class="notice" role="status" data-testid="model-notice">{text}</p>
            })}
            <StoredList />
            <div class="served" hidden=move || catalog.with(Vec::is_empty)>
                <h3>"Models on this server"</h3>
                <ul class="served-list" data-testid="served-models">{served}</ul>
            </div>
            <FromAddress />
            <FileDrop
                label="Load other weights"
                hint="Drop or choose a checkpoint (.pth or the Hub's model.safetensors), or weights this page converted"
                accept=".safetensors,.pth"
                testid="weights-input"
                on_files=Callback::new(move |files: Vec<web_sys::File>| {
                    if let Some(file) = files.into_iter().next() {
                        page.load_weights_file(file);
                    }
                })
            />
        </section>
    }
}
