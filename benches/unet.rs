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
//! A second group, `unet-layers/...`, times the GELU and the channel LayerNorm with this crate's
//! Flex kernels against Burn's own operations (see `bench_layers`).
//!
//! `cargo bench --bench unet` (full), `cargo bench --bench unet -- --quick` (smoke), or a filter
//! such as `cargo bench --bench unet -- mnist`.

use std::time::Duration;

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use cold_diffusion::unet::NetConfig;
use cold_diffusion::unet::channel_norm::channel_layer_norm;
use cold_diffusion::unet::gelu::gelu;
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

/// The original's channel LayerNorm as Burn tensor operations (what `channel_layer_norm`
/// replaces on Flex, and still computes on the other backends).
fn layer_norm_as_tensor_ops(x: Tensor<4>, gain: Tensor<4>, bias: Tensor<4>) -> Tensor<4> {
    let mean = x.clone().mean_dim(1);
    let centred = x - mean;
    let var = centred.clone().square().mean_dim(1);
    centred / (var + 1e-5).sqrt() * gain + bias
}

/// The element-wise layers with their own Flex kernels against Burn's own operations, at the
/// small MNIST network's first level (`[32, 64, 32, 32]`: the hidden width of its level-0
/// ConvNeXt blocks), forward and forward + backward:
/// `unet-layers/{gelu,channel-norm}-{fwd,fwdbwd}/{burn,ours}`.
fn bench_layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("unet-layers");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let shape = [BATCH, 64, 32, 32];
    let plain = Device::flex();
    let tracked = Device::flex().autodiff();
    let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &plain);
    let gain = Tensor::<4>::random([1, 64, 1, 1], Distribution::Normal(1.0, 0.1), &plain);
    let bias = Tensor::<4>::random([1, 64, 1, 1], Distribution::Normal(0.0, 0.1), &plain);
    let on_tracked = |t: &Tensor<4>| Tensor::<4>::from_data(t.to_data(), &tracked).require_grad();
    let (xa, ga, ba) = (on_tracked(&x), on_tracked(&gain), on_tracked(&bias));
    let gradient = |y: Tensor<4>| {
        let grads = y.sum().backward();
        xa.grad(&grads).expect("x has a gradient").into_data()
    };

    group.bench_function("gelu-fwd/burn", |b| {
        b.iter(|| burn::tensor::activation::gelu(x.clone()).into_data())
    });
    group.bench_function("gelu-fwd/ours", |b| b.iter(|| gelu(x.clone()).into_data()));
    group.bench_function("gelu-fwdbwd/burn", |b| {
        b.iter(|| gradient(burn::tensor::activation::gelu(xa.clone())))
    });
    group.bench_function("gelu-fwdbwd/ours", |b| {
        b.iter(|| gradient(gelu(xa.clone())))
    });

    group.bench_function("channel-norm-fwd/burn", |b| {
        b.iter(|| layer_norm_as_tensor_ops(x.clone(), gain.clone(), bias.clone()).into_data())
    });
    group.bench_function("channel-norm-fwd/ours", |b| {
        b.iter(|| channel_layer_norm(x.clone(), gain.clone(), bias.clone(), 1e-5).into_data())
    });
    group.bench_function("channel-norm-fwdbwd/burn", |b| {
        b.iter(|| gradient(layer_norm_as_tensor_ops(xa.clone(), ga.clone(), ba.clone())))
    });
    group.bench_function("channel-norm-fwdbwd/ours", |b| {
        b.iter(|| gradient(channel_layer_norm(xa.clone(), ga.clone(), ba.clone(), 1e-5)))
    });
    group.finish();
}

criterion_group!(benches, bench_unet, bench_layers);
criterion_main!(benches);
