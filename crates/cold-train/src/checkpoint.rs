//! Training checkpoints: one safetensors file holding the live weights, the EMA weights, the
//! optimizer state, and (in its metadata) the step, the RNG and data-loader positions and the
//! full configuration, written atomically.
//!
//! # Format (version 1)
//! Tensors:
//! - `model.<key>`: the live network, original PyTorch key names and layouts (as
//!   `cold-unet` writes them);
//! - `ema.<key>`: the EMA network, same keys;
//! - `optim.<parameter path>/<leaf>`: Burn's optimizer state per parameter, keyed by the
//!   parameter's path in the Burn module tree (Adam: `momentum.moment_1`, `momentum.moment_2`).
//!
//! Metadata (strings):
//! - `cold_diffusion.checkpoint_format`: `"1"`;
//! - `cold_diffusion.train_config`: the [`TrainConfig`] as JSON;
//! - `cold_diffusion.train_state`: the [`TrainState`] as JSON;
//! - `cold_diffusion.optimizer_scalars`: the optimizer's scalar state per parameter path (Adam's
//!   step count `momentum.time`, Burn's `__rank`) as JSON;
//! - `cold_diffusion.net_config`: the network configuration (`cold-unet`'s key), so that
//!   `cold_unet::RestorationNet::from_file(.., CheckpointEntry::Ema, ..)` and
//!   `cold_unet::read_safetensors_config` read a checkpoint directly, like an original trainer
//!   checkpoint `{step, model, ema}`.
//!
//! A JSON sidecar (`<name>.json`: format, step, loss, state, config) is written after each
//! checkpoint for people and scripts; it is informative only, the safetensors file is complete
//! on its own.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{DType, Device};
use cold_data::LoaderState;
use cold_unet::RestorationNet;
use rand_chacha::ChaCha8Rng;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::optim_state::{self, PathKeyedState};
use crate::trainer::adam;

/// Version of the checkpoint layout written by this crate.
pub const CHECKPOINT_FORMAT: u32 = 1;

const META_FORMAT: &str = "cold_diffusion.checkpoint_format";
const META_CONFIG: &str = "cold_diffusion.train_config";
const META_STATE: &str = "cold_diffusion.train_state";
const META_OPTIM: &str = "cold_diffusion.optimizer_scalars";
const META_NET: &str = "cold_diffusion.net_config";

/// The position of the run's random stream (`ChaCha8Rng`): seed, stream and word position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte key, as 64 hexadecimal digits.
    pub seed: String,
    /// The stream number.
    pub stream: u64,
    /// The word position in the stream (a `u128`, as a decimal string: JSON numbers are not
    /// that wide).
    pub word_pos: String,
}

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &ChaCha8Rng) -> Self {
        Self {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// A generator at this state.
    ///
    /// # Errors
    /// A message if the seed or the position cannot be parsed.
    pub fn restore(&self) -> std::result::Result<ChaCha8Rng, String> {
        use rand::SeedableRng;
        if self.seed.len() != 64 {
            return Err(format!(
                "rng seed `{}` is not 64 hexadecimal digits",
                self.seed
            ));
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&self.seed[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("rng seed `{}` is not hexadecimal", self.seed))?;
        }
        let pos: u128 = self
            .word_pos
            .parse()
            .map_err(|_| format!("rng word_pos `{}` is not an integer", self.word_pos))?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(pos);
        Ok(rng)
    }
}

/// Everything besides weights that a run needs to continue exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainState {
    /// Optimiser updates done.
    pub step: u64,
    /// The run's random stream (levels and operator draws), positioned after update `step`.
    pub rng: RngState,
    /// Position of the training data stream.
    pub data: LoaderState,
    /// Position of the partner-image stream (animorphosis), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<LoaderState>,
    /// Number of devices the micro-batches were split over (the random stream is consumed per
    /// device shard, so resuming with another count continues validly but not bit-identically).
    pub devices: usize,
    /// Mean loss of the last update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_loss: Option<f32>,
    /// Training wall time so far, in seconds (summed over resumed runs).
    pub elapsed_s: f64,
}

