//! Times (and, under `/usr/bin/time -v`, measures the peak memory of) the restoration
//! network's work per training step: forward, and forward + L1 loss + backward + an Adam update
//! (Adam written out with tensor ops, PyTorch's defaults: betas 0.9/0.999, eps 1e-8, lr 2e-5),
//! on flex, the same work as a training step of `shared/bench/ref_pytorch.py` minus the
//! degradation.
//!
//! ```text
//! cargo run --release -p cold-unet --example unet_step -- unet-paper-rgb 32 3
//! /usr/bin/time -v target/release/examples/unet_step unet-paper-rgb 32 3
//! ```
//! Arguments: a preset name of `NetConfig::presets()` (default `unet-mnist-small`), the batch
//! (default 32) and the number of steps (default 3).

use std::collections::HashMap;
use std::time::Instant;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::Gradients;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use cold_unet::NetConfig;

/// Adam with PyTorch's defaults, state kept per parameter id.
struct Adam {
    lr: f64,
    step: i32,
    state: HashMap<ParamId, (Tensor<1>, Tensor<1>)>,
}

struct AdamStep<'a> {
    adam: &'a mut Adam,
    grads: &'a mut Gradients,
}

impl ModuleMapper for AdamStep<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = tensor.grad_remove(self.grads) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let shape = tensor.shape();
        let n = shape.num_elements();
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        let w = tensor.inner().reshape([n]);
        let g = grad.reshape([n]);
        let (m, v) = self
            .adam
            .state
            .remove(&id)
            .unwrap_or_else(|| (g.zeros_like(), g.zeros_like()));
        let m = m * b1 + g.clone() * (1.0 - b1);
        let v = v * b2 + g.square() * (1.0 - b2);
        let t = self.adam.step;
        let m_hat = m.clone() / (1.0 - b1.powi(t));
        let v_hat = v.clone() / (1.0 - b2.powi(t));
        let w = w - m_hat / (v_hat.sqrt() + eps) * self.adam.lr;
        self.adam.state.insert(id, (m, v));
        let w = Tensor::from_inner(w.reshape(shape)).require_grad();
        Param::from_mapped_value(id, w, mapper)
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let preset = args.next().unwrap_or_else(|| "unet-mnist-small".into());
    let batch: usize = args
        .next()
        .map_or(32, |s| s.parse().expect("batch: an integer"));
    let steps: usize = args
        .next()
        .map_or(3, |s| s.parse().expect("steps: an integer"));
    let Some(config) = NetConfig::preset(&preset) else {
        let names: Vec<_> = NetConfig::presets().iter().map(|p| p.name).collect();
        eprintln!("unknown preset {preset:?}; presets: {}", names.join(", "));
        std::process::exit(2);
    };
    let side = 32usize;
    let c = config.in_channels();
    println!("{preset}: {config}");
    println!("parameters: {}", config.num_params());

    let device = Device::flex().autodiff();
    device.seed(0);
    let mut net = config.init(&device);
    let x = Tensor::<4>::random(
        [batch, c, side, side],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let target = Tensor::<4>::random(
        [batch, c, side, side],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let t: Vec<i64> = (0..batch as i64).map(|i| i % 20).collect();
    let t = Tensor::<1, Int>::from_data(TensorData::new(t, [batch]), &device);
    let mut adam = Adam {
        lr: 2e-5,
        step: 0,
        state: HashMap::new(),
    };

    for step in 0..steps {
        let valid = net.valid();
        let start = Instant::now();
        let y = valid.forward(x.clone().inner(), t.clone().inner());
        let _ = y.into_data();
        let fwd = start.elapsed();

        let start = Instant::now();
        let y = net.forward(x.clone(), t.clone());
        let loss = (y - target.clone()).abs().mean();
        let mut grads = loss.backward();
        let fwd_bwd = start.elapsed();
        adam.step += 1;
        net = net.map(&mut AdamStep {
            adam: &mut adam,
            grads: &mut grads,
        });
        // Force the update to run before timing ends (flex is eager; this is a cheap read).
        let _ = loss.inner().into_data();
        let total = start.elapsed();
        println!(
            "step {step}: forward {:.0} ms, forward+backward {:.0} ms, +adam {:.0} ms",
            fwd.as_secs_f64() * 1e3,
            fwd_bwd.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3
        );
    }
}
