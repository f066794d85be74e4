//! The explorer: for a chosen point of the image and a chosen DCNv3 layer, each group's 9
//! sampling points drawn on the image (coloured by group, sized by modulation weight, over the
//! regular 3x3 grid), or one of the layer's heat maps laid over the image; every layer's
//! sampling at that point in a strip; and the receptive field through the stack.

use std::sync::Arc;

use gpu::model::sampling::{
    Field, FieldPoint, LayerSampling, SamplePoint, nearest_pixel, receptive_field, weighted_spread,
};
use leptos::ev::{KeyboardEvent, MouseEvent};
use leptos::html::Canvas;
use leptos::prelude::*;
use link::{Show, View};
use wasm_bindgen::JsCast;

use crate::canvas::{context_2d, put_rgba};
use crate::history;
use crate::prepare::INPUT_SIZE;
use crate::state::{ModelState, Page, PredictionState};

/// The overlay's canvas shows the 224x224 input at this scale: 560 pixels, shown one to one on
/// a wide screen.
const SCALE: f64 = 2.5;

/// The strip's canvases show the input at this scale.
const STRIP_SCALE: f64 = 0.5;

/// How long Play shows each layer.
const PLAY_STEP_MS: u32 = 700;

/// Every DCNv3 layer's sampling for the image shown.
type Layers = Arc<Vec<LayerSampling>>;

/// A distinct hue per group, as CSS.
pub fn group_colour(group: u32, groups: u32) -> String {
    format!(
        "hsl({:.0}, 85%, 50%)",
        360.0 * f64::from(group) / f64::from(groups.max(1))
    )
}

/// What the explorer's parts share: the sampling, the view, and the overlay's own settings.
/// Provided once at the page's root ([`Explorer::provide`]).
#[derive(Clone, Copy)]
pub struct Explorer {
    page: Page,
    sampling: Signal<Option<Layers>>,
    view: RwSignal<View>,
    /// The heat map's opacity over the photo, 0 to 1.
    opacity: RwSignal<f64>,
}

impl Explorer {
    pub fn provide(page: Page) {
        provide_context(Self {
            page,
            sampling: page.sampling(),
            view: page.view,
            opacity: RwSignal::new(0.7),
        });
    }

    fn get() -> Self {
        expect_context()
    }

    /// Calls `f` with the chosen layer, if there is sampling to show.
    fn with_layer<T>(self, f: impl FnOnce(&LayerSampling) -> T) -> Option<T> {
        let layers = self.sampling.get()?;
        let layer = layers.get(self.view.with(|v| v.layer))?;
        Some(f(layer))
    }

    fn set_layer(self, layer: usize) {
        self.view.update(|v| {
            v.layer = layer;
            v.group = None;
        });
    }
}

/// The heat map the view shows, per feature pixel, with its range.
#[derive(Clone, Debug, PartialEq)]
struct Heat {
    show: Show,
    values: Vec<f32>,
    width: u32,
    height: u32,
    stride: u32,
    low: f32,
    high: f32,
    mean: f32,
}

impl Heat {
    fn of(layer: &LayerSampling, group: Option<u32>, show: Show) -> Option<Self> {
        // The points need no map: none is computed for them.
        let maps = || layer.maps(group);
        let values = match show {
            Show::Points => return None,
            Show::Offset => maps().offset_magnitude,
            Show::Concentration => maps().concentration,
            Show::Spread => maps().spread,
        };
        let (low, high, mean) = range(&values);
        Some(Self {
            show,
            values,
            width: layer.width,
            height: layer.height,
            stride: layer.stride,
            low,
            high,
            mean,
        })
    }

    /// The value at an image point: that of the feature pixel whose centre is nearest, as the
    /// picture paints it.
    fn at(&self, x: f32, y: f32) -> f32 {
        let (column, row) = nearest_pixel(self.stride, self.width, self.height, x, y);
        self.values[(row * self.width + column) as usize]
    }
}

/// What each heat map is called and measured in.
fn heat_words(show: Show) -> (&'static str, &'static str, &'static str) {
    match show {
        Show::Points => ("Sampling points", "", ""),
        Show::Offset => (
            "Offset magnitude",
            " px",
            "the mean distance of the 9 points from the regular grid, in image pixels",
        ),
        Show::Concentration => (
            "Modulation concentration",
            "",
            "the largest of the 9 modulation weights: 0.11 (1/9) is uniform, 1 is one point",
        ),
        Show::Spread => (
            "Sampling spread",
            " px",
            "how far the weighted points scatter around their centre, in image pixels",
        ),
    }
}

