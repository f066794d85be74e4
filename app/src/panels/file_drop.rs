//! A file input that also takes a dropped file.

use leptos::ev::{DragEvent, Event};
use leptos::prelude::*;

/// The first file of a file input's change event, of a drop or of a paste.
pub fn first_file(files: Option<web_sys::FileList>) -> Option<web_sys::File> {
    files.and_then(|f| f.get(0))
}

#[component]
pub fn FileDrop(
    label: &'static str,
    hint: &'static str,
    accept: &'static str,
    testid: &'static str,
    on_file: Callback<web_sys::File>,
) -> impl IntoView {
    let (dragging, set_dragging) = signal(false);
    let on_change = move |ev: Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(file) = first_file(input.files()) {
            on_file.run(file);
        }
        // The same file chosen again is a change too.
        input.set_value("");
    };
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        set_dragging.set(false);
        if let Some(file) = first_file(ev.data_transfer().and_then(|d| d.files())) {
            on_file.run(file);
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
