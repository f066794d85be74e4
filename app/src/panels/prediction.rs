//! What the network made of the image shown: its top-5.

use leptos::prelude::*;

use crate::engine::Prediction;
use crate::state::{Page, PredictionState};

#[component]
pub fn PredictionPanel() -> impl IntoView {
    let page = expect_context::<Page>();
    let loaded = move || page.model.with(|m| m.loaded().is_some());
    view! {
        <section class="panel prediction" data-testid="prediction" hidden=move || !loaded()
            aria-live="polite"
            // Whether the image and its sampling shown are this top-5's (they follow it).
            data-explored=move || (page.top5_of.get() == page.explored_of.get()).to_string()>
            {move || outcome(page, page.prediction.get(), page.result.get_untracked())}
        </section>
    }
}

/// The top-5 rows of one prediction.
fn top5(top: Vec<(String, f32)>, testid: &'static str) -> impl IntoView {
    view! {
        <ol class="top5" data-testid=testid>
            {top.into_iter().map(|(label, p)| view! {
                <li data-testid=format!("{testid}-row")>
                    <span class="label">{label}</span>
                    <span class="bar" style=format!("width: {:.1}%", p * 100.0)></span>
                    <span class="num">{format!("{:.1} %", p * 100.0)}</span>
                </li>
            }).collect_view()}
        </ol>
    }
}

/// `last` is what the image before showed: kept, dimmed, while the next one runs.
fn outcome(page: Page, prediction: PredictionState, last: Option<(String, Prediction)>) -> AnyView {
    match prediction {
        PredictionState::Idle => view! {
            <h2>"Prediction"</h2>
            <p class="hint">"No image yet: choose one below."</p>
        }
        .into_any(),
        PredictionState::Running(name) => view! {
            <h2>"Prediction"</h2>
            <p data-testid="classifying">{format!("Classifying {name}…")}</p>
            {last.map(|(last_name, last)| view! {
                <div class="previous" aria-hidden="true">
                    <h3>{last_name}</h3>
                    {top5(last.top, "top5-previous")}
                </div>
            })}
        }
        .into_any(),
        PredictionState::Failed(error) => view! {
            <h2>"Prediction"</h2>
            <p class="error-text" role="alert" data-testid="image-error">{error.to_string()}</p>
        }
        .into_any(),
        PredictionState::Done { name, prediction } => view! {
            <h2 class="visually-hidden">"Prediction"</h2>
            <h3>{name}</h3>
            {top5(prediction.top, "top5")}
            <p class="hint" data-testid="forward-time">
                {move || forward_time(page, prediction.millis)}
            </p>
        }
        .into_any(),
    }
}

/// The pass's time, and once the image shown is this top-5's, how long its sampling took after.
fn forward_time(page: Page, millis: f64) -> String {
    let pass = format!(
        "Forward pass on the GPU: {millis:.0} ms (upload, all dispatches, logits read back)"
    );
    let explored = page.top5_of.get() == page.explored_of.get();
    match page
        .result
        .with(|r| r.as_ref().map(|(_, p)| p.sampling_millis))
    {
        Some(sampling) if explored => {
            format!("{pass}; where every layer sampled, {sampling:.0} ms after")
        }
        _ => format!("{pass}; reading where each layer sampled…"),
    }
}
