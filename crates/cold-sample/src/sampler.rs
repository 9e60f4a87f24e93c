//! The samplers of Cold Diffusion: direct reconstruction, Algorithm 1 and Algorithm 2, with a
//! fixed or re-estimated partner for the blending operators (DDIM, η = 0).
//!
//! Levels follow the library's convention: `x_s = D(x0, s)` has had `s` steps applied, and the
//! restorer is called with the zero-based index `s − 1` (see [`Restorer`]).
//!
//! | method | update for `s = S, …, 1` | paper |
//! |---|---|---|
//! | [`Method::Direct`] | `x̂0 = R(x_S, S − 1)`, once | "Direct" columns of Tables 1–3 (§4.2 of the spec) |
//! | [`Method::Algorithm1`] | `x_{s−1} = D(x̂0, s − 1)` | Algorithm 1, naive sampling |
//! | [`Method::Algorithm2`] | `x_{s−1} = x_s − D(x̂0, s) + D(x̂0, s − 1)` | Algorithm 2, improved sampling |
//!
//! with `x̂0 = R(x_s, s − 1)` at every step. `D` is the operator's closed form (cost independent of
//! `s`) under the batch's [`Draw`], the same draw at every level, as Algorithm 2 requires.
//! Operator-specific details are the operator's job: the `--discrete` blur replaces `D(x̂0, T)`
//! by the channel-mean image (the sampler asks for level `T` at the first step from `T`, so the
//! quirk applies exactly where the original applies it).

use burn::tensor::{Bool, Tensor, TensorData};
use cold_degrade::{Degradation, Draw, ImageShape};

use crate::error::SampleError;
use crate::restorer::Restorer;

/// The sampling procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Direct reconstruction: one restorer call, `x̂0 = R(x_s, s − 1)` (the "Direct" baseline of
    /// the paper's Tables 1–3; the original's `direct_recons`).
    Direct,
    /// Algorithm 1 of the paper ("naive sampling", the original's `sampling_routine='default'`):
    /// `x_{s−1} = D(R(x_s, s − 1), s − 1)`.
    Algorithm1,
    /// Algorithm 2 of the paper ("improved sampling", the original's `'x0_step_down'`):
    /// `x_{s−1} = x_s − D(x̂0, s) + D(x̂0, s − 1)` with `x̂0 = R(x_s, s − 1)`.
    #[default]
    Algorithm2,
}

/// How a blending operator's partner `z` (`x_s = a_s·x0 + b_s·z`: animorphosis, noise,
/// inpainting generation) enters `D(x̂0, ·)` during sampling. Other operators ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartnerMode {
    /// Use the partner of the batch's [`Draw`] at every step: the original `gen_sample` with
    /// `'x0_step_down'` (hot diffusion "Fixed Noise" of Table 5; animorphosis generation).
    #[default]
    Fixed,
    /// Re-estimate it at every step from the current state, `ẑ = (x_s − a_s·x̂0) / b_s`, and
    /// degrade with `ẑ` (the original's `'ddim'` routine and the animorphosis `sample` /
    /// `all_sample`; "Estimated Noise" of Table 5). With Algorithm 2 this is deterministic DDIM
    /// (η = 0) in x0-parameterisation. Needs [`Degradation::blend`].
    Reestimated,
}

/// Which steps a sampler keeps in its [`Trajectory`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Record {
    /// No trajectory (the [`SampleOutput`] summaries are still filled).
    #[default]
    None,
    /// Every step: `S` states and predictions. Memory grows with `S × batch × image size`.
    All,
    /// The steps at these levels `s` (the state `x_s` before the update and its prediction).
    Levels(Vec<usize>),
}

impl Record {
    fn keeps(&self, s: usize) -> bool {
        match self {
            Record::None => false,
            Record::All => true,
            Record::Levels(l) => l.contains(&s),
        }
    }
}

/// One recorded step of a trajectory.
#[derive(Debug, Clone)]
pub struct Step {
    /// The level `s` of the state (the restorer was called with `s − 1`).
    pub level: usize,
    /// The state `x_s` before the update (`[N, C, H, W]`).
    pub state: Tensor<4>,
    /// The prediction `x̂0 = R(x_s, s − 1)`.
    pub prediction: Tensor<4>,
    /// The re-estimated partner `ẑ` ([`PartnerMode::Reestimated`] only).
    pub partner: Option<Tensor<4>>,
}

