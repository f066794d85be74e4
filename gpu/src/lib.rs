//! The InternImage engine on wgpu: WebGPU in the browser, Vulkan natively. No UI code lives here;
//! the app talks to it through [`GpuContext`] and the ops' small typed APIs.

pub mod buffers;
pub mod check;
pub mod context;
pub mod dispatch;
pub mod error;
pub mod model;
pub mod ops;
pub mod seeded;

pub use context::{AdapterSummary, GpuContext, KernelTarget};
pub use error::{Error, Result};

/// `mutex` locked. Nothing panics while the engine's locks are held, and a poisoned one still
/// holds a valid value.
pub(crate) fn locked<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