/// The hero: the image with the chosen layer's sampling or heat map on it, its controls, its
/// legend, and the link to share.
#[component]
pub fn Stage() -> impl IntoView {
    let explorer = Explorer::get();
    let Explorer {
        page,
        sampling,
        view,
        opacity,
    } = explorer;
    let layer = Signal::derive(move || view.with(|v| v.layer));
    let group = Signal::derive(move || view.with(|v| v.group));
    let point = Signal::derive(move || view.with(|v| v.point));
    let show = Signal::derive(move || view.with(|v| v.show));
    let overlay = NodeRef::<Canvas>::new();
    let hover = RwSignal::new(None::<(f32, f32)>);

    let drawn = Memo::new(move |_| {
        explorer
            .with_layer(|l| {
                let (x, y) = point.get();
                let (column, row) = l.pixel_at(x, y);
                l.points(column, row, group.get())
            })
            .unwrap_or_default()
    });
    let heat = Memo::new(move |_| {
        let show = show.get();
        if show == Show::Points {
            return None;
        }
        explorer
            .with_layer(|l| Heat::of(l, group.get(), show))
            .flatten()
    });
    Effect::new(move |_| {
        let points = drawn.get();
        let (Some(canvas), Some(preview)) = (overlay.get(), page.preview.get()) else {
            return;
        };
        let opacity = opacity.get();
        let point = point.get();
        heat.with(|heat| {
            explorer.with_layer(|layer| {
                draw_overlay(
                    &canvas,
                    &preview,
                    layer,
                    &points,
                    heat.as_ref(),
                    opacity,
                    point,
                )
            })
        });
    });

    let canvas_to_image = move |ev: &MouseEvent| {
        // A narrow screen shows the canvas smaller than its pixels: scale back.
        let shown = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlCanvasElement>().ok())
            .map_or(1.0, |c| {
                f64::from(c.width()) / f64::from(c.client_width().max(1))
            });
        // Canvas pixel u of image pixel i lies in [i, i + 1) * SCALE, whose centre is i.
        let at = |offset: i32| f64::from(offset) * shown / SCALE - 0.5;
        let limit = f64::from(INPUT_SIZE - 1);
        // Half pixels: a click cannot say more, and a link keeps them exactly.
        let half = |v: f64| ((v.clamp(0.0, limit) * 2.0).round() / 2.0) as f32;
        (half(at(ev.offset_x())), half(at(ev.offset_y())))
    };
    let on_click = move |ev: MouseEvent| {
        let point = canvas_to_image(&ev);
        view.update(|v| v.point = point);
    };
    let on_move = move |ev: MouseEvent| hover.set(Some(canvas_to_image(&ev)));
    // Arrow keys move the point by one feature pixel of the chosen layer.
    let on_key = move |ev: KeyboardEvent| {
        let step = explorer.with_layer(|l| l.stride as f32).unwrap_or(4.0);
        let (dx, dy) = match ev.key().as_str() {
            "ArrowLeft" => (-step, 0.0),
            "ArrowRight" => (step, 0.0),
            "ArrowUp" => (0.0, -step),
            "ArrowDown" => (0.0, step),
            _ => return,
        };
        ev.prevent_default();
        let limit = INPUT_SIZE as f32 - 1.0;
        view.update(|v| {
            let (x, y) = v.point;
            v.point = ((x + dx).clamp(0.0, limit), (y + dy).clamp(0.0, limit));
        });
    };

    let layer_options = move || {
        sampling.get().map_or_else(Vec::new, |layers| {
            layers
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    // Short enough for a phone's width; the stride is the summary's mapping to the image.
                    let text = format!("{} · level {} block {} · {}×{}, G={}", i + 1, l.level, l.block, l.width, l.height, l.groups);
                    view! { <option value=i.to_string() prop:selected=move || layer.get() == i>{text}</option> }
                })
                .collect_view()
        })
    };
    let group_options = move || {
        let groups = explorer.with_layer(|l| l.groups).unwrap_or(0);
        (0..groups)
            .map(|g| view! { <option value=g.to_string() prop:selected=move || group.get() == Some(g)>{format!("group {g}")}</option> })
            .collect_view()
    };
    let show_options = move || {
        Show::ALL
            .iter()
            .map(|&s| view! { <option value=s.name() prop:selected=move || show.get() == s>{heat_words(s).0}</option> })
            .collect_view()
    };
    let summary = move || {
        let points = drawn.get();
        explorer.with_layer(|l| {
            let (x, y) = point.get();
            let (column, row) = l.pixel_at(x, y);
            let shift: f32 = points
                .iter()
                .map(|p| ((p.x - p.regular_x).powi(2) + (p.y - p.regular_y).powi(2)).sqrt())
                .sum::<f32>()
                / points.len().max(1) as f32;
            format!(
                "Feature pixel ({column}, {row}) = image ({}, {}); {} points; mean shift from the regular grid {shift:.1} image pixels.",
                column * l.stride,
                row * l.stride,
                points.len()
            )
        })
    };
    let under_pointer = move || {
        let (x, y) = hover.get()?;
        let text = heat.with(|heat| match heat {
            Some(h) => {
                let (name, unit, _) = heat_words(h.show);
                format!("{name} at ({x:.0}, {y:.0}): {:.3}{unit}", h.at(x, y))
            }
            None => format!("Pointer at image ({x:.0}, {y:.0}); click to choose it."),
        });
        Some(text)
    };
    // What the overlay drew, for people and tests alike: [group, k, x, y, m] in image pixels.
    let points_json = move || {
        let rows: Vec<(u32, u32, f32, f32, f32)> = (drawn.get().iter())
            .map(|p| (p.group, p.point, p.x, p.y, p.weight))
            .collect();
        serde_json::to_string(&rows).unwrap_or_default()
    };
    let heat_range = move || {
        heat.with(|h| {
            h.as_ref().map_or_else(String::new, |h| {
                format!("{:.4},{:.4},{:.4}", h.low, h.high, h.mean)
            })
        })
    };
    let waiting = move || match (page.model.get(), page.prediction.get()) {
        (ModelState::Failed { error, .. }, _) => error.to_string(),
        (ModelState::Loaded(_), PredictionState::Idle) => {
            "Choose an image on the right, or drop one here.".to_owned()
        }
        (_, PredictionState::Running(name)) => format!("Classifying {name}…"),
        (_, PredictionState::Failed(error)) => error.to_string(),
        _ => "Loading the model…".to_owned(),
    };

    view! {
        <section class="stage" aria-label="The image and where DCNv3 samples it">
            <div class="toolbar" hidden=move || sampling.get().is_none()>
                <label>"Layer"
                    <select data-testid="layer-select" on:change=move |ev| {
                        explorer.set_layer(event_target_value(&ev).parse().unwrap_or(0));
                    }>{layer_options}</select>
                </label>
                <label>"Groups"
                    <select data-testid="group-select" on:change=move |ev| {
                        let group = event_target_value(&ev).parse().ok();
                        view.update(|v| v.group = group);
                    }>
                        <option value="all" prop:selected=move || group.get().is_none()>"all groups"</option>
                        {group_options}
                    </select>
                </label>
                <label>"Show"
                    <select data-testid="show-select" on:change=move |ev| {
                        let show = Show::from_name(&event_target_value(&ev)).unwrap_or_default();
                        view.update(|v| v.show = show);
                    }>{show_options}</select>
                </label>
                <label hidden=move || show.get() == Show::Points>"Opacity"
                    <input type="range" min="0" max="100" step="5" data-testid="opacity"
                        prop:value=move || (opacity.get() * 100.0).round().to_string()
                        on:input=move |ev| {
                            opacity.set(event_target_value(&ev).parse::<f64>().unwrap_or(70.0) / 100.0);
                        } />
                </label>
            </div>
            <div class="canvas-frame">
                <p class="placeholder" data-testid="stage-status" aria-live="polite"
                    hidden=move || sampling.get().is_some()>{waiting}</p>
                <div data-testid="explore" hidden=move || sampling.get().is_none()>
                    <canvas
                        node_ref=overlay
                        width=(f64::from(INPUT_SIZE) * SCALE) as u32
                        height=(f64::from(INPUT_SIZE) * SCALE) as u32
                        tabindex="0"
                        role="img"
                        aria-label="The input image with the chosen layer's sampling; click or use the arrow keys to choose a point"
                        data-testid="overlay"
                        data-points=points_json
                        data-heat=heat_range
                        data-point=move || { let (x, y) = point.get(); format!("{x:.1},{y:.1}") }
                        on:click=on_click
                        on:mousemove=on_move
                        on:mouseleave=move |_| hover.set(None)
                        on:keydown=on_key
                    ></canvas>
                </div>
            </div>
            <div class="under-image" hidden=move || sampling.get().is_none()>
                // On a phone the top-5 is a screen further down: its first line here.
                <p class="phone-only top1" data-testid="top1">{move || page.result.with(|r| r.as_ref().and_then(|(_, p)| {
                    p.top.first().map(|(label, p)| format!("Prediction: {label} ({:.1} %)", p * 100.0))
                }))}</p>
                <Legend heat />
                <p class="pointer-value" data-testid="pointer-value" aria-live="polite">{under_pointer}</p>
                <p data-testid="explore-summary" aria-live="polite">{summary}</p>
                <p class="hint">{move || if show.get() == Show::Points {
                    "Click the image (or focus it and use the arrow keys) to choose a point. Filled dots: the 9 sampling points of each group, coloured by group, their area proportional to the modulation weight. Grey rings: the regular 3×3 grid of an ordinary convolution."
                } else {
                    "Each feature pixel of the layer painted over the image pixels nearest its centre. Click to choose a point; hover to read a value."
                }}</p>
                <ShareLink />
                <button type="button" class="secondary" data-testid="save-png" on:click=move |_| {
                    if let Some(canvas) = overlay.get() {
                        save_png(&canvas, "internimage-sampling.png");
                    }
                }>"Save this view as PNG"</button>
            </div>
        </section>
    }
}

