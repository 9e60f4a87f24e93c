//! [`Trainer`]: the explicit training loop of the paper's recipe.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use cold_data::{BatchStream, HostBatch, ImageSet, uniform_below};
use cold_degrade::{Degradation, Draw, ImageShape, PartnerKind};
use cold_sample::{Method, Sampler, labelled_grid, save_png};
use cold_unet::RestorationNet;
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::atomic::write_atomic;
use crate::backend_rng_lock;
use crate::checkpoint::{self, Checkpoint, CheckpointInfo, RngState, TrainState};
use crate::config::{Loss, TrainConfig};
use crate::data::{grid_loader, load_dataset, train_loader};
use crate::ema::{Ema, EmaAction};
use crate::error::{Result, TrainError};
use crate::progress::{RunLog, progress_bar};

/// Files of a run below its `output_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPaths {
    /// The output directory.
    pub root: PathBuf,
}

impl RunPaths {
    /// The paths of a run in `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// `config.json`: the run's configuration, written when a run starts.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }
    /// `train.jsonl`: one JSON object per log line.
    pub fn log(&self) -> PathBuf {
        self.root.join("train.jsonl")
    }
    /// `checkpoints/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }
    /// `checkpoints/latest.safetensors`, overwritten every `checkpoint.every` steps.
    pub fn latest(&self) -> PathBuf {
        self.checkpoints().join("latest.safetensors")
    }
    /// `checkpoints/step-<N>.safetensors`, kept every `checkpoint.keep_every` steps.
    pub fn kept(&self, step: u64) -> PathBuf {
        self.checkpoints()
            .join(format!("step-{step:08}.safetensors"))
    }
    /// `samples/`.
    pub fn samples(&self) -> PathBuf {
        self.root.join("samples")
    }
    /// `samples/step-<N>.png`.
    pub fn sample_grid(&self, step: u64) -> PathBuf {
        self.samples().join(format!("step-{step:08}.png"))
    }
}

/// What one call of [`Trainer::step`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// Optimiser updates done, this one included.
    pub step: u64,
    /// Mean loss of the update's micro-batches.
    pub loss: f32,
    /// Learning rate of the update.
    pub lr: f64,
    /// What the EMA schedule did.
    pub ema: EmaAction,
    /// The checkpoint written after this update, if the cadence asked for one.
    pub checkpoint: Option<PathBuf>,
    /// The sample grid written after this update, if the cadence asked for one.
    pub samples: Option<PathBuf>,
}

/// Adam as the configuration asks (PyTorch's update, see `docs/decisions/`).
pub(crate) fn adam(config: &TrainConfig) -> ModuleOptimizer {
    let o = &config.optimizer;
    AdamConfig::new()
        .with_beta_1(o.beta1 as f32)
        .with_beta_2(o.beta2 as f32)
        .with_epsilon(o.eps as f32)
        .init()
}

/// The seed of the backend RNG (dropout) for one device shard of one micro-batch: a pure
/// function of the run seed and the position, so a resumed run draws the same masks.
fn backend_seed(seed: u64, step: u64, micro: usize, shard: usize) -> u64 {
    let mut z = seed
        ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (micro as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
        ^ (shard as u64).wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
    // splitmix64 finaliser.
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Split `n` items into `parts` contiguous ranges whose sizes differ by at most one.
fn shards(n: usize, parts: usize) -> Vec<Range<usize>> {
    let (q, r) = (n / parts, n % parts);
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = q + usize::from(i < r);
            let range = start..start + len;
            start += len;
            range
        })
        .collect()
}

/// The images `range` of a host batch as a tensor on `device`.
fn upload(batch: &HostBatch, range: Range<usize>, device: &Device) -> Tensor<4> {
    let [_, c, h, w] = batch.shape;
    let per = c * h * w;
    let data = batch.images[range.start * per..range.end * per].to_vec();
    Tensor::from_data(TensorData::new(data, [range.len(), c, h, w]), device)
}

fn time_indices(levels: &[usize], device: &Device) -> Tensor<1, Int> {
    let t: Vec<i64> = levels.iter().map(|&s| s as i64 - 1).collect();
    Tensor::from_data(TensorData::new(t, [levels.len()]), device)
}

