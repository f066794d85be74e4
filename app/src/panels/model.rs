//! The model loaded, the models the server offers, and a drop zone for other weights.

use leptos::prelude::*;

use crate::engine::ModelView;
use crate::panels::file_drop::FileDrop;
use crate::state::{ModelState, Page};

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
    let Page { model, catalog, .. } = page;
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
                ModelState::Failed { error, previous } => view! {
                    <p class="error-text" role="alert" data-testid="model-error">{error.to_string()}</p>
                    {previous.map(|view| view! {
                        <p class="hint">"Still loaded:"</p>
                        {describe(view)}
                    })}
                }
                .into_any(),
            }}
            <div class="served" hidden=move || catalog.with(Vec::is_empty)>
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
                on_file=Callback::new(move |file| page.load_weights_file(file))
            />
        </section>
    }
}
