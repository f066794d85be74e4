//! The page. Components only; GPU work goes through [`engine`].

pub mod engine;

use leptos::prelude::*;
use leptos::task::spawn_local;

use engine::{AdapterView, Engine, KernelCheck};

/// Where the page is in its start-up.
#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Searching,
    Checking(AdapterView),
    Ready(AdapterView),
    Failed(String),
}

#[component]
pub fn App() -> impl IntoView {
    let (phase, set_phase) = signal(Phase::Searching);
    let (checks, set_checks) = signal(Vec::<KernelCheck>::new());

    spawn_local(async move {
        let engine = match Engine::open().await {
            Ok(engine) => engine,
            Err(message) => return set_phase.set(Phase::Failed(message)),
        };
        let adapter = engine.adapter();
        set_phase.set(Phase::Checking(adapter.clone()));
        for level in 0..4 {
            match engine.check_dcnv3_level(level).await {
                Ok(check) => set_checks.update(|rows| rows.push(check)),
                Err(message) => return set_phase.set(Phase::Failed(message)),
            }
        }
        set_phase.set(Phase::Ready(adapter));
    });

    view! {
        <header>
            <h1>"InternImage explorer"</h1>
            <p class="tagline">"DCNv3 deformable convolution, running on WebGPU in this tab."</p>
        </header>
        <main>
            <AdapterPanel phase=phase />
            <ChecksTable phase=phase checks=checks />
        </main>
    }
}

#[component]
fn AdapterPanel(phase: ReadSignal<Phase>) -> impl IntoView {
    move || match phase.get() {
        Phase::Searching => view! {
            <section class="panel" data-testid="status" aria-live="polite">
                <p>"Looking for a WebGPU adapter…"</p>
            </section>
        }
        .into_any(),
        Phase::Failed(message) => view! {
            <section class="panel error" data-testid="error" role="alert">
                <h2>"The GPU engine could not start"</h2>
                <p>{message}</p>
            </section>
        }
        .into_any(),
        Phase::Checking(adapter) | Phase::Ready(adapter) => view! {
            <section class="panel" data-testid="adapter">
                <h2>"WebGPU adapter"</h2>
                <dl>
                    <dt>"Name"</dt><dd data-testid="adapter-name">{adapter.name}</dd>
                    <dt>"Backend"</dt><dd>{adapter.backend}</dd>
                    <dt>"Type"</dt><dd>{adapter.device_type}</dd>
                    <dt>"Timestamp queries"</dt><dd>{yes_no(adapter.timestamp_queries)}</dd>
                    <dt>"shader-f16"</dt><dd>{yes_no(adapter.shader_f16)}</dd>
                </dl>
            </section>
        }
        .into_any(),
    }
}

#[component]
fn ChecksTable(phase: ReadSignal<Phase>, checks: ReadSignal<Vec<KernelCheck>>) -> impl IntoView {
    let status = move || match phase.get() {
        Phase::Checking(_) => format!(
            "Running the DCNv3 kernel… {} of 4 shapes checked",
            checks.get().len()
        ),
        Phase::Ready(_) if checks.get().iter().all(|c| c.passed) => {
            "All four InternImage-T shapes match the CPU reference.".to_owned()
        }
        Phase::Ready(_) => "Some shapes do NOT match the CPU reference.".to_owned(),
        _ => String::new(),
    };
    let started = move || matches!(phase.get(), Phase::Checking(_) | Phase::Ready(_));
    view! {
        <section class="panel" data-testid="dcnv3-checks" hidden=move || !started()>
            <h2>"DCNv3 kernel self-check"</h2>
            <p class="hint">
                "Seeded random inputs with offsets up to ±3 pixels; GPU output against the f64 CPU "
                "reference, relative error ‖gpu − ref‖ / ‖ref‖, tolerance "
                {format!("{:.0e}", engine::DCNV3_TOLERANCE)} "."
            </p>
            <table>
                <thead>
                    <tr><th scope="col">"Shape (H×W×C)"</th><th scope="col">"Relative error"</th>
                        <th scope="col">"Result"</th><th scope="col">"Time (GPU + CPU reference)"</th></tr>
                </thead>
                <tbody>
                    <For each=move || checks.get() key=|c| c.shape.clone() let:check>
                        <tr data-testid="dcnv3-row" data-passed=check.passed.to_string()>
                            <td>{check.shape.clone()}</td>
                            <td class="num">{format!("{:.2e}", check.relative_error)}</td>
                            <td class=if check.passed { "pass" } else { "fail" }>
                                {if check.passed { "pass" } else { "FAIL" }}
                            </td>
                            <td class="num">{format!("{:.0} ms", check.millis)}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <p data-testid="dcnv3-summary" aria-live="polite">{status}</p>
        </section>
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
