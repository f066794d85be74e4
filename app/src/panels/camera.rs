//! Camera mode: live frames classified one after another, each with the chosen layer's sampling
//! drawn over it in the explorer, and the frame rate; Pause keeps the last frame to explore.

use gloo::timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::canvas::context_2d;
use crate::state::{ImageSource, Page};

/// Frames are taken at this size (the longer side) before the usual preparation.
const FRAME_SIDE: u32 = 320;

#[derive(Clone, Debug, PartialEq)]
enum Camera {
    Off,
    Starting,
    Live,
    Paused,
    Failed(String),
}

/// The stream and the video element playing it, while the camera is on.
struct Running {
    stream: web_sys::MediaStream,
    video: web_sys::HtmlVideoElement,
}

#[component]
pub fn CameraControls() -> impl IntoView {
    let page = expect_context::<Page>();
    let state = RwSignal::new(Camera::Off);
    let frames = RwSignal::new(0u32);
    let rate = RwSignal::new(None::<f64>);
    let running = StoredValue::new_local(None::<Running>);

    let stop = move || {
        if let Some(r) = running.try_update_value(Option::take).flatten() {
            for track in r.stream.get_tracks().iter() {
                if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                    track.stop();
                }
            }
        }
        state.set(Camera::Off);
    };
    let frames_loop = move || {
        spawn_local(async move {
            let started = now_ms();
            let at_start = frames.get_untracked();
            while state.get_untracked() == Camera::Live {
                let Some(video) = running.with_value(|r| r.as_ref().map(|r| r.video.clone()))
                else {
                    return;
                };
                match frame_file(&video).await {
                    Some(file) => {
                        page.classify(ImageSource::File(file));
                        // One frame at a time: the next once this one is shown, with its
                        // sampling.
                        while !page.settled() {
                            TimeoutFuture::new(15).await;
                        }
                        frames.update(|n| *n += 1);
                        let seconds = (now_ms() - started) / 1e3;
                        rate.set(Some(f64::from(frames.get_untracked() - at_start) / seconds));
                    }
                    None => TimeoutFuture::new(50).await,
                }
            }
        });
    };
    let start = move |_| {
        if matches!(state.get_untracked(), Camera::Starting | Camera::Live) {
            return;
        }
        if state.get_untracked() == Camera::Paused {
            state.set(Camera::Live);
            return frames_loop();
        }
        state.set(Camera::Starting);
        spawn_local(async move {
            match open_camera().await {
                Ok(r) => {
                    running.set_value(Some(r));
                    rate.set(None);
                    state.set(Camera::Live);
                    frames_loop();
                }
                Err(reason) => state.set(Camera::Failed(reason)),
            }
        });
    };
    on_cleanup(stop);
    let status = move || match state.get() {
        Camera::Off => String::new(),
        Camera::Starting => "Asking for the camera…".to_owned(),
        Camera::Live => match rate.get() {
            Some(rate) => format!(
                "Live: {rate:.1} frames a second classified ({} so far).",
                frames.get()
            ),
            None => "Live: the first frame is being classified…".to_owned(),
        },
        Camera::Paused => format!(
            "Paused on frame {}: click the image to explore it.",
            frames.get()
        ),
        Camera::Failed(reason) => reason,
    };
    view! {
        <div class="camera" data-testid="camera" data-state=move || format!("{:?}", state.get()) data-frames=move || frames.get().to_string()>
            <button type="button" class="secondary" data-testid="camera-start"
                hidden=move || state.get() == Camera::Live
                on:click=start>{move || if state.get() == Camera::Paused { "Resume the camera" } else { "Use the camera" }}</button>
            <button type="button" class="secondary" data-testid="camera-pause"
                hidden=move || state.get() != Camera::Live
                on:click=move |_| state.set(Camera::Paused)>"Pause"</button>
            <button type="button" class="secondary" data-testid="camera-stop"
                hidden=move || matches!(state.get(), Camera::Off | Camera::Failed(_))
                on:click=move |_| stop()>"Stop the camera"</button>
            <span class="hint" data-testid="camera-status" aria-live="polite"
                class:error-text=move || matches!(state.get(), Camera::Failed(_))>{status}</span>
        </div>
    }
}

async fn open_camera() -> Result<Running, String> {
    let window = web_sys::window().ok_or("no window")?;
    let devices = window
        .navigator()
        .media_devices()
        .map_err(|_| "This browser offers no camera to web pages.".to_owned())?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_video(&wasm_bindgen::JsValue::TRUE);
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|_| "This browser offers no camera to web pages.".to_owned())?;
    let stream: web_sys::MediaStream = JsFuture::from(promise)
        .await
        .map_err(|e| {
            let name = js_sys::Reflect::get(&e, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                .unwrap_or_default();
            match name.as_str() {
                "NotAllowedError" => "The camera was not allowed: allow it in the browser's address bar and press the button again.".to_owned(),
                "NotFoundError" => "No camera was found.".to_owned(),
                _ => format!("The camera could not be started ({name})."),
            }
        })?
        .unchecked_into();
    let video: web_sys::HtmlVideoElement = window
        .document()
        .and_then(|d| d.create_element("video").ok())
        .ok_or("no document")?
        .unchecked_into();
    video.set_muted(true);
    video.set_src_object(Some(&stream));
    if let Ok(playing) = video.play() {
        let _ = JsFuture::from(playing).await;
    }
    Ok(Running { stream, video })
}

/// The video's current frame as a PNG file, or None before it has one.
async fn frame_file(video: &web_sys::HtmlVideoElement) -> Option<web_sys::File> {
    let (width, height) = (video.video_width(), video.video_height());
    if width == 0 || height == 0 {
        return None;
    }
    let scale = f64::from(FRAME_SIDE) / f64::from(width.max(height));
    let (w, h) = (
        (f64::from(width) * scale).round().max(1.0) as u32,
        (f64::from(height) * scale).round().max(1.0) as u32,
    );
    let canvas: web_sys::HtmlCanvasElement = web_sys::window()?
        .document()?
        .create_element("canvas")
        .ok()?
        .unchecked_into();
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx = context_2d(&canvas)?;
    ctx.draw_image_with_html_video_element_and_dw_and_dh(
        video,
        0.0,
        0.0,
        f64::from(w),
        f64::from(h),
    )
    .ok()?;
    let (send, receive) = futures::channel::oneshot::channel();
    let callback = wasm_bindgen::closure::Closure::once(move |blob: Option<web_sys::Blob>| {
        let _ = send.send(blob);
    });
    canvas
        .to_blob_with_type(callback.as_ref().unchecked_ref(), "image/png")
        .ok()?;
    let blob = receive.await.ok()??;
    let parts = js_sys::Array::of1(&blob);
    let options = web_sys::FilePropertyBag::new();
    options.set_type("image/png");
    web_sys::File::new_with_blob_sequence_and_options(&parts, "camera frame.png", &options).ok()
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
