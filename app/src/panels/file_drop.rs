//! A file input that also takes dropped files.

use leptos::ev::{DragEvent, Event};
use leptos::prelude::*;

/// The first file of a file input's change event, of a drop or of a paste.
pub fn first_file(files: Option<web_sys::FileList>) -> Option<web_sys::File> {
    files.and_then(|f| f.get(0))
}

/// Every file of a file list.
pub fn all_files(files: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    files.map_or_else(Vec::new, |f| {
        (0..f.length()).filter_map(|i| f.get(i)).collect()
    })
}

/// A drop zone with a file input. With `multiple`, every file chosen or dropped is handed on
/// (and a second input takes a whole folder); without, the first.
#[component]
pub fn FileDrop(
    label: &'static str,
    hint: &'static str,
    accept: &'static str,
    testid: &'static str,
    #[prop(optional)] multiple: bool,
    on_files: Callback<Vec<web_sys::File>>,
) -> impl IntoView {
    let (dragging, set_dragging) = signal(false);
    let hand_on = move |files: Vec<web_sys::File>| {
        let files: Vec<_> = if multiple {
            files
        } else {
            files.into_iter().take(1).collect()
        };
        if !files.is_empty() {
            on_files.run(files);
        }
    };
    let on_change = move |ev: Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        hand_on(all_files(input.files()));
        // The same file chosen again is a change too.
        input.set_value("");
    };
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        set_dragging.set(false);
        hand_on(all_files(ev.data_transfer().and_then(|d| d.files())));
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
            <input type="file" accept=accept data-testid=testid multiple=multiple on:change=on_change />
        </label>
        {multiple.then(|| view! {
            <label class="hint folder">"Or a whole folder "
                <input type="file" prop:webkitdirectory=true data-testid=format!("{testid}-folder") on:change=on_change />
            </label>
        })}
    }
}
