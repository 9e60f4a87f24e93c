//! The same training step and sampling loop on every device of `$COLD_BENCH_DEVICES`: the
//! numbers `scripts/gpu-check.sh` records for GPUs.
//!
//! Names `<what>/<config>/<device>`, throughput in images per second:
//! - `train-step/<preset>/<device>`: one [`Trainer::step`] of a training preset (data loading,
//!   level and draw sampling, degradation, forward, L1 loss, backward, Adam, EMA): what
//!   `cold train` does per step. `mnist-deblur-small` with the `unet-mnist-small` network (ConvNeXt U-Net
//!   dim 32, mults 1,2,4, batch 32; the preset's own CPU-budget net is half as wide) always; the paper's `deblur-mnist` (dim 64, mults 1,2,4,8, 56.6 M
//!   parameters, batch 32 × 2 accumulated) with `COLD_BENCH_PAPER=1`. Both read the bundled
//!   MNIST in `data/`.
//! - `sample/alg2-blur-mnist-T20-n16/<device>`: Algorithm 2 from level T = 20 for 16 images
//!   1×32×32 with the network of `unet-mnist-small` (random weights: the time does not depend
//!   on them), as `benches/sample.rs` on flex.
//!
//! `COLD_BENCH_DEVICES` is a comma-separated list of `--device` strings (default `flex`), e.g.
//! `COLD_BENCH_DEVICES=flex,wgpu:0,cuda`; a device whose backend is not compiled in is an error.
//!
//! ```sh
//! COLD_BENCH_DEVICES=wgpu cargo bench --features wgpu --bench backends -- --test   # smoke
//! COLD_BENCH_DEVICES=cuda COLD_BENCH_PAPER=1 cargo bench --features cuda --bench backends
//! ```

use std::time::Duration;

use burn::tensor::{Device, Tensor, TensorData};
use cold_diffusion::degrade::{DegradationConfig, Draw};
use cold_diffusion::sample::{Method, Sampler};
use cold_diffusion::train::{TrainConfig, Trainer};
use cold_diffusion::unet::NetConfig;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The devices to bench, from `$COLD_BENCH_DEVICES`.
fn devices() -> Vec<(String, Device)> {
    let list = std::env::var("COLD_BENCH_DEVICES").unwrap_or_else(|_| "flex".to_string());
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|spec| {
            let device = cold_diffusion::device::select(spec)
                .unwrap_or_else(|e| panic!("COLD_BENCH_DEVICES: {e}"));
            (spec.replace(':', "-"), device)
        })
        .collect()
}

fn bench_train_step(c: &mut Criterion) {
    let mut presets = vec!["mnist-deblur-small"];
    if std::env::var("COLD_BENCH_PAPER").is_ok_and(|v| v == "1") {
        presets.push("deblur-mnist");
    }
    let mut group = c.benchmark_group("train-step");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30));
    for (name, device) in devices() {
        for preset in &presets {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let mut config = TrainConfig::preset(preset).expect("preset exists");
            if *preset == "mnist-deblur-small" {
                // The network the earlier GPU readings and `benches/unet.rs` use.
                config.network = NetConfig::preset("unet-mnist-small").expect("network preset");
            }
            config.output_dir = dir.path().join("run");
            config.samples.every = 0;
            config.checkpoint.every = u64::MAX / 2;
            config.checkpoint.keep_every = 0;
            config.log_every = u64::MAX / 2;
            group.throughput(Throughput::Elements(config.images_per_step() as u64));
            let mut trainer = Trainer::new(config, std::slice::from_ref(&device))
                .unwrap_or_else(|e| panic!("{preset} on {name}: {e}"));
            trainer.set_progress_bar(false);
            // The first step compiles (and on GPUs autotunes) every kernel: not part of the
            // steady state.
            trainer.step().expect("a training step");
            group.bench_function(format!("{preset}/{name}"), |b| {
                // `step` reads the loss back to the host, so each iteration waits for the device.
                b.iter(|| trainer.step().expect("a training step").loss)
            });
        }
    }
    group.finish();
}

fn bench_sample(c: &mut Criterion) {
    let mut group = c.benchmark_group("sample");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30));
    let (n, side) = (16usize, 32usize);
    let op = DegradationConfig::preset("blur-mnist")
        .and_then(|c| c.build())
        .expect("preset exists");
    let t = op.steps();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x0: Vec<f32> = (0..n * side * side)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    group.throughput(Throughput::Elements(n as u64));
    for (name, device) in devices() {
        let net = NetConfig::preset("unet-mnist-small")
            .expect("preset exists")
            .init_seeded(&device, 0);
        let x = Tensor::<4>::from_data(TensorData::new(x0.clone(), [n, 1, side, side]), &device);
        let draw = Draw::empty(n);
        let x_t = op.degrade_at(x, t, &draw).expect("degrade");
        let restorer = cold_diffusion::unet_restorer(&net);
        let sampler = Sampler::new(op.as_ref(), Method::Algorithm2);
        let run = || {
            let out = sampler
                .run(&restorer, x_t.clone(), &vec![t; n], &draw)
                .expect("sampling");
            out.x0.into_data()
        };
        run(); // kernel compilation / autotuning
        group.bench_function(format!("alg2-blur-mnist-T{t}-n{n}/{name}"), |b| b.iter(run));
    }
    group.finish();
}

criterion_group!(benches, bench_train_step, bench_sample);
criterion_main!(benches);
