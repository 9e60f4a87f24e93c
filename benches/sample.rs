//! Sampling on flex: Algorithm 2 of the paper (`cold_sample::Sampler`) from the fully degraded
//! level `T`, with a randomly initialised U-Net as the restorer (timing does not depend on the
//! weights), and the same loop with an identity restorer to show the sampler + degradation
//! share.
//!
//! Names `sample/<config>/flex`:
//! - `alg2-mnist-small-32-T20-n16`: degradation preset `blur-mnist` (T = 20), 16 images
//!   1×32×32, network preset `unet-mnist-small` (dim 32, mults 1,2,4). Mirrors `sample_alg2_ms`
//!   of `shared/bench/ref_pytorch.py --configs mnist-small-32` (16 images, T = 20).
//! - `alg2-blur-gen-128-T300-n4`: degradation preset `blur-gen-celeba` (T = 300, k 27,
//!   circular, `--discrete`), 4 images 3×128×128, network preset `unet-cifar-small` (dim 32,
//!   mults 1,2,4, 3 channels; the paper's dim-64 network is ~4x slower). One iteration is 300
//!   network calls, i.e. many minutes on a 2-core CPU, so this full-loop bench only runs with
//!   `COLD_BENCH_LONG=1`; by default the config is measured as the two parts below.
//! - `…-degrade-only`: the full loop with `R(x, t) = x`: 2·T closed-form degradations plus
//!   the update arithmetic (the sampler's own cost).
//! - `…-one-step`: one Algorithm-2 step with the network (the loop from level 1); the full
//!   loop costs about `T` steps.
//!
//! `cargo bench --bench sample` (full), `cargo bench --bench sample -- --quick` (smoke), or a
//! filter such as `cargo bench --bench sample -- mnist`.

use std::time::Duration;

use burn::tensor::{Device, Int, Tensor, TensorData};
use cold_diffusion::degrade::{Degradation, DegradationConfig, Draw};
use cold_diffusion::sample::{Method, Sampler};
use cold_diffusion::unet::{NetConfig, RestorationNet};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Config {
    name: &'static str,
    degradation: &'static str,
    network: &'static str,
    batch: usize,
    channels: usize,
    size: usize,
    /// Bench the full loop with the network by default (else only with `COLD_BENCH_LONG=1`).
    full_with_network: bool,
}

const CONFIGS: [Config; 2] = [
    Config {
        name: "alg2-mnist-small-32-T20-n16",
        degradation: "blur-mnist",
        network: "unet-mnist-small",
        batch: 16,
        channels: 1,
        size: 32,
        full_with_network: true,
    },
    Config {
        name: "alg2-blur-gen-128-T300-n4",
        degradation: "blur-gen-celeba",
        network: "unet-cifar-small",
        batch: 4,
        channels: 3,
        size: 128,
        full_with_network: false,
    },
];

/// `x_T = D(x0, T)` of seeded random images.
fn start(op: &dyn Degradation, c: &Config, device: &Device) -> Tensor<4> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let dims = [c.batch, c.channels, c.size, c.size];
    let v: Vec<f32> = (0..dims.iter().product())
        .map(|_| rng.random::<f32>() * 2.0 - 1.0)
        .collect();
    let x0 = Tensor::from_data(TensorData::new(v, dims), device);
    op.degrade_at(x0, op.steps(), &Draw::empty(c.batch))
        .expect("preset degrades its own size")
}

fn unet_restorer(net: &RestorationNet) -> impl Fn(Tensor<4>, &[usize]) -> Tensor<4> + '_ {
    move |x: Tensor<4>, t: &[usize]| {
        let t: Vec<i64> = t.iter().map(|&v| v as i64).collect();
        let n = t.len();
        let t = Tensor::<1, Int>::from_data(TensorData::new(t, [n]), &x.device());
        net.forward(x, t)
    }
}

fn bench_sample(c: &mut Criterion) {
    let mut group = c.benchmark_group("sample");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    let device = Device::flex();
    for config in &CONFIGS {
        let op = DegradationConfig::preset(config.degradation)
            .expect("degradation preset exists")
            .build()
            .expect("preset builds");
        let sampler = Sampler::new(op.as_ref(), Method::Algorithm2);
        let x_t = start(op.as_ref(), config, &device);
        let levels = vec![op.steps(); config.batch];
        let draw = Draw::empty(config.batch);

        let identity = |x: Tensor<4>, _t: &[usize]| x;
        group.bench_function(format!("{}-degrade-only/flex", config.name), |b| {
            b.iter(|| {
                sampler
                    .run(&identity, x_t.clone(), &levels, &draw)
                    .expect("valid inputs")
                    .x0
                    .into_data()
            })
        });

        device.seed(0);
        let net = NetConfig::preset(config.network)
            .expect("network preset exists")
            .init(&device);
        let restorer = unet_restorer(&net);
        if config.full_with_network || std::env::var_os("COLD_BENCH_LONG").is_some() {
            group.bench_function(format!("{}/flex", config.name), |b| {
                b.iter(|| {
                    sampler
                        .run(&restorer, x_t.clone(), &levels, &draw)
                        .expect("valid inputs")
                        .x0
                        .into_data()
                })
            });
        }
        // One Algorithm-2 step (the loop from level 1: R(x_1, 0), D(x̂0, 1), D(x̂0, 0)); a full
        // run costs about T of these.
        let x_1 = op
            .degrade_at(x_t.clone(), 1, &draw)
            .expect("preset degrades its own size");
        let ones = vec![1; config.batch];
        group.bench_function(format!("{}-one-step/flex", config.name), |b| {
            b.iter(|| {
                sampler
                    .run(&restorer, x_1.clone(), &ones, &draw)
                    .expect("valid inputs")
                    .x0
                    .into_data()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_sample);
criterion_main!(benches);