/// The heat map's colour ramp with its range and unit.
#[component]
fn Legend(heat: Memo<Option<Heat>>) -> impl IntoView {
    let gradient = {
        let stops: Vec<String> = (0..=4)
            .map(|i| {
                let [r, g, b] = ramp(i as f32 / 4.0);
                format!("rgb({r},{g},{b}) {}%", i * 25)
            })
            .collect();
        format!(
            "background: linear-gradient(to right, {})",
            stops.join(", ")
        )
    };
    move || {
        heat.with(|h| {
            h.as_ref().map(|h| {
                let (name, unit, meaning) = heat_words(h.show);
                view! {
                    <div class="legend" data-testid="legend">
                        <strong>{name}</strong>
                        <div class="legend-row">
                            <span class="num">{format!("{:.2}{unit}", h.low)}</span>
                            <span class="ramp" style=gradient.clone() role="img"
                                aria-label=format!("colour scale from {:.2}{unit} (dark) to {:.2}{unit} (bright)", h.low, h.high)></span>
                            <span class="num">{format!("{:.2}{unit}", h.high)}</span>
                        </div>
                        <p class="hint">{format!("{meaning}; mean {:.2}{unit}. Scaled to this layer's range.", h.mean)}</p>
                    </div>
                }
            })
        })
    }
}

