//! [`TrainConfig`]: everything a training run needs, as one serde (JSON / TOML) document.
//!
//! Unknown fields are errors (`deny_unknown_fields`) everywhere except inside `network`, which
//! follows `cold-unet`'s contract for network JSON (the original constructors' argument names;
//! unknown fields are ignored and reported as warnings by [`TrainConfig::parse`]).

use std::path::{Path, PathBuf};

use cold_degrade::DegradationConfig;
use cold_unet::NetConfig;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// A complete training configuration: data, degradation, network, optimiser, schedule, seed,
/// output directory, checkpoint, sample-grid and log cadence.
///
/// Build one from a named preset ([`TrainConfig::preset`]), a file ([`TrainConfig::from_file`])
/// or in code, then [`validate`](TrainConfig::validate) it (the trainer does).
///
/// ```
/// use cold_train::TrainConfig;
/// let mut config = TrainConfig::preset("mnist-deblur-small").unwrap();
/// config.steps = 200;
/// config.validate().unwrap();
/// let text = config.to_json();
/// assert_eq!(TrainConfig::parse(&text, cold_train::ConfigFormat::Json).unwrap().config, config);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The training images.
    pub data: DataConfig,
    /// The degradation `D(x0, s)` (the operator's own config, see `cold-degrade`).
    pub degradation: DegradationConfig,
    /// The restoration network (see `cold-unet`'s `NetConfig`).
    pub network: NetConfig,
    /// Adam and its options.
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// The exponential moving average of the weights used for sampling.
    #[serde(default)]
    pub ema: EmaConfig,
    /// The reconstruction loss (`"l1"`, the paper's, or `"l2"`).
    #[serde(default)]
    pub loss: Loss,
    /// Number of optimiser updates (the original's `train_num_steps`; 700 000 in the paper).
    #[serde(default = "defaults::steps")]
    pub steps: u64,
    /// Images per micro-batch (the original's `train_batch_size`, 32).
    #[serde(default = "defaults::batch_size")]
    pub batch_size: usize,
    /// Micro-batches per optimiser update (the original's `gradient_accumulate_every`, 2): each
    /// micro-batch back-propagates `loss / grad_accumulation`.
    #[serde(default = "defaults::grad_accumulation")]
    pub grad_accumulation: usize,
    /// Seed of everything random: data order and augmentation, levels, operator draws, network
    /// initialisation, dropout.
    #[serde(default)]
    pub seed: u64,
    /// Where checkpoints, logs and sample grids go (created if missing).
    pub output_dir: PathBuf,
    /// Checkpoint cadence.
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// Sample-grid cadence.
    #[serde(default)]
    pub samples: SampleConfig,
    /// Write a line to `train.jsonl` every this many steps (≥ 1).
    #[serde(default = "defaults::log_every")]
    pub log_every: u64,
}

mod defaults {
    pub fn steps() -> u64 {
        700_000
    }
    pub fn batch_size() -> usize {
        32
    }
    pub fn grad_accumulation() -> usize {
        2
    }
    pub fn log_every() -> u64 {
        10
    }
    pub fn workers() -> usize {
        2
    }
    pub fn lr() -> f64 {
        2e-5
    }
    pub fn beta1() -> f64 {
        0.9
    }
    pub fn beta2() -> f64 {
        0.999
    }
    pub fn eps() -> f64 {
        1e-8
    }
    pub fn decay() -> f64 {
        0.995
    }
    pub fn update_every() -> u64 {
        10
    }
    pub fn start_step() -> u64 {
        2000
    }
    pub fn checkpoint_every() -> u64 {
        1000
    }
    pub fn keep_every() -> u64 {
        100_000
    }
    pub fn sample_every() -> u64 {
        1000
    }
    pub fn sample_images() -> usize {
        16
    }
}

