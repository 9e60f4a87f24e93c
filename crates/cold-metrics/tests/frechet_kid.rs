//! Fréchet distance, activation statistics and KID: closed forms on known Gaussians, invariants,
//! and parity with pytorch-fid / the reference KID formula on stored Inception features.

mod common;

use cold_metrics::frechet::{frechet_distance_parts, trace_sqrt_product};
use cold_metrics::frechet_distance;
use cold_metrics::kid::{KidConfig, kernel_inception_distance};
use cold_metrics::stats::{ActivationStats, StatsAccumulator};
use common::Fixture;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Random orthogonal matrix (Gram-Schmidt of a Gaussian matrix), row-major.
fn orthogonal(d: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let n = Normal::new(0.0, 1.0).unwrap();
    let mut q: Vec<Vec<f64>> = Vec::new();
    while q.len() < d {
        let mut v: Vec<f64> = (0..d).map(|_| n.sample(rng)).collect();
        for u in &q {
            let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        v.iter_mut().for_each(|a| *a /= norm);
        q.push(v);
    }
    q.concat()
}

/// Q diag(w) Qᵀ.
fn with_eigenvalues(q: &[f64], w: &[f64]) -> Vec<f64> {
    let d = w.len();
    let mut m = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            m[i * d + j] = (0..d).map(|k| q[i * d + k] * w[k] * q[j * d + k]).sum();
        }
    }
    m
}

#[test]
fn commuting_covariances_closed_form() {
    // Σ₁ = Q diag(a) Qᵀ, Σ₂ = Q diag(b) Qᵀ: tr (Σ₁Σ₂)^{1/2} = Σ sqrt(aᵢ bᵢ), including zero
    // eigenvalues (rank-deficient, as with fewer samples than features).
    let d = 48;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let q = orthogonal(d, &mut rng);
    let a: Vec<f64> = (0..d)
        .map(|i| if i % 5 == 0 { 0.0 } else { 0.1 + i as f64 })
        .collect();
    let b: Vec<f64> = (0..d).map(|i| 2.0 + (i as f64).sin()).collect();
    let (s1, s2) = (with_eigenvalues(&q, &a), with_eigenvalues(&q, &b));
    let expected: f64 = a.iter().zip(&b).map(|(x, y)| (x * y).sqrt()).sum();
    let got = trace_sqrt_product(&s1, &s2, d).unwrap();
    assert!(
        (got - expected).abs() < 1e-8 * expected,
        "{got} vs {expected}"
    );

    let mu1: Vec<f64> = (0..d).map(|i| i as f64 * 0.1).collect();
    let mu2: Vec<f64> = (0..d).map(|i| 1.0 - i as f64 * 0.05).collect();
    let diff: f64 = mu1.iter().zip(&mu2).map(|(x, y)| (x - y).powi(2)).sum();
    let fd_expected = diff + a.iter().sum::<f64>() + b.iter().sum::<f64>() - 2.0 * expected;
    let fd = frechet_distance_parts(&mu1, &s1, &mu2, &s2).unwrap();
    assert!(
        (fd - fd_expected).abs() < 1e-8 * fd_expected,
        "{fd} vs {fd_expected}"
    );
}

#[test]
fn two_by_two_non_commuting_closed_form() {
    // For 2×2 PSD A, B: tr (AB)^{1/2} = sqrt(tr(AB) + 2 sqrt(det(AB))).
    let a: [f64; 4] = [2.0, 0.7, 0.7, 1.0];
    let b: [f64; 4] = [0.5, -0.3, -0.3, 3.0];
    let ab = [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
    ];
    let tr = ab[0] + ab[3];
    let det = ab[0] * ab[3] - ab[1] * ab[2];
    let expected = (tr + 2.0 * det.sqrt()).sqrt();
    let got = trace_sqrt_product(&a, &b, 2).unwrap();
    assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
}

#[test]
fn distance_to_itself_is_zero_and_equal_covariances_give_mean_term() {
    let d = 64;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = Normal::new(0.0, 1.0).unwrap();
    // 40 samples < 64 features: singular covariance, as for small FID sets.
    let feats: Vec<f32> = (0..40 * d).map(|_| n.sample(&mut rng) as f32).collect();
    let s = ActivationStats::from_features(&feats, d).unwrap();
    let fd = frechet_distance(&s, &s).unwrap();
    assert!(fd.abs() < 1e-9, "FD(x, x) = {fd}");
    let mut shifted = s.clone();
    shifted
        .mean
        .iter_mut()
        .enumerate()
        .for_each(|(i, m)| *m += i as f64 * 0.01);
    let expected: f64 = (0..d).map(|i| (i as f64 * 0.01).powi(2)).sum();
    let fd = frechet_distance(&s, &shifted).unwrap();
    assert!((fd - expected).abs() < 1e-9, "{fd} vs {expected}");
}