/// The recorded steps of one sampling run, from the highest level down, and the final image.
///
/// With per-item start levels, step `s` holds the whole batch: rows of items that start below
/// `s` show their (unchanged) input there.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// Recorded steps, in sampling order (decreasing level).
    pub steps: Vec<Step>,
    /// The final image `x_0`.
    pub last: Tensor<4>,
}

impl Trajectory {
    /// The recorded states followed by the final image, e.g. the frames of an animation
    /// ([`crate::save_trajectory_gif`]).
    pub fn states(&self) -> Vec<Tensor<4>> {
        self.steps
            .iter()
            .map(|s| s.state.clone())
            .chain([self.last.clone()])
            .collect()
    }

    /// The recorded step at level `s`, if any.
    pub fn at(&self, s: usize) -> Option<&Step> {
        self.steps.iter().find(|st| st.level == s)
    }
}

/// What a sampler returns. Every tensor is `[N, C, H, W]`; row `i` belongs to item `i`.
///
/// Besides the result it holds, for free, the three images the paper's evaluation compares
/// (spec §5.1): the direct reconstruction, the state after the first update (`x_{T−1}`, the
/// "Degraded" column of the original's inpainting and snow evaluation) and the last prediction
/// `R(x_1, 0)` (its "Sampled" column for super-resolution, inpainting and snow).
#[derive(Debug, Clone)]
pub struct SampleOutput {
    /// The result `x_0` (for [`Method::Direct`], the direct reconstruction).
    pub x0: Tensor<4>,
    /// The first prediction `R(x_s, s − 1)` at each item's start level `s` (the direct
    /// reconstruction). Items that start at level 0 keep their input.
    pub direct: Tensor<4>,
    /// The state after each item's first update, `x_{s−1}` (`x_{T−1}` when starting from `T`).
    /// Items that start at level 0 keep their input; for [`Method::Direct`] this is the direct
    /// reconstruction.
    pub first_update: Tensor<4>,
    /// The last prediction `R(x_1, 0)` (items that start at level 0 keep their input).
    pub last_prediction: Tensor<4>,
    /// The recorded steps, if a [`Record`] other than `None` was asked for.
    pub trajectory: Option<Trajectory>,
}

/// Calls the restorer and checks the shape of its answer.
fn restore_checked<R: Restorer + ?Sized>(restorer: &R, x: Tensor<4>, t: &[usize]) -> Tensor<4> {
    let dims = x.dims();
    let x0_hat = restorer.restore(x, t);
    assert_eq!(
        x0_hat.dims(),
        dims,
        "the restorer returned shape {:?} for an input of shape {dims:?}",
        x0_hat.dims()
    );
    x0_hat
}

/// A configured sampler for one degradation operator.
///
/// ```
/// # use burn::tensor::{Device, Tensor, Distribution};
/// # use cold_degrade::{DegradationConfig, Draw};
/// # use cold_sample::{Method, Oracle, Sampler};
/// let device = Device::flex();
/// let op = DegradationConfig::preset("blur-mnist").unwrap().build().unwrap();
/// let x0 = Tensor::<4>::random([2, 1, 32, 32], Distribution::Uniform(-1.0, 1.0), &device);
/// let draw = Draw::empty(2);
/// let x_t = op.degrade_at(x0.clone(), op.steps(), &draw).unwrap();
/// // With an oracle restorer, Algorithm 2 walks back to x0 exactly.
/// let out = Sampler::new(op.as_ref(), Method::Algorithm2)
///     .run(&Oracle::new(x0.clone()), x_t, &[op.steps(); 2], &draw)
///     .unwrap();
/// let err: f32 = (out.x0 - x0).abs().max().into_scalar();
/// assert!(err < 1e-4);
/// ```
#[derive(Debug, Clone)]
pub struct Sampler<'a> {
    degradation: &'a dyn Degradation,
    method: Method,
    partner: PartnerMode,
    record: Record,
}

impl<'a> Sampler<'a> {
    /// A sampler with `method`, a fixed partner and no trajectory.
    pub fn new(degradation: &'a dyn Degradation, method: Method) -> Self {
        Self {
            degradation,
            method,
            partner: PartnerMode::Fixed,
            record: Record::None,
        }
    }

    /// Sets how a blending operator's partner is treated (default [`PartnerMode::Fixed`]).
    pub fn partner(mut self, mode: PartnerMode) -> Self {
        self.partner = mode;
        self
    }

    /// Sets which steps are kept in the trajectory (default [`Record::None`]).
    pub fn record(mut self, record: Record) -> Self {
        self.record = record;
        self
    }