/// Where a dataset comes from. Relative paths are relative to the working directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DatasetSource {
    /// MNIST IDX files (training split). Without `path`, the copy bundled in the repository's
    /// `data/mnist/` (see `cold_data::Mnist::bundled_dir`).
    Mnist {
        /// Directory with the IDX files; `None` for the bundled copy.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<PathBuf>,
    },
    /// Fashion-MNIST IDX files (training split).
    FashionMnist {
        /// Directory with the IDX files.
        path: PathBuf,
    },
    /// CIFAR-10 binary batches (training split: `data_batch_*.bin`).
    Cifar10 {
        /// `cifar-10-batches-bin/` (or its parent, or one batch file).
        path: PathBuf,
    },
    /// A folder of PNG / JPEG / WebP images, read recursively (CelebA, AFHQ, ...).
    Folder {
        /// The folder.
        path: PathBuf,
    },
}

impl DatasetSource {
    /// A short description for messages (`mnist (bundled)`, `folder data/celeba`, ...).
    pub fn describe(&self) -> String {
        match self {
            Self::Mnist { path: None } => "mnist (bundled)".into(),
            Self::Mnist { path: Some(p) } => format!("mnist {}", p.display()),
            Self::FashionMnist { path } => format!("fashion-mnist {}", path.display()),
            Self::Cifar10 { path } => format!("cifar10 {}", path.display()),
            Self::Folder { path } => format!("folder {}", path.display()),
        }
    }
}

/// The training images: source, augmentation and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Where the images come from.
    pub dataset: DatasetSource,
    /// Augmentation preset of `cold-data` (`resize-random-crop-flip`, `resize-center-crop`,
    /// `resize-shorter-center-crop`, `pad4-random-crop-flip`, `center-crop`).
    #[serde(with = "preset_name")]
    pub augmentation: cold_data::Preset,
    /// Side `S` of the square training images.
    pub image_size: usize,
    /// Image channels (1 or 3); the dataset is converted if it has the other count.
    pub channels: usize,
    /// Data-loader threads (0: prepare batches on the training thread). Does not change results.
    #[serde(default = "defaults::workers")]
    pub workers: usize,
    /// Partner images for operators that blend with other images (animorphosis: AFHQ animals
    /// for CelebA faces). Required by those operators, refused by the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<PartnerData>,
}

/// The second data stream of a blending operator (the animal images of animorphosis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerData {
    /// Where the partner images come from.
    pub dataset: DatasetSource,
    /// Their augmentation preset (same names as [`DataConfig::augmentation`]).
    #[serde(with = "preset_name")]
    pub augmentation: cold_data::Preset,
}

mod preset_name {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &cold_data::Preset, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(p.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<cold_data::Preset, D::Error> {
        let name = String::deserialize(d)?;
        cold_data::Preset::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// Adam, as PyTorch's `torch.optim.Adam` (no weight decay), plus the options the paper did not
/// use: global gradient-norm clipping and a linear learning-rate warm-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Learning rate (2e-5 in the paper).
    #[serde(default = "defaults::lr")]
    pub lr: f64,
    /// Adam β₁ (0.9).
    #[serde(default = "defaults::beta1")]
    pub beta1: f64,
    /// Adam β₂ (0.999).
    #[serde(default = "defaults::beta2")]
    pub beta2: f64,
    /// Adam ε (1e-8, PyTorch's default; Burn's own default is 1e-5).
    #[serde(default = "defaults::eps")]
    pub eps: f64,
    /// If set, scale the gradients so that their global L2 norm (over every parameter, as
    /// PyTorch's `clip_grad_norm_`) is at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_clip_norm: Option<f64>,
    /// Linear warm-up: the learning rate of update `k` (1-based) is `lr · min(1, k / warmup_steps)`.
    /// 0 (the paper's) disables it.
    #[serde(default)]
    pub warmup_steps: u64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            lr: defaults::lr(),
            beta1: defaults::beta1(),
            beta2: defaults::beta2(),
            eps: defaults::eps(),
            grad_clip_norm: None,
            warmup_steps: 0,
        }
    }
}

impl OptimizerConfig {
    /// The learning rate of optimiser update `update` (1-based).
    pub fn lr_at(&self, update: u64) -> f64 {
        if self.warmup_steps == 0 || update >= self.warmup_steps {
            self.lr
        } else {
            self.lr * update as f64 / self.warmup_steps as f64
        }
    }
}

