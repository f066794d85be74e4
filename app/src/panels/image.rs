//! Choosing an image: a file, a drop, a paste or a bundled sample. The network's input, as it
//! saw it, is kept here out of sight: every drawing of the explorer starts from it.

use leptos::prelude::*;

use crate::panels::camera::CameraControls;
use crate::panels::file_drop::FileDrop;
use crate::panels::gallery::Gallery;
use crate::prepare::INPUT_SIZE;
use crate::samples::{self, Sample};
use crate::state::{ImageSource, Page};

#[component]
pub fn ImagePanel() -> impl IntoView {
    let page = expect_context::<Page>();
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
    let loaded = move || page.model.with(|m| m.loaded().is_some());
    view! {
        <section class="panel" data-testid="classify" hidden=move || !loaded()>
            <h2>"Image"</h2>
            <FileDrop
                label="Choose or drop an image"
                hint="JPEG, PNG or WebP, any size: the shorter side is scaled to 224 and the centre cropped. Several at once make a gallery. Or paste one (Ctrl+V)."
                accept="image/*"
                testid="image-input"
                multiple=true
                on_files=Callback::new(move |files| page.add_images(files))
            />
            <Gallery />
            <CameraControls />
            <div class="samples">
                <span class="hint">"Generated shapes, the demo model's task:"</span>
                <span class="sample-buttons">{buttons(&samples::SHAPES)}</span>
                <span class="hint">"Photographs, for ImageNet weights such as InternImage-T:"</span>
                <span class="sample-buttons">{buttons(&samples::PHOTOS)}</span>
            </div>
            <canvas node_ref=page.preview width=INPUT_SIZE height=INPUT_SIZE data-testid="preview"
                class="source" aria-hidden="true"></canvas>
        </section>
    }
}