#[test]
fn frechet_matches_pytorch_fid_on_inception_features() {
    // 20 CIFAR-10 images vs the same images blurred: pool3 features from pytorch-fid, FID from
    // pytorch-fid's calculate_frechet_distance (scipy sqrtm) on np.mean / np.cov statistics.
    let fx = Fixture::open("fid_small_sets.safetensors");
    let a = ActivationStats::from_features(&fx.f32s("a.features"), 2048).unwrap();
    let b = ActivationStats::from_features(&fx.f32s("b.features"), 2048).unwrap();
    assert_eq!(a.count, 20);
    let fid = frechet_distance(&a, &b).unwrap();
    let expected = fx.scalar("fid");
    eprintln!("FID {fid:.6} vs pytorch-fid {expected:.6}");
    assert!(
        (fid - expected).abs() < 1e-2,
        "FID {fid} vs pytorch-fid {expected}"
    );
}

#[test]
fn accumulator_matches_two_pass_statistics_in_any_batching() {
    let (rows, d) = (57, 9);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = Normal::new(3.0, 2.0).unwrap();
    let feats: Vec<f32> = (0..rows * d).map(|_| n.sample(&mut rng) as f32).collect();
    // two-pass reference
    let x = |i: usize, j: usize| feats[i * d + j] as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| (0..rows).map(|i| x(i, j)).sum::<f64>() / rows as f64)
        .collect();
    let mut cov = vec![0.0; d * d];
    for a in 0..d {
        for b in 0..d {
            cov[a * d + b] = (0..rows)
                .map(|i| (x(i, a) - mean[a]) * (x(i, b) - mean[b]))
                .sum::<f64>()
                / (rows - 1) as f64;
        }
    }
    for batch in [1, 7, 50, rows] {
        let mut acc = StatsAccumulator::new(d);
        for chunk in feats.chunks(batch * d) {
            acc.add(chunk).unwrap();
        }
        let s = acc.finish().unwrap();
        assert_eq!(s.count, rows);
        for (g, e) in s.mean.iter().zip(&mean).chain(s.cov.iter().zip(&cov)) {
            assert!(
                (g - e).abs() < 1e-10 * (1.0 + e.abs()),
                "batch {batch}: {g} vs {e}"
            );
        }
    }
    assert!(
        StatsAccumulator::new(d).finish().is_err(),
        "one sample has no covariance"
    );
    let err = StatsAccumulator::new(d)
        .add(&feats[..d + 1])
        .unwrap_err()
        .to_string();
    assert!(err.contains("multiple"), "{err}");
}

#[test]
fn stats_file_round_trip_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = 5;
    let feats: Vec<f32> = (0..4 * d).map(|i| (i as f32 * 0.37).sin()).collect();
    let s = ActivationStats::from_features(&feats, d).unwrap();
    let path = dir.path().join("ref/mnist_train.safetensors");
    s.save(&path, &[("dataset", "mnist-train")]).unwrap();
    let (back, meta) = ActivationStats::load(&path).unwrap();
    assert_eq!(back, s);
    assert_eq!(meta.get("dataset").map(String::as_str), Some("mnist-train"));
    assert_eq!(meta.get("count").map(String::as_str), Some("4"));

    let missing = dir.path().join("nope.safetensors");
    let e = ActivationStats::load(&missing).unwrap_err().to_string();
    assert!(e.contains("nope.safetensors"), "{e}");
    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"not a safetensors file at all").unwrap();
    let e = ActivationStats::load(&garbage).unwrap_err().to_string();
    assert!(e.contains("garbage.safetensors"), "{e}");
    // A safetensors file that is not a statistics file.
    let other = common::fixture("resize_cases.safetensors");
    let e = ActivationStats::load(&other).unwrap_err().to_string();
    assert!(e.contains("format"), "{e}");
}