/// A checkpoint's configuration and state, read from its header alone (cheap even for a large
/// network).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointInfo {
    /// The file.
    pub path: PathBuf,
    /// The layout version.
    pub format: u32,
    /// The full training configuration.
    pub config: TrainConfig,
    /// Step, RNG and data positions.
    pub state: TrainState,
}

/// A loaded checkpoint: everything a trainer needs to continue.
pub struct Checkpoint {
    /// The full training configuration.
    pub config: TrainConfig,
    /// Step, RNG and data positions.
    pub state: TrainState,
    /// The live network, on the device given to [`Checkpoint::load`].
    pub model: RestorationNet,
    /// The EMA network, on that device without autodiff, in evaluation mode.
    pub ema: RestorationNet,
    /// Adam with its moments and step counts, keyed to `model`'s parameters.
    pub optimizer: ModuleOptimizer,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("config", &self.config)
            .field("state", &self.state)
            .field("network", &self.model.config())
            .finish_non_exhaustive()
    }
}

fn safetensors_dtype(dtype: DType) -> Option<Dtype> {
    Some(match dtype {
        DType::F64 => Dtype::F64,
        DType::F32 => Dtype::F32,
        DType::F16 => Dtype::F16,
        DType::BF16 => Dtype::BF16,
        DType::I64 => Dtype::I64,
        DType::I32 => Dtype::I32,
        DType::U8 => Dtype::U8,
        _ => return None,
    })
}

fn burn_dtype(dtype: Dtype) -> Option<DType> {
    Some(match dtype {
        Dtype::F64 => DType::F64,
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I64 => DType::I64,
        Dtype::I32 => DType::I32,
        Dtype::U8 => DType::U8,
        _ => return None,
    })
}

/// Serialise a checkpoint (see the module docs for the layout).
pub(crate) fn encode(
    config: &TrainConfig,
    state: &TrainState,
    model: &RestorationNet,
    ema: &RestorationNet,
    optimizer: &ModuleOptimizer,
) -> Result<Vec<u8>> {
    let mem = PathBuf::from("<checkpoint>");
    let model_bytes = model.to_safetensors_bytes()?;
    let ema_bytes = ema.to_safetensors_bytes()?;
    let model_st = SafeTensors::deserialize(&model_bytes)
        .map_err(|e| TrainError::checkpoint(&mem, format!("model weights: {e}")))?;
    let ema_st = SafeTensors::deserialize(&ema_bytes)
        .map_err(|e| TrainError::checkpoint(&mem, format!("EMA weights: {e}")))?;
    let optim =
        optim_state::export(optimizer, model).map_err(|e| TrainError::checkpoint(&mem, e))?;

    let mut views: Vec<(String, TensorView<'_>)> = Vec::new();
    for (name, view) in model_st.tensors() {
        views.push((format!("model.{name}"), view));
    }
    for (name, view) in ema_st.tensors() {
        views.push((format!("ema.{name}"), view));
    }
    for (path, leaf, dtype, shape, data) in &optim.tensors {
        let dt = safetensors_dtype(*dtype).ok_or_else(|| {
            TrainError::checkpoint(
                &mem,
                format!("optimizer state {path}/{leaf} has unsupported dtype {dtype:?}"),
            )
        })?;
        let view = TensorView::new(dt, shape.clone(), data).map_err(|e| {
            TrainError::checkpoint(&mem, format!("optimizer state {path}/{leaf}: {e}"))
        })?;
        views.push((format!("optim.{path}/{leaf}"), view));
    }
    let json = |v: serde_json::Result<String>| v.expect("checkpoint metadata serialises to JSON");
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (META_FORMAT.to_string(), CHECKPOINT_FORMAT.to_string()),
        (META_CONFIG.to_string(), json(serde_json::to_string(config))),
        (META_STATE.to_string(), json(serde_json::to_string(state))),
        (
            META_OPTIM.to_string(),
            json(serde_json::to_string(&optim.scalars)),
        ),
        (META_NET.to_string(), config.network.to_json_string()),
    ]);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| TrainError::checkpoint(&mem, format!("cannot serialise: {e}")))
}