/// The view's address, a button that copies it, and what it cannot carry.
#[component]
fn ShareLink() -> impl IntoView {
    let page = expect_context::<Page>();
    let copied = RwSignal::new(None::<String>);
    let address = move || history::address_of(&page.link());
    let copy = move |_| {
        let text = history::address_of(&page.link_untracked());
        let Some(window) = web_sys::window() else {
            return;
        };
        let promise = window.navigator().clipboard().write_text(&text);
        leptos::task::spawn_local(async move {
            copied.set(Some(
                match wasm_bindgen_futures::JsFuture::from(promise).await {
                    Ok(_) => "Link copied.".to_owned(),
                    Err(_) => {
                        "This browser refused the clipboard: copy the address above.".to_owned()
                    }
                },
            ));
        });
    };
    view! {
        <div class="share">
            <label>"Link to this view"
                <input type="text" readonly data-testid="share-address" prop:value=address
                    on:focus=|ev| { if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) { input.select(); } } />
            </label>
            <button type="button" class="secondary" data-testid="copy-link" on:click=copy>"Copy link"</button>
            <span class="hint" aria-live="polite" data-testid="copy-status">{move || copied.get()}</span>
            <p class="hint" hidden=move || !page.shown_file.get()>
                "The image is a file from this computer: the link carries the model, layer and point, not the image."
            </p>
        </div>
    }
}

/// Every DCNv3 layer's sampling at the chosen point, first layer first; the chosen one
/// marked. Click one to choose it; the arrow keys step; Play walks the stack.
#[component]
pub fn DepthStrip() -> impl IntoView {
    let explorer = Explorer::get();
    let Explorer { sampling, view, .. } = explorer;
    let playing = RwSignal::new(false);
    let play = move |_| {
        if playing.get_untracked() {
            return playing.set(false);
        }
        let Some(count) = sampling.get_untracked().map(|l| l.len()) else {
            return;
        };
        playing.set(true);
        leptos::task::spawn_local(async move {
            for layer in 0..count {
                if !playing.get_untracked() {
                    return;
                }
                explorer.set_layer(layer);
                gloo::timers::future::TimeoutFuture::new(PLAY_STEP_MS).await;
            }
            playing.set(false);
        });
    };
    let on_key = move |ev: KeyboardEvent| {
        let Some(count) = sampling.get_untracked().map(|l| l.len()) else {
            return;
        };
        let current = view.with_untracked(|v| v.layer);
        let next = match ev.key().as_str() {
            "ArrowLeft" | "ArrowUp" => current.saturating_sub(1),
            "ArrowRight" | "ArrowDown" => (current + 1).min(count - 1),
            "Home" => 0,
            "End" => count - 1,
            _ => return,
        };
        ev.prevent_default();
        explorer.set_layer(next);
        focus_strip_item(next);
    };
    let items = move || {
        let layers = sampling.get()?;
        Some(
            (0..layers.len())
                .map(|index| view! { <StripItem index layers=layers.clone() /> })
                .collect_view(),
        )
    };
    view! {
        <section class="panel strip-panel" data-testid="depth-strip" hidden=move || sampling.get().is_none()
            data-playing=move || playing.get().to_string()
            aria-label="Every DCNv3 layer's sampling at the chosen point">
            <div class="strip-head">
                <h2>"Through the depth"</h2>
                <button type="button" class="secondary" data-testid="play" aria-pressed=move || playing.get().to_string()
                    on:click=play>{move || if playing.get() { "Stop" } else { "Play" }}</button>
                <span class="hint">{move || sampling.get().map(|l| format!(
                    "{} DCNv3 layers at the chosen point, first to last. Click one, or use the arrow keys here.",
                    l.len()
                ))}</span>
            </div>
            <div class="strip" role="toolbar" aria-label="DCNv3 layers" on:keydown=on_key>{items}</div>
        </section>
    }
}

fn focus_strip_item(index: usize) {
    let item = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector(&format!(
                "[data-testid=\"strip-layer\"][data-layer=\"{index}\"]"
            ))
            .ok()
            .flatten()
        })
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(item) = item {
        let _ = item.focus();
    }
}

/// One layer of the strip: the photo, small, with that layer's points at the chosen point.
#[component]
fn StripItem(index: usize, layers: Layers) -> impl IntoView {
    let explorer = Explorer::get();
    let Explorer { page, view, .. } = explorer;
    // Only the point and group redraw it, not another layer chosen.
    let point = Memo::new(move |_| view.with(|v| v.point));
    let group = Memo::new(move |_| view.with(|v| v.group));
    let canvas = NodeRef::<Canvas>::new();
    let chosen = Memo::new(move |_| view.with(|v| v.layer) == index);
    let (level, block, groups) = {
        let layer = &layers[index];
        (layer.level, layer.block, layer.groups)
    };
    Effect::new(move |_| {
        let layer = &layers[index];
        let (x, y) = point.get();
        // The chosen group where this layer has it, else all.
        let group = group.get().filter(|g| *g < layer.groups);
        let (column, row) = layer.pixel_at(x, y);
        let points = layer.points(column, row, group);
        if let (Some(canvas), Some(preview)) = (canvas.get(), page.preview.get()) {
            draw_strip_item(&canvas, &preview, &points, layer.groups, (x, y));
        }
    });
    let size = (f64::from(INPUT_SIZE) * STRIP_SCALE) as u32;
    view! {
        <button type="button" class="strip-item" data-testid="strip-layer" data-layer=index.to_string()
            aria-pressed=move || chosen.get().to_string()
            tabindex=move || if chosen.get() { "0" } else { "-1" }
            aria-label=format!("Layer {}: level {level}, block {block}, {groups} groups", index + 1)
            on:click=move |_| explorer.set_layer(index)>
            <canvas node_ref=canvas width=size height=size aria-hidden="true"></canvas>
            <span>{format!("{}", index + 1)}</span>
        </button>
    }
}

