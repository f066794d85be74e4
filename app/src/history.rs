//! The page's address. Opened with a link, the page shows that view; each view a person makes
//! goes into the address, so that Back and Forward step through views and the address is the
//! link to share. The link's format is [`link::Link`]'s.

use leptos::prelude::*;
use link::{Ignored, Link};

use crate::state::{Page, PredictionState};

fn location() -> Option<web_sys::Location> {
    web_sys::window().map(|w| w.location())
}

/// The link the page was opened with, if its address has a query, and what of it was ignored.
pub fn opened_with() -> (Option<Link>, Vec<Ignored>) {
    let query = location().and_then(|l| l.search().ok()).unwrap_or_default();
    if query.trim_start_matches('?').is_empty() {
        return (None, Vec::new());
    }
    let (link, ignored) = Link::parse(&query);
    (Some(link), ignored)
}

/// One sentence naming what was ignored, or None when nothing was.
pub fn describe_ignored(ignored: &[Ignored]) -> Option<String> {
    if ignored.is_empty() {
        return None;
    }
    let parts: Vec<String> = ignored.iter().map(ToString::to_string).collect();
    Some(format!(
        "Ignored from the link: {}. The rest is shown.",
        parts.join(", ")
    ))
}

/// The address that opens `link` on this page.
pub fn address_of(link: &Link) -> String {
    let Some(location) = location() else {
        return String::new();
    };
    format!(
        "{}{}{}",
        location.origin().unwrap_or_default(),
        location.pathname().unwrap_or_default(),
        link.to_query()
    )
}

/// Keeps the address in step with the page, and the page with Back and Forward.
pub fn follow(page: Page) {
    Effect::new(move |_| {
        let link = page.link();
        let shown = page
            .prediction
            .with(|p| matches!(p, PredictionState::Done { .. }));
        let (Some(location), Some(history)) =
            (location(), web_sys::window().and_then(|w| w.history().ok()))
        else {
            return;
        };
        let current = location.search().unwrap_or_default();
        let query = link.to_query();
        if query == current {
            return;
        }
        // A new entry for a view a person made; the page settling (the first image, a model
        // loading) only rewrites the one it has.
        let (was, _) = Link::parse(&current);
        let only_model = Link { model: None, ..was }
            == Link {
                model: None,
                ..link
            };
        let address = format!("{}{query}", location.pathname().unwrap_or_default());
        let _ = if shown && !only_model && !current.is_empty() {
            history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address))
        } else {
            history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address))
        };
    });
    let popped = window_event_listener(leptos::ev::popstate, move |_| {
        let query = location().and_then(|l| l.search().ok()).unwrap_or_default();
        let (link, _) = Link::parse(&query);
        page.view.set(link.view);
        if let Some(image) = link.image
            && page.image.get_untracked().as_ref() != Some(&image)
        {
            page.show(image);
        }
        if let Some(model) = link.model {
            page.open_linked_model(&model);
        }
    });
    on_cleanup(move || popped.remove());
}
