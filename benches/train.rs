//! One optimiser step of the trainer on flex, batch 32 without accumulation: data batch,
//! level and draw, degrade, forward, L1, backward, Adam (and the EMA schedule) — what
//! `shared/bench/ref_pytorch.py` times as `train_step`.
//!
//! Names: `train_step/<config>/flex`, where `<config>` is the configuration of
//! `ref_pytorch.py` it mirrors:
//! - `mnist-small-32`: preset `mnist-deblur-small` (blur T = 20) with the network preset
//!   `unet-mnist-small` (ConvNeXt U-Net dim 32, mults 1,2,4, 1x32x32) in place of the preset's
//!   narrower CPU-budget net;
//! - `cifar-convnext64`: the paper's ConvNeXt U-Net (dim 64, mults 1,2,4,8) at 3x32x32 with the
//!   CIFAR-10 blur (T = 50, Special_6_routine);
//! - `cifar-official`: preset `deblur-cifar10` (the DDPM ResNet U-Net, 35.7 M parameters).
//!
//! The images are the bundled MNIST (converted to RGB for the CIFAR configurations): the step's
//! cost does not depend on their content, and CIFAR-10 is not in the repository. Data is
//! prepared on the training thread (`workers = 0`), so its cost is included.
//!
//! `cargo bench --bench train` (full), `cargo bench --bench train -- --test` (smoke: one step
//! each), or a filter such as `cargo bench --bench train -- mnist`.

use std::time::Duration;

use burn::tensor::Device;
use cold_diffusion::train::{DatasetSource, EmaConfig, TrainConfig, Trainer};
use cold_diffusion::unet::NetConfig;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench_config(preset: &str, network: Option<&str>, dir: &std::path::Path) -> TrainConfig {
    let mut c = TrainConfig::preset(preset).expect("preset exists");
    if let Some(n) = network {
        c.network = NetConfig::preset(n).expect("network preset exists");
    }
    // The original's EMA schedule (every 10 updates from update 2000), as `ref_pytorch.py` times.
    c.ema = EmaConfig::default();
    c.data.dataset = DatasetSource::Mnist { path: None };
    c.data.workers = 0;
    c.batch_size = 32;
    c.grad_accumulation = 1;
    c.steps = u64::MAX;
    c.checkpoint.every = u64::MAX;
    c.checkpoint.keep_every = 0;
    c.samples.every = 0;
    c.log_every = u64::MAX;
    c.output_dir = dir.to_path_buf();
    c
}

fn bench_train(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30));
    for (name, preset, network) in [
        (
            "mnist-small-32",
            "mnist-deblur-small",
            Some("unet-mnist-small"),
        ),
        ("cifar-convnext64", "deblur-cifar10", Some("unet-paper-rgb")),
        ("cifar-official", "deblur-cifar10", None),
    ] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = bench_config(preset, network, dir.path());
        let mut trainer = Trainer::new(config, &[Device::flex()]).expect("trainer");
        trainer.set_progress_bar(false);
        group.bench_function(format!("{name}/flex"), |b| {
            b.iter(|| trainer.step().expect("training step").loss)
        });
    }
    group.finish();
}

criterion_group!(benches, bench_train);
criterion_main!(benches);