/// The receptive field of the chosen pixel through the stack, deformable beside regular.
#[component]
pub fn FieldFigures() -> impl IntoView {
    let Explorer {
        page,
        sampling,
        view,
        ..
    } = Explorer::get();
    // Paths under 0.01 % of the total are pruned: invisible, and they would make it slow.
    let fields = Memo::new(move |_| {
        let layers = sampling.get()?;
        let (top, (x, y)) = view.with(|v| (v.layer, v.point));
        let top = top.min(layers.len().checked_sub(1)?);
        let (column, row) = layers[top].pixel_at(x, y);
        let follow = |field| receptive_field(&layers, top, column, row, field, 1e-4);
        Some(Fields {
            deformable: follow(Field::Deformable),
            regular: follow(Field::Regular),
        })
    });
    let preview = page.preview;
    view! {
        <section class="panel" data-testid="fields" hidden=move || sampling.get().is_none()>
            <h2>"Receptive field through the stack"</h2>
            <p class="hint">
                "From the chosen pixel of the chosen layer down to the image: each DCNv3 layer below "
                "passes its weight on through its sampling points (modulation × bilinear weights). "
                "Darker means more weight. Beside it, the same stack of ordinary 3×3 convolutions."
            </p>
            <div class="fields">
                <FieldFigure fields preview field=Field::Deformable />
                <FieldFigure fields preview field=Field::Regular />
            </div>
        </section>
    }
}

/// Downloads what `canvas` shows as a PNG file.
fn save_png(canvas: &web_sys::HtmlCanvasElement, name: &str) {
    let Ok(url) = canvas.to_data_url_with_type("image/png") else {
        return;
    };
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(link) = document
        .create_element("a")
        .map(|e| e.unchecked_into::<web_sys::HtmlAnchorElement>())
    {
        link.set_href(&url);
        link.set_download(name);
        link.click();
    }
}

/// The photo at `size` canvas pixels, veiled in white by `veil` so that marks stand out.
fn draw_photo(
    ctx: &web_sys::CanvasRenderingContext2d,
    preview: &web_sys::HtmlCanvasElement,
    size: f64,
    veil: f64,
) {
    ctx.set_image_smoothing_enabled(false);
    let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(preview, 0.0, 0.0, size, size);
    if veil > 0.0 {
        ctx.set_fill_style_str(&format!("rgba(255, 255, 255, {veil})"));
        ctx.fill_rect(0.0, 0.0, size, size);
    }
}

fn draw_overlay(
    canvas: &web_sys::HtmlCanvasElement,
    preview: &web_sys::HtmlCanvasElement,
    layer: &LayerSampling,
    points: &[SamplePoint],
    heat: Option<&Heat>,
    opacity: f64,
    (x, y): (f32, f32),
) {
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    let size = f64::from(INPUT_SIZE) * SCALE;
    match heat {
        Some(heat) => {
            draw_photo(&ctx, preview, size, 0.0);
            draw_heat(&ctx, heat, opacity, size);
        }
        None => {
            // Dim the photo so the points stand out.
            draw_photo(&ctx, preview, size, 0.35);
            draw_points(&ctx, points, layer.groups, SCALE, 5.0);
        }
    }
    draw_cross(&ctx, (x, y), SCALE, 8.0, 2.0);
}

/// A cross-hair at the chosen image point, its arms `arm` canvas pixels long.
fn draw_cross(
    ctx: &web_sys::CanvasRenderingContext2d,
    (x, y): (f32, f32),
    scale: f64,
    arm: f64,
    width: f64,
) {
    let at = |v: f32| (f64::from(v) + 0.5) * scale;
    let (cx, cy) = (at(x), at(y));
    ctx.set_stroke_style_str("#111");
    ctx.set_line_width(width);
    ctx.begin_path();
    ctx.move_to(cx - arm, cy);
    ctx.line_to(cx + arm, cy);
    ctx.move_to(cx, cy - arm);
    ctx.line_to(cx, cy + arm);
    ctx.stroke();
}