    /// The degradation operator.
    pub fn degradation(&self) -> &'a dyn Degradation {
        self.degradation
    }

    /// The configured method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Restores `x`, whose item `i` is degraded to level `levels[i]` (`0 ≤ levels[i] ≤ T`)
    /// under `draw`.
    ///
    /// Items may start at different levels: the loop runs `s = max(levels), …, 1` and item `i`
    /// joins it at `s = levels[i]`, so every active item is at the same level `s` and the whole
    /// batch ends together. The restorer always sees the whole batch with `t = s − 1` for every
    /// row; rows of items that have not joined yet are ignored (group items by start level to
    /// avoid that work).
    ///
    /// # Shapes
    /// - `x`: `[N, C, H, W]`; `levels`: `N` values; `draw.batch() == N`
    /// - every returned tensor: `[N, C, H, W]`
    ///
    /// # Errors
    /// A level count, level or draw that does not fit (the message names them), a
    /// [`PartnerMode::Reestimated`] sampler for an operator without blend coefficients, or a
    /// degradation error.
    pub fn run<R: Restorer + ?Sized>(
        &self,
        restorer: &R,
        x: Tensor<4>,
        levels: &[usize],
        draw: &Draw,
    ) -> Result<SampleOutput, SampleError> {
        let dims = x.dims();
        let n = dims[0];
        let op = self.degradation;
        let steps = op.steps();
        let input_err = |problem: String| {
            Err(SampleError::Input {
                what: "sampler input".into(),
                problem,
            })
        };
        if levels.len() != n {
            return input_err(format!(
                "{} start levels for a batch of {n} images",
                levels.len()
            ));
        }
        if let Some((i, l)) = levels.iter().enumerate().find(|(_, l)| **l > steps) {
            return input_err(format!(
                "start level {l} of item {i} is above T = {steps} of operator `{}`",
                op.name()
            ));
        }
        if draw.batch() != n {
            return input_err(format!(
                "the draw holds {} images, the batch {n}",
                draw.batch()
            ));
        }
        let shape = ImageShape::of_dims(dims);
        let device = x.device();
        let reestimate = self.partner == PartnerMode::Reestimated;
        if reestimate && op.blend(&vec![steps; n], shape, &device)?.is_none() {
            return input_err(format!(
                "operator `{}` does not blend with a partner, so there is nothing to re-estimate: use PartnerMode::Fixed",
                op.name()
            ));
        }

        let top = levels.iter().copied().max().unwrap_or(0);
        let uniform = levels.iter().all(|l| *l == top);
        // Boolean row masks `[N, C, H, W]` (only built when start levels differ).
        let rows = |pred: &dyn Fn(usize) -> bool| -> Tensor<4, Bool> {
            let v: Vec<bool> = levels
                .iter()
                .flat_map(|&l| std::iter::repeat_n(pred(l), dims[1..].iter().product()))
                .collect();
            Tensor::from_data(TensorData::new(v, dims), &device)
        };

        if self.method == Method::Direct {
            return Ok(self.direct(restorer, x, levels, rows));
        }

        let mut direct = x.clone();
        let mut first_update = x.clone();
        let mut last_prediction = x.clone();
        let mut recorded = Vec::new();
        let mut x = x;

        for s in (1..=top).rev() {
            let x0_hat = restore_checked(restorer, x.clone(), &vec![s - 1; n]);
            let partner = if reestimate {
                let blend = op
                    .blend(&vec![s; n], shape, &device)?
                    .expect("checked above: the operator blends");
                Some(blend.estimate_partner(x.clone(), x0_hat.clone()))
            } else {
                None
            };
            let partner_draw = partner.clone().map(Draw::partner);
            let d = partner_draw.as_ref().unwrap_or(draw);

            let next = if self.method == Method::Algorithm1 {
                op.degrade(x0_hat.clone(), &vec![s - 1; n], d)?
            } else {
                let at_s = op.degrade(x0_hat.clone(), &vec![s; n], d)?;
                let at_s1 = op.degrade(x0_hat.clone(), &vec![s - 1; n], d)?;
                x.clone() - at_s + at_s1
            };

            if self.record.keeps(s) {
                recorded.push(Step {
                    level: s,
                    state: x.clone(),
                    prediction: x0_hat.clone(),
                    partner,
                });
            }
            if uniform {
                if s == top {
                    direct = x0_hat.clone();
                    first_update = next.clone();
                }
                last_prediction = x0_hat;
                x = next;
            } else {
                let joining = rows(&|l| l == s);
                let waiting = rows(&|l| l < s);
                direct = direct.mask_where(joining.clone(), x0_hat.clone());
                first_update = first_update.mask_where(joining, next.clone());
                last_prediction = last_prediction.mask_where(waiting.clone().bool_not(), x0_hat);
                x = next.mask_where(waiting, x);
            }
        }
        let trajectory = (self.record != Record::None).then(|| Trajectory {
            steps: recorded,
            last: x.clone(),
        });
        Ok(SampleOutput {
            x0: x,
            direct,
            first_update,
            last_prediction,
            trajectory,
        })
    }

    /// [`Method::Direct`]: one restorer call with each item's own index `levels[i] − 1`.
    fn direct<R: Restorer + ?Sized>(
        &self,
        restorer: &R,
        x: Tensor<4>,
        levels: &[usize],
        rows: impl Fn(&dyn Fn(usize) -> bool) -> Tensor<4, Bool>,
    ) -> SampleOutput {
        let t: Vec<usize> = levels.iter().map(|l| l.saturating_sub(1)).collect();
        let mut x0_hat = restore_checked(restorer, x.clone(), &t);
        if levels.contains(&0) {
            // Nothing to restore at level 0: those items keep their input.
            x0_hat = x0_hat.mask_where(rows(&|l| l == 0), x.clone());
        }
        let top = levels.iter().copied().max().unwrap_or(0);
        let trajectory = (self.record != Record::None).then(|| Trajectory {
            steps: if self.record.keeps(top) {
                vec![Step {
                    level: top,
                    state: x,
                    prediction: x0_hat.clone(),
                    partner: None,
                }]
            } else {
                Vec::new()
            },
            last: x0_hat.clone(),
        });
        SampleOutput {
            x0: x0_hat.clone(),
            direct: x0_hat.clone(),
            first_update: x0_hat.clone(),
            last_prediction: x0_hat,
            trajectory,
        }
    }

    /// Generates from a fully degraded start: runs [`Sampler::run`] from level `T` for every
    /// item of `start` (e.g. a sample of a generation prior).
    ///
    /// # Errors
    /// As [`Sampler::run`].
    pub fn generate<R: Restorer + ?Sized>(
        &self,
        restorer: &R,
        start: crate::prior::GenerationStart,
    ) -> Result<SampleOutput, SampleError> {
        let n = start.x.dims()[0];
        self.run(
            restorer,
            start.x,
            &vec![self.degradation.steps(); n],
            &start.draw,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use burn::tensor::Device;
    use cold_degrade::DegradeError;
    use rand::Rng;

    use super::*;
    use crate::Oracle;

    /// A toy operator `D(x, s) = x + s·e` (the paper's first-order model of a degradation), that
    /// logs the levels it is asked for.
    #[derive(Debug)]
    struct Shift {
        steps: usize,
        e: f32,
        calls: Mutex<Vec<Vec<usize>>>,
    }

    impl Shift {
        fn new(steps: usize, e: f32) -> Self {
            Self {
                steps,
                e,
                calls: Mutex::new(Vec::new()),
            }
        }
    }

    impl Degradation for Shift {
        fn name(&self) -> &'static str {
            "shift"
        }
        fn steps(&self) -> usize {
            self.steps
        }
        fn draw(
            &self,
            batch: usize,
            _: ImageShape,
            _: &Device,
            _: &mut dyn Rng,
        ) -> Result<Draw, DegradeError> {
            Ok(Draw::empty(batch))
        }
        fn degrade(
            &self,
            x0: Tensor<4>,
            levels: &[usize],
            _: &Draw,
        ) -> Result<Tensor<4>, DegradeError> {
            self.calls.lock().unwrap().push(levels.to_vec());
            let dims = x0.dims();
            let per: usize = dims[1..].iter().product();
            let shift: Vec<f32> = levels
                .iter()
                .flat_map(|&l| std::iter::repeat_n(l as f32 * self.e, per))
                .collect();
            Ok(x0.clone() + Tensor::from_data(TensorData::new(shift, dims), &x0.device()))
        }
    }

    fn host(x: &Tensor<4>) -> Vec<f32> {
        x.to_data().try_into_vec::<f32>().unwrap()
    }

    fn batch(values: &[f32]) -> Tensor<4> {
        // One 1×1×2 image per value pair.
        Tensor::from_data(
            TensorData::new(values.to_vec(), [values.len() / 2, 1, 1, 2]),
            &Device::flex(),
        )
    }

    fn max_diff(a: &Tensor<4>, b: &Tensor<4>) -> f32 {
        host(a)
            .iter()
            .zip(host(b))
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn algorithm2_is_exact_under_the_first_order_model_whatever_the_restorer() {
        // Paper §3.3: if D(x, s) = x + s·e, Algorithm 2 returns D(x0, s−1) at every step even with
        // a wrong restorer, while Algorithm 1 returns the restorer's error.
        let op = Shift::new(10, 0.25);
        let x0 = batch(&[0.1, -0.3, 0.5, 0.2]);
        let x_t = op.degrade(x0.clone(), &[10, 10], &Draw::empty(2)).unwrap();
        let wrong = |x: Tensor<4>, _: &[usize]| x * 0.5 - 0.1;
        let alg2 = Sampler::new(&op, Method::Algorithm2)
            .record(Record::All)
            .run(&wrong, x_t.clone(), &[10, 10], &Draw::empty(2))
            .unwrap();
        assert!(max_diff(&alg2.x0, &x0) < 1e-5);
        for step in &alg2.trajectory.as_ref().unwrap().steps {
            let expected = op
                .degrade(x0.clone(), &[step.level; 2], &Draw::empty(2))
                .unwrap();
            assert!(
                max_diff(&step.state, &expected) < 1e-5,
                "state at level {}",
                step.level
            );
        }
        let alg1 = Sampler::new(&op, Method::Algorithm1)
            .run(&wrong, x_t, &[10, 10], &Draw::empty(2))
            .unwrap();
        assert!(
            max_diff(&alg1.x0, &x0) > 0.1,
            "Algorithm 1 cannot undo a wrong restorer"
        );
    }

    #[test]
    fn each_step_degrades_twice_for_algorithm2_and_once_for_algorithm1() {
        let x = batch(&[0.0, 0.0]);
        for (method, per_step) in [
            (Method::Algorithm2, 2),
            (Method::Algorithm1, 1),
            (Method::Direct, 0),
        ] {
            let op = Shift::new(6, 0.1);
            let seen = Mutex::new(Vec::new());
            let r = |x: Tensor<4>, t: &[usize]| {
                seen.lock().unwrap().push(t.to_vec());
                x
            };
            Sampler::new(&op, method)
                .run(&r, x.clone(), &[6], &Draw::empty(1))
                .unwrap();
            let calls = op.calls.lock().unwrap().clone();
            assert_eq!(calls.len(), 6 * per_step, "{method:?}");
            let seen = seen.into_inner().unwrap();
            if method == Method::Direct {
                assert_eq!(seen, vec![vec![5]]);
            } else {
                // The restorer sees t = s − 1 for s = 6..1; D is asked for s and s − 1.
                assert_eq!(seen, (0..6).rev().map(|t| vec![t]).collect::<Vec<_>>());
                let expected: Vec<Vec<usize>> = (1..=6)
                    .rev()
                    .flat_map(|s| {
                        if per_step == 2 {
                            vec![vec![s], vec![s - 1]]
                        } else {
                            vec![vec![s - 1]]
                        }
                    })
                    .collect();
                assert_eq!(calls, expected);
            }
        }
    }

    #[test]
    fn per_item_start_levels_match_separate_runs() {
        let op = Shift::new(8, 0.2);
        let x = batch(&[0.3, -0.2, 0.7, 0.1, -0.5, 0.9]);
        let levels = [8, 3, 0];
        // A restorer that depends on the value and on each row's t.
        let r = |x: Tensor<4>, t: &[usize]| {
            let dims = x.dims();
            let per: usize = dims[1..].iter().product();
            let tv: Vec<f32> = t
                .iter()
                .flat_map(|&t| std::iter::repeat_n(t as f32 * 0.01, per))
                .collect();
            x.clone() * 0.9 + Tensor::from_data(TensorData::new(tv, dims), &x.device())
        };
        for method in [Method::Algorithm1, Method::Algorithm2, Method::Direct] {
            let mixed = Sampler::new(&op, method)
                .record(Record::All)
                .run(&r, x.clone(), &levels, &Draw::empty(3))
                .unwrap();
            let rows = |t: &Tensor<4>, i: usize| t.clone().narrow(0, i, 1);
            for (i, &l) in levels.iter().enumerate() {
                let alone = Sampler::new(&op, method)
                    .run(&r, rows(&x, i), &[l], &Draw::empty(1))
                    .unwrap();
                for (name, a, b) in [
                    ("x0", &mixed.x0, &alone.x0),
                    ("direct", &mixed.direct, &alone.direct),
                    ("first_update", &mixed.first_update, &alone.first_update),
                    (
                        "last_prediction",
                        &mixed.last_prediction,
                        &alone.last_prediction,
                    ),
                ] {
                    assert!(
                        max_diff(&rows(a, i), b) < 1e-6,
                        "{method:?} item {i} (level {l}) {name}"
                    );
                }
            }
            // Level 0 is returned untouched.
            assert_eq!(host(&rows(&mixed.x0, 2)), host(&rows(&x, 2)));
        }
    }

    #[test]
    fn summaries_are_the_first_update_and_the_last_prediction() {
        let op = Shift::new(5, 0.3);
        let x = batch(&[0.2, 0.4]);
        let r = |x: Tensor<4>, t: &[usize]| x * 0.5 + t[0] as f32;
        let out = Sampler::new(&op, Method::Algorithm2)
            .record(Record::All)
            .run(&r, x.clone(), &[5], &Draw::empty(1))
            .unwrap();
        let traj = out.trajectory.unwrap();
        assert_eq!(
            traj.steps.iter().map(|s| s.level).collect::<Vec<_>>(),
            vec![5, 4, 3, 2, 1]
        );
        assert_eq!(host(&traj.steps[0].state), host(&x));
        assert_eq!(host(&out.direct), host(&traj.steps[0].prediction));
        assert_eq!(host(&out.first_update), host(&traj.steps[1].state));
        assert_eq!(host(&out.last_prediction), host(&traj.steps[4].prediction));
        assert_eq!(host(&traj.last), host(&out.x0));
        assert_eq!(traj.states().len(), 6);
        let direct = Sampler::new(&op, Method::Direct)
            .run(&r, x, &[5], &Draw::empty(1))
            .unwrap();
        assert_eq!(host(&direct.x0), host(&out.direct));
    }

    #[test]
    fn record_levels_keeps_only_those_steps() {
        let op = Shift::new(5, 0.3);
        let x = batch(&[0.2, 0.4]);
        let out = Sampler::new(&op, Method::Algorithm1)
            .record(Record::Levels(vec![5, 1]))
            .run(&Oracle::new(x.clone()), x.clone(), &[5], &Draw::empty(1))
            .unwrap();
        let traj = out.trajectory.unwrap();
        assert_eq!(
            traj.steps.iter().map(|s| s.level).collect::<Vec<_>>(),
            vec![5, 1]
        );
        assert!(traj.at(3).is_none() && traj.at(1).is_some());
        let none = Sampler::new(&op, Method::Algorithm1)
            .run(&Oracle::new(x.clone()), x, &[5], &Draw::empty(1))
            .unwrap();
        assert!(none.trajectory.is_none());
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_value() {
        let op = Shift::new(4, 0.3);
        let x = batch(&[0.2, 0.4, 0.1, 0.0]);
        let id = |x: Tensor<4>, _: &[usize]| x;
        let s = Sampler::new(&op, Method::Algorithm2);
        let e = s.run(&id, x.clone(), &[4], &Draw::empty(2)).unwrap_err();
        assert!(
            e.to_string().contains("1 start levels for a batch of 2"),
            "{e}"
        );
        let e = s.run(&id, x.clone(), &[4, 5], &Draw::empty(2)).unwrap_err();
        assert!(
            e.to_string()
                .contains("start level 5 of item 1 is above T = 4"),
            "{e}"
        );
        let e = s.run(&id, x.clone(), &[4, 4], &Draw::empty(3)).unwrap_err();
        assert!(e.to_string().contains("the draw holds 3 images"), "{e}");
        let e = s
            .partner(PartnerMode::Reestimated)
            .run(&id, x, &[4, 4], &Draw::empty(2))
            .unwrap_err();
        assert!(e.to_string().contains("nothing to re-estimate"), "{e}");
    }

    #[test]
    #[should_panic(expected = "the restorer returned shape")]
    fn a_restorer_that_changes_the_shape_is_reported() {
        let op = Shift::new(2, 0.3);
        let x = batch(&[0.2, 0.4]);
        let bad = |x: Tensor<4>, _: &[usize]| Tensor::cat(vec![x.clone(), x], 0);
        let _ = Sampler::new(&op, Method::Algorithm2).run(&bad, x, &[2], &Draw::empty(1));
    }
}
