//! The page: [`App`] mounts the panels and wires the page-wide handlers. What the page holds and
//! does is in [`state`]; GPU work goes through [`engine`]; each panel is a file of [`panels`].

pub mod canvas;
pub mod convert_worker;
pub mod download;
pub mod engine;
pub mod error;
pub mod history;
pub mod install;
pub mod panels;
pub mod persist;
pub mod prepare;
pub mod samples;
pub mod state;
pub mod store;

use leptos::prelude::*;

use panels::adapter::{AdapterTable, EngineStatus};
use panels::checks::ChecksTable;
use panels::explore::{ComparePanel, DepthStrip, Explorer, FieldFigures, Stage};
use panels::file_drop::first_file;
use panels::image::ImagePanel;
use panels::model::ModelPanel;
use panels::prediction::PredictionPanel;
use state::{ImageSource, Page};

/// The page: the image and its overlay first (on the left on a wide screen), the prediction and
/// the choices beside it; the layers through the depth and the receptive field below; the
/// diagnostics last, closed.
#[component]
pub fn App() -> impl IntoView {
    let page = Page::restore();
    provide_context(page);
    Explorer::provide(page);
    page.start();
    // Paste an image anywhere on the page.
    let paste = window_event_listener(leptos::ev::paste, move |ev: web_sys::ClipboardEvent| {
        if let Some(file) = first_file(ev.clipboard_data().and_then(|d| d.files())) {
            ev.prevent_default();
            page.classify(ImageSource::File(file));
        }
    });
    on_cleanup(move || paste.remove());

    view! {
        <header>
            <h1>"InternImage explorer"</h1>
            <p class="tagline">"Where the DCNv3 deformable convolutions of the InternImage classifier look, for any point of your image. Everything runs on WebGPU in this tab."</p>
        </header>
        <main>
            <EngineStatus />
            <LinkNotice />
            <div class="workspace">
                <Stage />
                <div class="side">
                    <PredictionPanel />
                    <ImagePanel />
                    <ModelPanel />
                </div>
            </div>
            <DepthStrip />
            <ComparePanel />
            <FieldFigures />
            <details class="panel diagnostics" data-testid="diagnostics">
                <summary>"Diagnostics: the WebGPU adapter and the DCNv3 self-check"</summary>
                <AdapterTable />
                <ChecksTable />
            </details>
        </main>
    }
}

/// What a link asked for and the page could not show, until dismissed.
#[component]
fn LinkNotice() -> impl IntoView {
    let page = expect_context::<Page>();
    let dismiss = move |_| {
        page.link_ignored.set(Vec::new());
        page.link_notice.set(None);
    };
    move || {
        let ignored = page.link_ignored.with(|i| history::describe_ignored(i));
        let notice = page.link_notice.get();
        (ignored.is_some() || notice.is_some()).then(|| {
            view! {
                <div class="panel link-notice" role="status" data-testid="link-notice">
                    <p>{[ignored, notice].into_iter().flatten().collect::<Vec<_>>().join(" ")}</p>
                    <button type="button" class="secondary" on:click=dismiss>"Dismiss"</button>
                </div>
            }
        })
    }
}
