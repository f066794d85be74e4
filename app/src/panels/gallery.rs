//! The images chosen or dropped in this visit, as a strip of thumbnails: choose one to explore.

use leptos::prelude::*;

use crate::state::{GalleryImage, Page};

#[component]
pub fn Gallery() -> impl IntoView {
    let page = expect_context::<Page>();
    let items =
        move || {
            page.gallery.with(|images| {
                images
                .iter()
                .map(|image| {
                    let GalleryImage { id, name, thumbnail, .. } = image.clone();
                    let chosen = move || page.gallery_shown.get() == Some(id);
                    view! {
                        <li>
                            <button type="button" class="gallery-item" data-testid="gallery-item"
                                aria-pressed=move || chosen().to_string()
                                aria-label=format!("Explore {name}")
                                on:click=move |_| page.show_gallery_image(id)>
                                <img src=thumbnail alt="" width="64" height="64" />
                                <span>{name.clone()}</span>
                            </button>
                        </li>
                    }
                })
                .collect_view()
            })
        };
    view! {
        <div class="gallery" data-testid="gallery" hidden=move || page.gallery.with(|g| g.len() < 2)>
            <h3>{move || format!("This visit's images ({})", page.gallery.with(Vec::len))}</h3>
            <ul>{items}</ul>
        </div>
    }
}