/// The EMA of the original trainers: every `update_every` updates, the EMA weights are reset to
/// the live weights while the update index is below `start_step`, and afterwards become
/// `decay · ema + (1 − decay) · live` (see [`crate::Ema`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmaConfig {
    /// Decay β (0.995).
    #[serde(default = "defaults::decay")]
    pub decay: f64,
    /// Update every this many optimiser steps (10).
    #[serde(default = "defaults::update_every")]
    pub update_every: u64,
    /// Before this update index the EMA is a copy of the live weights (2000).
    #[serde(default = "defaults::start_step")]
    pub start_step: u64,
}

impl Default for EmaConfig {
    fn default() -> Self {
        Self {
            decay: defaults::decay(),
            update_every: defaults::update_every(),
            start_step: defaults::start_step(),
        }
    }
}

/// The reconstruction loss between `x̂0` and `x0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Mean absolute error (the paper's `loss_type='l1'`).
    #[default]
    L1,
    /// Mean squared error (`'l2'`, `F.mse_loss`).
    L2,
}

/// Checkpoint cadence: `latest` every `every` steps, plus a kept copy every `keep_every`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// Overwrite `checkpoints/latest.safetensors` every this many steps (≥ 1). A final
    /// checkpoint is always written when the run reaches `steps`.
    #[serde(default = "defaults::checkpoint_every")]
    pub every: u64,
    /// Also keep `checkpoints/step-<N>.safetensors` every this many steps (0: never).
    #[serde(default = "defaults::keep_every")]
    pub keep_every: u64,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            every: defaults::checkpoint_every(),
            keep_every: defaults::keep_every(),
        }
    }
}

/// Sample grids (original | degraded | direct | Algorithm 2, with the EMA weights).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleConfig {
    /// Write `samples/step-<N>.png` every this many steps (0: never).
    #[serde(default = "defaults::sample_every")]
    pub every: u64,
    /// Rows (images) per grid.
    #[serde(default = "defaults::sample_images")]
    pub images: usize,
}

impl Default for SampleConfig {
    fn default() -> Self {
        Self {
            every: defaults::sample_every(),
            images: defaults::sample_images(),
        }
    }
}

/// The text format of a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    /// JSON.
    Json,
    /// TOML.
    Toml,
}

impl ConfigFormat {
    /// The format of `path` from its extension (`.toml`, otherwise JSON).
    pub fn of_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("toml") => Self::Toml,
            _ => Self::Json,
        }
    }
}

/// A parsed configuration with the warnings collected on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    /// The configuration (already validated).
    pub config: TrainConfig,
    /// Human-readable warnings (unknown fields ignored inside `network`).
    pub warnings: Vec<String>,
}

impl TrainConfig {
    /// Parse `text` in `format`, collect the network section's warnings, then
    /// [`validate`](Self::validate).
    ///
    /// # Errors
    /// [`TrainError::Parse`] naming the unknown or mistyped field, or the validation error.
    pub fn parse(text: &str, format: ConfigFormat) -> Result<LoadedConfig> {
        Self::parse_named(text, format, Path::new("<string>"))
    }

    fn parse_named(text: &str, format: ConfigFormat, path: &Path) -> Result<LoadedConfig> {
        let parse_err = |reason: String| TrainError::Parse {
            path: path.to_path_buf(),
            reason,
        };
        // One generic value first: it gives the network section to cold-unet's parser (which
        // reports ignored fields), and it keeps TOML and JSON on one path.
        let value: serde_json::Value = match format {
            ConfigFormat::Json => {
                serde_json::from_str(text).map_err(|e| parse_err(e.to_string()))?
            }
            ConfigFormat::Toml => toml::from_str(text).map_err(|e| parse_err(e.to_string()))?,
        };
        let mut warnings = Vec::new();
        if let Some(net) = value.get("network") {
            let parsed = NetConfig::from_json_value(net).map_err(|e| TrainError::Parse {
                path: path.to_path_buf(),
                reason: format!("network: {e}"),
            })?;
            warnings.extend(parsed.warnings.into_iter().map(|w| format!("network: {w}")));
        }
        let config: TrainConfig =
            serde_json::from_value(value).map_err(|e| parse_err(e.to_string()))?;
        config.validate()?;
        Ok(LoadedConfig { config, warnings })
    }

