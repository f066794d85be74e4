//! Everything that can go wrong on the page, each with the words a person reads: the
//! `Display` of [`AppError`] is the message the page shows.

use std::sync::Arc;

use catalog::CATALOG_PATH;

#[derive(Clone, Debug, thiserror::Error)]
pub enum AppError {
    #[error("{}", describe_engine(.0))]
    Engine(Arc<gpu::Error>),
    #[error("The GPU engine is not running.")]
    NoEngine,
    #[error("No model is loaded yet.")]
    NoModel,
    #[error(
        "The GPU device was lost ({0}). This happens when the GPU driver restarts or the tab \
         runs out of GPU memory. Reload the page to start again."
    )]
    DeviceLost(String),
    #[error("The file could not be read: {0}.")]
    FileRead(String),
    #[error(
        "The image could not be fetched: {0}. A link to an image on another site works only \
         where that site allows it (CORS)."
    )]
    ImageFetch(String),
    #[error("The image is not there (HTTP status {0}).")]
    ImageMissing(u16),
    /// What the image worker answered: it sends the text of its own error.
    #[error("{0}")]
    Prepared(String),
    #[error(
        "The list of models on this server ({CATALOG_PATH}) cannot be read: {0}. Drop a \
         .safetensors file below."
    )]
    Catalog(String),
    #[error("{name} cannot be used: {reason}. Drop a .safetensors file below.")]
    Download { name: String, reason: DownloadError },
    #[error("{name} could not be installed: {reason}.")]
    Install {
        name: String,
        reason: crate::install::InstallError,
    },
    #[error("The installation was cancelled.")]
    Cancelled,
    #[error(
        "{0} is no longer kept in this browser (the browser may have cleared its storage). Get \
         it again above."
    )]
    StoredGone(String),
    /// An error about a named file or sample.
    #[error("{name}: {error}")]
    Named { name: String, error: Box<AppError> },
}

impl AppError {
    /// This error, said of the file or sample `name`.
    pub fn of(self, name: &str) -> Self {
        Self::Named {
            name: name.to_owned(),
            error: Box::new(self),
        }
    }
}

impl From<gpu::Error> for AppError {
    fn from(error: gpu::Error) -> Self {
        Self::Engine(Arc::new(error))
    }
}

/// Two errors are the same when they say the same: the page compares states to skip redraws.
impl PartialEq for AppError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// Why a download or the file it brought is refused. It travels from the converter's worker to
/// the page too.
#[derive(Clone, Debug, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum DownloadError {
    #[error("the request failed: {0}")]
    Request(String),
    #[error("{status} {text}")]
    Status { status: u16, text: String },
    #[error("the download broke off: {0}")]
    BrokeOff(String),
    #[error(
        "the file has {actual} bytes, the catalog says {expected}: it is truncated or not the \
         file described"
    )]
    Size { actual: u64, expected: u64 },
    #[error("its SHA-256 is {actual}, the catalog says {expected}")]
    Digest { actual: String, expected: String },
    #[error("the browser cannot compute a SHA-256 here: {0}")]
    NoDigest(String),
    #[error(
        "the file is {} MB, more than the {} MB this page reads",
        size >> 20,
        convert::MAX_CHECKPOINT_BYTES >> 20
    )]
    TooLarge { size: u64 },
}

/// A browser's GPU messages run over several lines (the call that failed, its labels): the
/// first says what happened.
fn first_line(detail: &str) -> &str {
    detail
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .trim_end_matches('.')
}

/// The engine's errors in words a person can act on.
fn describe_engine(error: &gpu::Error) -> String {
    match error {
        gpu::Error::WebGpuUnavailable => "This browser does not offer WebGPU. Use a recent \
            Chrome, Edge or Safari, or Firefox 141+ on Windows; on Linux, Chrome needs \
            --enable-unsafe-webgpu (chrome://flags/#enable-unsafe-webgpu)."
            .to_owned(),
        gpu::Error::NoAdapter(detail) => format!(
            "WebGPU is present but offered no adapter ({detail}). Check that hardware \
             acceleration is on, or try another browser."
        ),
        gpu::Error::Weights(detail) => format!("These weights cannot be used: {detail}."),
        gpu::Error::Image(detail) => {
            format!("This file is not an image the page can read (JPEG, PNG or WebP): {detail}.")
        }
        gpu::Error::Unsupported(detail) => format!("This model is not supported: {detail}."),
        gpu::Error::NotFinite { .. } => format!(
            "Unusable numbers: {error}. The weights may be damaged; load them again or choose \
             others."
        ),
        gpu::Error::GpuOutOfMemory(detail) => format!(
            "The GPU ran out of memory ({}). Whatever was loaded before stays; close other tabs \
             that use the GPU, or choose a smaller model.",
            first_line(detail)
        ),
        gpu::Error::GpuValidation(detail) => format!(
            "The GPU refused the work ({}). Whatever was loaded before stays; this is a bug of \
             the page: please report it with this message.",
            first_line(detail)
        ),
        other => format!("The GPU engine failed: {other}. Reloading the page may help."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_say_what_to_do() {
        let error = AppError::from(gpu::Error::Image("truncated".into())).of("holiday.jpg");
        assert_eq!(
            error.to_string(),
            "holiday.jpg: This file is not an image the page can read (JPEG, PNG or WebP): \
             truncated."
        );
        let refused = AppError::Download {
            name: "demo.safetensors".into(),
            reason: DownloadError::Digest {
                actual: "ab".into(),
                expected: "00ff".into(),
            },
        };
        assert_eq!(
            refused.to_string(),
            "demo.safetensors cannot be used: its SHA-256 is ab, the catalog says 00ff. Drop a \
             .safetensors file below."
        );
    }
}