#[test]
fn kid_point_masses_closed_form() {
    // All x = a·1, all y = b·1 in d dims: k(x,x') = (a² + 1)³, k(y,y') = (b² + 1)³,
    // k(x,y) = (ab + 1)³, so MMD² = (a²+1)³ + (b²+1)³ - 2(ab+1)³ for every subset.
    let (d, n) = (4, 30);
    let (a, b) = (0.8f32, -0.3f32);
    let x = vec![a; n * d];
    let y = vec![b; (n + 7) * d];
    let cfg = KidConfig {
        num_subsets: 5,
        max_subset_size: 20,
        seed: 1,
    };
    let kid = kernel_inception_distance(&x, &y, d, &cfg).unwrap();
    let (a, b) = (a as f64, b as f64);
    let expected = (a * a + 1.0).powi(3) + (b * b + 1.0).powi(3) - 2.0 * (a * b + 1.0).powi(3);
    assert!(
        (kid.mean - expected).abs() < 1e-6,
        "{} vs {expected}",
        kid.mean
    );
    assert!(kid.std < 1e-9);
    assert_eq!(kid.subset_size, 20);
}

/// E[(s/d + 1)³] for s = Σᵢ uᵢvᵢ with independent uᵢ ~ N(α, 1), vᵢ ~ N(β, 1), via the cumulants
/// of t = uv: E t = αβ, E t² = (1+α²)(1+β²), E t³ = (α³+3α)(β³+3β).
fn expected_cubic_kernel(alpha: f64, beta: f64, d: f64) -> f64 {
    let m1 = alpha * beta;
    let m2 = (1.0 + alpha * alpha) * (1.0 + beta * beta);
    let m3 = (alpha.powi(3) + 3.0 * alpha) * (beta.powi(3) + 3.0 * beta);
    let (k1, k2, k3) = (m1, m2 - m1 * m1, m3 - 3.0 * m2 * m1 + 2.0 * m1.powi(3));
    let (s1, s2, s3) = (d * k1, d * k2, d * k3);
    let es = s1;
    let es2 = s2 + s1 * s1;
    let es3 = s3 + 3.0 * s2 * s1 + s1.powi(3);
    es3 / d.powi(3) + 3.0 * es2 / (d * d) + 3.0 * es / d + 1.0
}

#[test]
fn kid_gaussians_closed_form() {
    let (d, n) = (8usize, 600usize);
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let draw = |mean: f64, rng: &mut ChaCha8Rng| -> Vec<f32> {
        let g = Normal::new(mean, 1.0).unwrap();
        (0..n * d).map(|_| g.sample(rng) as f32).collect()
    };
    let cfg = KidConfig {
        num_subsets: 50,
        max_subset_size: 300,
        seed: 4,
    };
    // Same distribution: the unbiased estimate has expectation 0.
    let (x, y) = (draw(0.5, &mut rng), draw(0.5, &mut rng));
    let same = kernel_inception_distance(&x, &y, d, &cfg).unwrap();
    // Shifted means: MMD² = f(α,α) + f(β,β) - 2 f(α,β).
    let (alpha, beta) = (0.5, 1.0);
    let z = draw(beta, &mut rng);
    let shifted = kernel_inception_distance(&x, &z, d, &cfg).unwrap();
    let df = d as f64;
    let expected = expected_cubic_kernel(alpha, alpha, df) + expected_cubic_kernel(beta, beta, df)
        - 2.0 * expected_cubic_kernel(alpha, beta, df);
    // Tolerance from the spread of the per-subset estimates (subsets overlap, so use the
    // per-subset std rather than std / sqrt(subsets)).
    assert!(
        same.mean.abs() < 3.0 * same.std.max(1e-3),
        "same distribution: {same:?}"
    );
    assert!(
        (shifted.mean - expected).abs() < 3.0 * shifted.std.max(1e-3),
        "shifted: {shifted:?} vs closed form {expected}"
    );
    assert!(
        expected > 10.0 * same.std,
        "the test must separate the two cases: {expected} vs {same:?}"
    );
}

#[test]
fn kid_matches_reference_formula_on_inception_features() {
    // One subset of all 20 rows is the whole set (any permutation): deterministic.
    let fx = Fixture::open("fid_small_sets.safetensors");
    let cfg = KidConfig {
        num_subsets: 3,
        max_subset_size: 1000,
        seed: 9,
    };
    let kid = kernel_inception_distance(&fx.f32s("a.features"), &fx.f32s("b.features"), 2048, &cfg)
        .unwrap();
    let expected = fx.scalar("kid");
    assert_eq!(kid.subset_size, 20);
    assert!(
        (kid.mean - expected).abs() < 1e-6 * expected.abs().max(1.0),
        "{} vs {expected}",
        kid.mean
    );
    let e = kernel_inception_distance(&[1.0; 4], &[1.0; 8], 4, &cfg)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least 2"), "{e}");
}
