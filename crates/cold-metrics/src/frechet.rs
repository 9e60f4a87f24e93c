//! Fréchet distance between two Gaussians, in `f64`.
//!
//! `d² = |μ₁ - μ₂|² + tr Σ₁ + tr Σ₂ - 2 tr (Σ₁ Σ₂)^{1/2}`.
//!
//! pytorch-fid takes `scipy.linalg.sqrtm(Σ₁ Σ₂)` (a Schur-based square root of a non-symmetric
//! matrix, which goes complex or inaccurate when the covariances are rank-deficient, e.g. with
//! fewer samples than 2048 features). Here the trace is computed from symmetric problems only:
//! with `R = Σ₁^{1/2}` (symmetric eigen-decomposition, negative round-off eigenvalues set to 0),
//! `Σ₁ Σ₂` has the same eigenvalues as the symmetric PSD matrix `R Σ₂ R`, so
//! `tr (Σ₁ Σ₂)^{1/2} = Σᵢ sqrt(λᵢ(R Σ₂ R))` (computed in the range of `Σ₁`, see
//! [`trace_sqrt_product`]). This is exact in exact arithmetic, for singular
//! covariances too, and never complex. Eigenvalues below the numerical-rank tolerance
//! `max |λ| · d · ε` count as 0 (see [`trace_sqrt_product`]), so that the distance of a
//! rank-deficient set to itself is 0 to rounding instead of `-d · sqrt(ε)`-sized noise.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par, Side};

use crate::error::{MetricsError, Result};
use crate::stats::ActivationStats;

/// Fréchet distance between the Gaussians described by two [`ActivationStats`] (the FID when
/// they are Inception pool3 statistics).
pub fn frechet_distance(a: &ActivationStats, b: &ActivationStats) -> Result<f64> {
    frechet_distance_parts(&a.mean, &a.cov, &b.mean, &b.cov)
}

/// Fréchet distance from means (`dim` values) and covariances (`dim × dim`, row-major).
pub fn frechet_distance_parts(
    mu1: &[f64],
    sigma1: &[f64],
    mu2: &[f64],
    sigma2: &[f64],
) -> Result<f64> {
    let d = mu1.len();
    if d == 0 || mu2.len() != d || sigma1.len() != d * d || sigma2.len() != d * d {
        return Err(MetricsError::invalid(
            "frechet_distance",
            format!(
                "mu1 {}, sigma1 {}, mu2 {}, sigma2 {} values",
                mu1.len(),
                sigma1.len(),
                mu2.len(),
                sigma2.len()
            ),
            "means must have the same non-zero length d and covariances d × d values",
        ));
    }
    if let Some(v) = mu1
        .iter()
        .chain(mu2)
        .chain(sigma1)
        .chain(sigma2)
        .find(|v| !v.is_finite())
    {
        return Err(MetricsError::invalid(
            "frechet_distance",
            v,
            "statistics must be finite",
        ));
    }
    let diff: f64 = mu1.iter().zip(mu2).map(|(a, b)| (a - b) * (a - b)).sum();
    let tr1: f64 = (0..d).map(|i| sigma1[i * d + i]).sum();
    let tr2: f64 = (0..d).map(|i| sigma2[i * d + i]).sum();
    let tr_covmean = trace_sqrt_product(sigma1, sigma2, d)?;
    Ok(diff + tr1 + tr2 - 2.0 * tr_covmean)
}

fn symmetric(m: &[f64], d: usize) -> Mat<f64> {
    Mat::from_fn(d, d, |i, j| 0.5 * (m[i * d + j] + m[j * d + i]))
}

fn evd_error(e: faer::linalg::evd::EvdError) -> MetricsError {
    MetricsError::LinearAlgebra(format!("symmetric eigen-decomposition failed: {e:?}"))
}

/// `tr (Σ₁ Σ₂)^{1/2}` for symmetric positive semi-definite `Σ₁`, `Σ₂` (`d × d`, row-major).
///
/// With `Σ₁ = U W Uᵀ` and `B = U_r W_r^{1/2}` (the `r` eigenvectors whose eigenvalues exceed the
/// rank tolerance), `Σ₁ Σ₂` has the same non-zero eigenvalues as the `r × r` symmetric PSD
/// matrix `K = Bᵀ Σ₂ B`, so the trace is `Σᵢ sqrt(λᵢ(K))`. For a set of `n < d` images `r < n`,
/// and the second eigen-problem is small.
pub fn trace_sqrt_product(sigma1: &[f64], sigma2: &[f64], d: usize) -> Result<f64> {
    let s1 = symmetric(sigma1, d);
    let s2 = symmetric(sigma2, d);
    let eig = s1.self_adjoint_eigen(Side::Lower).map_err(evd_error)?;
    let u = eig.U();
    let w = eig.S().column_vector();
    let w_tol = rank_tolerance((0..d).map(|i| w[i]), d);
    let kept: Vec<usize> = (0..d).filter(|&j| w[j] > w_tol).collect();
    let r = kept.len();
    if r == 0 {
        return Ok(0.0);
    }
    let b = Mat::from_fn(d, r, |i, k| u[(i, kept[k])] * w[kept[k]].sqrt());
    let mut s2b = Mat::<f64>::zeros(d, r);
    matmul(s2b.as_mut(), Accum::Replace, &s2, &b, 1.0, Par::rayon(0));
    let mut k = Mat::<f64>::zeros(r, r);
    matmul(
        k.as_mut(),
        Accum::Replace,
        b.transpose(),
        &s2b,
        1.0,
        Par::rayon(0),
    );
    let k = Mat::from_fn(r, r, |i, j| 0.5 * (k[(i, j)] + k[(j, i)]));
    let lambda = k.self_adjoint_eigenvalues(Side::Lower).map_err(evd_error)?;
    let tol = rank_tolerance(lambda.iter().copied(), d);
    Ok(lambda.iter().map(|l| clamped_sqrt(*l, tol)).sum())
}

/// Eigenvalues of a PSD matrix below `max |λ| · d · ε` cannot be told from 0 in `f64` (the
/// tolerance of numpy's `matrix_rank`); their square roots would only add rounding noise of
/// order `sqrt(ε)` each, which matters for rank-deficient covariances (fewer samples than
/// features), so they count as 0.
fn rank_tolerance(eigenvalues: impl Iterator<Item = f64>, d: usize) -> f64 {
    let max = eigenvalues.fold(0.0f64, |m, l| m.max(l.abs()));
    max * d as f64 * f64::EPSILON
}

fn clamped_sqrt(l: f64, tol: f64) -> f64 {
    if l > tol { l.sqrt() } else { 0.0 }
}
