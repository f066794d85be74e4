//! The page: [`App`] mounts the panels and wires the page-wide handlers. What the page holds and
//! does is in [`state`]; GPU work goes through [`engine`]; each panel is a file of [`panels`].

pub mod canvas;
pub mod convert_worker;
pub mod download;
pub mod engine;
pub mod error;
pub mod install;
pub mod panels;
pub mod persist;
pub mod prepare;
pub mod samples;
pub mod state;
pub mod store;

use leptos::prelude::*;

use panels::adapter::AdapterPanel;
use panels::checks::ChecksTable;
use panels::explore::ExplorePanel;
use panels::file_drop::first_file;
use panels::image::ImagePanel;
use panels::model::ModelPanel;
use state::{ImageSource, Page};

#[component]
pub fn App() -> impl IntoView {
    let page = Page::restore();
    provide_context(page);
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
            <p class="tagline">"The InternImage classifier and its DCNv3 deformable convolutions, running on WebGPU in this tab."</p>
        </header>
        <main>
            <AdapterPanel />
            <ModelPanel />
            <ImagePanel />
            <ExplorePanel sampling=page.sampling() preview=page.preview view=page.view />
            <ChecksTable />
        </main>
    }
}
