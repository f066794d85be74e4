//! The engine's state at the top of the page while it starts or when it cannot run, and the
//! WebGPU adapter it runs on, for the diagnostics.

use leptos::prelude::*;

use crate::state::{Page, Phase};

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// Nothing once the engine runs; a line while it starts; the reason and a Reload when it
/// cannot.
#[component]
pub fn EngineStatus() -> impl IntoView {
    let page = expect_context::<Page>();
    move || match page.phase.get() {
        Phase::Searching => view! {
            <section class="panel" data-testid="status" aria-live="polite">
                <p>"Looking for a WebGPU adapter…"</p>
            </section>
        }
        .into_any(),
        Phase::Failed(error) => view! {
            <section class="panel error" data-testid="error" role="alert">
                <h2>"The GPU engine is not running"</h2>
                <p>{error.to_string()}</p>
                <button type="button" class="secondary" data-testid="reload"
                    on:click=|_| { let _ = web_sys::window().map(|w| w.location().reload()); }>
                    "Reload the page"
                </button>
            </section>
        }
        .into_any(),
        Phase::Ready(_) => ().into_any(),
    }
}

#[component]
pub fn AdapterTable() -> impl IntoView {
    let page = expect_context::<Page>();
    move || match page.phase.get() {
        Phase::Ready(adapter) => view! {
            <div data-testid="adapter">
                <h3>"WebGPU adapter"</h3>
                <dl>
                    <dt>"Name"</dt><dd data-testid="adapter-name">{adapter.name}</dd>
                    <dt>"Backend"</dt><dd>{adapter.backend}</dd>
                    <dt>"Type"</dt><dd>{adapter.device_type}</dd>
                    <dt>"Timestamp queries"</dt><dd>{yes_no(adapter.timestamp_queries)}</dd>
                    <dt>"shader-f16"</dt><dd>{yes_no(adapter.shader_f16)}</dd>
                    <dt>"Subgroups"</dt><dd>{adapter.subgroups}</dd>
                    <dt>"DCNv3 reads a location by"</dt><dd>{adapter.dcnv3_read}</dd>
                </dl>
            </div>
        }
        .into_any(),
        _ => view! { <p class="hint">"No adapter yet."</p> }.into_any(),
    }
}