/// Scale the gradients so that their global L2 norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`: coefficient `max_norm / (norm + 1e-6)`, applied when below 1). Returns
/// the norm before clipping.
pub(crate) fn clip_global_norm<M: Module>(
    grads: &mut GradientsParams,
    module: &M,
    max_norm: f64,
) -> f64 {
    struct SumSquares<'a> {
        grads: &'a GradientsParams,
        total: f64,
    }
    impl ModuleVisitor for SumSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                let s: f32 = g.square().sum().into_scalar::<f32>();
                self.total += s as f64;
            }
        }
    }
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        coef: f64,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                self.grads.register::<D>(param.id, g.mul_scalar(self.coef));
            }
        }
    }
    let mut sum = SumSquares { grads, total: 0.0 };
    module.visit(&mut sum);
    let norm = sum.total.sqrt();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        module.visit(&mut Scale { grads, coef });
    }
    norm
}

/// The fixed inputs of the sample grids: the same images and draws at every grid.
struct GridInputs {
    x0: Tensor<4>,
    degraded: Tensor<4>,
    draw: Draw,
}

/// The training loop: the paper's recipe on any Burn device (or several devices of one
/// backend), with EMA, gradient accumulation, atomic checkpoints and exact resume.
///
/// Per optimiser update, for each of `grad_accumulation` micro-batches of `batch_size` images:
/// draw a level `s ~ U{1..T}` per image and the operator's random draw on the host from the
/// run's ChaCha8 stream, `x_s = training_input(x0, s, draw)`, `x̂0 = R(x_s, s − 1)`, L1 (or L2)
/// loss, back-propagate `loss / grad_accumulation`; then Adam on the summed gradients
/// (optionally clipped), the EMA schedule, the JSONL log, checkpoints and sample grids on their
/// cadence.
///
/// ```no_run
/// use burn::tensor::Device;
/// use cold_train::{TrainConfig, Trainer};
///
/// let mut config = TrainConfig::preset("mnist-deblur-small")?;
/// config.output_dir = "runs/demo".into();
/// let mut trainer = Trainer::new(config, &[Device::flex()])?;
/// trainer.train()?; // until config.steps; checkpoints in runs/demo/checkpoints/
/// // Later, or after a crash:
/// let mut trainer = Trainer::resume("runs/demo", &[Device::flex()])?;
/// # Ok::<(), cold_train::TrainError>(())
/// ```
///
/// # Multi-device
/// With several devices (of one backend), each micro-batch is split into contiguous shards,
/// one per device; device `d` runs forward and backward on its shard with a replica of the
/// network (`Module::fork`), its loss weighted by its share of the micro-batch; the gradients
/// are moved to the first device (`GradientsParams::to_device`) and summed with Burn's
/// `GradientsAccumulator`, and Adam updates the single copy of the weights there. See
/// `docs/training.md`.
pub struct Trainer {
    config: TrainConfig,
    paths: RunPaths,
    devices: Vec<Device>,
    plain: Device,
    op: Box<dyn Degradation>,
    model: Option<RestorationNet>,
    ema: Ema,
    optim: ModuleOptimizer,
    rng: ChaCha8Rng,
    dataset: Arc<ImageSet>,
    data: BatchStream<ImageSet>,
    partner_set: Option<Arc<ImageSet>>,
    partner: Option<BatchStream<ImageSet>>,
    grid: Option<GridInputs>,
    step: u64,
    elapsed_before: f64,
    started: Instant,
    last_loss: Option<f32>,
    last_lr: f64,
    last_checkpoint: Option<PathBuf>,
    log: RunLog,
    bar: ProgressBar,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("step", &self.step)
            .field("steps", &self.config.steps)
            .field("output_dir", &self.paths.root)
            .field("devices", &self.devices.len())
            .finish_non_exhaustive()
    }
}

/// The partner stream's loader seed: a fixed function of the run seed, so its order differs
/// from the training images'.
fn partner_seed(seed: u64) -> u64 {
    seed ^ 0x5041_5254_4e45_5221
}

/// The run's host RNG (levels and operator draws) for `seed`.
fn run_rng(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    rng
}

