//! Loading a network from any checkpoint the command line accepts: a `cold train` checkpoint,
//! a safetensors network file written by `cold-unet`, or an original PyTorch checkpoint with a
//! `--unet-config`.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;
use cold_diffusion::train::{CheckpointInfo, TrainConfig};
use cold_diffusion::unet::{CheckpointEntry, NetConfig, RestorationNet};

use crate::error::{CliError, Result};

/// The metadata key of a `cold train` checkpoint's configuration.
const TRAIN_CONFIG_KEY: &str = "cold_diffusion.train_config";
/// The metadata key of a `cold-unet` safetensors file's network configuration.
const NET_CONFIG_KEY: &str = "cold_diffusion.net_config";

/// What kind of file a checkpoint is, from its first bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum FileKind {
    /// A safetensors file and its `__metadata__` (empty when it has none).
    Safetensors(HashMap<String, String>),
    /// A PyTorch `torch.save` file (zip archive or legacy pickle).
    Pytorch,
}

/// Looks at the first bytes of `path`.
///
/// # Errors
/// A missing or unreadable file, or a file that is neither format (the message names it).
pub fn sniff(path: &Path) -> Result<FileKind> {
    let mut file = std::fs::File::open(path).map_err(|e| CliError::io(path, e))?;
    let len = file.metadata().map_err(|e| CliError::io(path, e))?.len();
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(CliError::new(format!(
            "{}: is a directory, not a checkpoint file",
            path.display()
        )));
    }
    let mut head = [0u8; 8];
    let n = file.read(&mut head).map_err(|e| CliError::io(path, e))?;
    let not_a_checkpoint = || {
        CliError::new(format!(
            "{}: not a checkpoint (neither a safetensors file nor a PyTorch .pt file)",
            path.display()
        ))
    };
    if n >= 4 && head[..4] == *b"PK\x03\x04" {
        return Ok(FileKind::Pytorch);
    }
    // Legacy (non-zip) torch.save: a pickle protocol 2 stream of the magic number.
    if n >= 2 && head[0] == 0x80 && (2..=5).contains(&head[1]) {
        return Ok(FileKind::Pytorch);
    }
    if n < 8 {
        return Err(not_a_checkpoint());
    }
    let header_len = u64::from_le_bytes(head);
    if header_len == 0 || header_len > len - 8 || header_len > 100 << 20 {
        return Err(not_a_checkpoint());
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header)
        .map_err(|e| CliError::io(path, e))?;
    let value: serde_json::Value =
        serde_json::from_slice(&header).map_err(|_| not_a_checkpoint())?;
    let meta = value
        .get("__metadata__")
        .and_then(|m| m.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Ok(FileKind::Safetensors(meta))
}

/// A network loaded for inference, and what its checkpoint says about how it was trained.
#[derive(Debug)]
pub struct Loaded {
    /// The network, in evaluation mode, on the requested device.
    pub net: RestorationNet,
    /// The training configuration, for a `cold train` checkpoint.
    pub train: Option<TrainConfig>,
    /// The step of a `cold train` checkpoint.
    pub step: Option<u64>,
    /// One line describing the weights (for the command's output).
    pub description: String,
}

/// Which weights of a checkpoint to load, from the `--ema` / `--model` flags.
pub fn entry(model: bool) -> CheckpointEntry {
    if model {
        CheckpointEntry::Model
    } else {
        CheckpointEntry::Ema
    }
}

/// Reads `--unet-config`, printing its warnings (ignored fields) on stderr.
fn read_unet_config(path: &Path) -> Result<NetConfig> {
    let parsed = NetConfig::from_json_file(path)?;
    for w in &parsed.warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    Ok(parsed.config)
}

