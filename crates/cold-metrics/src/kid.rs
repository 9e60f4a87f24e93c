//! Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of the squared MMD
//! between two feature sets under the cubic polynomial kernel `k(x, y) = (xᵀy / d + 1)³`,
//! averaged over random subsets.
//!
//! This is the formula of the reference implementations (the authors' code, torch-fidelity,
//! StyleGAN-ADA's `kernel_inception_distance.py`, clean-fid's `kernel_distance`): with
//! `m = min(n₁, n₂, max_subset_size)` and, for each of `num_subsets` subsets, `m` rows of each set
//! drawn without replacement,
//!
//! `MMD²ᵤ = [Σ_{i≠j} k(xᵢ, xⱼ) + Σ_{i≠j} k(yᵢ, yⱼ)] / (m (m - 1)) - 2 Σ_{i,j} k(xᵢ, yⱼ) / m²`.
//!
//! The subsets come from a seeded ChaCha8 generator on the host, so a given seed gives the same
//! KID on every backend. Arithmetic is in `f64`.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{MetricsError, Result};

/// Subset parameters of KID (defaults: 100 subsets of at most 1000 rows, seed 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KidConfig {
    /// Number of random subsets averaged. Default 100.
    pub num_subsets: usize,
    /// Largest subset size; the size used is `min(n₁, n₂, max_subset_size)`. Default 1000.
    pub max_subset_size: usize,
    /// Seed of the subset draws. Default 0.
    pub seed: u64,
}

impl Default for KidConfig {
    fn default() -> Self {
        Self {
            num_subsets: 100,
            max_subset_size: 1000,
            seed: 0,
        }
    }
}

/// A KID estimate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Kid {
    /// Mean of the per-subset unbiased MMD² estimates (the KID).
    pub mean: f64,
    /// Standard deviation of the per-subset estimates (0 with one subset).
    pub std: f64,
    /// Rows per subset.
    pub subset_size: usize,
    /// Number of subsets.
    pub num_subsets: usize,
}

fn gather(features: &[f32], dim: usize, rows: &[usize]) -> Mat<f64> {
    Mat::from_fn(rows.len(), dim, |i, j| features[rows[i] * dim + j] as f64)
}

/// Sum of the cubic kernel over all pairs, and over the diagonal when `a` and `b` are the same.
fn kernel_sums(a: &Mat<f64>, b: &Mat<f64>, dim: usize) -> (f64, f64) {
    let mut g = Mat::<f64>::zeros(a.nrows(), b.nrows());
    matmul(
        g.as_mut(),
        Accum::Replace,
        a,
        b.transpose(),
        1.0 / dim as f64,
        Par::rayon(0),
    );
    let (mut total, mut diag) = (0.0, 0.0);
    for j in 0..g.ncols() {
        for i in 0..g.nrows() {
            let k = (g[(i, j)] + 1.0).powi(3);
            total += k;
            if i == j {
                diag += k;
            }
        }
    }
    (total, diag)
}

/// Unbiased MMD² of two equally sized samples (rows of `x` and `y`).
fn mmd2_unbiased(x: &Mat<f64>, y: &Mat<f64>, dim: usize) -> f64 {
    let m = x.nrows() as f64;
    let (kxx, kxx_diag) = kernel_sums(x, x, dim);
    let (kyy, kyy_diag) = kernel_sums(y, y, dim);
    let (kxy, _) = kernel_sums(x, y, dim);
    (kxx - kxx_diag + kyy - kyy_diag) / (m * (m - 1.0)) - 2.0 * kxy / (m * m)
}

/// KID between two feature sets, each row-major `[n, dim]`.
pub fn kernel_inception_distance(
    features1: &[f32],
    features2: &[f32],
    dim: usize,
    cfg: &KidConfig,
) -> Result<Kid> {
    if dim == 0 || !features1.len().is_multiple_of(dim) || !features2.len().is_multiple_of(dim) {
        return Err(MetricsError::invalid(
            "features",
            format!("{} and {} values", features1.len(), features2.len()),
            format!("expected multiples of the feature dimension {dim}"),
        ));
    }
    if cfg.num_subsets == 0 {
        return Err(MetricsError::invalid(
            "KidConfig.num_subsets",
            0,
            "must be at least 1",
        ));
    }
    let (n1, n2) = (features1.len() / dim, features2.len() / dim);
    let m = n1.min(n2).min(cfg.max_subset_size);
    if m < 2 {
        return Err(MetricsError::invalid(
            "subset size",
            m,
            format!(
                "KID needs at least 2 rows per set and subset (sets of {n1} and {n2} rows, max_subset_size {})",
                cfg.max_subset_size
            ),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut values = Vec::with_capacity(cfg.num_subsets);
    for _ in 0..cfg.num_subsets {
        let i1 = rand::seq::index::sample(&mut rng, n1, m).into_vec();
        let i2 = rand::seq::index::sample(&mut rng, n2, m).into_vec();
        let x = gather(features1, dim, &i1);
        let y = gather(features2, dim, &i2);
        values.push(mmd2_unbiased(&x, &y, dim));
    }
    let k = values.len() as f64;
    let mean = values.iter().sum::<f64>() / k;
    let std = if values.len() > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / k).sqrt()
    } else {
        0.0
    };
    Ok(Kid {
        mean,
        std,
        subset_size: m,
        num_subsets: cfg.num_subsets,
    })
}