/// Grey rings at the regular grid of the first group drawn, then every point in its group's
/// colour, its area proportional to its weight (`radius` for a uniform 1/9).
fn draw_points(
    ctx: &web_sys::CanvasRenderingContext2d,
    points: &[SamplePoint],
    groups: u32,
    scale: f64,
    radius: f64,
) {
    let at = |v: f32| (f64::from(v) + 0.5) * scale;
    ctx.set_stroke_style_str("rgba(60, 60, 60, 0.8)");
    ctx.set_line_width(1.5 * radius / 5.0);
    for p in points.iter().filter(|p| p.group == points[0].group) {
        ctx.begin_path();
        let _ = ctx.arc(
            at(p.regular_x),
            at(p.regular_y),
            radius,
            0.0,
            std::f64::consts::TAU,
        );
        ctx.stroke();
    }
    for p in points {
        ctx.set_fill_style_str(&group_colour(p.group, groups));
        ctx.begin_path();
        let r = radius * (f64::from(p.weight) * 9.0).sqrt();
        let _ = ctx.arc(
            at(p.x),
            at(p.y),
            r.max(radius * 0.3),
            0.0,
            std::f64::consts::TAU,
        );
        ctx.fill();
    }
}

/// Each image pixel painted with the value of the feature pixel whose centre is nearest, at
/// `opacity` over what is drawn.
fn draw_heat(ctx: &web_sys::CanvasRenderingContext2d, heat: &Heat, opacity: f64, size: f64) {
    let side = INPUT_SIZE as usize;
    let scale = if heat.high > heat.low {
        1.0 / (heat.high - heat.low)
    } else {
        0.0
    };
    let alpha = (opacity.clamp(0.0, 1.0) * 255.0).round() as u8;
    let mut rgba = vec![0u8; side * side * 4];
    for (i, pixel) in rgba.chunks_exact_mut(4).enumerate() {
        let (x, y) = ((i % side) as f32, (i / side) as f32);
        let [r, g, b] = ramp((heat.at(x, y) - heat.low) * scale);
        pixel.copy_from_slice(&[r, g, b, alpha]);
    }
    let Some(layer) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("canvas").ok())
        .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok())
    else {
        return;
    };
    layer.set_width(INPUT_SIZE);
    layer.set_height(INPUT_SIZE);
    put_rgba(&layer, &rgba, INPUT_SIZE, INPUT_SIZE);
    let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&layer, 0.0, 0.0, size, size);
}

fn draw_strip_item(
    canvas: &web_sys::HtmlCanvasElement,
    preview: &web_sys::HtmlCanvasElement,
    points: &[SamplePoint],
    groups: u32,
    (x, y): (f32, f32),
) {
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    let size = f64::from(INPUT_SIZE) * STRIP_SCALE;
    draw_photo(&ctx, preview, size, 0.45);
    draw_points(&ctx, points, groups, STRIP_SCALE, 2.0);
    draw_cross(&ctx, (x, y), STRIP_SCALE, 4.0, 1.0);
}

/// The receptive fields of one pixel, deformable and regular.
#[derive(Clone, Debug, PartialEq)]
struct Fields {
    deformable: Vec<FieldPoint>,
    regular: Vec<FieldPoint>,
}

impl Fields {
    fn of(&self, field: Field) -> &[FieldPoint] {
        match field {
            Field::Deformable => &self.deformable,
            Field::Regular => &self.regular,
        }
    }
}

/// One receptive field over the dimmed input, with its size in words (and, for tests, in
/// `data-field`: locations, spread, total weight).
#[component]
fn FieldFigure(
    fields: Memo<Option<Fields>>,
    preview: NodeRef<Canvas>,
    field: Field,
) -> impl IntoView {
    let (testid, label, caption, colour) = match field {
        Field::Deformable => (
            "field-deformable",
            "Deformable receptive field",
            "Deformable: ",
            "rgba(214, 40, 40, A)",
        ),
        Field::Regular => (
            "field-regular",
            "Regular convolution receptive field",
            "Regular 3×3: ",
            "rgba(40, 90, 200, A)",
        ),
    };
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        if let (Some(f), Some(preview), Some(canvas)) = (fields.get(), preview.get(), canvas.get())
        {
            draw_field(&canvas, &preview, f.of(field), colour);
        }
    });
    let measured = move || {
        fields.get().map(|f| {
            (
                spread(f.of(field)),
                f.of(field).iter().map(|p| p.weight).sum::<f32>(),
            )
        })
    };
    view! {
        <figure>
            <canvas node_ref=canvas width=INPUT_SIZE height=INPUT_SIZE data-testid=testid
                data-field=move || measured().map_or_else(String::new, |((count, spread), total)| format!("{count},{spread:.3},{total:.4}"))
                role="img" aria-label=label></canvas>
            <figcaption>{caption} {move || measured().map(|((count, spread), _)| format!("{count} locations, spread {spread:.1} px"))}</figcaption>
        </figure>
    }
}

/// Number of locations and how widely their weight spreads (image pixels).
fn spread(points: &[FieldPoint]) -> (usize, f32) {
    (
        points.len(),
        weighted_spread(points.iter().map(|p| (p.x, p.y, p.weight))),
    )
}

/// The dimmed input with one square per location, its opacity the location's weight relative
/// to the heaviest. `colour` holds an `A` where the alpha goes.
fn draw_field(
    canvas: &web_sys::HtmlCanvasElement,
    preview: &web_sys::HtmlCanvasElement,
    points: &[FieldPoint],
    colour: &str,
) {
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    let size = f64::from(INPUT_SIZE);
    draw_photo(&ctx, preview, size, 0.6);
    let heaviest = points
        .iter()
        .map(|p| p.weight)
        .fold(0.0f32, f32::max)
        .max(f32::MIN_POSITIVE);
    for p in points {
        let alpha = (p.weight / heaviest).sqrt().clamp(0.05, 1.0);
        ctx.set_fill_style_str(&colour.replace('A', &format!("{alpha:.3}")));
        ctx.fill_rect(f64::from(p.x) - 1.5, f64::from(p.y) - 1.5, 4.0, 4.0);
    }
}

