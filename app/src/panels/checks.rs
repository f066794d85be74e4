//! The DCNv3 kernel checked against its CPU reference at InternImage-T's four shapes.

use leptos::prelude::*;

use crate::engine::DCNV3_TOLERANCE;
use crate::state::{Page, Phase};

#[component]
pub fn ChecksTable() -> impl IntoView {
    let Page { phase, checks, .. } = expect_context::<Page>();
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
                {format!("{DCNV3_TOLERANCE:.0e}")} "."
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
