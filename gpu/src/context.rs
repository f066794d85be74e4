//! Finding an adapter and opening a device: the one place the engine touches the platform.

use crate::error::{Error, Result};

/// A device and its queue, shared by every op. Ops never acquire a device themselves, so tests,
/// benchmarks and the app all pass in the same one.
#[derive(Clone, Debug)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
}

/// What a person (or a bench report) needs to know about the adapter in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: wgpu::Backend,
    pub device_type: wgpu::DeviceType,
    pub driver: String,
    pub timestamp_queries: bool,
    pub shader_f16: bool,
    /// Whether `Rgba32Float` textures can be sampled with linear filtering.
    pub float32_filterable: bool,
    /// The subgroup width when the adapter has subgroup operations and a single width.
    pub subgroup_size: Option<u32>,
    /// Which kernels the ops choose. It follows the device type; a test may set
    /// `KernelTarget::Gpu` on a CPU adapter to run a GPU's choices through it.
    pub kernels: KernelTarget,
}

/// The kind of adapter the ops choose their kernels and layouts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelTarget {
    /// Few threads, each cheap to give much work, and workgroup barriers dear (llvmpipe,
    /// SwiftShader).
    Cpu,
    /// Many threads, each best given little work.
    Gpu,
}

impl AdapterSummary {
    fn new(info: &wgpu::AdapterInfo, features: wgpu::Features) -> Self {
        let name = if info.name.is_empty() {
            // Browsers may withhold the adapter's name for privacy.
            "not disclosed by the browser".to_owned()
        } else {
            info.name.clone()
        };
        Self {
            name,
            backend: info.backend,
            device_type: info.device_type,
            driver: [info.driver.as_str(), info.driver_info.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
            timestamp_queries: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            float32_filterable: features.contains(wgpu::Features::FLOAT32_FILTERABLE),
            subgroup_size: ((features.contains(wgpu::Features::SUBGROUP)
                || browser_subgroups::granted())
                && info.subgroup_min_size == info.subgroup_max_size)
                .then_some(info.subgroup_min_size),
            kernels: if info.device_type == wgpu::DeviceType::Cpu {
                KernelTarget::Cpu
            } else {
                KernelTarget::Gpu
            },
        }
    }

    /// Whether the ops choose the kernels made for CPU adapters (see `KernelTarget`).
    pub fn runs_on_cpu(&self) -> bool {
        self.kernels == KernelTarget::Cpu
    }

    /// The subgroups in words: their width ("8 lanes"), or "no".
    pub fn subgroups(&self) -> String {
        self.subgroup_size
            .map_or("no".to_owned(), |lanes| format!("{lanes} lanes"))
    }

    /// A browser's fallback adapter, WebGPU on the CPU (SwiftShader in Chromium).
    pub fn is_browser_fallback(&self) -> bool {
        self.backend == wgpu::Backend::BrowserWebGpu && self.runs_on_cpu()
    }
}

/// Features the engine uses when present and does without otherwise.
const OPTIONAL_FEATURES: wgpu::Features = wgpu::Features::TIMESTAMP_QUERY
    .union(wgpu::Features::FLOAT32_FILTERABLE)
    .union(wgpu::Features::SHADER_F16)
    .union(wgpu::Features::SUBGROUP);

impl GpuContext {
    /// Opens the best adapter: WebGPU in the browser, Vulkan natively (llvmpipe on a CPU-only
    /// machine). Fails, never falls back silently, when there is none.
    pub async fn new() -> Result<Self> {
        #[cfg(target_arch = "wasm32")]
        if !wgpu::util::is_browser_webgpu_supported().await {
            return Err(Error::WebGpuUnavailable);
        }
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = if cfg!(target_arch = "wasm32") {
            wgpu::Backends::BROWSER_WEBGPU
        } else {
            wgpu::Backends::VULKAN
        };
        let instance = wgpu::Instance::new(descriptor);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::NoAdapter(e.to_string()))?;
        browser_subgroups::ask_when_offered();
        let features = adapter.features() & OPTIONAL_FEATURES;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("internimage"),
                required_features: features,
                // The biggest buffers (a 56x56x256 MLP activation, a 512x2048 weight) are a few MB:
                // the adapter's own limits are always enough and never more than it can give.
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await?;
        // Natively an error outside every `checked` scope is written out, not a panic of the
        // whole program; a browser writes it to its console by itself.
        #[cfg(not(target_arch = "wasm32"))]
        device.on_uncaptured_error(std::sync::Arc::new(|error| {
            eprintln!("GPU error: {error}");
        }));
        let summary = AdapterSummary::new(&adapter.get_info(), features);
        Ok(Self {
            device,
            queue,
            adapter: summary,
        })
    }

