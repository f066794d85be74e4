//! The app's only door to the GPU engine: plain data in, plain data out, no wgpu types.

use gpu::GpuContext;
use gpu::ops::dcnv3;

/// The adapter as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterView {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub timestamp_queries: bool,
    pub shader_f16: bool,
}

/// One row of the DCNv3 self-check table.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelCheck {
    pub shape: String,
    pub relative_error: f64,
    pub passed: bool,
    pub millis: f64,
}

/// The bound the kernel is held to against its f64 CPU reference, as in the engine's tests.
pub const DCNV3_TOLERANCE: f64 = 1e-5;

/// Why the engine could not start, in words a person can act on.
pub fn describe(error: &gpu::Error) -> String {
    match error {
        gpu::Error::WebGpuUnavailable => {
            "This browser does not offer WebGPU. Use a recent Chrome, \
            Edge or Safari, or Firefox 141+ on Windows; on Linux, Chrome needs \
            --enable-unsafe-webgpu (chrome://flags/#enable-unsafe-webgpu)."
                .to_owned()
        }
        gpu::Error::NoAdapter(detail) => format!(
            "WebGPU is present but offered no adapter ({detail}). Check that hardware \
             acceleration is on, or try another browser."
        ),
        other => format!("The GPU engine failed: {other}. Reloading the page may help."),
    }
}

pub struct Engine {
    ctx: GpuContext,
}

impl Engine {
    pub async fn open() -> Result<Self, String> {
        GpuContext::new()
            .await
            .map(|ctx| Self { ctx })
            .map_err(|e| describe(&e))
    }

    pub fn adapter(&self) -> AdapterView {
        let a = &self.ctx.adapter;
        AdapterView {
            name: a.name.clone(),
            backend: a.backend.clone(),
            device_type: a.device_type.clone(),
            timestamp_queries: a.timestamp_queries,
            shader_f16: a.shader_f16,
        }
    }

    /// Checks the DCNv3 kernel at the `level`-th InternImage-T shape against the CPU reference.
    pub async fn check_dcnv3_level(&self, level: usize) -> Result<KernelCheck, String> {
        let shape = dcnv3::internimage_t_shapes()[level];
        let started = now_ms();
        let comparison = dcnv3::check_against_reference(&self.ctx, &shape, level as u64 + 1)
            .await
            .map_err(|e| describe(&e))?;
        Ok(KernelCheck {
            shape: format!(
                "{}×{}×{}, G={}",
                shape.height,
                shape.width,
                shape.channels(),
                shape.groups
            ),
            relative_error: comparison.relative_error,
            passed: comparison.within(DCNV3_TOLERANCE),
            millis: now_ms() - started,
        })
    }
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
