//! Restoration networks on flex, batch 32: forward, and forward + L1 loss + backward.
//!
//! Names: `unet/<config>-fwd/flex` and `unet/<config>-fwdbwd/flex`, where `<config>` is the
//! configuration name of `shared/bench/ref_pytorch.py` it mirrors:
//! - `mnist-small-32`: ConvNeXt U-Net dim 32, mults 1,2,4, 1x32x32 (preset `unet-mnist-small`);
//! - `cifar-convnext64`: the paper's ConvNeXt U-Net, dim 64, mults 1,2,4,8, 3x32x32
//!   (preset `unet-paper-rgb`);
//! - `cifar-official`: the paper's DDPM ResNet U-Net for CIFAR-10 (preset
//!   `resunet-paper-cifar10`).
//!
//! `cargo bench --bench unet` (full), `cargo bench --bench unet -- --quick` (smoke), or a filter
//! such as `cargo bench --bench unet -- mnist`.

use std::time::Duration;

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use cold_diffusion::unet::NetConfig;
use criterion::{Criterion, criterion_group, criterion_main};

const BATCH: usize = 32;

fn inputs(config: &NetConfig, device: &Device) -> (Tensor<4>, Tensor<1, Int>, Tensor<4>) {
    let c = config.in_channels();
    let x = Tensor::random([BATCH, c, 32, 32], Distribution::Normal(0.0, 1.0), device);
    let target = Tensor::random([BATCH, c, 32, 32], Distribution::Uniform(-1.0, 1.0), device);
    let t: Vec<i64> = (0..BATCH as i64).map(|i| i % 20).collect();
    let t = Tensor::from_data(TensorData::new(t, [BATCH]), device);
    (x, t, target)
}

fn bench_unet(c: &mut Criterion) {
    let mut group = c.benchmark_group("unet");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    for (name, preset) in [
        ("mnist-small-32", "unet-mnist-small"),
        ("cifar-convnext64", "unet-paper-rgb"),
        ("cifar-official", "resunet-paper-cifar10"),
    ] {
        let config = NetConfig::preset(preset).expect("preset exists");

        let device = Device::flex();
        device.seed(0);
        let net = config.init(&device);
        let (x, t, _) = inputs(&config, &device);
        group.bench_function(format!("{name}-fwd/flex"), |b| {
            b.iter(|| net.forward(x.clone(), t.clone()).into_data())
        });
        drop(net);

        let device = Device::flex().autodiff();
        device.seed(0);
        let net = config.init(&device);
        let (x, t, target) = inputs(&config, &device);
        group.bench_function(format!("{name}-fwdbwd/flex"), |b| {
            b.iter(|| {
                let loss = (net.forward(x.clone(), t.clone()) - target.clone())
                    .abs()
                    .mean();
                let grads = loss.backward();
                drop(grads);
                loss.inner().into_data()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_unet);
criterion_main!(benches);