/// (min, max, mean).
fn range(values: &[f32]) -> (f32, f32, f32) {
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mean = values.iter().sum::<f32>() / values.len().max(1) as f32;
    (lo, hi, mean)
}

/// Dark blue through magenta and orange to pale yellow, for t in [0, 1].
fn ramp(t: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [12.0, 7.0, 60.0],
        [90.0, 20.0, 120.0],
        [190.0, 50.0, 100.0],
        [245.0, 140.0, 40.0],
        [252.0, 245.0, 170.0],
    ];
    let x = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f32;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f32;
    let mix = |c: usize| (STOPS[i][c] + f * (STOPS[i + 1][c] - STOPS[i][c])).round() as u8;
    [mix(0), mix(1), mix(2)]
}

/// What the comparison's right side changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CompareBy {
    Layer,
    Group,
    Image,
}

impl CompareBy {
    const ALL: [Self; 3] = [Self::Layer, Self::Group, Self::Image];

    fn name(self) -> &'static str {
        match self {
            Self::Layer => "layer",
            Self::Group => "group",
            Self::Image => "image",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Self::Layer => "another layer",
            Self::Group => "another group",
            Self::Image => "the same layer on another image",
        }
    }
}

/// The comparison's canvases show the input at this scale.
const COMPARE_SCALE: f64 = 1.5;

/// Two views side by side at the same point: the one shown, and the same with another layer,
/// another group, or another image.
#[component]
pub fn ComparePanel() -> impl IntoView {
    let explorer = Explorer::get();
    let Explorer {
        page,
        sampling,
        view,
        ..
    } = explorer;
    let by = RwSignal::new(CompareBy::Layer);
    // The other layer: the last unless chosen.
    let other_layer = RwSignal::new(None::<usize>);
    let other_group = RwSignal::new(1u32);
    let done = |state: Option<PredictionState>| match state {
        Some(PredictionState::Done { prediction, .. }) => Some(prediction),
        _ => None,
    };
    let shown = Memo::new(move |_| page.result.get().map(|(_, p)| p));
    let compared = Memo::new(move |_| done(page.compared.get()));
    let compared_sampling = Signal::derive(move || compared.get().map(|p| p.sampling));
    let left_photo = Signal::derive(move || shown.get().map(|p| p.preview_rgba));
    let right_photo = Signal::derive(move || match by.get() {
        CompareBy::Image => compared.get().map(|p| p.preview_rgba),
        _ => left_photo.get(),
    });
    let count = move || sampling.with(|l| l.as_ref().map_or(0, |l| l.len()));
    let right_layer = Signal::derive(move || match by.get() {
        CompareBy::Layer => other_layer
            .get()
            .unwrap_or_else(|| count().saturating_sub(1)),
        _ => view.with(|v| v.layer),
    });
    let right_group = Signal::derive(move || match by.get() {
        CompareBy::Group => Some(other_group.get()),
        CompareBy::Layer => None,
        CompareBy::Image => view.with(|v| v.group),
    });
    let right_sampling = Signal::derive(move || match by.get() {
        CompareBy::Image => compared_sampling.get(),
        _ => sampling.get(),
    });
    let left_layer = Signal::derive(move || view.with(|v| v.layer));
    let left_group = Signal::derive(move || view.with(|v| v.group));
    let layer_options = move || {
        (0..count())
            .map(|i| view! { <option value=i.to_string() prop:selected=move || right_layer.get() == i>{format!("layer {}", i + 1)}</option> })
            .collect_view()
    };
    let group_options = move || {
        let groups = explorer.with_layer(|l| l.groups).unwrap_or(0);
        (0..groups)
            .map(|g| view! { <option value=g.to_string() prop:selected=move || other_group.get() == g>{format!("group {g}")}</option> })
            .collect_view()
    };
    let image_options = move || {
        let samples = crate::samples::SHAPES
            .iter()
            .chain(&crate::samples::PHOTOS)
            .map(|s| view! { <option value=format!("sample:{}", s.file)>{s.title}</option> })
            .collect_view();
        let gallery = page.gallery.with(|g| {
            g.iter()
                .map(|i| view! { <option value=format!("gallery:{}", i.id)>{i.name.clone()}</option> })
                .collect_view()
        });
        (samples, gallery)
    };
    let choose_image = move |value: String| {
        let source = if let Some(file) = value.strip_prefix("sample:") {
            crate::samples::named(file).map(crate::state::ImageSource::Sample)
        } else if let Some(id) = value.strip_prefix("gallery:") {
            let id: Option<u32> = id.parse().ok();
            page.gallery.with_untracked(|g| {
                g.iter()
                    .find(|i| Some(i.id) == id)
                    .map(|i| crate::state::ImageSource::File(i.file.clone()))
            })
        } else {
            None
        };
        if let Some(source) = source {
            page.classify_for_compare(source);
        }
    };
    let right_title = Signal::derive(move || match by.get() {
        CompareBy::Layer => format!("Layer {}", right_layer.get() + 1),
        CompareBy::Group => format!(
            "Layer {}, group {}",
            right_layer.get() + 1,
            other_group.get()
        ),
        CompareBy::Image => match page.compared.get() {
            Some(PredictionState::Done { name, prediction }) => format!(
                "{name}: {}",
                prediction
                    .top
                    .first()
                    .map_or(String::new(), |(l, p)| format!("{l} {:.0} %", p * 100.0))
            ),
            Some(PredictionState::Running(name)) => format!("Classifying {name}…"),
            Some(PredictionState::Failed(error)) => error.to_string(),
            _ => "Choose the other image".to_owned(),
        },
    });
    let left_title = Signal::derive(move || match by.get() {
        CompareBy::Image => page
            .result
            .with(|r| r.as_ref().map(|(name, _)| name.clone()).unwrap_or_default()),
        _ => format!(
            "Layer {}{}",
            left_layer.get() + 1,
            left_group
                .get()
                .map_or(String::new(), |g| format!(", group {g}"))
        ),
    });
    view! {
        <section class="panel" data-testid="compare" hidden=move || sampling.get().is_none()>
            <h2>"Compare"</h2>
            <div class="toolbar">
                <label>"Beside this view, show"
                    <select data-testid="compare-by" on:change=move |ev| {
                        let value = event_target_value(&ev);
                        by.set(CompareBy::ALL.into_iter().find(|b| b.name() == value).unwrap_or(CompareBy::Layer));
                    }>
                        {CompareBy::ALL.iter().map(|&b| view! { <option value=b.name() prop:selected=move || by.get() == b>{b.words()}</option> }).collect_view()}
                    </select>
                </label>
                <label hidden=move || by.get() != CompareBy::Layer>"Other layer"
                    <select data-testid="compare-layer" on:change=move |ev| other_layer.set(event_target_value(&ev).parse().ok())>{layer_options}</select>
                </label>
                <label hidden=move || by.get() != CompareBy::Group>"Other group"
                    <select data-testid="compare-group" on:change=move |ev| other_group.set(event_target_value(&ev).parse().unwrap_or(0))>{group_options}</select>
                </label>
                <label hidden=move || by.get() != CompareBy::Image>"Other image"
                    <select data-testid="compare-image" on:change=move |ev| choose_image(event_target_value(&ev))>
                        <option value="" selected>"choose…"</option>
                        {image_options}
                    </select>
                </label>
            </div>
            <div class="compare">
                <CompareSide testid="compare-left" title=left_title sampling layer=left_layer group=left_group photo=left_photo />
                <CompareSide testid="compare-right" title=right_title sampling=right_sampling layer=right_layer group=right_group photo=right_photo />
            </div>
        </section>
    }
}