    /// Runs `work` with the device's out-of-memory and validation errors caught: either becomes
    /// this function's error (its message the GPU's own), whatever `work` returned, instead of
    /// wgpu's default (a panic natively, a console line in a browser). Scopes nest as a stack:
    /// work checked this way must not interleave with other checked work on the same device.
    pub async fn checked<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = work.await;
        // The queue's own errors land in the scope only once it has done the work.
        self.queue_done().await;
        let invalid = validation.pop().await;
        let out_of_memory = memory.pop().await;
        match (out_of_memory, invalid) {
            (Some(error), _) => Err(Error::GpuOutOfMemory(error.to_string())),
            (None, Some(error)) => Err(Error::GpuValidation(error.to_string())),
            (None, None) => result,
        }
    }

    /// Blocks natively until the queue is idle; in the browser the event loop does this.
    pub fn wait_idle(&self) {
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
    }

    /// Resolves once the GPU has done all the work queued so far, uploads included. A page
    /// awaits it between big uploads: its uploads pass through a buffer shared with the
    /// browser's GPU process, and a page that queues faster than that process takes them blocks
    /// until it does (docs/performance.md#the-build-and-the-pages-thread).
    pub async fn queue_done(&self) {
        let (sender, receiver) = futures_channel::oneshot::channel();
        self.queue.submit([]);
        self.queue.on_submitted_work_done(move || {
            let _ = sender.send(());
        });
        self.wait_idle();
        // A lost device drops the callback: then there is nothing left to wait for.
        let _ = receiver.await;
    }
}

/// Subgroups in the browser, which wgpu 30's WebGPU backend leaves out of the features it
/// maps (gfx-rs/wgpu issue 10146; the fix is open as PR 10220): `GPUAdapter.requestDevice` is
/// wrapped so that the device gets `subgroups` wherever the adapter offers it. WGSL reaches the
/// browser unchanged, so only the device's feature is missing. Chromium's SwiftShader has
/// 4-wide subgroups. To remove once wgpu maps the feature.
#[cfg(target_arch = "wasm32")]
mod browser_subgroups {
    use wasm_bindgen::prelude::wasm_bindgen;

    #[wasm_bindgen(inline_js = r#"
let grantedToLastDevice = false;
export function ask_when_offered() {
    const adapter = globalThis.GPUAdapter && globalThis.GPUAdapter.prototype;
    if (!adapter || adapter.requestDevice.asksForSubgroups) {
        return;
    }
    const requestDevice = adapter.requestDevice;
    const wrapped = async function (descriptor) {
        const asked = Object.assign({}, descriptor);
        if (this.features.has("subgroups")) {
            const features = new Set(asked.requiredFeatures || []);
            features.add("subgroups");
            asked.requiredFeatures = [...features];
        }
        const device = await requestDevice.call(this, asked);
        grantedToLastDevice = device.features.has("subgroups");
        return device;
    };
    wrapped.asksForSubgroups = true;
    adapter.requestDevice = wrapped;
}
export function granted() {
    return grantedToLastDevice;
}
"#)]
    extern "C" {
        pub fn ask_when_offered();
        /// Whether the last device requested got `subgroups`.
        pub fn granted() -> bool;
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod browser_subgroups {
    pub fn ask_when_offered() {}

    pub fn granted() -> bool {
        false
    }
}
