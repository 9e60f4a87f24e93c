//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while configuring, running, checkpointing or resuming a training
/// run.
///
/// Configuration errors name the field (dotted path, e.g. `data.image_size`) and the offending
/// value; file errors name the file; a diverged run names the step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A configuration value is invalid.
    #[error("invalid training configuration: {field} = {value}: {reason}")]
    Config {
        /// The field, as a dotted path (`optimizer.lr`, `data.image_size`, ...).
        field: String,
        /// The offending value.
        value: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A configuration file could not be parsed.
    #[error("{}: cannot parse the training configuration: {reason}", .path.display())]
    Parse {
        /// The file (or `<string>` for text).
        path: PathBuf,
        /// The parser's message (it names the unknown or mistyped field).
        reason: String,
    },
    /// The named preset does not exist.
    #[error("unknown training preset `{name}`; the presets are: {known}")]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// Every known name, comma-separated.
        known: String,
    },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint file is not a valid checkpoint of this crate.
    #[error("{}: invalid checkpoint: {reason}", .path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The loss became NaN or infinite: training stops, the model is not updated with the bad
    /// gradients, and the last checkpoint on disk is left as it was.
    #[error(
        "training diverged at step {step}: the loss is {loss} (not finite); the model was not \
         updated; {}",
        match .last_checkpoint {
            Some(p) => format!("the last good checkpoint is {}", p.display()),
            None => "no checkpoint was written yet".to_string(),
        }
    )]
    NonFiniteLoss {
        /// The optimiser step (1-based: the update that would have been step `step`).
        step: u64,
        /// The loss value.
        loss: f32,
        /// The last checkpoint written by this run, if any.
        last_checkpoint: Option<PathBuf>,
    },
    /// Reading the dataset failed.
    #[error(transparent)]
    Data(#[from] cold_data::Error),
    /// The degradation operator rejected its configuration.
    #[error(transparent)]
    DegradeConfig(#[from] cold_degrade::ConfigError),
    /// The degradation operator rejected a batch.
    #[error(transparent)]
    Degrade(#[from] cold_degrade::DegradeError),
    /// The network configuration or weights were rejected.
    #[error(transparent)]
    Net(#[from] cold_unet::UnetError),
    /// Sampling or writing a sample grid failed.
    #[error(transparent)]
    Sample(#[from] cold_sample::SampleError),
}

impl TrainError {
    /// A configuration error for `field` with `value`.
    pub fn config(
        field: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Self::Config {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A checkpoint-format error on `path`.
    pub fn checkpoint(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Checkpoint {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
