//! # cold-train
//!
//! Training for Cold Diffusion (Bansal et al., "Inverting Arbitrary Image Transforms Without
//! Noise"): the paper's recipe as an explicit loop on any Burn device.
//!
//! - [`TrainConfig`]: one serde document (JSON or TOML) for data, degradation, network,
//!   optimiser, schedule, seed, output directory and cadences, with
//!   [`validate`](TrainConfig::validate) and named [presets](TrainConfig::presets) for every
//!   experiment of the paper plus small CPU variants.
//! - [`Trainer`]: per micro-batch a level `s ~ U{1..T}` and the operator's random draw per image
//!   (on the host, from the run's seeded ChaCha8 stream), `x_s = training_input(x0, s, draw)`,
//!   `x̂0 = R(x_s, s − 1)`, L1 (or L2); Adam (PyTorch's update, lr 2e-5, β 0.9 / 0.999, ε 1e-8),
//!   gradient accumulation (`loss / k` per micro-batch), optional global-norm clipping and
//!   linear warm-up; several devices of one backend split each micro-batch.
//! - [`Ema`]: the original's EMA (β 0.995 every 10 updates, a copy of the live weights before
//!   update 2000); sampling and evaluation use it.
//! - [`Checkpoint`]: one safetensors file with the live and EMA weights (original key names),
//!   Adam's state, and in its metadata the step, RNG and data-loader positions and the full
//!   configuration; written atomically (temporary file, fsync, rename, directory fsync).
//!   Resuming continues bit-identically on CPU. [`load_ema_net`] gives the sampling network
//!   from a checkpoint path alone.
//! - Progress: `train.jsonl` (step, loss, lr, images/s, elapsed) always, an `indicatif` bar on
//!   a terminal, and sample grids (original | degraded | direct | Algorithm 2) as PNG.
//! - A NaN or infinite loss stops the run with [`TrainError::NonFiniteLoss`] naming the step;
//!   the weights are not updated and the last checkpoint stays as it was.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use cold_train::{TrainConfig, Trainer, load_ema_net};
//!
//! let mut config = TrainConfig::preset("mnist-deblur-small")?;
//! config.output_dir = "runs/mnist-deblur".into();
//! let mut trainer = Trainer::new(config, &[Device::flex()])?;
//! let checkpoint = trainer.train()?;
//! let (ema_net, config) = load_ema_net(&checkpoint, &Device::flex())?;
//! # Ok::<(), cold_train::TrainError>(())
//! ```
//!
//! See `docs/training.md` for the recipe, the configuration format, checkpoints, logs and
//! multi-device use.

mod atomic;
mod checkpoint;
mod config;
mod data;
mod ema;
mod error;
mod optim_state;
mod presets;
mod progress;
mod trainer;

#[doc(hidden)]
pub use atomic::crash_during_next_write_after;
pub use atomic::write_atomic;
pub use checkpoint::{
    CHECKPOINT_FORMAT, Checkpoint, CheckpointInfo, RngState, TrainState, load_ema_net,
};
pub use config::{
    CheckpointConfig, ConfigFormat, DataConfig, DatasetSource, EmaConfig, LoadedConfig, Loss,
    OptimizerConfig, PartnerData, SampleConfig, TrainConfig,
};
pub use data::load_dataset;
pub use ema::{Ema, EmaAction, ema_average};
pub use error::{Result, TrainError};
pub use presets::TrainPreset;
pub use progress::{LogLine, read_log};
pub use trainer::{RunPaths, StepReport, Trainer};

/// Held while seeding a backend's RNG and using it (forward passes with dropout): the one lock
/// of `cold-unet`, which its network initialisation takes too.
pub(crate) use cold_unet::backend_rng_lock;
