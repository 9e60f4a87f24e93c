//! The error type of `cold-metrics`.

use std::path::PathBuf;

/// Everything that can go wrong while computing metrics or loading their inputs.
///
/// File errors carry the path and what was expected, so that a message is enough to fix the
/// problem without a debugger.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Two image batches that must have the same shape do not.
    #[error("{what}: shapes differ: {left:?} vs {right:?}")]
    ShapeMismatch {
        /// Which computation complained.
        what: &'static str,
        /// Shape of the first argument.
        left: Vec<usize>,
        /// Shape of the second argument.
        right: Vec<usize>,
    },
    /// An argument has a value the computation cannot use.
    #[error("invalid {field} = {value}: {reason}")]
    InvalidArgument {
        /// The argument or configuration field.
        field: &'static str,
        /// Its value, formatted.
        value: String,
        /// What was expected instead.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file was read but does not hold what was expected.
    #[error("{}: {message}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, naming the key / field / value.
        message: String,
    },
    /// A linear-algebra step failed (e.g. an eigen-decomposition did not converge).
    #[error("linear algebra: {0}")]
    LinearAlgebra(String),
    /// Reading a tensor back from the device failed.
    #[error("reading a tensor from the device: {0}")]
    TensorRead(String),
    /// A caller-supplied closure (sampler, data source) reported an error.
    #[error("{0}")]
    Source(String),
}

impl MetricsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::BadFile {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(
        field: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidArgument {
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = MetricsError> = std::result::Result<T, E>;
