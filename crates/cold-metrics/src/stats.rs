//! Activation statistics (mean and covariance of feature vectors), accumulated in `f64` on the
//! host, and their safetensors cache.
//!
//! pytorch-fid stores the activations in a float64 array and calls `np.mean(act, axis=0)` and
//! `np.cov(act, rowvar=False)` (unbiased, divisor `N - 1`); [`StatsAccumulator`] gives the same
//! numbers without keeping the activations: it sums `x - c` and `(x - c)(x - c)ᵀ` in `f64`, with
//! `c` the mean of the first batch as a shift that keeps the cancellation in
//! `Σ xxᵀ - N m mᵀ` harmless.

use std::collections::HashMap;
use std::path::Path;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::{MetricsError, Result};

/// Value of the `format` metadata entry of a statistics file.
pub const STATS_FORMAT: &str = "cold-metrics/activation-stats";

/// Mean, covariance and sample count of a set of feature vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationStats {
    /// Number of feature vectors.
    pub count: usize,
    /// Mean vector, `dim` values.
    pub mean: Vec<f64>,
    /// Unbiased covariance (divisor `count - 1`), `dim × dim`, row-major.
    pub cov: Vec<f64>,
}

impl ActivationStats {
    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Statistics of `features`, row-major `[count, dim]`.
    pub fn from_features(features: &[f32], dim: usize) -> Result<Self> {
        let mut acc = StatsAccumulator::new(dim);
        acc.add(features)?;
        acc.finish()
    }

    fn check(&self) -> Result<()> {
        let d = self.mean.len();
        if d == 0 || self.cov.len() != d * d {
            return Err(MetricsError::invalid(
                "ActivationStats",
                format!("mean {} values, cov {} values", d, self.cov.len()),
                "cov must hold dim × dim values for a non-empty mean",
            ));
        }
        Ok(())
    }

    /// Writes the statistics to a safetensors file: `mu` (F64 `[dim]`), `sigma`
    /// (F64 `[dim, dim]`), metadata `format` = [`STATS_FORMAT`], `count`, and the caller's
    /// `extra` entries (e.g. which network and data set).
    pub fn save(&self, path: impl AsRef<Path>, extra: &[(&str, &str)]) -> Result<()> {
        let path = path.as_ref();
        self.check()?;
        let d = self.dim();
        let mu: Vec<u8> = self.mean.iter().flat_map(|v| v.to_le_bytes()).collect();
        let sigma: Vec<u8> = self.cov.iter().flat_map(|v| v.to_le_bytes()).collect();
        let bad = |e: safetensors::SafeTensorError| MetricsError::bad_file(path, e.to_string());
        let views = vec![
            (
                "mu",
                TensorView::new(Dtype::F64, vec![d], &mu).map_err(bad)?,
            ),
            (
                "sigma",
                TensorView::new(Dtype::F64, vec![d, d], &sigma).map_err(bad)?,
            ),
        ];
        let mut meta: HashMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        meta.insert("format".into(), STATS_FORMAT.into());
        meta.insert("count".into(), self.count.to_string());
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| MetricsError::io(parent, e))?;
        }
        // Write next to the target, then rename: a crash never leaves a truncated cache.
        let tmp = path.with_extension("safetensors.tmp");
        safetensors::serialize_to_file(views, Some(meta), &tmp).map_err(bad)?;
        std::fs::rename(&tmp, path).map_err(|e| MetricsError::io(path, e))
    }

    /// Reads statistics written by [`ActivationStats::save`]. Returns them with the file's
    /// metadata entries.
    pub fn load(path: impl AsRef<Path>) -> Result<(Self, HashMap<String, String>)> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| MetricsError::io(path, e))?;
        let bad = |m: String| MetricsError::bad_file(path, m);
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        match meta.get("format") {
            Some(f) if f == STATS_FORMAT => {}
            other => {
                return Err(bad(format!(
                    "metadata `format` is {other:?}, expected {STATS_FORMAT:?} (not an activation statistics file)"
                )));
            }
        }
        let count: usize = meta
            .get("count")
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| bad("metadata `count` is missing or not an integer".into()))?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let read = |name: &str, rank: usize| -> Result<(Vec<usize>, Vec<f64>)> {
            let t = st
                .tensor(name)
                .map_err(|_| bad(format!("tensor `{name}` is missing")))?;
            if t.dtype() != Dtype::F64 || t.shape().len() != rank {
                return Err(bad(format!(
                    "tensor `{name}` is {:?} {:?}, expected F64 of rank {rank}",
                    t.dtype(),
                    t.shape()
                )));
            }
            let v = t
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8-byte chunk")))
                .collect();
            Ok((t.shape().to_vec(), v))
        };
        let (ms, mean) = read("mu", 1)?;
        let (ss, cov) = read("sigma", 2)?;
        if ss != [ms[0], ms[0]] {
            return Err(bad(format!(
                "`sigma` has shape {ss:?}, expected [{0}, {0}] to match `mu`",
                ms[0]
            )));
        }
        Ok((Self { count, mean, cov }, meta))
    }
}