impl Trainer {
    /// Start a new run of `config` on `devices` (the first one holds the weights; pass
    /// `Device::flex()` for the CPU, or several devices of one backend for data parallelism).
    ///
    /// Creates `output_dir` and writes `config.json` there.
    ///
    /// # Errors
    /// An invalid configuration, no device, unreadable data, or an `output_dir` that already
    /// holds a checkpoint (resume it with [`Trainer::resume`] instead).
    pub fn new(config: TrainConfig, devices: &[Device]) -> Result<Self> {
        config.validate()?;
        let devices = Self::check_devices(devices)?;
        let paths = RunPaths::new(&config.output_dir);
        if paths.latest().exists() {
            let step = CheckpointInfo::read(paths.latest())
                .map(|i| i.state.step.to_string())
                .unwrap_or_else(|_| "?".into());
            return Err(TrainError::config(
                "output_dir",
                paths.root.display(),
                format!(
                    "already holds a checkpoint (step {step}); resume it (Trainer::resume, `cold train --resume`) or choose another output_dir"
                ),
            ));
        }
        std::fs::create_dir_all(&paths.root).map_err(|e| TrainError::io(&paths.root, e))?;
        write_atomic(&paths.config(), config.to_json().as_bytes())?;

        let model = config.network.init_seeded(&devices[0], config.seed);
        let ema = Ema::new(config.ema.clone(), &model);
        let optim = adam(&config);
        let rng = run_rng(config.seed);
        Self::assemble(config, paths, devices, model, ema, optim, rng, None, 0, 0.0)
    }

    /// Continue the run of a checkpoint: `path` is a checkpoint file or a run's `output_dir`
    /// (its `checkpoints/latest.safetensors`). Everything comes from the checkpoint: the
    /// configuration, weights, EMA, Adam moments, step, RNG and data positions; on CPU the
    /// continued run is bit-identical to an uninterrupted one (with the same device count).
    ///
    /// # Errors
    /// An unreadable or invalid checkpoint (the message names the file), or unreadable data.
    pub fn resume(path: impl AsRef<Path>, devices: &[Device]) -> Result<Self> {
        Self::resume_with(path, devices, |_| {})
    }

    /// [`resume`](Self::resume), letting `adjust` change the configuration first: the number
    /// of steps, cadences, learning rate, loss, EMA or output directory may change; the fields
    /// that shape the state (`data`, `degradation`, `network`, `batch_size`,
    /// `grad_accumulation`, `seed`) may not.
    ///
    /// # Errors
    /// As [`resume`](Self::resume), or a configuration error naming a changed field.
    pub fn resume_with(
        path: impl AsRef<Path>,
        devices: &[Device],
        adjust: impl FnOnce(&mut TrainConfig),
    ) -> Result<Self> {
        let mut path = path.as_ref().to_path_buf();
        if path.is_dir() {
            path = RunPaths::new(&path).latest();
        }
        let devices = Self::check_devices(devices)?;
        let ckpt = Checkpoint::load(&path, &devices[0])?;
        let mut config = ckpt.config.clone();
        adjust(&mut config);
        config.validate()?;
        let old = &ckpt.config;
        let fixed: [(&str, bool); 6] = [
            ("data", config.data == old.data),
            ("degradation", config.degradation == old.degradation),
            ("network", config.network == old.network),
            ("batch_size", config.batch_size == old.batch_size),
            (
                "grad_accumulation",
                config.grad_accumulation == old.grad_accumulation,
            ),
            ("seed", config.seed == old.seed),
        ];
        if let Some((field, _)) = fixed.iter().find(|(_, same)| !same) {
            return Err(TrainError::config(
                *field,
                "(changed)",
                format!(
                    "cannot change when resuming {}: it shapes the saved state",
                    path.display()
                ),
            ));
        }
        if ckpt.state.devices != devices.len() {
            eprintln!(
                "warning: {} was trained on {} device(s), resuming on {}: the run continues, but the \
                 random stream is split differently, so it is not bit-identical to an uninterrupted run",
                path.display(),
                ckpt.state.devices,
                devices.len()
            );
        }
        let paths = RunPaths::new(&config.output_dir);
        std::fs::create_dir_all(&paths.root).map_err(|e| TrainError::io(&paths.root, e))?;
        let rng = ckpt
            .state
            .rng
            .restore()
            .map_err(|e| TrainError::checkpoint(&path, e))?;
        let ema = Ema::from_net(config.ema.clone(), ckpt.ema);
        let state = ckpt.state;
        let mut trainer = Self::assemble(
            config,
            paths,
            devices,
            ckpt.model,
            ema,
            ckpt.optimizer,
            rng,
            Some((state.data, state.partner)),
            state.step,
            state.elapsed_s,
        )?;
        trainer.last_loss = state.last_loss;
        trainer.last_checkpoint = Some(path);
        Ok(trainer)
    }

