//! Errors of the degradation operators and of their configurations.

use thiserror::Error;

/// An error raised while degrading a batch: a level, a draw or an input shape that does not fit
/// the operator.
///
/// Every message names the offending value and what was expected, so that a CLI can print it
/// as is.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DegradeError {
    /// A level larger than the operator's number of steps `T`.
    #[error(
        "level {level} (batch item {item}) is out of range for `{operator}`: it has T = {steps} steps, so levels are 0..={steps}"
    )]
    LevelOutOfRange {
        /// Operator name.
        operator: String,
        /// Index of the batch item.
        item: usize,
        /// The level that was asked for.
        level: usize,
        /// The operator's number of steps `T`.
        steps: usize,
    },
    /// The number of levels differs from the batch size.
    #[error(
        "{levels} levels were given for a batch of {batch} images: give exactly one level per batch item"
    )]
    LevelCount {
        /// Number of levels given.
        levels: usize,
        /// Batch size of the input.
        batch: usize,
    },
    /// The draw was made for another batch size.
    #[error(
        "the random draw holds {draw} images but the input batch has {batch}: draw once per batch with the same batch size (or `Draw::select` the items you keep)"
    )]
    DrawBatch {
        /// Batch size of the draw.
        draw: usize,
        /// Batch size of the input.
        batch: usize,
    },
    /// The draw does not fit the operator (wrong kind, or wrong image shape).
    #[error("`{operator}` cannot use this draw: {reason}")]
    DrawMismatch {
        /// Operator name.
        operator: String,
        /// What was wrong.
        reason: String,
    },
    /// The input tensor does not have the shape the operator was configured for.
    #[error("`{operator}` expected {expected}, got an input of shape {found:?} (NCHW)")]
    Shape {
        /// Operator name.
        operator: String,
        /// What was expected, in words.
        expected: String,
        /// The shape of the input.
        found: [usize; 4],
    },
    /// An index passed to `Draw::select` is out of range.
    #[error("cannot select item {index} of a draw that holds {batch} images")]
    SelectOutOfRange {
        /// The index asked for.
        index: usize,
        /// Batch size of the draw.
        batch: usize,
    },
    /// The operator cannot draw its randomness from an RNG alone (animorphosis blends with
    /// images from a data set).
    #[error(
        "`{operator}` blends every image with a partner image from a data set, which an RNG cannot draw: build the draw with `Draw::partner(z)` from a batch of partner images"
    )]
    NeedsPartnerImages {
        /// Operator name.
        operator: String,
    },
}

/// An invalid degradation configuration, or a preset name that does not exist.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field holds a value the operator cannot use.
    #[error("invalid `{field}` = {value} for operator `{operator}`: {reason}")]
    Invalid {
        /// Operator name (the config's `operator` tag).
        operator: &'static str,
        /// Field name, as in the configuration file (the original's command-line flag).
        field: &'static str,
        /// The offending value, printed.
        value: String,
        /// Why it is invalid and what is accepted.
        reason: String,
    },
    /// No preset has this name.
    #[error("unknown degradation preset `{name}`; known presets: {known}")]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
    /// A configuration file could not be parsed (unknown operator or field, wrong type, ...).
    #[error("cannot parse the degradation config ({format}): {message}")]
    Parse {
        /// "JSON" or "TOML".
        format: &'static str,
        /// The parser's message (it names the field or value).
        message: String,
    },
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub fn invalid(
        operator: &'static str,
        field: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        ConfigError::Invalid {
            operator,
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
