//! Evaluation metrics on flex (CPU).
//!
//! Names:
//! - `metrics/inception-features-b50/flex`: FID Inception pool3 features of a batch of 50
//!   32×32 RGB images (pytorch-fid preprocessing: resize to 299, scale, forward), throughput in
//!   images/s. The weights are random (He-normal) unless `COLD_INCEPTION_WEIGHTS` names a weights
//!   file (`scripts/fetch-inception.sh`); the cost is the same.
//! - `metrics/frechet-2048/host`: Fréchet distance of two 2048-d statistics (two symmetric
//!   eigen-decompositions and three 2048³ products in f64).
//! - `metrics/ssim-b64-3x32x32/flex`: SSIM of 64 CIFAR-sized images.
//!
//! `cargo bench --bench metrics` (full), `cargo bench --bench metrics -- --quick` (smoke), or a
//! filter such as `cargo bench --bench metrics -- inception`.

use std::time::Duration;

use burn::tensor::{Device, Distribution, Tensor};
use cold_diffusion::metrics::fid::FidExtractor;
use cold_diffusion::metrics::frechet::frechet_distance;
use cold_diffusion::metrics::inception::FidInceptionV3;
use cold_diffusion::metrics::quality::ssim;
use cold_diffusion::metrics::stats::ActivationStats;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn bench_inception(c: &mut Criterion) {
    let device = Device::flex();
    let model = match std::env::var_os("COLD_INCEPTION_WEIGHTS") {
        Some(p) => FidInceptionV3::from_file(p, &device).expect("load COLD_INCEPTION_WEIGHTS"),
        None => FidInceptionV3::random(&device, 0),
    };
    let ex = FidExtractor::new(model);
    let images = Tensor::<4>::random([50, 3, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
    let mut group = c.benchmark_group("metrics");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(60))
        .throughput(Throughput::Elements(50));
    group.bench_function("inception-features-b50/flex", |b| {
        b.iter(|| ex.features(images.clone()).expect("features"))
    });
    group.finish();
}

fn bench_frechet(c: &mut Criterion) {
    // Statistics of 2100 random 2048-d vectors with correlated coordinates.
    let d = 2048;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let stats = |rng: &mut ChaCha8Rng| {
        let rows = 2100;
        let base: Vec<f32> = (0..rows * 64).map(|_| rng.random::<f32>() - 0.5).collect();
        let feats: Vec<f32> = (0..rows * d)
            .map(|k| {
                let (i, j) = (k / d, k % d);
                base[i * 64 + j % 64] * (1.0 + (j / 64) as f32 * 0.01)
                    + 0.1 * (rng.random::<f32>() - 0.5)
            })
            .collect();
        ActivationStats::from_features(&feats, d).expect("stats")
    };
    let (a, b) = (stats(&mut rng), stats(&mut rng));
    let mut group = c.benchmark_group("metrics");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30));
    group.bench_function("frechet-2048/host", |bch| {
        bch.iter(|| frechet_distance(&a, &b).expect("fd"))
    });
    group.finish();
}

fn bench_ssim(c: &mut Criterion) {
    let device = Device::flex();
    let x = Tensor::<4>::random([64, 3, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
    let y = Tensor::<4>::random([64, 3, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
    let mut group = c.benchmark_group("metrics");
    group.throughput(Throughput::Elements(64));
    group.bench_function("ssim-b64-3x32x32/flex", |b| {
        b.iter(|| ssim(x.clone(), y.clone()).expect("ssim"))
    });
    group.finish();
}

criterion_group!(benches, bench_inception, bench_frechet, bench_ssim);
criterion_main!(benches);