    /// Read a configuration file (`.toml` as TOML, anything else as JSON), then validate it.
    ///
    /// # Errors
    /// An I/O error naming the file, a parse error naming the file and the field, or the
    /// validation error.
    pub fn from_file(path: impl AsRef<Path>) -> Result<LoadedConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        Self::parse_named(&text, ConfigFormat::of_path(path), path)
    }

    /// The configuration as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a TrainConfig always serialises to JSON")
    }

    /// The configuration as TOML (`null` values, e.g. an unset `network.out_dim`, are left out:
    /// they mean "default" and TOML has no null).
    pub fn to_toml(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a TrainConfig always serialises");
        strip_nulls(&mut value);
        toml::to_string_pretty(&value).expect("a TrainConfig without nulls serialises to TOML")
    }

    /// The micro-batch images per optimiser update (`batch_size · grad_accumulation`).
    pub fn images_per_step(&self) -> usize {
        self.batch_size * self.grad_accumulation
    }

    /// Check every field and the consistency of data, degradation and network. The error names
    /// the field (dotted path) and its value.
    ///
    /// # Errors
    /// [`TrainError::Config`] for the first problem found.
    pub fn validate(&self) -> Result<()> {
        let d = &self.data;
        if !(d.channels == 1 || d.channels == 3) {
            return Err(TrainError::config(
                "data.channels",
                d.channels,
                "must be 1 (gray) or 3 (RGB)",
            ));
        }
        if d.image_size == 0 {
            return Err(TrainError::config(
                "data.image_size",
                0,
                "must be at least 1",
            ));
        }
        self.degradation.validate().map_err(|e| {
            TrainError::config("degradation", self.degradation.operator(), e.to_string())
        })?;
        self.network
            .validate()
            .map_err(|e| TrainError::config("network", self.network.arch(), e.to_string()))?;
        let (op_size, op_channels) = self.degradation.image_size_and_channels();
        if let Some(s) = op_size
            && s != d.image_size
        {
            return Err(TrainError::config(
                "degradation.image_size",
                s,
                format!("differs from data.image_size = {}", d.image_size),
            ));
        }
        if let Some(c) = op_channels
            && c != d.channels
        {
            return Err(TrainError::config(
                "degradation.channels",
                c,
                format!("differs from data.channels = {}", d.channels),
            ));
        }
        let net_in = self.network.in_channels();
        let net_out = self.network.out_channels();
        if net_in != d.channels {
            return Err(TrainError::config(
                "network input channels",
                net_in,
                format!("differ from data.channels = {}", d.channels),
            ));
        }
        if net_out != d.channels {
            return Err(TrainError::config(
                "network output channels",
                net_out,
                format!(
                    "differ from data.channels = {}: the network predicts x0",
                    d.channels
                ),
            ));
        }
        let div = self.network.size_divisor();
        if !d.image_size.is_multiple_of(div) {
            return Err(TrainError::config(
                "data.image_size",
                d.image_size,
                format!(
                    "must be a multiple of {div} (the network has {} resolution levels)",
                    self.network.levels()
                ),
            ));
        }
        if self.degradation.steps() == 0 {
            return Err(TrainError::config(
                "degradation.time_steps",
                0,
                "must be at least 1",
            ));
        }
        let needs_partner = matches!(self.degradation, DegradationConfig::Animorph(_));
        match (&d.partner, needs_partner) {
            (None, true) => {
                return Err(TrainError::config(
                    "data.partner",
                    "none",
                    format!(
                        "operator `{}` blends with partner images: set data.partner (e.g. an AFHQ folder)",
                        self.degradation.operator()
                    ),
                ));
            }
            (Some(p), false) => {
                return Err(TrainError::config(
                    "data.partner",
                    p.dataset.describe(),
                    format!(
                        "operator `{}` does not use partner images: remove data.partner",
                        self.degradation.operator()
                    ),
                ));
            }
            _ => {}
        }
        let o = &self.optimizer;
        if !(o.lr.is_finite() && o.lr > 0.0) {
            return Err(TrainError::config(
                "optimizer.lr",
                o.lr,
                "must be finite and > 0",
            ));
        }
        for (field, v) in [("optimizer.beta1", o.beta1), ("optimizer.beta2", o.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(TrainError::config(field, v, "must be in [0, 1)"));
            }
        }
        if !(o.eps.is_finite() && o.eps > 0.0) {
            return Err(TrainError::config(
                "optimizer.eps",
                o.eps,
                "must be finite and > 0",
            ));
        }
        if let Some(c) = o.grad_clip_norm
            && !(c.is_finite() && c > 0.0)
        {
            return Err(TrainError::config(
                "optimizer.grad_clip_norm",
                c,
                "must be finite and > 0",
            ));
        }
        let e = &self.ema;
        if !(0.0..=1.0).contains(&e.decay) {
            return Err(TrainError::config(
                "ema.decay",
                e.decay,
                "must be in [0, 1]",
            ));
        }
        if e.update_every == 0 {
            return Err(TrainError::config(
                "ema.update_every",
                0,
                "must be at least 1",
            ));
        }
        if self.steps == 0 {
            return Err(TrainError::config("steps", 0, "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(TrainError::config("batch_size", 0, "must be at least 1"));
        }
        if self.grad_accumulation == 0 {
            return Err(TrainError::config(
                "grad_accumulation",
                0,
                "must be at least 1",
            ));
        }
        if self.output_dir.as_os_str().is_empty() {
            return Err(TrainError::config(
                "output_dir",
                "\"\"",
                "must name a directory",
            ));
        }
        if self.checkpoint.every == 0 {
            return Err(TrainError::config(
                "checkpoint.every",
                0,
                "must be at least 1",
            ));
        }
        if self.samples.every > 0 && self.samples.images == 0 {
            return Err(TrainError::config(
                "samples.images",
                0,
                "must be at least 1 when samples.every > 0",
            ));
        }
        if self.log_every == 0 {
            return Err(TrainError::config("log_every", 0, "must be at least 1"));
        }
        Ok(())
    }
}

fn strip_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> TrainConfig {
        TrainConfig::preset("mnist-deblur-small").unwrap()
    }

    #[test]
    fn json_and_toml_round_trip() {
        for name in TrainConfig::presets().iter().map(|p| p.name) {
            let c = TrainConfig::preset(name).unwrap();
            let j = TrainConfig::parse(&c.to_json(), ConfigFormat::Json).unwrap();
            assert_eq!(j.config, c, "{name} JSON");
            assert!(j.warnings.is_empty(), "{name}: {:?}", j.warnings);
            let t = TrainConfig::parse(&c.to_toml(), ConfigFormat::Toml).unwrap();
            assert_eq!(t.config, c, "{name} TOML");
        }
    }

    #[test]
    fn defaults_are_the_papers() {
        let text = r#"{
            "data": {"dataset": {"kind": "mnist"}, "augmentation": "resize-random-crop-flip",
                     "image_size": 32, "channels": 1},
            "degradation": {"operator": "blur", "time_steps": 20, "blur_size": 11,
                            "blur_std": 7.0, "blur_routine": "Constant"},
            "network": {"arch": "unet", "dim": 64, "dim_mults": [1, 2, 4, 8], "channels": 1},
            "output_dir": "runs/x"
        }"#;
        let c = TrainConfig::parse(text, ConfigFormat::Json).unwrap().config;
        assert_eq!(c.optimizer, OptimizerConfig::default());
        assert_eq!(
            (
                c.optimizer.lr,
                c.optimizer.beta1,
                c.optimizer.beta2,
                c.optimizer.eps
            ),
            (2e-5, 0.9, 0.999, 1e-8)
        );
        assert_eq!(
            (c.ema.decay, c.ema.update_every, c.ema.start_step),
            (0.995, 10, 2000)
        );
        assert_eq!(
            (c.batch_size, c.grad_accumulation, c.steps),
            (32, 2, 700_000)
        );
        assert_eq!(c.loss, Loss::L1);
        assert_eq!(c.images_per_step(), 64);
    }

    #[test]
    fn unknown_fields_are_errors_that_name_them() {
        let mut v = serde_json::to_value(base()).unwrap();
        v["optimizer"]["learning_rate"] = 1.0.into();
        let e = TrainConfig::parse(&v.to_string(), ConfigFormat::Json)
            .unwrap_err()
            .to_string();
        assert!(e.contains("learning_rate"), "{e}");
        let mut v = serde_json::to_value(base()).unwrap();
        v["data"]["dataset"]["folder"] = "x".into();
        let e = TrainConfig::parse(&v.to_string(), ConfigFormat::Json)
            .unwrap_err()
            .to_string();
        assert!(e.contains("folder"), "{e}");
        // Inside `network`, unknown fields are warnings (cold-unet's contract).
        let mut v = serde_json::to_value(base()).unwrap();
        v["network"]["attention_heads"] = 4.into();
        let loaded = TrainConfig::parse(&v.to_string(), ConfigFormat::Json).unwrap();
        assert!(
            loaded
                .warnings
                .iter()
                .any(|w| w.contains("attention_heads")),
            "{:?}",
            loaded.warnings
        );
    }

    #[test]
    fn validation_names_field_and_value() {
        type Mutation = Box<dyn Fn(&mut TrainConfig)>;
        let cases: Vec<(Mutation, &str, &str)> = vec![
            (
                Box::new(|c| c.data.image_size = 30),
                "data.image_size",
                "30",
            ),
            (
                Box::new(|c| c.data.channels = 3),
                "degradation.channels",
                "1",
            ),
            (Box::new(|c| c.optimizer.lr = -1.0), "optimizer.lr", "-1"),
            (
                Box::new(|c| c.optimizer.beta2 = 1.0),
                "optimizer.beta2",
                "1",
            ),
            (
                Box::new(|c| c.optimizer.grad_clip_norm = Some(0.0)),
                "optimizer.grad_clip_norm",
                "0",
            ),
            (Box::new(|c| c.ema.decay = 1.5), "ema.decay", "1.5"),
            (
                Box::new(|c| c.ema.update_every = 0),
                "ema.update_every",
                "0",
            ),
            (Box::new(|c| c.batch_size = 0), "batch_size", "0"),
            (
                Box::new(|c| c.grad_accumulation = 0),
                "grad_accumulation",
                "0",
            ),
            (Box::new(|c| c.steps = 0), "steps", "0"),
            (
                Box::new(|c| c.checkpoint.every = 0),
                "checkpoint.every",
                "0",
            ),
            (Box::new(|c| c.log_every = 0), "log_every", "0"),
            (
                Box::new(|c| {
                    c.data.partner = Some(PartnerData {
                        dataset: DatasetSource::Folder {
                            path: "afhq".into(),
                        },
                        augmentation: cold_data::Preset::CenterCrop,
                    })
                }),
                "data.partner",
                "folder afhq",
            ),
        ];
        for (mutate, field, value) in cases {
            let mut c = base();
            mutate(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(
                e.contains(&format!("{field} = {value}")),
                "expected `{field} = {value}` in: {e}"
            );
        }
        let mut c = base();
        c.degradation = DegradationConfig::preset("animorph-celeba").unwrap();
        c.data.image_size = 128;
        c.data.channels = 3;
        c.network = NetConfig::Unet(cold_unet::UnetConfig::tiny(3));
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("data.partner = none"), "{e}");
    }

    #[test]
    fn warmup_is_linear() {
        let o = OptimizerConfig {
            warmup_steps: 4,
            lr: 1.0,
            ..Default::default()
        };
        assert_eq!(
            [1, 2, 3, 4, 5].map(|k| o.lr_at(k)),
            [0.25, 0.5, 0.75, 1.0, 1.0]
        );
        assert_eq!(OptimizerConfig::default().lr_at(1), 2e-5);
    }
}
