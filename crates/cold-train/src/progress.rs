//! Progress output: the JSONL log (always) and an `indicatif` bar (only on a terminal).

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// One line of `train.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Optimiser updates done.
    pub step: u64,
    /// Mean training loss over the updates since the previous line.
    pub loss: f64,
    /// Learning rate of the last update.
    pub lr: f64,
    /// Training images (micro-batch images, all devices) per second since the previous line.
    pub images_per_s: f64,
    /// Training wall time in seconds, summed over resumed runs.
    pub elapsed_s: f64,
}

/// The append-only JSONL log and its averaging window.
pub(crate) struct RunLog {
    path: PathBuf,
    file: File,
    loss_sum: f64,
    steps: u64,
    images: u64,
    since: Instant,
}

impl RunLog {
    /// Open (append to) `path`.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| TrainError::io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            loss_sum: 0.0,
            steps: 0,
            images: 0,
            since: Instant::now(),
        })
    }

    /// Add one update to the window.
    pub(crate) fn record(&mut self, loss: f32, images: u64) {
        self.loss_sum += loss as f64;
        self.steps += 1;
        self.images += images;
    }

    /// Images per second in the current window.
    pub(crate) fn images_per_s(&self) -> f64 {
        let s = self.since.elapsed().as_secs_f64();
        if s > 0.0 { self.images as f64 / s } else { 0.0 }
    }

    /// Write the window as one line and start a new window.
    pub(crate) fn flush_line(&mut self, step: u64, lr: f64, elapsed_s: f64) -> Result<()> {
        if self.steps == 0 {
            return Ok(());
        }
        let line = LogLine {
            step,
            loss: self.loss_sum / self.steps as f64,
            lr,
            images_per_s: self.images_per_s(),
            elapsed_s,
        };
        let mut text = serde_json::to_string(&line).expect("a log line serialises");
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|e| TrainError::io(&self.path, e))?;
        self.loss_sum = 0.0;
        self.steps = 0;
        self.images = 0;
        self.since = Instant::now();
        Ok(())
    }
}

/// Read every line of a `train.jsonl`.
///
/// # Errors
/// An I/O error, or a parse error naming the file and the line.
pub fn read_log(path: impl AsRef<Path>) -> Result<Vec<LogLine>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| TrainError::Parse {
                path: path.to_path_buf(),
                reason: format!("line {}: {e}", i + 1),
            })
        })
        .collect()
}

/// The progress bar: drawn on stderr when it is a terminal, hidden otherwise.
pub(crate) fn progress_bar(steps: u64, position: u64, enabled: bool) -> ProgressBar {
    if !(enabled && std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::default_bar()
        .template(
            "{bar:30.cyan/blue} {pos}/{len} steps · {msg} · {elapsed_precise} elapsed, ETA {eta}",
        )
        .expect("the progress template is valid")
        .progress_chars("=> ");
    ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr())
        .with_style(style)
        .with_position(position)
}
