//! The exponential moving average of the weights, exactly as the original trainers keep it.
//!
//! The original (`Trainer.step_ema` in every sub-project) does, after the optimiser update whose
//! zero-based index is `i` (`self.step` before its increment):
//!
//! ```text
//! if i % update_every == 0:
//!     if i < step_start_ema: ema ← live                       (reset_parameters)
//!     else:                  ema ← ema·β + (1 − β)·live       (update_model_average)
//! ```
//!
//! with β = 0.995, `update_every` = 10, `step_start_ema` = 2000, over `parameters()` only (the
//! networks have no buffers). Burn has no EMA, so [`ema_average`] implements the average with a
//! [`ModuleVisitor`] that reads the live parameters and a [`ModuleMapper`] that rewrites the
//! EMA's, on the non-autodiff side. [`Ema::after_update`] applies the schedule with this
//! crate's step count `k = i + 1` (number of updates done).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;
use cold_unet::RestorationNet;

use crate::config::EmaConfig;

/// What [`Ema::after_update`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmaAction {
    /// Not an EMA step (`(k − 1) % update_every ≠ 0`).
    Skipped,
    /// The EMA was reset to a copy of the live weights (`k − 1 < start_step`).
    Reset,
    /// The EMA was averaged: `ema·β + (1 − β)·live`.
    Averaged,
}

/// The EMA network (on the plain, non-autodiff device, in evaluation mode) and its schedule.
#[derive(Debug, Clone)]
pub struct Ema {
    config: EmaConfig,
    net: RestorationNet,
}

impl Ema {
    /// An EMA that starts as a copy of `live` (the original deep-copies the model at
    /// construction).
    pub fn new(config: EmaConfig, live: &RestorationNet) -> Self {
        Self {
            config,
            net: live.valid(),
        }
    }

    /// An EMA with the given averaged network (e.g. loaded from a checkpoint).
    pub fn from_net(config: EmaConfig, net: RestorationNet) -> Self {
        Self {
            config,
            net: net.valid(),
        }
    }

    /// The schedule.
    pub fn config(&self) -> &EmaConfig {
        &self.config
    }

    /// The averaged network, for sampling and evaluation.
    pub fn net(&self) -> &RestorationNet {
        &self.net
    }

    /// The averaged network, by value.
    pub fn into_net(self) -> RestorationNet {
        self.net
    }

    /// What the schedule does after update number `completed` (1-based: `completed` updates have
    /// been applied to the live weights).
    pub fn action_after(&self, completed: u64) -> EmaAction {
        let i = completed.saturating_sub(1);
        if !i.is_multiple_of(self.config.update_every) {
            EmaAction::Skipped
        } else if i < self.config.start_step {
            EmaAction::Reset
        } else {
            EmaAction::Averaged
        }
    }

    /// Apply the schedule after update number `completed` with the live weights `live`.
    pub fn after_update(&mut self, completed: u64, live: &RestorationNet) -> EmaAction {
        let action = self.action_after(completed);
        match action {
            EmaAction::Skipped => {}
            EmaAction::Reset => self.net = live.valid(),
            EmaAction::Averaged => {
                let net = self.net.clone();
                self.net = ema_average(net, live, self.config.decay);
            }
        }
        action
    }
}

/// `ema·β + (1 − β)·live` for every float parameter, in float32 as the original
/// (`old * beta + (1 - beta) * new`: β and 1 − β are computed in double precision, then each
/// product and the sum are rounded to float32). Returns the updated `ema`, on its own device.
///
/// `ema` and `live` must have the same structure (the same configuration); `live` may be on an
/// autodiff device, the values are read without it.
///
/// # Panics
/// If the two modules differ in structure or shapes (a programming error).
pub fn ema_average<M: Module>(ema: M, live: &M, decay: f64) -> M {
    let mut collect = Collect::default();
    live.visit(&mut collect);
    let mut mapper = Average {
        path: Vec::new(),
        live: collect.params.into_iter(),
        decay,
        one_minus: 1.0 - decay,
    };
    let out = ema.map(&mut mapper);
    assert!(
        mapper.live.next().is_none(),
        "EMA: the live module has more parameters than the EMA module"
    );
    out
}

/// A float parameter read flat: its path, values (rank 1, non-autodiff) and shape.
type FlatParam = (String, Tensor<1>, Vec<usize>);

#[derive(Default)]
struct Collect {
    path: Vec<String>,
    params: Vec<FlatParam>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().inner();
        let dims = t.dims().to_vec();
        let n: usize = dims.iter().product();
        self.params
            .push((self.path.join("."), t.reshape([n]), dims));
    }
}

struct Average {
    path: Vec<String>,
    live: std::vec::IntoIter<FlatParam>,
    decay: f64,
    one_minus: f64,
}

impl ModuleMapper for Average {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        let (live_path, live, dims) = self
            .live
            .next()
            .unwrap_or_else(|| panic!("EMA: the live module has no parameter for `{path}`"));
        assert_eq!(live_path, path, "EMA: the modules differ in structure");
        let (decay, one_minus) = (self.decay, self.one_minus);
        param.map(|ema| {
            assert_eq!(ema.dims().to_vec(), dims, "EMA: `{path}` differs in shape");
            let device = ema.device();
            let live: Tensor<D> = live
                .reshape::<D, _>(to_array::<D>(&dims))
                .to_device(&device);
            ema.mul_scalar(decay) + live.mul_scalar(one_minus)
        })
    }
}