/// Write checkpoint bytes to `path` atomically, then its JSON sidecar.
pub(crate) fn write(
    path: &Path,
    bytes: &[u8],
    config: &TrainConfig,
    state: &TrainState,
) -> Result<()> {
    write_atomic(path, bytes)?;
    let sidecar = serde_json::json!({
        "format": CHECKPOINT_FORMAT,
        "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
        "step": state.step,
        "last_loss": state.last_loss,
        "state": state,
        "config": config,
    });
    let text = serde_json::to_string_pretty(&sidecar).expect("sidecar serialises");
    write_atomic(&path.with_extension("json"), text.as_bytes())
}

/// Read the safetensors header (length-prefixed JSON) of `path` without its tensor data.
fn read_header(path: &Path) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut file = File::open(path).map_err(|e| TrainError::io(path, e))?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|e| TrainError::io(path, e))?;
    let len = u64::from_le_bytes(len);
    let file_len = file.metadata().map_err(|e| TrainError::io(path, e))?.len();
    if len > file_len.saturating_sub(8) || len > 100 << 20 {
        return Err(TrainError::checkpoint(
            path,
            "not a safetensors file (bad header length)",
        ));
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header)
        .map_err(|e| TrainError::io(path, e))?;
    let value: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| TrainError::checkpoint(path, format!("not a safetensors file ({e})")))?;
    match value {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(TrainError::checkpoint(
            path,
            "not a safetensors file (header is not an object)",
        )),
    }
}

fn parse_metadata(
    path: &Path,
    meta: &HashMap<String, String>,
) -> Result<(u32, TrainConfig, TrainState)> {
    let get = |key: &str| {
        meta.get(key).ok_or_else(|| {
            TrainError::checkpoint(
                path,
                format!("metadata `{key}` is missing: this is not a cold-train checkpoint (network weights alone load with cold_unet::RestorationNet::from_file)"),
            )
        })
    };
    let format: u32 = get(META_FORMAT)?
        .parse()
        .map_err(|_| TrainError::checkpoint(path, "the format version is not a number"))?;
    if format != CHECKPOINT_FORMAT {
        return Err(TrainError::checkpoint(
            path,
            format!(
                "checkpoint format {format}; this version of cold-train reads format {CHECKPOINT_FORMAT}"
            ),
        ));
    }
    let config: TrainConfig = serde_json::from_str(get(META_CONFIG)?)
        .map_err(|e| TrainError::checkpoint(path, format!("training configuration: {e}")))?;
    let state: TrainState = serde_json::from_str(get(META_STATE)?)
        .map_err(|e| TrainError::checkpoint(path, format!("training state: {e}")))?;
    Ok((format, config, state))
}

impl CheckpointInfo {
    /// Read the configuration and state of the checkpoint at `path` (the tensors are not read).
    ///
    /// # Errors
    /// An I/O error, or [`TrainError::Checkpoint`] if the file is not a checkpoint of this crate.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let header = read_header(path)?;
        let meta: HashMap<String, String> = header
            .get("__metadata__")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| TrainError::checkpoint(path, format!("metadata: {e}")))?
            .unwrap_or_default();
        let (format, config, state) = parse_metadata(path, &meta)?;
        Ok(Self {
            path: path.to_path_buf(),
            format,
            config,
            state,
        })
    }
}