/// Streaming mean/covariance of feature vectors in `f64`.
#[derive(Debug, Clone)]
pub struct StatsAccumulator {
    dim: usize,
    count: usize,
    shift: Vec<f64>,
    sum: Vec<f64>,
    gram: Mat<f64>,
}

impl StatsAccumulator {
    /// An empty accumulator for `dim`-dimensional features.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            count: 0,
            shift: Vec::new(),
            sum: vec![0.0; dim],
            gram: Mat::zeros(dim, dim),
        }
    }

    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of feature vectors added so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Adds feature vectors, row-major `[rows, dim]`.
    pub fn add(&mut self, features: &[f32]) -> Result<()> {
        let d = self.dim;
        if d == 0 || !features.len().is_multiple_of(d) {
            return Err(MetricsError::invalid(
                "features",
                format!("{} values", features.len()),
                format!("expected a multiple of the feature dimension {d}"),
            ));
        }
        if let Some(i) = features.iter().position(|v| !v.is_finite()) {
            return Err(MetricsError::invalid(
                "features",
                format!("value {} at index {i}", features[i]),
                "features must be finite",
            ));
        }
        let rows = features.len() / d;
        if rows == 0 {
            return Ok(());
        }
        if self.shift.is_empty() {
            self.shift = (0..d)
                .map(|j| (0..rows).map(|i| features[i * d + j] as f64).sum::<f64>() / rows as f64)
                .collect();
        }
        let x = Mat::<f64>::from_fn(rows, d, |i, j| features[i * d + j] as f64 - self.shift[j]);
        for i in 0..rows {
            for j in 0..d {
                self.sum[j] += x[(i, j)];
            }
        }
        matmul(
            self.gram.as_mut(),
            Accum::Add,
            x.transpose(),
            x.as_ref(),
            1.0,
            Par::rayon(0),
        );
        self.count += rows;
        Ok(())
    }

    /// Mean and unbiased covariance of everything added; needs at least two vectors.
    pub fn finish(&self) -> Result<ActivationStats> {
        let (n, d) = (self.count, self.dim);
        if n < 2 {
            return Err(MetricsError::invalid(
                "count",
                n,
                "a covariance needs at least 2 feature vectors",
            ));
        }
        let nf = n as f64;
        let m: Vec<f64> = self.sum.iter().map(|s| s / nf).collect();
        let mean = m.iter().zip(&self.shift).map(|(a, c)| a + c).collect();
        let mut cov = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..=i {
                let v = (self.gram[(i, j)] - nf * m[i] * m[j]) / (nf - 1.0);
                cov[i * d + j] = v;
                cov[j * d + i] = v;
            }
        }
        Ok(ActivationStats {
            count: n,
            mean,
            cov,
        })
    }
}
