//! Gaussian mixture model with full covariances, fitted by expectation–maximisation in `f64`.
//!
//! This is the prior the paper uses for blur generation (spec §4.3): the original fits a pycave
//! `GaussianMixture` (full covariance, convergence tolerance 1e-3, covariance regularisation
//! 1e-6) to the per-channel means of a data set and samples starting colours from it. The
//! dimension is small (3 for RGB channel means; `C·g²` for the super-resolution prior), so the
//! linear algebra is written out here: a Cholesky factor per component gives log-densities and
//! samples.
//!
//! Fitting is seeded and deterministic: k-means++ seeding and Lloyd iterations pick the initial
//! responsibilities, then EM runs until the per-sample mean log-likelihood improves by less than
//! [`GmmConfig::tolerance`] (pycave's criterion) or [`GmmConfig::max_iter`] is reached.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::SampleError;

/// Settings of [`GaussianMixture::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct GmmConfig {
    /// Number of mixture components `K ≥ 1` (the paper's README uses 1; the script default is 10).
    pub components: usize,
    /// EM stops when the per-sample mean log-likelihood changes by less than this (pycave: 1e-3).
    pub tolerance: f64,
    /// Upper bound on EM iterations (pycave: 100).
    pub max_iter: usize,
    /// Added to every covariance diagonal to keep it positive definite (pycave: 1e-6).
    pub reg_covar: f64,
    /// Lloyd iterations of the k-means initialisation after k-means++ seeding.
    pub kmeans_iter: usize,
    /// Seed of the initialisation.
    pub seed: u64,
}

impl Default for GmmConfig {
    fn default() -> Self {
        Self {
            components: 1,
            tolerance: 1e-3,
            max_iter: 100,
            reg_covar: 1e-6,
            kmeans_iter: 20,
            seed: 0,
        }
    }
}

impl GmmConfig {
    /// A default configuration with `components` components.
    pub fn new(components: usize) -> Self {
        Self {
            components,
            ..Self::default()
        }
    }

    /// Sets [`GmmConfig::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks every field; the message names the field and its value.
    pub fn validate(&self) -> Result<(), SampleError> {
        let bad = |field: &str, value: String, expected: &str| {
            Err(SampleError::Config {
                field: format!("GmmConfig.{field}"),
                value,
                expected: expected.into(),
            })
        };
        if self.components == 0 {
            return bad("components", self.components.to_string(), "at least 1");
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return bad(
                "tolerance",
                self.tolerance.to_string(),
                "a finite value >= 0",
            );
        }
        if self.max_iter == 0 {
            return bad("max_iter", self.max_iter.to_string(), "at least 1");
        }
        if !(self.reg_covar.is_finite() && self.reg_covar >= 0.0) {
            return bad(
                "reg_covar",
                self.reg_covar.to_string(),
                "a finite value >= 0",
            );
        }
        Ok(())
    }
}

/// What happened during [`GaussianMixture::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// Per-sample mean log-likelihood of the data at each E-step, in order: entry 0 belongs to the
    /// k-means initialisation, entry `i` to the parameters after `i` EM iterations. The returned
    /// mixture is the one scored by the last entry when [`FitReport::converged`] holds, and one
    /// M-step further otherwise.
    pub log_likelihood: Vec<f64>,
    /// Whether the tolerance was met before `max_iter`.
    pub converged: bool,
}

/// A fitted (or given) Gaussian mixture over `dim`-dimensional vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    dim: usize,
    weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    covariances: Vec<Vec<f64>>,
    /// Lower Cholesky factors of the covariances, row-major `dim × dim`.
    cholesky: Vec<Vec<f64>>,
}