/// Collect the tensors under `prefix` as a stand-alone safetensors file (prefix removed).
fn sub_file(st: &SafeTensors<'_>, prefix: &str, path: &Path) -> Result<Vec<u8>> {
    let views: Vec<(String, TensorView<'_>)> = st
        .iter()
        .filter_map(|(name, view)| {
            name.strip_prefix(prefix)
                .map(|rest| (rest.to_string(), view))
        })
        .collect();
    if views.is_empty() {
        return Err(TrainError::checkpoint(
            path,
            format!("no `{prefix}*` tensors"),
        ));
    }
    safetensors::serialize(views, None).map_err(|e| TrainError::checkpoint(path, e.to_string()))
}

impl Checkpoint {
    /// Read the checkpoint at `path`: the live network on `device` (pass an autodiff device to
    /// continue training), the EMA network on `device` without autodiff, the optimizer keyed to
    /// the live network, the configuration and the state.
    ///
    /// # Errors
    /// An I/O error, or an error naming the file and what is wrong with it.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| TrainError::checkpoint(path, format!("not a safetensors file ({e})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let (_, config, state) = parse_metadata(path, &meta)?;
        config.validate().map_err(|e| {
            TrainError::checkpoint(path, format!("its configuration is invalid: {e}"))
        })?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| TrainError::checkpoint(path, format!("not a safetensors file ({e})")))?;

        let plain = device.clone().inner();
        // Building a network draws its (discarded) initial weights from the backend RNG, under
        // the lock `init` takes.
        let (model, ema) = (config.network.init(device), config.network.init(&plain));
        let (model, _) = model.load_safetensors_bytes(sub_file(&st, "model.", path)?, path)?;
        let (ema, _) = ema.load_safetensors_bytes(sub_file(&st, "ema.", path)?, path)?;
        let ema = ema.valid();

        let scalars: BTreeMap<String, BTreeMap<String, burn_pack::Scalar>> =
            serde_json::from_str(meta.get(META_OPTIM).map(String::as_str).unwrap_or("{}"))
                .map_err(|e| TrainError::checkpoint(path, format!("optimizer scalars: {e}")))?;
        let mut optim = PathKeyedState {
            tensors: Vec::new(),
            scalars,
        };
        for (name, view) in st.iter() {
            let Some(rest) = name.strip_prefix("optim.") else {
                continue;
            };
            let (param, leaf) = rest.split_once('/').ok_or_else(|| {
                TrainError::checkpoint(path, format!("optimizer tensor `{name}` has no `/<leaf>`"))
            })?;
            let dtype = burn_dtype(view.dtype()).ok_or_else(|| {
                TrainError::checkpoint(
                    path,
                    format!(
                        "optimizer tensor `{name}` has unsupported dtype {:?}",
                        view.dtype()
                    ),
                )
            })?;
            optim.tensors.push((
                param.to_string(),
                leaf.to_string(),
                dtype,
                view.shape().to_vec(),
                view.data().to_vec(),
            ));
        }
        let optimizer = optim_state::import(optim, adam(&config), &model)
            .map_err(|e| TrainError::checkpoint(path, e))?;
        Ok(Self {
            config,
            state,
            model,
            ema,
            optimizer,
        })
    }

    /// Write this checkpoint to `path` atomically (temporary file, fsync, rename, directory
    /// fsync), plus its JSON sidecar.
    ///
    /// # Errors
    /// An I/O error naming the file; the previous file at `path`, if any, is then intact.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = encode(
            &self.config,
            &self.state,
            &self.model,
            &self.ema,
            &self.optimizer,
        )?;
        write(path.as_ref(), &bytes, &self.config, &self.state)
    }
}

/// The EMA network of the checkpoint at `path` on `device` (without autodiff, in evaluation
/// mode), with the run's configuration: what sampling and evaluation need, from the path alone.
///
/// # Errors
/// An I/O error, or an error naming the file and what is wrong with it.
pub fn load_ema_net(
    path: impl AsRef<Path>,
    device: &Device,
) -> Result<(RestorationNet, TrainConfig)> {
    let path = path.as_ref();
    let info = CheckpointInfo::read(path)?;
    let device = device.clone().inner();
    let net = info.config.network.init(&device);
    let (net, _) = net.load_file(path, cold_unet::CheckpointEntry::Ema)?;
    Ok((net.valid(), info.config))
}