fn to_array<const D: usize>(dims: &[usize]) -> [usize; D] {
    let mut a = [0; D];
    a.copy_from_slice(dims);
    a
}

/// Every float parameter of `module` with its full path (`field.sub_field.index.weight`, as the
/// module tree names it) and its id, in visiting order.
pub(crate) fn param_paths<M: Module>(module: &M) -> Vec<(String, ParamId)> {
    #[derive(Default)]
    struct Paths {
        path: Vec<String>,
        out: Vec<(String, ParamId)>,
    }
    impl ModuleVisitor for Paths {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.out.push((self.path.join("."), param.id));
        }
    }
    let mut v = Paths::default();
    module.visit(&mut v);
    v.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use cold_unet::{NetConfig, UnetConfig};

    fn values(net: &RestorationNet) -> Vec<Vec<f32>> {
        let mut c = Collect::default();
        net.visit(&mut c);
        c.params
            .into_iter()
            .map(|(_, t, _)| t.into_data().try_into_vec::<f32>().unwrap())
            .collect()
    }

    /// Replace every parameter value by a constant.
    fn fill(net: RestorationNet, v: f32) -> RestorationNet {
        struct Fill(f32);
        impl ModuleMapper for Fill {
            fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let v = self.0;
                p.map(|t| t.zeros_like().add_scalar(v))
            }
        }
        net.map(&mut Fill(v))
    }

    #[test]
    fn schedule_matches_the_original_step_ema() {
        let device = Device::flex();
        let live = NetConfig::Unet(UnetConfig::tiny(1)).init(&device);
        let ema = Ema::new(
            EmaConfig {
                decay: 0.995,
                update_every: 10,
                start_step: 2000,
            },
            &live,
        );
        // The original calls step_ema when self.step (= k − 1) % 10 == 0, resetting while
        // self.step < 2000.
        let mut expected = Vec::new();
        for step in 0u64..2100 {
            let a = if step % 10 != 0 {
                EmaAction::Skipped
            } else if step < 2000 {
                EmaAction::Reset
            } else {
                EmaAction::Averaged
            };
            expected.push(a);
        }
        let got: Vec<EmaAction> = (1..=2100).map(|k| ema.action_after(k)).collect();
        assert_eq!(got, expected);
        assert_eq!(ema.action_after(1), EmaAction::Reset);
        assert_eq!(ema.action_after(2001), EmaAction::Averaged);
        assert_eq!(ema.action_after(1991), EmaAction::Reset);
        assert_eq!(ema.action_after(2011), EmaAction::Averaged);
    }

    #[test]
    fn average_matches_a_hand_computed_float32_sequence() {
        let device = Device::flex();
        let config = NetConfig::Unet(UnetConfig::tiny(1));
        let mut ema = Ema::new(
            EmaConfig {
                decay: 0.995,
                update_every: 1,
                start_step: 2,
            },
            &fill(config.init(&device), 0.0),
        );
        // Live weights 1, 2, 3, 4, 5 after updates 1..=5: updates 1 and 2 reset (index < 2),
        // then three averages.
        let mut reference = 0.0f32;
        let beta = 0.995f64 as f32;
        let one_minus = (1.0 - 0.995f64) as f32;
        for k in 1..=5u64 {
            let live_value = k as f32;
            let live = fill(config.init(&device), live_value);
            let action = ema.after_update(k, &live);
            reference = if k <= 2 {
                live_value
            } else {
                reference * beta + one_minus * live_value
            };
            assert_eq!(
                action,
                if k <= 2 {
                    EmaAction::Reset
                } else {
                    EmaAction::Averaged
                }
            );
            for v in values(ema.net()) {
                assert!(
                    v.iter().all(|x| x.to_bits() == reference.to_bits()),
                    "k {k}: {} != {reference}",
                    v[0]
                );
            }
        }
        // 2 → 2·0.995 + 0.005·3 = 2.005 → ·0.995 + 0.02 = 2.014975 → ·0.995 + 0.025 = 2.029900125
        assert!(
            (f64::from(reference) - 2.029_900_125).abs() < 1e-6,
            "{reference}"
        );
    }

    #[test]
    fn average_reads_live_weights_from_an_autodiff_device() {
        let device = Device::flex();
        let config = NetConfig::Unet(UnetConfig::tiny(1));
        let ema = fill(config.init(&device), 1.0);
        let live = fill(config.init(&device.clone().autodiff()), 3.0);
        let out = ema_average(ema, &live, 0.5);
        for v in values(&out) {
            assert!(v.iter().all(|x| *x == 2.0));
        }
        let p = param_paths(&out);
        assert_eq!(p.len(), values(&out).len());
        assert!(
            p.iter().all(|(path, _)| path.starts_with("Unet.")),
            "{:?}",
            &p[..2]
        );
    }
}
