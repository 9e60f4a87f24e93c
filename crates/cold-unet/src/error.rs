//! Error types of the crate.
//!
//! Tensor code does not return `Result`: configurations are checked by `validate()` (a
//! [`ConfigError`] naming the field and its value) and inputs by `check_input` / `try_forward`
//! (an [`InputError`]) before any tensor work. File I/O (weights, JSON configurations) returns
//! [`UnetError`], which always names the file involved.

use std::fmt;
use std::path::PathBuf;

/// An invalid network configuration: which field, its value, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A field has a value the network cannot be built with.
    #[error("invalid network configuration: `{field}` = {value}: {expected}")]
    Invalid {
        /// Field name, as in the original constructors (`dim`, `ch_mult`, ...).
        field: String,
        /// The offending value, formatted.
        value: String,
        /// What the field must satisfy.
        expected: String,
    },
    /// Required fields are absent from a JSON configuration.
    #[error("network configuration for arch \"{arch}\" is missing required field(s): {}", .fields.join(", "))]
    MissingFields {
        /// The architecture tag (`unet` or `resunet`).
        arch: String,
        /// Every missing field, by its original name.
        fields: Vec<String>,
    },
    /// The JSON text could not be parsed at all, or is not an object.
    #[error("network configuration is not valid JSON: {0}")]
    Json(String),
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub fn invalid(field: &str, value: impl fmt::Debug, expected: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_string(),
            value: format!("{value:?}"),
            expected: expected.into(),
        }
    }
}

/// An input tensor that does not fit the network (checked before any tensor work).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// `x` has the wrong number of channels.
    #[error("input x has {found} channel(s), but the network was built for {expected}")]
    Channels {
        /// Channels the configuration expects.
        expected: usize,
        /// Channels of `x`.
        found: usize,
    },
    /// Height or width is not divisible by `2^(levels-1)`.
    #[error(
        "input x is {height}x{width} (HxW), but this network has {levels} resolution level(s): \
         height and width must both be positive multiples of {divisor} (= 2^{})",
        .levels - 1
    )]
    Size {
        /// Height of `x`.
        height: usize,
        /// Width of `x`.
        width: usize,
        /// Number of resolution levels of the network.
        levels: usize,
        /// The required divisor `2^(levels-1)`.
        divisor: usize,
    },
    /// `t` does not hold one time index per batch item.
    #[error("time index t has {found} element(s), but x has a batch of {expected}")]
    Batch {
        /// Batch size of `x`.
        expected: usize,
        /// Length of `t`.
        found: usize,
    },
    /// An empty batch.
    #[error("input x has an empty batch")]
    EmptyBatch,
}

/// Which entry of an original trainer checkpoint (`{step, model, ema}`) to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckpointEntry {
    /// The EMA weights: what the original code samples and tests with (the default).
    #[default]
    Ema,
    /// The live training weights.
    Model,
}

impl CheckpointEntry {
    /// The dictionary key in the original checkpoint (`"ema"` or `"model"`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Ema => "ema",
            Self::Model => "model",
        }
    }
}

impl fmt::Display for CheckpointEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One tensor of a state dict whose shape differs from what the network expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// Original (PyTorch) key.
    pub key: String,
    /// Shape the network expects (PyTorch layout).
    pub expected: Vec<usize>,
    /// Shape found in the file.
    pub found: Vec<usize>,
}

/// Errors of weight files and JSON configurations. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum UnetError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The configuration file (path given) is invalid.
    #[error("{}: {source}", .path.display())]
    ConfigFile {
        /// The JSON file.
        path: PathBuf,
        /// What is wrong with it.
        source: ConfigError,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is neither a PyTorch checkpoint nor a safetensors file, or it is corrupt.
    #[error("{}: cannot read weights: {message}", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What was expected and what was found.
        message: String,
    },
    /// The requested entry of a trainer checkpoint is absent.
    #[error(
        "{}: the checkpoint has no \"{entry}\" entry (top-level entries holding tensors: {})",
        .path.display(), .available.join(", ")
    )]
    MissingEntry {
        /// The file.
        path: PathBuf,
        /// The entry that was asked for.
        entry: CheckpointEntry,
        /// The top-level entries that hold tensors.
        available: Vec<String>,
    },
    /// The file holds weights of the other architecture.
    #[error(
        "{}: the file holds a {found} network, but the configuration is for a {expected} network \
         (check \"arch\" in the network configuration)",
        .path.display()
    )]
    ArchitectureMismatch {
        /// The file.
        path: PathBuf,
        /// The architecture of the configuration.
        expected: &'static str,
        /// The architecture the file's keys belong to.
        found: &'static str,
    },
    /// Missing, unexpected or mis-shaped tensors: every problem is listed, by original key.
    #[error("{}", format_mismatch(.path, .arch, .missing, .unexpected, .mis_shaped))]
    StateDictMismatch {
        /// The file.
        path: PathBuf,
        /// The architecture of the configuration.
        arch: &'static str,
        /// Keys the network needs that the file lacks, with the expected shape.
        missing: Vec<(String, Vec<usize>)>,
        /// Keys in the file that the network does not have, with their shape.
        unexpected: Vec<(String, Vec<usize>)>,
        /// Keys present in both with different shapes.
        mis_shaped: Vec<ShapeMismatch>,
    },
}

fn format_mismatch(
    path: &std::path::Path,
    arch: &str,
    missing: &[(String, Vec<usize>)],
    unexpected: &[(String, Vec<usize>)],
    mis_shaped: &[ShapeMismatch],
) -> String {
    let mut s = format!(
        "{}: the weights do not match the {arch} configuration ({} missing, {} unexpected, {} mis-shaped)",
        path.display(),
        missing.len(),
        unexpected.len(),
        mis_shaped.len()
    );
    for (key, shape) in missing {
        s.push_str(&format!("\n  missing:     {key} {shape:?}"));
    }
    for (key, shape) in unexpected {
        s.push_str(&format!("\n  unexpected:  {key} {shape:?}"));
    }
    for m in mis_shaped {
        s.push_str(&format!(
            "\n  mis-shaped:  {} expected {:?}, found {:?}",
            m.key, m.expected, m.found
        ));
    }
    s
}