/// One side of the comparison: a photo with one layer's points at the chosen point.
#[component]
fn CompareSide(
    testid: &'static str,
    title: Signal<String>,
    sampling: Signal<Option<Layers>>,
    layer: Signal<usize>,
    group: Signal<Option<u32>>,
    /// The network's input as RGBA, 224 x 224.
    photo: Signal<Option<Vec<u8>>>,
) -> impl IntoView {
    let Explorer { view, .. } = Explorer::get();
    let canvas = NodeRef::<Canvas>::new();
    let preview = NodeRef::<Canvas>::new();
    let drawn = Memo::new(move |_| {
        let layers = sampling.get()?;
        let l = layers.get(layer.get())?;
        let (x, y) = view.with(|v| v.point);
        let (column, row) = l.pixel_at(x, y);
        let group = group.get().filter(|g| *g < l.groups);
        Some((l.points(column, row, group), l.groups))
    });
    Effect::new(move |_| {
        let (x, y) = view.with(|v| v.point);
        let (Some(canvas), Some(preview)) = (canvas.get(), preview.get()) else {
            return;
        };
        // The photo first, in the same effect: another could run after this one.
        photo.with(|rgba| {
            if let Some(rgba) = rgba {
                put_rgba(&preview, rgba, INPUT_SIZE, INPUT_SIZE);
            }
        });
        let Some(ctx) = context_2d(&canvas) else {
            return;
        };
        let size = f64::from(INPUT_SIZE) * COMPARE_SCALE;
        draw_photo(&ctx, &preview, size, 0.35);
        if let Some((points, groups)) = drawn.get() {
            draw_points(&ctx, &points, groups, COMPARE_SCALE, 4.0);
        }
        draw_cross(&ctx, (x, y), COMPARE_SCALE, 6.0, 2.0);
    });
    let points_json = move || {
        drawn.get().map_or_else(String::new, |(points, _)| {
            let rows: Vec<(u32, u32, f32, f32, f32)> = points
                .iter()
                .map(|p| (p.group, p.point, p.x, p.y, p.weight))
                .collect();
            serde_json::to_string(&rows).unwrap_or_default()
        })
    };
    let size = (f64::from(INPUT_SIZE) * COMPARE_SCALE) as u32;
    view! {
        <figure>
            <canvas node_ref=canvas width=size height=size data-testid=testid data-points=points_json
                role="img" aria-label=move || title.get()></canvas>
            <figcaption>{move || title.get()}</figcaption>
            <canvas node_ref=preview width=INPUT_SIZE height=INPUT_SIZE class="source" aria-hidden="true"></canvas>
        </figure>
    }
}
