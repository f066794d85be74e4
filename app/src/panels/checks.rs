//! The DCNv3 kernel checked against its CPU reference at InternImage-T's four shapes, when
//! asked.

use leptos::prelude::*;

use crate::engine::DCNV3_TOLERANCE;
use crate::state::{Page, Phase};

#[component]
pub fn ChecksTable() -> impl IntoView {
    let page = expect_context::<Page>();
    let Page {
        checks, checking, ..
    } = page;
    let status = move || {
        let rows = checks.get();
        if checking.get() {
            format!(
                "Running the DCNv3 kernel… {} of 4 shapes checked",
                rows.len()
            )
        } else if rows.len() == 4 && rows.iter().all(|c| c.passed) {
            "All four InternImage-T shapes match the CPU reference.".to_owned()
        } else if rows.iter().any(|c| !c.passed) {
            "Some shapes do NOT match the CPU reference.".to_owned()
        } else {
            String::new()
        }
    };
    let ready = move || matches!(page.phase.get(), Phase::Ready(_));
    view! {
        <div data-testid="dcnv3-checks">
            <h3>"DCNv3 kernel self-check"</h3>
            <p class="hint">
                "Seeded random inputs with offsets up to ±3 pixels; GPU output against the f64 CPU "
                "reference, relative error ‖gpu − ref‖ / ‖ref‖, tolerance "
                {format!("{DCNV3_TOLERANCE:.0e}")} ". It takes a while on a CPU adapter."
            </p>
            <button type="button" class="secondary" data-testid="run-checks"
                disabled=move || checking.get() || !ready()
                on:click=move |_| page.run_checks()>"Run the self-check"</button>
            <table hidden=move || checks.with(Vec::is_empty)>
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
        </div>
    }
}
