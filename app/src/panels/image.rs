//! Choosing an image (a file, a drop, a paste or a bundled sample) and what the network made
//! of it.

use leptos::prelude::*;

use crate::panels::file_drop::FileDrop;
use crate::prepare::INPUT_SIZE;
use crate::samples::{self, Sample};
use crate::state::{ImageSource, Page, PredictionState};

#[component]
pub fn ImagePanel() -> impl IntoView {
    let page = expect_context::<Page>();
    let Page {
        model, prediction, ..
    } = page;
    let buttons = move |samples: &[Sample]| {
        samples
            .iter()
            .map(|&sample| {
                view! {
                    <button type="button" class="secondary" data-testid=format!("sample-{}", sample.id)
                        on:click=move |_| page.classify(ImageSource::Sample(sample))>{sample.title}</button>
                }
            })
            .collect_view()
    };
    let loaded = move || model.with(|m| m.loaded().is_some());
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
                        on_file=Callback::new(move |file| page.classify(ImageSource::File(file)))
                    />
                    <div class="samples">
                        <span class="hint">"Or a generated shape, the demo model's task:"</span>
                        <span class="sample-buttons">{buttons(&samples::SHAPES)}</span>
                        <span class="hint">"Or a photograph, for ImageNet weights such as InternImage-T:"</span>
                        <span class="sample-buttons">{buttons(&samples::PHOTOS)}</span>
                    </div>
                    <p class="hint">"You can also paste an image (Ctrl+V)."</p>
                    <figure hidden=move || !has_preview()>
                        <canvas node_ref=page.preview width=INPUT_SIZE height=INPUT_SIZE data-testid="preview"
                            aria-label="The image as the network sees it"></canvas>
                        <figcaption>"As the network sees it (224×224)"</figcaption>
                    </figure>
                </div>
                <div class="prediction">{move || outcome(prediction.get())}</div>
            </div>
        </section>
    }
}

fn outcome(prediction: PredictionState) -> AnyView {
    match prediction {
        PredictionState::Idle => view! { <p class="hint">"No image yet."</p> }.into_any(),
        PredictionState::Running(name) => view! {
            <p aria-live="polite" data-testid="classifying">{format!("Classifying {name}…")}</p>
        }
        .into_any(),
        PredictionState::Failed(error) => view! {
            <p class="error-text" role="alert" data-testid="image-error">{error.to_string()}</p>
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
    }
}
