//! The sampling explorer: for a chosen point of the image and a chosen DCNv3 layer, the 9
//! sampling points of each group, coloured by group and sized by modulation weight, over the
//! regular 3x3 grid the layer would sample without offsets.

use std::sync::Arc;

use gpu::model::sampling::{
    Field, FieldPoint, LayerMaps, LayerSampling, SamplePoint, receptive_field, weighted_spread,
};
use leptos::ev::{KeyboardEvent, MouseEvent};
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::canvas::{context_2d, put_rgba};
use crate::prepare::INPUT_SIZE;

/// The overlay shows the 224x224 input at this scale.
const SCALE: f64 = 2.0;

/// What the explorer shows; kept across reloads (see `persist.rs`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ViewState {
    /// Index into the model's DCNv3 layers.
    pub layer: usize,
    /// One group, or all.
    pub group: Option<u32>,
    /// The chosen point in input-image pixels (pixel centres at integers).
    pub point: (f32, f32),
}

impl Default for ViewState {
    fn default() -> Self {
        let centre = INPUT_SIZE as f32 / 2.0;
        Self {
            layer: 0,
            group: None,
            point: (centre, centre),
        }
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

/// A distinct hue per group, as CSS.
pub fn group_colour(group: u32, groups: u32) -> String {
    format!(
        "hsl({:.0}, 85%, 50%)",
        360.0 * f64::from(group) / f64::from(groups.max(1))
    )
}

#[component]
pub fn ExplorePanel(
    sampling: Signal<Option<Arc<Vec<LayerSampling>>>>,
    preview: NodeRef<Canvas>,
    view: RwSignal<ViewState>,
) -> impl IntoView {
    let layer = Signal::derive(move || view.get().layer);
    let group = Signal::derive(move || view.get().group);
    let point = Signal::derive(move || view.get().point);
    let set_layer = move |layer: usize| {
        view.update(|v| {
            v.layer = layer;
            v.group = None;
        })
    };
    let set_group = move |group: Option<u32>| view.update(|v| v.group = group);
    let set_point = move |point: (f32, f32)| view.update(|v| v.point = point);
    let overlay = NodeRef::<Canvas>::new();
    let current = move || {
        sampling
            .get()
            .and_then(|layers| layers.get(layer.get()).cloned())
    };
    let drawn = Memo::new(move |_| {
        let Some(l) = current() else {
            return Vec::new();
        };
        let (x, y) = point.get();
        let (column, row) = l.pixel_at(x, y);
        l.points(column, row, group.get())
    });

    // Paths under 0.01 % of the total are pruned: invisible, and they would make it slow.
    let fields = Memo::new(move |_| {
        let layers = sampling.get()?;
        let top = layer.get().min(layers.len().checked_sub(1)?);
        let l = &layers[top];
        let (x, y) = point.get();
        let (column, row) = l.pixel_at(x, y);
        let follow = |field| receptive_field(&layers, top, column, row, field, 1e-4);
        Some(Fields {
            deformable: follow(Field::Deformable),
            regular: follow(Field::Regular),
        })
    });
    Effect::new(move |_| {
        let points = drawn.get();
        let layer = current();
        if let (Some(canvas), Some(preview), Some(layer)) = (overlay.get(), preview.get(), layer) {
            draw(&canvas, &preview, &layer, &points, point.get());
        }
    });

    // The model puts pixel centres at integers: canvas pixel u of image pixel i lies in
    // [i, i + 1) * SCALE, whose centre is i.
    // A narrow screen shows the canvas smaller than its pixels: scale the click back.
    let on_click = move |ev: MouseEvent| {
        let shown = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlCanvasElement>().ok())
            .map_or(1.0, |c| {
                f64::from(c.width()) / f64::from(c.client_width().max(1))
            });
        let x = f64::from(ev.offset_x()) * shown / SCALE - 0.5;
        let y = f64::from(ev.offset_y()) * shown / SCALE - 0.5;
        set_point((x as f32, y as f32));
    };
    // Arrow keys move the point by one feature pixel of the chosen layer.
    let on_key = move |ev: KeyboardEvent| {
        let step = current().map_or(4.0, |l| l.stride as f32);
        let (dx, dy) = match ev.key().as_str() {
            "ArrowLeft" => (-step, 0.0),
            "ArrowRight" => (step, 0.0),
            "ArrowUp" => (0.0, -step),
            "ArrowDown" => (0.0, step),
            _ => return,
        };
        ev.prevent_default();
        let limit = INPUT_SIZE as f32 - 1.0;
        let (x, y) = point.get_untracked();
        set_point(((x + dx).clamp(0.0, limit), (y + dy).clamp(0.0, limit)));
    };

    let layer_options = move || {
        sampling.get().map_or_else(Vec::new, |layers| {
            layers
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let text = format!("level {} · block {} ({}×{}, G={}, stride {})", l.level, l.block, l.width, l.height, l.groups, l.stride);
                    view! { <option value=i.to_string() selected=move || layer.get() == i>{text}</option> }
                })
                .collect_view()
        })
    };
    let group_options = move || {
        let groups = current().map_or(0, |l| l.groups);
        (0..groups)
            .map(|g| view! { <option value=g.to_string() selected=move || group.get() == Some(g)>{format!("group {g}")}</option> })
            .collect_view()
    };
    let summary = move || {
        let points = drawn.get();
        let l = current()?;
        let (column, row) = {
            let (x, y) = point.get();
            l.pixel_at(x, y)
        };
        let shift: f32 = points
            .iter()
            .map(|p| ((p.x - p.regular_x).powi(2) + (p.y - p.regular_y).powi(2)).sqrt())
            .sum::<f32>()
            / points.len().max(1) as f32;
        Some(format!(
            "Feature pixel ({column}, {row}) = image ({}, {}); {} points; mean shift from the regular grid {shift:.1} image pixels.",
            column * l.stride,
            row * l.stride,
            points.len()
        ))
    };
    // What the overlay drew, for people and tests alike: [group, k, x, y, m] in image pixels.
    let points_json = move || {
        let rows: Vec<(u32, u32, f32, f32, f32)> = (drawn.get().iter())
            .map(|p| (p.group, p.point, p.x, p.y, p.weight))
            .collect();
        serde_json::to_string(&rows).unwrap_or_default()
    };

    view! {
        <section class="panel" data-testid="explore" hidden=move || sampling.get().is_none()>
            <h2>"Where DCNv3 samples"</h2>
            <p class="hint">
                "Click the image (or focus it and use the arrow keys) to pick a point. Filled dots: "
                "the 9 sampling points of each group, coloured by group, their area proportional to "
                "the modulation weight. Grey rings: the regular 3×3 grid of an ordinary convolution."
            </p>
            <div class="explore-controls">
                <label>"Layer "
                    <select data-testid="layer-select" on:change=move |ev| {
                        set_layer(event_target_value(&ev).parse().unwrap_or(0));
                    }>{layer_options}</select>
                </label>
                <label>"Groups "
                    <select data-testid="group-select" on:change=move |ev| {
                        set_group(event_target_value(&ev).parse().ok());
                    }>
                        <option value="all" selected=move || group.get().is_none()>"all groups"</option>
                        {group_options}
                    </select>
                </label>
            </div>
            <button type="button" class="secondary" data-testid="save-png" on:click=move |_| {
                if let Some(canvas) = overlay.get() {
                    save_png(&canvas, "internimage-sampling.png");
                }
            }>"Save this view as PNG"</button>
            <canvas
                node_ref=overlay
                width=(f64::from(INPUT_SIZE) * SCALE) as u32
                height=(f64::from(INPUT_SIZE) * SCALE) as u32
                tabindex="0"
                role="img"
                aria-label="The input image with the sampling points of the chosen layer"
                data-testid="overlay"
                data-points=points_json
                data-point=move || { let (x, y) = point.get(); format!("{x:.1},{y:.1}") }
                on:click=on_click
                on:keydown=on_key
            ></canvas>
            <p data-testid="explore-summary" aria-live="polite">{summary}</p>
            <Maps maps=Memo::new(move |_| current().map(|l| (l.maps(group.get()), l.width, l.height))) />
            <h3>"Receptive field through the stack"</h3>
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

fn draw(
    canvas: &web_sys::HtmlCanvasElement,
    preview: &web_sys::HtmlCanvasElement,
    layer: &LayerSampling,
    points: &[SamplePoint],
    (x, y): (f32, f32),
) {
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    let size = f64::from(INPUT_SIZE) * SCALE;
    ctx.set_image_smoothing_enabled(false);
    let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(preview, 0.0, 0.0, size, size);
    // Dim the photo so the points stand out.
    ctx.set_fill_style_str("rgba(255, 255, 255, 0.35)");
    ctx.fill_rect(0.0, 0.0, size, size);
    let at = |v: f32| (f64::from(v) + 0.5) * SCALE;
    ctx.set_stroke_style_str("rgba(60, 60, 60, 0.8)");
    ctx.set_line_width(1.5);
    for p in points.iter().filter(|p| p.group == points[0].group) {
        ctx.begin_path();
        let _ = ctx.arc(
            at(p.regular_x),
            at(p.regular_y),
            5.0,
            0.0,
            std::f64::consts::TAU,
        );
        ctx.stroke();
    }
    for p in points {
        ctx.set_fill_style_str(&group_colour(p.group, layer.groups));
        ctx.begin_path();
        // Area proportional to the weight: a uniform 1/9 gives a 5-pixel radius.
        let radius = 5.0 * (f64::from(p.weight) * 9.0).sqrt();
        let _ = ctx.arc(
            at(p.x),
            at(p.y),
            radius.max(1.5),
            0.0,
            std::f64::consts::TAU,
        );
        ctx.fill();
    }
    // The chosen point.
    ctx.set_stroke_style_str("#111");
    ctx.set_line_width(2.0);
    let (cx, cy) = (at(x), at(y));
    ctx.begin_path();
    ctx.move_to(cx - 8.0, cy);
    ctx.line_to(cx + 8.0, cy);
    ctx.move_to(cx, cy - 8.0);
    ctx.line_to(cx, cy + 8.0);
    ctx.stroke();
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
    let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(preview, 0.0, 0.0, size, size);
    ctx.set_fill_style_str("rgba(255, 255, 255, 0.6)");
    ctx.fill_rect(0.0, 0.0, size, size);
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

/// The three heat maps of the chosen layer and group, side by side.
#[component]
fn Maps(maps: Memo<Option<(LayerMaps, u32, u32)>>) -> impl IntoView {
    let one = |title: &'static str,
               testid: &'static str,
               pick: fn(&LayerMaps) -> &Vec<f32>,
               unit: &'static str| {
        let canvas = NodeRef::<Canvas>::new();
        Effect::new(move |_| {
            if let (Some((m, w, h)), Some(canvas)) = (maps.get(), canvas.get()) {
                draw_heat(&canvas, pick(&m), w, h);
            }
        });
        let range = move || maps.get().map(|(m, ..)| range(pick(&m)));
        view! {
            <figure>
                <canvas node_ref=canvas class="heat" data-testid=testid
                    data-range=move || range().map_or_else(String::new, |(lo, hi, mean)| format!("{lo:.4},{hi:.4},{mean:.4}"))
                    role="img" aria-label=title></canvas>
                <figcaption>
                    <strong>{title}</strong><br />
                    {move || range().map(|(lo, hi, mean)| format!("{lo:.2} to {hi:.2}{unit}, mean {mean:.2}"))}
                </figcaption>
            </figure>
        }
    };
    view! {
        <h3>"Maps of the layer"</h3>
        <p class="hint">"Each pixel of the layer's map, dark to bright. Offset: mean distance of the 9 points from the regular grid. Concentration: the largest modulation weight (1/9 is uniform, 1 is one point). Spread: how far the weighted points scatter."</p>
        <div class="maps">
            {one("Offset magnitude", "map-offset", |m| &m.offset_magnitude, " px")}
            {one("Modulation concentration", "map-concentration", |m| &m.concentration, "")}
            {one("Sampling spread", "map-spread", |m| &m.spread, " px")}
        </div>
    }
}

/// (min, max, mean).
fn range(values: &[f32]) -> (f32, f32, f32) {
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mean = values.iter().sum::<f32>() / values.len().max(1) as f32;
    (lo, hi, mean)
}

/// Paints `values` ([height, width]) one canvas pixel each, on a dark-to-bright ramp.
fn draw_heat(canvas: &web_sys::HtmlCanvasElement, values: &[f32], width: u32, height: u32) {
    canvas.set_width(width);
    canvas.set_height(height);
    let (lo, hi, _) = range(values);
    let scale = if hi > lo { 1.0 / (hi - lo) } else { 0.0 };
    let rgba: Vec<u8> = values
        .iter()
        .flat_map(|&v| {
            let [r, g, b] = ramp((v - lo) * scale);
            [r, g, b, 255]
        })
        .collect();
    put_rgba(canvas, &rgba, width, height);
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
