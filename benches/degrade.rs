//! Degradation benchmarks (criterion): the cost of `D(x, s)` must not grow with `s`.
//!
//! - `degrade/<preset>/flex/<N>x3x<S>x<S>/s=<s>`: blur `D(x, s)` at `s = 1, T/2, T` on
//!   64×3×32×32 (`blur-cifar10`, T = 50) and 16×3×128×128 (`blur-gen-celeba`, T = 300), and
//!   the same for super-resolution (`superres-cifar10`, T = 3; `superres-celeba`, T = 4) and
//!   snow (`snow-cifar10`, `snow-celeba`, T = 200);
//! - `degrade/blur-cifar10/flex/training-input-32x3x32x32-random-levels`: a training batch with
//!   random levels (the PyTorch reference's `degrade_ms` does the same with the original code);
//! - `degrade/blur-gen-celeba/flex/alg2-trajectory-16x3x128x128`: the degradation work of one
//!   Algorithm-2 trajectory, the pairs `D(x̂0, s)`, `D(x̂0, s − 1)` for `s = T..1` (600 calls);
//! - `degrade/<preset>/flex/<N>x<C>x<S>x<S>/s=T`: every preset at its paper size, one level.
//!
//! Run: `cargo bench --bench degrade` (smoke: `cargo bench --bench degrade -- --test`).
//! The operator caches its per-level matrices on first use, so every benchmark warms up first.

use std::time::Duration;

use burn::tensor::{Device, Distribution, Tensor};
use cold_diffusion::degrade::{
    Degradation, DegradationConfig, Draw, ImageShape, PartnerKind, presets,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};

fn images(n: usize, c: usize, s: usize, device: &Device) -> Tensor<4> {
    Tensor::random([n, c, s, s], Distribution::Uniform(-1.0, 1.0), device)
}

fn sync(device: &Device) {
    device.sync().expect("device sync");
}

fn draw_for(op: &dyn Degradation, x: &Tensor<4>, device: &Device) -> Draw {
    let n = x.dims()[0];
    if op.partner_kind() == PartnerKind::Images {
        let [_, c, h, _] = x.dims();
        return Draw::partner(images(n, c, h, device));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    op.draw(n, ImageShape::of(x), device, &mut rng)
        .expect("draw")
}

fn blur_levels(c: &mut Criterion) {
    let device = Device::flex();
    for (preset, n, size) in [
        ("blur-cifar10", 64, 32),
        ("blur-gen-celeba", 16, 128),
        ("superres-cifar10", 64, 32),
        ("superres-celeba", 16, 128),
        ("snow-cifar10", 64, 32),
        ("snow-celeba", 16, 128),
    ] {
        let op = DegradationConfig::preset(preset).unwrap().build().unwrap();
        let t = op.steps();
        let x = images(n, 3, size, &device);
        let draw = draw_for(op.as_ref(), &x, &device);
        let mut group = c.benchmark_group(format!("degrade/{preset}/flex/{n}x3x{size}x{size}"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(5));
        let mut levels = vec![1, t / 2, t];
        levels.dedup(); // T = 3: T/2 = 1
        for s in levels {
            op.degrade_at(x.clone(), s, &draw).unwrap(); // fills the cache up to s
            group.bench_with_input(BenchmarkId::new("s", s), &s, |b, &s| {
                b.iter(|| {
                    let y = op.degrade_at(x.clone(), s, &draw).unwrap();
                    sync(&device);
                    y
                })
            });
        }
        group.finish();
    }
}

/// The training input of a batch of 32 with random levels, like the PyTorch reference's
/// `degrade_ms` (the original `q_sample` of `blur-cifar10`, batch 32, `t ~ U{0..T−1}`).
fn training_batch(c: &mut Criterion) {
    let device = Device::flex();
    let op = DegradationConfig::preset("blur-cifar10")
        .unwrap()
        .build()
        .unwrap();
    let t = op.steps();
    let n = 32;
    let x = images(n, 3, 32, &device);
    let draw = Draw::empty(n);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let levels: Vec<usize> = (0..n).map(|_| rng.random_range(1..=t)).collect();
    op.degrade_at(x.clone(), t, &draw).unwrap();
    let mut group = c.benchmark_group("degrade/blur-cifar10/flex");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("training-input-32x3x32x32-random-levels", |b| {
        b.iter(|| {
            let y = op.training_input(x.clone(), &levels, &draw).unwrap();
            sync(&device);
            y
        })
    });
    group.finish();
}

fn algorithm2_trajectory(c: &mut Criterion) {
    let device = Device::flex();
    let op = DegradationConfig::preset("blur-gen-celeba")
        .unwrap()
        .build()
        .unwrap();
    let t = op.steps();
    let n = 16;
    let x0_hat = images(n, 3, 128, &device);
    let draw = Draw::empty(n);
    op.degrade_at(x0_hat.clone(), t, &draw).unwrap();
    let mut group = c.benchmark_group("degrade/blur-gen-celeba/flex");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("alg2-trajectory-16x3x128x128", |b| {
        b.iter(|| {
            for s in (1..=t).rev() {
                let hi = op.degrade_at(x0_hat.clone(), s, &draw).unwrap();
                let lo = op.degrade_at(x0_hat.clone(), s - 1, &draw).unwrap();
                // the Algorithm-2 update x_{s-1} = x_s - D(x̂0, s) + D(x̂0, s-1) consumes both
                drop((hi, lo));
            }
            sync(&device);
        })
    });
    group.finish();
}

fn every_preset(c: &mut Criterion) {
    let device = Device::flex();
    for p in presets() {
        let op = p.config.build().unwrap();
        let (size, channels) = p.config.image_size_and_channels();
        let (size, channels) = (size.unwrap_or(32), channels.unwrap_or(3));
        let n = if size >= 128 { 16 } else { 64 };
        let x = images(n, channels, size, &device);
        let draw = draw_for(op.as_ref(), &x, &device);
        let t = op.steps();
        op.degrade_at(x.clone(), t, &draw).unwrap();
        let mut group = c.benchmark_group(format!(
            "degrade/{}/flex/{n}x{channels}x{size}x{size}",
            p.name
        ));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(2));
        group.bench_function(format!("s={t}"), |b| {
            b.iter(|| {
                let y = op.degrade_at(x.clone(), t, &draw).unwrap();
                sync(&device);
                y
            })
        });
        group.finish();
    }
}

criterion_group!(
    benches,
    blur_levels,
    training_batch,
    algorithm2_trajectory,
    every_preset
);
criterion_main!(benches);
