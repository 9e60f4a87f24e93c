//! The crate's error type.

use std::path::PathBuf;

/// Errors of `cold-sample`: invalid settings or inputs, mixture fitting, and image output.
///
/// The samplers themselves take validated inputs and panic with a message on programming
/// errors (as every tensor crate of the workspace); data-dependent steps return this type.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// A setting is out of range.
    #[error("invalid {field} = {value}: expected {expected}")]
    Config {
        /// The field, e.g. `GmmConfig.components`.
        field: String,
        /// The offending value.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// A Gaussian mixture cannot be built or fitted.
    #[error("Gaussian mixture: {0}")]
    Gmm(String),
    /// A tensor or data set has the wrong shape or content.
    #[error("{what}: {problem}")]
    Input {
        /// The argument, e.g. `images`.
        what: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The degradation operator rejected a call (level, draw or shape; its message names them).
    #[error(transparent)]
    Degrade(#[from] cold_degrade::DegradeError),
    /// Writing an image or animation failed.
    #[error("cannot write {path}: {source}")]
    Image {
        /// The file.
        path: PathBuf,
        /// The encoder's or file system's error.
        source: image::ImageError,
    },
    /// Creating or writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
