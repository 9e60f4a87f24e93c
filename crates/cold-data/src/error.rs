//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading a dataset or configuring a loader.
///
/// Every variant that comes from a file names that file; configuration errors name the field and
/// the offending value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused to open or read a file or directory.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid IDX file (bad magic, unsupported type, truncated, wrong size...).
    #[error("{}: invalid IDX file: {reason}", path.display())]
    Idx {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file is not a valid CIFAR-10 binary batch.
    #[error("{}: invalid CIFAR-10 binary batch: {reason}", path.display())]
    Cifar {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An image file could not be decoded.
    #[error("{}: cannot decode image: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The image file and the label file of a dataset disagree on the number of items.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Number of images it holds.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Number of labels it holds.
        labels: usize,
    },
    /// A directory contains no usable images.
    #[error("{}: no images found ({detail})", path.display())]
    NoImages {
        /// The directory (or file) that was searched.
        path: PathBuf,
        /// What was looked for and what was skipped.
        detail: String,
    },
    /// A required file or directory does not exist.
    #[error("{what} not found; looked in: {}", list_paths(tried))]
    NotFound {
        /// What was looked for.
        what: String,
        /// Every place that was tried, in order.
        tried: Vec<PathBuf>,
    },
    /// An invalid configuration value (batch size 0, crop larger than an image, ...).
    #[error("invalid {field} = {value}: {reason}")]
    Config {
        /// The configuration field.
        field: &'static str,
        /// Its value, as text.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A loader state that does not belong to this loader (different seed, past the end...).
    #[error("cannot resume from loader state {state}: {reason}")]
    State {
        /// The state, as text.
        state: String,
        /// Why it does not fit.
        reason: String,
    },
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Shorthand for `Result<T, cold_data::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn idx(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Idx {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn cifar(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Cifar {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn config(
        field: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Error::Config {
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