/// Lower Cholesky factor of a symmetric positive definite row-major `d × d` matrix.
fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut sum = a[i * d + j];
            for k in 0..j {
                sum -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if !(sum > 0.0 && sum.is_finite()) {
                    return None;
                }
                l[i * d + i] = sum.sqrt();
            } else {
                l[i * d + j] = sum / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// `log N(x; mean, L Lᵀ)` given the Cholesky factor `L`.
fn log_density(x: &[f64], mean: &[f64], l: &[f64], d: usize) -> f64 {
    // Solve L y = x - mean by forward substitution; |y|² is the Mahalanobis distance.
    let mut y = vec![0.0; d];
    let mut maha = 0.0;
    let mut log_det_half = 0.0;
    for i in 0..d {
        let mut v = x[i] - mean[i];
        for k in 0..i {
            v -= l[i * d + k] * y[k];
        }
        y[i] = v / l[i * d + i];
        maha += y[i] * y[i];
        log_det_half += l[i * d + i].ln();
    }
    -0.5 * (d as f64) * (2.0 * std::f64::consts::PI).ln() - log_det_half - 0.5 * maha
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

impl GaussianMixture {
    /// A mixture from explicit parameters: `weights` (non-negative, normalised here), `means`
    /// (`K` vectors of length `d`) and `covariances` (`K` row-major symmetric positive definite
    /// `d × d` matrices).
    pub fn new(
        weights: Vec<f64>,
        means: Vec<Vec<f64>>,
        covariances: Vec<Vec<f64>>,
    ) -> Result<Self, SampleError> {
        let k = weights.len();
        let gmm_err = |msg: String| Err(SampleError::Gmm(msg));
        if k == 0 {
            return gmm_err("a mixture needs at least one component (weights is empty)".into());
        }
        if means.len() != k || covariances.len() != k {
            return gmm_err(format!(
                "{k} weights but {} means and {} covariances",
                means.len(),
                covariances.len()
            ));
        }
        let dim = means[0].len();
        if dim == 0 {
            return gmm_err("means have dimension 0".into());
        }
        let total: f64 = weights.iter().sum();
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || total.is_nan() || total <= 0.0 {
            return gmm_err(format!(
                "weights must be finite, >= 0 and not all 0, got {weights:?}"
            ));
        }
        let weights: Vec<f64> = weights.iter().map(|w| w / total).collect();
        let mut cholesky_factors = Vec::with_capacity(k);
        for (j, (m, c)) in means.iter().zip(&covariances).enumerate() {
            if m.len() != dim || m.iter().any(|v| !v.is_finite()) {
                return gmm_err(format!(
                    "mean {j} has length {} (expected {dim}) or is not finite",
                    m.len()
                ));
            }
            if c.len() != dim * dim {
                return gmm_err(format!(
                    "covariance {j} has {} entries, expected {}",
                    c.len(),
                    dim * dim
                ));
            }
            for r in 0..dim {
                for s in 0..r {
                    let (a, b) = (c[r * dim + s], c[s * dim + r]);
                    if (a - b).abs() > 1e-9 * (1.0 + a.abs().max(b.abs())) {
                        return gmm_err(format!(
                            "covariance {j} is not symmetric at ({r}, {s}): {a} vs {b}"
                        ));
                    }
                }
            }
            match cholesky(c, dim) {
                Some(l) => cholesky_factors.push(l),
                None => return gmm_err(format!("covariance {j} is not positive definite: {c:?}")),
            }
        }
        Ok(Self {
            dim,
            weights,
            means,
            covariances,
            cholesky: cholesky_factors,
        })
    }

    /// Fits a mixture to `data`, `n` row-major vectors of length `dim` (`data.len() = n·dim`).
    ///
    /// Initialisation: k-means++ seeding from `config.seed`, then `config.kmeans_iter` Lloyd
    /// iterations; the hard k-means assignment gives the first M-step. EM then alternates E- and
    /// M-steps and stops when the per-sample mean log-likelihood improves by less than
    /// `config.tolerance`. Errors name the problem: an invalid config, a ragged or non-finite
    /// input, fewer points than components.
    pub fn fit(
        data: &[f64],
        dim: usize,
        config: &GmmConfig,
    ) -> Result<(Self, FitReport), SampleError> {
        config.validate()?;
        if dim == 0 || !data.len().is_multiple_of(dim) {
            return Err(SampleError::Gmm(format!(
                "data has {} values, not a multiple of the dimension {dim}",
                data.len()
            )));
        }
        let n = data.len() / dim;
        let k = config.components;
        if n < k {
            return Err(SampleError::Gmm(format!(
                "{n} data points cannot fit {k} components"
            )));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(SampleError::Gmm(format!(
                "data value {i} (point {}) is not finite",
                i / dim
            )));
        }
        let points: Vec<&[f64]> = data.chunks_exact(dim).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);

        // k-means++ seeding.
        let mut centres: Vec<Vec<f64>> = vec![points[rng.random_range(0..n)].to_vec()];
        let mut d2: Vec<f64> = points.iter().map(|p| sq_dist(p, &centres[0])).collect();
        while centres.len() < k {
            let total: f64 = d2.iter().sum();
            let next = if total > 0.0 {
                let mut u = rng.random::<f64>() * total;
                let mut idx = n - 1;
                for (i, w) in d2.iter().enumerate() {
                    if u < *w {
                        idx = i;
                        break;
                    }
                    u -= w;
                }
                idx
            } else {
                rng.random_range(0..n)
            };
            centres.push(points[next].to_vec());
            let c = centres.last().expect("just pushed");
            for (dist, p) in d2.iter_mut().zip(&points) {
                *dist = dist.min(sq_dist(p, c));
            }
        }
        // Lloyd iterations.
        let mut assign = vec![0usize; n];
        for _ in 0..config.kmeans_iter.max(1) {
            let mut changed = false;
            for (a, p) in assign.iter_mut().zip(&points) {
                let best = (0..k)
                    .min_by(|&x, &y| sq_dist(p, &centres[x]).total_cmp(&sq_dist(p, &centres[y])))
                    .expect("k >= 1");
                changed |= *a != best;
                *a = best;
            }
            let mut sums = vec![vec![0.0; dim]; k];
            let mut counts = vec![0usize; k];
            for (a, p) in assign.iter().zip(&points) {
                counts[*a] += 1;
                for (s, v) in sums[*a].iter_mut().zip(p.iter()) {
                    *s += v;
                }
            }
            for j in 0..k {
                if counts[j] > 0 {
                    centres[j] = sums[j].iter().map(|s| s / counts[j] as f64).collect();
                }
            }
            if !changed {
                break;
            }
        }
        // Responsibilities: hard assignment; an empty cluster gets a tiny uniform share so that
        // its M-step stays defined.
        let mut resp = vec![0.0; n * k];
        for (i, a) in assign.iter().enumerate() {
            resp[i * k + a] = 1.0;
        }
        let mut gmm = Self::m_step(&points, &resp, dim, k, config.reg_covar)?;
        let mut history = Vec::new();
        let mut converged = false;
        for _ in 0..config.max_iter {
            // The E-step also yields the log-likelihood of the current parameters.
            let ll = gmm.e_step(&points, &mut resp);
            let done = history
                .last()
                .is_some_and(|prev: &f64| (ll - prev).abs() < config.tolerance);
            history.push(ll);
            if done {
                converged = true;
                break;
            }
            gmm = Self::m_step(&points, &resp, dim, k, config.reg_covar)?;
        }
        Ok((
            gmm,
            FitReport {
                log_likelihood: history,
                converged,
            },
        ))
    }

    /// `logp[j] = log w_j + log N(p; μ_j, Σ_j)` for every component `j`.
    fn log_joint(&self, p: &[f64], logp: &mut [f64]) {
        for (j, lp) in logp.iter_mut().enumerate() {
            *lp =
                self.weights[j].ln() + log_density(p, &self.means[j], &self.cholesky[j], self.dim);
        }
    }

    /// E-step: fills `resp` (row-major `n × K`) with posterior responsibilities and returns the
    /// per-sample mean log-likelihood under the current parameters.
    fn e_step(&self, points: &[&[f64]], resp: &mut [f64]) -> f64 {
        let k = self.weights.len();
        let mut total = 0.0;
        let mut logp = vec![0.0; k];
        for (i, p) in points.iter().enumerate() {
            self.log_joint(p, &mut logp);
            let lse = log_sum_exp(&logp);
            total += lse;
            for j in 0..k {
                resp[i * k + j] = (logp[j] - lse).exp();
            }
        }
        total / points.len() as f64
    }

    /// M-step from responsibilities.
    fn m_step(
        points: &[&[f64]],
        resp: &[f64],
        dim: usize,
        k: usize,
        reg: f64,
    ) -> Result<Self, SampleError> {
        let n = points.len();
        // A floor on each component's mass keeps an emptied component defined (as sklearn's
        // 10·eps); it then sits at the data mean with the data covariance.
        let floor = 10.0 * f64::EPSILON;
        let mut weights = vec![0.0; k];
        let mut means = vec![vec![0.0; dim]; k];
        let mut covs = vec![vec![0.0; dim * dim]; k];
        for j in 0..k {
            let nk: f64 = (0..n).map(|i| resp[i * k + j]).sum::<f64>() + floor;
            let mut mean = vec![0.0; dim];
            for (i, p) in points.iter().enumerate() {
                let r = resp[i * k + j] + floor / n as f64;
                for (m, v) in mean.iter_mut().zip(p.iter()) {
                    *m += r * v;
                }
            }
            mean.iter_mut().for_each(|m| *m /= nk);
            let cov = &mut covs[j];
            for (i, p) in points.iter().enumerate() {
                let r = resp[i * k + j] + floor / n as f64;
                for a in 0..dim {
                    let da = p[a] - mean[a];
                    for b in 0..=a {
                        cov[a * dim + b] += r * da * (p[b] - mean[b]);
                    }
                }
            }
            for a in 0..dim {
                for b in 0..=a {
                    let v = cov[a * dim + b] / nk;
                    cov[a * dim + b] = v;
                    cov[b * dim + a] = v;
                }
                cov[a * dim + a] += reg;
            }
            weights[j] = nk / (n as f64 + k as f64 * floor);
            means[j] = mean;
        }
        Self::new(weights, means, covs).map_err(|e| {
            SampleError::Gmm(format!(
                "{e} (degenerate data: raise GmmConfig.reg_covar, currently {reg})"
            ))
        })
    }

    /// Per-sample mean log-likelihood `1/n Σ log p(x_i)` of `data` (row-major, length `n·dim`).
    ///
    /// # Panics
    /// If `data.len()` is not a multiple of [`GaussianMixture::dim`].
    pub fn mean_log_likelihood(&self, data: &[f64]) -> f64 {
        assert!(
            data.len().is_multiple_of(self.dim),
            "data has {} values, not a multiple of the mixture dimension {}",
            data.len(),
            self.dim
        );
        let k = self.weights.len();
        let mut logp = vec![0.0; k];
        let mut total = 0.0;
        let mut n = 0usize;
        for p in data.chunks_exact(self.dim) {
            self.log_joint(p, &mut logp);
            total += log_sum_exp(&logp);
            n += 1;
        }
        total / n.max(1) as f64
    }

    /// Draws `n` vectors; returns them row-major (`n·dim` values). A component is chosen by its
    /// weight, then `mean + L·ε` with `ε ~ N(0, I)`.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Vec<f64> {
        let d = self.dim;
        let mut out = Vec::with_capacity(n * d);
        let mut eps = vec![0.0; d];
        for _ in 0..n {
            let mut u: f64 = rng.random();
            let mut j = self.weights.len() - 1;
            for (c, w) in self.weights.iter().enumerate() {
                if u < *w {
                    j = c;
                    break;
                }
                u -= w;
            }
            for e in eps.iter_mut() {
                *e = StandardNormal.sample(rng);
            }
            let l = &self.cholesky[j];
            for a in 0..d {
                let mut v = self.means[j][a];
                for b in 0..=a {
                    v += l[a * d + b] * eps[b];
                }
                out.push(v);
            }
        }
        out
    }

    /// Dimension of the modelled vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of components.
    pub fn components(&self) -> usize {
        self.weights.len()
    }

    /// Mixture weights (sum 1).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Component means.
    pub fn means(&self) -> &[Vec<f64>] {
        &self.means
    }

    /// Component covariances, row-major `dim × dim`.
    pub fn covariances(&self) -> &[Vec<f64>] {
        &self.covariances
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_component() -> GaussianMixture {
        GaussianMixture::new(
            vec![0.3, 0.7],
            vec![vec![-0.4, 0.1, 0.3], vec![0.35, -0.2, -0.1]],
            vec![
                vec![0.010, 0.004, 0.0, 0.004, 0.020, -0.003, 0.0, -0.003, 0.015],
                vec![0.020, -0.005, 0.002, -0.005, 0.010, 0.0, 0.002, 0.0, 0.008],
            ],
        )
        .unwrap()
    }

    #[test]
    fn cholesky_reconstructs_the_matrix() {
        let a = [4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0];
        let l = cholesky(&a, 3).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum();
                assert!((v - a[i * 3 + j]).abs() < 1e-12);
            }
        }
        assert!(
            cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none(),
            "indefinite matrix accepted"
        );
    }

    #[test]
    fn log_density_matches_the_closed_form_in_one_dimension() {
        let (m, var, x) = (0.3f64, 0.25f64, -0.2f64);
        let l = cholesky(&[var], 1).unwrap();
        let expected =
            -0.5 * (2.0 * std::f64::consts::PI * var).ln() - (x - m).powi(2) / (2.0 * var);
        assert!((log_density(&[x], &[m], &l, 1) - expected).abs() < 1e-12);
    }

    #[test]
    fn recovers_a_known_two_component_mixture() {
        let truth = two_component();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let data = truth.sample(6000, &mut rng);
        let (fit, report) = GaussianMixture::fit(
            &data,
            3,
            &GmmConfig {
                tolerance: 1e-6,
                ..GmmConfig::new(2)
            },
        )
        .unwrap();
        assert!(report.converged);
        // Match components by their first mean coordinate.
        let order: Vec<usize> = if fit.means()[0][0] < fit.means()[1][0] {
            vec![0, 1]
        } else {
            vec![1, 0]
        };
        for (t, &f) in order.iter().enumerate() {
            assert!(
                (fit.weights()[f] - truth.weights()[t]).abs() < 0.02,
                "weight {t}"
            );
            for a in 0..3 {
                assert!(
                    (fit.means()[f][a] - truth.means()[t][a]).abs() < 0.01,
                    "mean {t}/{a}"
                );
            }
            for e in 0..9 {
                assert!(
                    (fit.covariances()[f][e] - truth.covariances()[t][e]).abs() < 0.002,
                    "cov {t}/{e}: {} vs {}",
                    fit.covariances()[f][e],
                    truth.covariances()[t][e]
                );
            }
        }
        // The fitted mixture explains the data at least as well as the truth (up to noise).
        assert!(fit.mean_log_likelihood(&data) >= truth.mean_log_likelihood(&data) - 1e-9);
    }

    #[test]
    fn log_likelihood_never_decreases_over_em_iterations() {
        let truth = two_component();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let data = truth.sample(2000, &mut rng);
        // Three components on two-component data, no early stop: many iterations to check.
        let cfg = GmmConfig {
            tolerance: 0.0,
            max_iter: 60,
            kmeans_iter: 1,
            ..GmmConfig::new(3)
        };
        let (_, report) = GaussianMixture::fit(&data, 3, &cfg).unwrap();
        assert_eq!(report.log_likelihood.len(), 60);
        for w in report.log_likelihood.windows(2) {
            assert!(
                w[1] >= w[0] - 1e-9,
                "log-likelihood decreased: {} -> {}",
                w[0],
                w[1]
            );
        }
        assert!(report.log_likelihood.last().unwrap() > report.log_likelihood.first().unwrap());
    }

    #[test]
    fn fitting_and_sampling_are_seeded() {
        let truth = two_component();
        let data = truth.sample(500, &mut ChaCha8Rng::seed_from_u64(1));
        let cfg = GmmConfig::new(4).with_seed(11);
        let (a, _) = GaussianMixture::fit(&data, 3, &cfg).unwrap();
        let (b, _) = GaussianMixture::fit(&data, 3, &cfg).unwrap();
        assert_eq!(a, b);
        let (c, _) = GaussianMixture::fit(&data, 3, &cfg.clone().with_seed(12)).unwrap();
        assert_ne!(a, c, "a different seed should change a 4-component fit");
        let s1 = a.sample(10, &mut ChaCha8Rng::seed_from_u64(5));
        let s2 = a.sample(10, &mut ChaCha8Rng::seed_from_u64(5));
        let s3 = a.sample(10, &mut ChaCha8Rng::seed_from_u64(6));
        assert_eq!(s1, s2);
        assert_ne!(s1, s3);
    }

    #[test]
    fn single_component_fit_is_the_sample_mean_and_covariance() {
        let data = [0.1, 0.2, 0.3, 0.5, -0.1, 0.0, 0.7, 0.4, 0.2, 0.9];
        let (g, report) = GaussianMixture::fit(&data, 2, &GmmConfig::new(1)).unwrap();
        assert!(report.converged);
        let n = 5.0;
        let mx = (0.1 + 0.3 - 0.1 + 0.7 + 0.2) / n;
        let my = (0.2 + 0.5 + 0.0 + 0.4 + 0.9) / n;
        let pts = data.chunks(2);
        let cxy: f64 = pts.map(|p| (p[0] - mx) * (p[1] - my)).sum::<f64>() / n;
        assert!((g.means()[0][0] - mx).abs() < 1e-12 && (g.means()[0][1] - my).abs() < 1e-12);
        assert!((g.covariances()[0][1] - cxy).abs() < 1e-12);
    }

    #[test]
    fn identical_points_fit_thanks_to_regularisation() {
        let data = vec![0.25; 3 * 50];
        let (g, _) = GaussianMixture::fit(&data, 3, &GmmConfig::new(2)).unwrap();
        let s = g.sample(20, &mut ChaCha8Rng::seed_from_u64(0));
        assert!(s.iter().all(|v| (v - 0.25).abs() < 0.01));
    }

    #[test]
    fn bad_inputs_are_errors_that_name_the_problem() {
        let e = GaussianMixture::fit(&[0.0; 7], 3, &GmmConfig::new(1)).unwrap_err();
        assert!(e.to_string().contains("multiple of the dimension 3"), "{e}");
        let e = GaussianMixture::fit(&[0.0; 6], 3, &GmmConfig::new(3)).unwrap_err();
        assert!(
            e.to_string()
                .contains("2 data points cannot fit 3 components"),
            "{e}"
        );
        let e = GaussianMixture::fit(&[0.0, f64::NAN, 0.0], 3, &GmmConfig::new(1)).unwrap_err();
        assert!(e.to_string().contains("not finite"), "{e}");
        let e = GaussianMixture::fit(&[0.0; 6], 3, &GmmConfig::new(0)).unwrap_err();
        assert!(e.to_string().contains("GmmConfig.components"), "{e}");
        let e = GaussianMixture::new(
            vec![1.0],
            vec![vec![0.0, 0.0]],
            vec![vec![1.0, 2.0, 2.0, 1.0]],
        )
        .unwrap_err();
        assert!(e.to_string().contains("not positive definite"), "{e}");
    }
}