    fn check_devices(devices: &[Device]) -> Result<Vec<Device>> {
        if devices.is_empty() {
            return Err(TrainError::config(
                "devices",
                "[]",
                "give at least one device",
            ));
        }
        Ok(devices.iter().map(|d| d.clone().autodiff()).collect())
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        config: TrainConfig,
        paths: RunPaths,
        devices: Vec<Device>,
        model: RestorationNet,
        ema: Ema,
        optim: ModuleOptimizer,
        rng: ChaCha8Rng,
        positions: Option<(cold_data::LoaderState, Option<cold_data::LoaderState>)>,
        step: u64,
        elapsed_before: f64,
    ) -> Result<Self> {
        let op = config.degradation.build()?;
        let plain = devices[0].clone().inner();
        let d = &config.data;
        let dataset = Arc::new(load_dataset(&d.dataset, d.channels)?);
        let loader = train_loader(
            dataset.clone(),
            d.augmentation,
            d.image_size,
            config.batch_size,
            config.seed,
            d.workers,
        )?;
        let (data_pos, partner_pos) = match positions {
            Some((a, b)) => (Some(a), b),
            None => (None, None),
        };
        let data = match data_pos {
            Some(p) => loader.stream_from(&plain, p)?,
            None => loader.stream(&plain),
        };
        let (partner_set, partner) = match &d.partner {
            Some(p) => {
                let set = Arc::new(load_dataset(&p.dataset, d.channels)?);
                let loader = train_loader(
                    set.clone(),
                    p.augmentation,
                    d.image_size,
                    config.batch_size,
                    partner_seed(config.seed),
                    d.workers,
                )?;
                let stream = match partner_pos {
                    Some(pos) => loader.stream_from(&plain, pos)?,
                    None => loader.stream(&plain),
                };
                (Some(set), Some(stream))
            }
            None => (None, None),
        };
        if op.partner_kind() == PartnerKind::Images && partner.is_none() {
            return Err(TrainError::config(
                "data.partner",
                "none",
                format!("operator `{}` needs partner images", op.name()),
            ));
        }
        let log = RunLog::open(&paths.log())?;
        let bar = progress_bar(config.steps, step, true);
        Ok(Self {
            paths,
            devices,
            plain,
            op,
            model: Some(model),
            ema,
            optim,
            rng,
            dataset,
            data,
            partner_set,
            partner,
            grid: None,
            step,
            elapsed_before,
            started: Instant::now(),
            last_loss: None,
            last_lr: config.optimizer.lr_at(step.max(1)),
            last_checkpoint: None,
            log,
            bar,
            config,
        })
    }

