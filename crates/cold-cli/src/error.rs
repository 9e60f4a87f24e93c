//! The command line's error: one message, printed as one line `error: ...`.

use std::fmt;
use std::path::Path;

/// A user-facing error. Every message names the file, field or value at fault (the library
/// errors already do; the command line adds the flag or file where it knows it).
#[derive(Debug)]
pub struct CliError(String);

impl CliError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// `context: self`.
    pub fn context(self, context: impl fmt::Display) -> Self {
        Self(format!("{context}: {}", self.0))
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, err: std::io::Error) -> Self {
        let what = match err.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => err.to_string(),
        };
        Self(format!("{}: {what}", path.display()))
    }

    /// The message on one line: line breaks of multi-line library messages (e.g. the list of
    /// mismatched weights) become `; `, runs of spaces collapse.
    pub fn one_line(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for (i, line) in self
            .0
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            if i > 0 {
                out.push_str(if out.ends_with(':') { " " } else { "; " });
            }
            out.push_str(line);
        }
        let mut collapsed = String::with_capacity(out.len());
        let mut space = false;
        for c in out.chars() {
            if c.is_whitespace() {
                if !space {
                    collapsed.push(' ');
                }
                space = true;
            } else {
                collapsed.push(c);
                space = false;
            }
        }
        collapsed
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

macro_rules! from_display {
    ($($t:ty),* $(,)?) => {
        $(impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                Self(e.to_string())
            }
        })*
    };
}

from_display!(
    cold_diffusion::device::DeviceError,
    cold_diffusion::degrade::ConfigError,
    cold_diffusion::degrade::DegradeError,
    cold_diffusion::unet::UnetError,
    cold_diffusion::unet::ConfigError,
    cold_diffusion::unet::InputError,
    cold_diffusion::sample::SampleError,
    cold_diffusion::train::TrainError,
    cold_diffusion::data::Error,
    cold_diffusion::metrics::MetricsError,
);

/// The command line's result type.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_messages_become_one_line() {
        let e = CliError::new(
            "a.pt: the weights do not match\n  missing:   x [1]\n  unexpected:  y [2]\n",
        );
        assert_eq!(
            e.one_line(),
            "a.pt: the weights do not match; missing: x [1]; unexpected: y [2]"
        );
        assert_eq!(
            CliError::new("x").context("file.png").one_line(),
            "file.png: x"
        );
        assert_eq!(
            CliError::new("not provided:\n  --out <DIR>").one_line(),
            "not provided: --out <DIR>"
        );
    }
}