/// Loads the network of `checkpoint`.
///
/// - A `cold train` checkpoint carries its configuration; `--unet-config`, if given, must agree.
/// - A safetensors network file of `cold-unet` carries its network configuration likewise.
/// - An original PyTorch checkpoint, or a safetensors file without our metadata, needs
///   `--unet-config`.
///
/// # Errors
/// A missing or unreadable file, a missing or contradicting `--unet-config`, or weights that do
/// not fit the configuration (architecture, missing / unexpected / mis-shaped tensors).
pub fn load(
    checkpoint: &Path,
    unet_config: Option<&Path>,
    which: CheckpointEntry,
    device: &Device,
) -> Result<Loaded> {
    if !checkpoint.exists() {
        return Err(CliError::new(format!(
            "{}: no such file (checkpoint)",
            checkpoint.display()
        )));
    }
    let kind = sniff(checkpoint)?;
    let given = unet_config.map(read_unet_config).transpose()?;
    let (config, train, step, what) = match &kind {
        FileKind::Safetensors(meta) if meta.contains_key(TRAIN_CONFIG_KEY) => {
            let info = CheckpointInfo::read(checkpoint)?;
            (
                info.config.network.clone(),
                Some(info.config),
                Some(info.state.step),
                "cold train checkpoint",
            )
        }
        FileKind::Safetensors(meta) if meta.contains_key(NET_CONFIG_KEY) => {
            let config =
                cold_diffusion::unet::read_safetensors_config(checkpoint)?.ok_or_else(|| {
                    CliError::new(format!(
                        "{}: unreadable network configuration",
                        checkpoint.display()
                    ))
                })?;
            (config, None, None, "network weights")
        }
        other => {
            let format = if matches!(other, FileKind::Pytorch) {
                "an original PyTorch checkpoint"
            } else {
                "a safetensors file without a network configuration"
            };
            let config = given.clone().ok_or_else(|| {
                CliError::new(format!(
                    "{}: {format} does not record its network: give --unet-config FILE (JSON with the \
                     original constructor's arguments, e.g. {{\"arch\": \"unet\", \"dim\": 64, \
                     \"dim_mults\": [1, 2, 4, 8], \"channels\": 3}}; see docs/loading-original-checkpoints.md)",
                    checkpoint.display()
                ))
            })?;
            (config, None, None, "original weights")
        }
    };
    if let (Some(g), Some(path)) = (&given, unet_config)
        && *g != config
    {
        return Err(CliError::new(format!(
            "{}: the network configuration ({}) contradicts the checkpoint {}, which holds a {config} network",
            path.display(),
            g,
            checkpoint.display()
        )));
    }
    let (net, report) = RestorationNet::from_file(&config, checkpoint, which, device)?;
    if !report.ignored.is_empty() {
        eprintln!(
            "note: {}: ignored {} tensor(s) outside the network (e.g. {})",
            checkpoint.display(),
            report.ignored.len(),
            report.ignored[0]
        );
    }
    let entry_note = match report.entry {
        Some(e) => format!(", {e} weights"),
        None => String::new(),
    };
    let step_note = step.map(|s| format!(", step {s}")).unwrap_or_default();
    let description = format!(
        "{} ({what}{step_note}{entry_note}): {config}",
        checkpoint.display()
    );
    Ok(Loaded {
        net: net.valid(),
        train,
        step,
        description,
    })
}

/// The checkpoint path of a run directory (`<dir>/checkpoints/latest.safetensors`), or `path`
/// itself.
pub fn resolve_checkpoint(path: &Path) -> PathBuf {
    if path.is_dir() {
        cold_diffusion::train::RunPaths::new(path).latest()
    } else {
        path.to_path_buf()
    }
}

/// Loads a `cold train` checkpoint (needed by `sample` and `eval`, which use its configuration).
///
/// # Errors
/// As [`load`], or a checkpoint that is not from `cold train`.
pub fn load_trained(
    checkpoint: &Path,
    which: CheckpointEntry,
    device: &Device,
) -> Result<(Loaded, TrainConfig)> {
    let checkpoint = resolve_checkpoint(checkpoint);
    let loaded = load(&checkpoint, None, which, device).map_err(|e| {
        if e.to_string().contains("does not record its network") {
            CliError::new(format!(
                "{}: not a checkpoint of `cold train` (this command needs the training configuration \
                 it holds; for original weights use `cold restore --unet-config`)",
                checkpoint.display()
            ))
        } else {
            e
        }
    })?;
    let Some(train) = loaded.train.clone() else {
        return Err(CliError::new(format!(
            "{}: network weights without a training configuration: this command needs a checkpoint \
             of `cold train` (use `cold restore` with --preset for plain weights)",
            checkpoint.display()
        )));
    };
    Ok((loaded, train))
}