    /// Show or hide the progress bar (it is only ever drawn when stderr is a terminal).
    pub fn set_progress_bar(&mut self, enabled: bool) {
        self.bar = progress_bar(self.config.steps, self.step, enabled);
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The run's files.
    pub fn paths(&self) -> &RunPaths {
        &self.paths
    }

    /// Optimiser updates done.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The live network (on the first device, with autodiff).
    pub fn model(&self) -> &RestorationNet {
        self.model
            .as_ref()
            .expect("the model is only taken during an update")
    }

    /// The EMA network (what sampling and evaluation use).
    pub fn ema(&self) -> &RestorationNet {
        self.ema.net()
    }

    /// The optimizer (Adam moments and step counts).
    pub fn optimizer(&self) -> &ModuleOptimizer {
        &self.optim
    }

    /// The degradation operator.
    pub fn degradation(&self) -> &dyn Degradation {
        self.op.as_ref()
    }

    /// The last checkpoint written (or resumed from), if any.
    pub fn last_checkpoint(&self) -> Option<&Path> {
        self.last_checkpoint.as_deref()
    }

    /// Mean loss of the last update.
    pub fn last_loss(&self) -> Option<f32> {
        self.last_loss
    }

    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// The state a checkpoint written now would hold.
    pub fn state(&self) -> TrainState {
        TrainState {
            step: self.step,
            rng: RngState::of(&self.rng),
            data: self.data.state(),
            partner: self.partner.as_ref().map(BatchStream::state),
            devices: self.devices.len(),
            last_loss: self.last_loss,
            elapsed_s: self.elapsed(),
        }
    }

    /// Run updates until `config.steps`, then write a final checkpoint (unless the cadence just
    /// wrote one). Returns the last checkpoint.
    ///
    /// # Errors
    /// Any error of [`step`](Self::step) or of writing the final checkpoint.
    pub fn train(&mut self) -> Result<PathBuf> {
        while self.step < self.config.steps {
            if let Err(e) = self.step() {
                self.bar.abandon();
                return Err(e);
            }
        }
        self.bar.finish();
        match &self.last_checkpoint {
            Some(p) if CheckpointInfo::read(p).is_ok_and(|i| i.state.step == self.step) => {
                Ok(p.clone())
            }
            _ => self.save_checkpoint(),
        }
    }

    /// One micro-batch on every device: the per-device gradients (already on the first
    /// device) and the micro-batch's mean loss.
    fn micro_batch(&mut self, update: u64, micro: usize) -> Result<(Vec<GradientsParams>, f32)> {
        let host = self
            .data
            .next_host()
            .expect("the training stream is endless");
        let partner = self
            .partner
            .as_mut()
            .map(|s| s.next_host().expect("the partner stream is endless"));
        let n = host.shape[0];
        let [_, c, h, w] = host.shape;
        let shape = ImageShape::new(c, h, w);
        let t_max = self.op.steps() as u64;
        let levels: Vec<usize> = (0..n)
            .map(|_| 1 + uniform_below(&mut self.rng, t_max) as usize)
            .collect();
        let accum = self.config.grad_accumulation;
        let parts = shards(n, self.devices.len());
        let model = self
            .model
            .as_ref()
            .expect("the model is present between updates");
        let main_grads_device = self.plain.clone();

        let mut grads = Vec::with_capacity(parts.len());
        let mut losses = Vec::with_capacity(parts.len());
        for (d, range) in parts.into_iter().enumerate() {
            if range.is_empty() {
                continue;
            }
            let device = &self.devices[d];
            let plain_d = device.clone().inner();
            let len = range.len();
            let draw = match &partner {
                Some(p) => Draw::partner(upload(p, range.clone(), &plain_d)),
                None => self.op.draw(len, shape, &plain_d, &mut self.rng)?,
            };
            let x0 = upload(&host, range.clone(), &plain_d);
            let lv = &levels[range];
            let x_s = self.op.training_input(x0.clone(), lv, &draw)?;
            let replica = if d == 0 {
                model.clone()
            } else {
                model.clone().fork(device)
            };
            let prediction = {
                let _rng = backend_rng_lock();
                device.seed(backend_seed(self.config.seed, update, micro, d));
                replica.forward(x_s.autodiff(), time_indices(lv, device))
            };
            let diff = prediction - x0.autodiff();
            let loss = match self.config.loss {
                Loss::L1 => diff.abs().mean(),
                Loss::L2 => diff.square().mean(),
            };
            let weight = len as f64 / n as f64 / accum as f64;
            let gradients = loss.clone().mul_scalar(weight).backward();
            let mut g = GradientsParams::from_grads(gradients, &replica);
            if d != 0 {
                g = g.to_device(&main_grads_device, &replica);
            }
            grads.push(g);
            losses.push((loss.inner(), len));
        }
        let mut total = 0.0f64;
        for (loss, len) in losses {
            total += loss.into_scalar::<f32>() as f64 * len as f64;
        }
        Ok((grads, (total / n as f64) as f32))
    }

    /// One optimiser update (`grad_accumulation` micro-batches), then the EMA schedule, the log
    /// line, and the checkpoint and sample grid if their cadence says so.
    ///
    /// # Errors
    /// [`TrainError::NonFiniteLoss`] (the weights are not updated), a data or degradation error,
    /// or an error writing a checkpoint or grid.
    pub fn step(&mut self) -> Result<StepReport> {
        let update = self.step + 1;
        let accum = self.config.grad_accumulation;
        let mut accumulator = GradientsAccumulator::<RestorationNet>::new();
        let mut loss_sum = 0.0f64;
        for micro in 0..accum {
            let (grads, loss) = self.micro_batch(update, micro)?;
            let model = self.model.as_ref().expect("present");
            for g in grads {
                accumulator.accumulate(model, g);
            }
            loss_sum += loss as f64;
        }
        let loss = (loss_sum / accum as f64) as f32;
        if !loss.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                step: update,
                loss,
                last_checkpoint: self.last_checkpoint.clone(),
            });
        }
        let mut grads = accumulator.grads();
        let model = self.model.take().expect("present");
        if let Some(max) = self.config.optimizer.grad_clip_norm {
            clip_global_norm(&mut grads, &model, max);
        }
        let lr = self.config.optimizer.lr_at(update);
        let model = self.optim.step(lr, model, grads);
        self.step = update;
        let ema = self.ema.after_update(update, &model);
        self.model = Some(model);
        self.last_loss = Some(loss);
        self.last_lr = lr;

        let images = (self.config.images_per_step()) as u64;
        self.log.record(loss, images);
        let done = update == self.config.steps;
        if update.is_multiple_of(self.config.log_every) || done {
            let elapsed = self.elapsed();
            self.log.flush_line(update, lr, elapsed)?;
        }
        self.bar.set_position(update);
        self.bar.set_message(format!(
            "loss {loss:.4} · {:.1} img/s",
            self.log.images_per_s()
        ));

        let checkpoint = if update.is_multiple_of(self.config.checkpoint.every) {
            Some(self.save_checkpoint()?)
        } else {
            None
        };
        let samples =
            if self.config.samples.every > 0 && update.is_multiple_of(self.config.samples.every) {
                Some(self.write_sample_grid()?)
            } else {
                None
            };
        Ok(StepReport {
            step: update,
            loss,
            lr,
            ema,
            checkpoint,
            samples,
        })
    }

    /// Write `checkpoints/latest.safetensors` now (and `step-<N>.safetensors` if `keep_every`
    /// divides the step), atomically. Returns the path of `latest`.
    ///
    /// # Errors
    /// An I/O error naming the file; the previous checkpoint is then intact.
    pub fn save_checkpoint(&mut self) -> Result<PathBuf> {
        let state = self.state();
        let bytes = checkpoint::encode(
            &self.config,
            &state,
            self.model(),
            self.ema.net(),
            &self.optim,
        )?;
        let dir = self.paths.checkpoints();
        std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
        let latest = self.paths.latest();
        checkpoint::write(&latest, &bytes, &self.config, &state)?;
        let keep = self.config.checkpoint.keep_every;
        if keep > 0 && self.step.is_multiple_of(keep) {
            checkpoint::write(&self.paths.kept(self.step), &bytes, &self.config, &state)?;
        }
        self.last_checkpoint = Some(latest.clone());
        Ok(latest)
    }

    fn grid_inputs(&mut self) -> Result<&GridInputs> {
        if self.grid.is_none() {
            let d = &self.config.data;
            let count = self.config.samples.images.max(1);
            let loader = grid_loader(
                self.dataset.clone(),
                d.augmentation,
                d.image_size,
                count,
                self.config.seed,
            )?;
            let host = loader.host_batch(0);
            let n = host.shape[0];
            let x0 = host.images_tensor(&self.plain);
            let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
            rng.set_stream(2);
            let draw = match (&self.partner_set, &d.partner) {
                (Some(set), Some(p)) => {
                    let loader = grid_loader(
                        set.clone(),
                        p.augmentation,
                        d.image_size,
                        count,
                        partner_seed(self.config.seed),
                    )?;
                    let ph = loader.host_batch(0);
                    let m = n.min(ph.shape[0]);
                    Draw::partner(upload(&ph, 0..m, &self.plain))
                }
                _ => self
                    .op
                    .draw(n, ImageShape::of(&x0), &self.plain, &mut rng)?,
            };
            let n = draw.batch().min(n);
            let x0 = x0.narrow(0, 0, n);
            let degraded = self.op.degrade_at(x0.clone(), self.op.steps(), &draw)?;
            self.grid = Some(GridInputs { x0, degraded, draw });
        }
        Ok(self.grid.as_ref().expect("just built"))
    }

    /// Write `samples/step-<N>.png` now: original | degraded (level T) | direct reconstruction |
    /// Algorithm 2, restored with the EMA weights, for a fixed set of images and draws.
    ///
    /// # Errors
    /// A sampling error or an error writing the PNG.
    pub fn write_sample_grid(&mut self) -> Result<PathBuf> {
        self.grid_inputs()?;
        let grid = self.grid.as_ref().expect("built above");
        let net = self.ema.net();
        let plain = self.plain.clone();
        let restorer = |x: Tensor<4>, t: &[usize]| {
            let t: Vec<i64> = t.iter().map(|&v| v as i64).collect();
            let n = t.len();
            net.forward(x, Tensor::from_data(TensorData::new(t, [n]), &plain))
        };
        let steps = self.op.steps();
        let n = grid.x0.dims()[0];
        let out = Sampler::new(self.op.as_ref(), Method::Algorithm2).run(
            &restorer,
            grid.degraded.clone(),
            &vec![steps; n],
            &grid.draw,
        )?;
        let image = labelled_grid(&[
            ("original", grid.x0.clone()),
            ("degraded", grid.degraded.clone()),
            ("direct", out.direct),
            ("alg 2", out.x0),
        ])?;
        let dir = self.paths.samples();
        std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
        let path = self.paths.sample_grid(self.step);
        let tmp = crate::atomic::temp_path(&path)?;
        save_png(&image, &tmp)?;
        std::fs::rename(&tmp, &path).map_err(|e| TrainError::io(&path, e))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;

    #[test]
    fn shards_cover_the_batch_evenly() {
        assert_eq!(shards(10, 1), vec![0..10]);
        assert_eq!(shards(10, 3), vec![0..4, 4..7, 7..10]);
        assert_eq!(shards(2, 3), vec![0..1, 1..2, 2..2]);
    }

    #[test]
    fn backend_seeds_differ_by_position() {
        let s = backend_seed(0, 1, 0, 0);
        assert_ne!(s, backend_seed(0, 2, 0, 0));
        assert_ne!(s, backend_seed(0, 1, 1, 0));
        assert_ne!(s, backend_seed(0, 1, 0, 1));
        assert_ne!(s, backend_seed(1, 1, 0, 0));
        assert_eq!(s, backend_seed(0, 1, 0, 0));
    }

    #[derive(Module, Debug)]
    struct Weights {
        w: Param<Tensor<1>>,
    }

    /// One step of PyTorch's `torch.optim.Adam` (`_single_tensor_adam`, no weight decay, no
    /// amsgrad), in f64: `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`,
    /// `w ← w − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)`.
    #[allow(clippy::too_many_arguments)]
    fn torch_adam(
        w: &mut [f64],
        m: &mut [f64],
        v: &mut [f64],
        g: &[f64],
        t: i32,
        lr: f64,
        b1: f64,
        b2: f64,
        eps: f64,
    ) {
        for i in 0..w.len() {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let step_size = lr / (1.0 - b1.powi(t));
            let denom = v[i].sqrt() / (1.0 - b2.powi(t)).sqrt() + eps;
            w[i] -= step_size * m[i] / denom;
        }
    }

    #[test]
    fn adam_matches_pytorchs_update() {
        let device = Device::flex().autodiff();
        let mut config = TrainConfig::preset("tiny-test").unwrap();
        config.optimizer.lr = 0.01;
        let o = config.optimizer.clone();
        assert_eq!((o.beta1, o.beta2, o.eps), (0.9, 0.999, 1e-8));
        let mut optim = adam(&config);
        let w0 = [0.1f64, -0.2, 0.3, 0.4];
        let mut module = Weights {
            w: Param::from_tensor(
                Tensor::<1>::from_floats([0.1f32, -0.2, 0.3, 0.4], &device).require_grad(),
            ),
        };
        // Gradients of size ~ε make the placement of ε visible: PyTorch adds it to √v̂, so a
        // gradient of 1e-8 moves the weight by about lr/2 in the first step (Burn's default
        // ε = 1e-5 would move it by about lr/1000; ε under the square root, less still).
        let grads_per_step = [
            [1e-8f64, -3e-8, 0.5, -2.0],
            [2e-8, 1e-8, -0.25, -1.0],
            [-1e-8, 5e-8, 1.0, 0.125],
        ];
        let (mut w, mut m, mut v) = (w0.to_vec(), vec![0.0; 4], vec![0.0; 4]);
        for (t, g) in grads_per_step.iter().enumerate() {
            // loss = Σ w·g  ⇒  ∂loss/∂w = g.
            let gt = Tensor::<1>::from_floats(g.map(|x| x as f32), &device);
            let loss = (module.w.val() * gt).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &module);
            module = optim.step(o.lr, module, grads);
            torch_adam(
                &mut w,
                &mut m,
                &mut v,
                g,
                t as i32 + 1,
                o.lr,
                o.beta1,
                o.beta2,
                o.eps,
            );
            let got: Vec<f32> = module.w.val().inner().into_data().try_into_vec().unwrap();
            if t == 0 {
                // By hand: m̂ = g, √v̂ = |g|, so the ε-sized gradients move by lr·|g|/(|g| + ε):
                // 1e-8 → lr/2, −3e-8 → −lr·3/4.
                assert!((w0[0] - got[0] as f64 - 0.005).abs() < 1e-6, "{}", got[0]);
                assert!((w0[1] - got[1] as f64 + 0.0075).abs() < 1e-6, "{}", got[1]);
            }
            for i in 0..4 {
                assert!(
                    (got[i] as f64 - w[i]).abs() < 2e-7,
                    "step {} weight {i}: burn {} torch {}",
                    t + 1,
                    got[i],
                    w[i]
                );
            }
        }
    }

    /// The gradient of every parameter, by path.
    fn gradient_values(model: &RestorationNet, grads: &GradientsParams) -> Vec<(String, Vec<f32>)> {
        struct G<'a> {
            grads: &'a GradientsParams,
            path: Vec<String>,
            out: Vec<(String, Vec<f32>)>,
        }
        impl ModuleVisitor for G<'_> {
            fn enter_module(&mut self, name: &str, _: &str) {
                self.path.push(name.into());
            }
            fn exit_module(&mut self, _: &str, _: &str) {
                self.path.pop();
            }
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                let g = self
                    .grads
                    .get::<D>(p.id)
                    .expect("every parameter has a gradient");
                self.out
                    .push((self.path.join("."), g.into_data().try_into_vec().unwrap()));
            }
        }
        let mut v = G {
            grads,
            path: Vec::new(),
            out: Vec::new(),
        };
        model.visit(&mut v);
        v.out
    }

    fn first_micro_batch(devices: &[Device], dir: &Path) -> (Vec<(String, Vec<f32>)>, f32) {
        let mut config = TrainConfig::preset("tiny-test").unwrap();
        config.output_dir = dir.to_path_buf();
        let mut trainer = Trainer::new(config, devices).unwrap();
        let (grads, loss) = trainer.micro_batch(1, 0).unwrap();
        assert_eq!(grads.len(), devices.len());
        let mut acc = GradientsAccumulator::<RestorationNet>::new();
        for g in grads {
            acc.accumulate(trainer.model(), g);
        }
        (gradient_values(trainer.model(), &acc.grads()), loss)
    }

    #[test]
    fn two_device_shards_give_the_single_device_gradient() {
        // Two handles of the CPU device stand for two devices: the micro-batch is split in two
        // shards, each weighted by its share, and the gradients are gathered on the first.
        let dir = tempfile::tempdir().unwrap();
        let flex = Device::flex();
        let (one, loss_one) =
            first_micro_batch(std::slice::from_ref(&flex), &dir.path().join("one"));
        let (two, loss_two) = first_micro_batch(&[flex.clone(), flex], &dir.path().join("two"));
        assert!(
            (loss_one - loss_two).abs() < 1e-6 * loss_one.abs(),
            "{loss_one} vs {loss_two}"
        );
        assert_eq!(one.len(), two.len());
        let mut max_rel = 0.0f32;
        for ((path, a), (_, b)) in one.iter().zip(&two) {
            let scale = a.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-12);
            for (x, y) in a.iter().zip(b) {
                max_rel = max_rel.max((x - y).abs() / scale);
            }
            assert!(
                max_rel < 1e-4,
                "{path}: relative gradient difference {max_rel}"
            );
        }
        // A single-device loss is half of the micro-batch loss weight: grads are not all zero.
        assert!(one.iter().any(|(_, g)| g.iter().any(|x| *x != 0.0)));
    }

    #[test]
    fn global_norm_clipping_matches_pytorch() {
        let device = Device::flex().autodiff();
        let module = Weights {
            w: Param::from_tensor(
                Tensor::<1>::from_floats([1.0f32, 2.0, 2.0], &device).require_grad(),
            ),
        };
        let loss = (module.w.val() * Tensor::<1>::from_floats([3.0f32, 0.0, 4.0], &device)).sum();
        let mut grads = GradientsParams::from_grads(loss.backward(), &module);
        let norm = clip_global_norm(&mut grads, &module, 1.0);
        assert!((norm - 5.0).abs() < 1e-6);
        let g: Vec<f32> = grads
            .get::<1>(module.w.id)
            .unwrap()
            .into_data()
            .try_into_vec()
            .unwrap();
        let coef = 1.0 / (5.0 + 1e-6);
        for (x, e) in g.iter().zip([3.0, 0.0, 4.0]) {
            assert!((*x as f64 - e * coef).abs() < 1e-6, "{g:?}");
        }
        // Below the threshold nothing changes.
        let mut grads = GradientsParams::from_grads(
            (module.w.val() * Tensor::<1>::from_floats([0.3f32, 0.0, 0.4], &device))
                .sum()
                .backward(),
            &module,
        );
        clip_global_norm(&mut grads, &module, 1.0);
        let g: Vec<f32> = grads
            .get::<1>(module.w.id)
            .unwrap()
            .into_data()
            .try_into_vec()
            .unwrap();
        assert_eq!(g, vec![0.3, 0.0, 0.4]);
    }
}
