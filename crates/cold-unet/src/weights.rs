//! Weight files: original PyTorch checkpoints (`.pt`, read with burn-store's PyTorch reader)
//! and safetensors files, both keyed by the ORIGINAL module names.
//!
//! # One naming convention
//! Every file this crate reads or writes uses the original state-dict keys and PyTorch layouts
//! (`downs.0.0.net.1.weight`, Linear weights as `[out, in]`, GroupNorm `weight`/`bias`). Our own
//! safetensors files are therefore loadable by the original code
//! (`model.load_state_dict(safetensors.torch.load_file(path))`) and vice versa.
//!
//! The DDPM network's Burn field names equal the original names. The ConvNeXt U-Net's original
//! names contain `nn.Sequential` / `nn.ModuleList` indices (`downs.i.0`, `net.3`, `fn.fn`) that
//! cannot be struct fields, so its Burn fields are named by role and mapped segment by segment
//! ([`unet_torch_segment`]). The key table is built by walking the model itself, so it is
//! always complete for any configuration.
//!
//! # What is accepted
//! - trainer checkpoints `{step, model, ema}` as the original `Trainer.save` writes them
//!   (choose [`CheckpointEntry::Ema`], the default, or [`CheckpointEntry::Model`]);
//! - bare state dicts, with or without the `module.` (DataParallel) and `denoise_fn.`
//!   (`GaussianDiffusion`) prefixes; tensors of the diffusion wrapper outside `denoise_fn.`
//!   (e.g. the blur kernels `gaussian_kernels.*`) are ignored and listed in the [`LoadReport`];
//! - float tensors of any precision (cast to f32).
//!
//! Missing, unexpected and mis-shaped keys are reported together in one
//! [`UnetError::StateDictMismatch`]; weights of the other architecture give
//! [`UnetError::ArchitectureMismatch`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{
    BurnToPyTorchAdapter, FloatCastAdapter, ModuleAdapter, ModuleSnapshot, ModuleStore,
    PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
};
use burn::tensor::DType;

use crate::config::NetConfig;
use crate::error::{CheckpointEntry, ShapeMismatch, UnetError};

/// Metadata key of our safetensors files holding the network configuration (JSON).
pub const CONFIG_METADATA_KEY: &str = "cold_diffusion.net_config";

/// The container format of a weight file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// A PyTorch `torch.save` file (zip or legacy pickle).
    Pytorch,
    /// A safetensors file.
    Safetensors,
}

/// What a successful load found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// The file.
    pub path: PathBuf,
    /// Its container format.
    pub format: WeightsFormat,
    /// The trainer-checkpoint entry that was loaded, if the file is a trainer checkpoint.
    pub entry: Option<CheckpointEntry>,
    /// Other top-level entries of a trainer checkpoint that hold tensors (not loaded).
    pub other_entries: Vec<String>,
    /// The key prefix that was stripped (`module.denoise_fn.`, `denoise_fn.`, ... or empty).
    pub prefix: String,
    /// Tensors outside the network that were ignored (full keys within the entry), e.g.
    /// `module.gaussian_kernels.0.weight` of the original `GaussianDiffusion` wrapper.
    pub ignored: Vec<String>,
    /// Number of tensors loaded into the network.
    pub loaded: usize,
}

/// The original key for one segment of a ConvNeXt U-Net Burn path (identity for segments that
/// already carry the original name). See the module documentation.
pub fn unet_torch_segment(segment: &str) -> &str {
    match segment {
        // Unet
        "final_block" => "final_conv.0",
        "final_conv" => "final_conv.1",
        "mid_attn" => "mid_attn.fn",
        // TimeMlp: Sequential(SinusoidalPosEmb, Linear, GELU, Linear)
        "dense1" => "1",
        "dense2" => "3",
        // one level: ModuleList([block1, block2, Residual(PreNorm(attn)), down/upsample])
        "block1" => "0",
        "block2" => "1",
        "attn" => "2.fn",
        "downsample" | "upsample" => "3",
        // ConvNextBlock: mlp = Sequential(GELU, Linear); net = Sequential(LN, conv, GELU, conv)
        "time_proj" => "mlp.1",
        "net_norm" => "net.0",
        "net_conv1" => "net.1",
        "net_conv2" => "net.3",
        // Residual(PreNorm(LinearAttention)): PreNorm.fn is the attention
        "to_qkv" => "fn.to_qkv",
        "to_out" => "fn.to_out",
        other => other,
    }
}

/// Which network a set of weights belongs to (for the key mapping and for error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arch {
    Unet,
    ResUnet,
}

impl Arch {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Unet => "ConvNeXt U-Net (\"unet\")",
            Self::ResUnet => "DDPM ResNet U-Net (\"resunet\")",
        }
    }

    fn torch_key(self, burn_path: &str) -> String {
        match self {
            Self::Unet => burn_path
                .split('.')
                .map(unet_torch_segment)
                .collect::<Vec<_>>()
                .join("."),
            Self::ResUnet => burn_path.to_string(),
        }
    }

    /// Guess the architecture of a (prefix-stripped) state dict from its keys.
    fn detect<'a>(keys: impl Iterator<Item = &'a String>) -> Option<Arch> {
        let (mut unet, mut resunet) = (0usize, 0usize);
        for k in keys {
            let first = k.split('.').next().unwrap_or("");
            match first {
                "downs" | "ups" | "mid_block1" | "mid_block2" | "mid_attn" | "final_conv"
                | "time_mlp" => unet += 1,
                "down" | "up" | "mid" | "conv_in" | "conv_out" | "norm_out" | "temb" => {
                    resunet += 1
                }
                _ => {}
            }
        }
        match (unet > 0, resunet > 0) {
            (true, false) => Some(Arch::Unet),
            (false, true) => Some(Arch::ResUnet),
            _ => None,
        }
    }
}

/// The expected original keys of `module`: original key -> (Burn path as the applier looks it
/// up with the PyTorch adapter, shape in PyTorch layout).
fn expected_keys<M: Module>(module: &M, arch: Arch) -> BTreeMap<String, (String, Vec<usize>)> {
    module
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), false)
        .into_iter()
        .map(|t| {
            let shape = t.shape.iter().copied().collect();
            (arch.torch_key(&t.name), (t.name, shape))
        })
        .collect()
}

/// A state dict read from a file, keys normalised to the network's own names.
struct StateDict {
    tensors: BTreeMap<String, PackTensor>,
    report: LoadReport,
}

fn format_error(path: &Path, message: impl Into<String>) -> UnetError {
    UnetError::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Sniff the container: safetensors starts with a little-endian u64 header length followed by
/// a JSON object; anything else is handed to the PyTorch reader.
fn detect_format(path: &Path) -> Result<WeightsFormat, UnetError> {
    let mut file = File::open(path).map_err(|source| UnetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut head = [0u8; 9];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(source) => {
                return Err(UnetError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    if read < 9 {
        return Err(format_error(
            path,
            format!(
                "the file is only {read} bytes long; expected a PyTorch checkpoint or a safetensors file"
            ),
        ));
    }
    let header_len = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if head[8] == b'{' && header_len >= 2 && header_len.saturating_add(8) <= file_len {
        Ok(WeightsFormat::Safetensors)
    } else {
        Ok(WeightsFormat::Pytorch)
    }
}

/// Read every tensor of a weight file, with keys as stored.
fn read_raw(path: &Path) -> Result<(WeightsFormat, BTreeMap<String, PackTensor>), UnetError> {
    let format = detect_format(path)?;
    let tensors = match format {
        WeightsFormat::Pytorch => {
            let mut store = PytorchStore::from_file(path).map_indices_contiguous(false);
            store
                .get_all_tensors()
                .map_err(|e| {
                    format_error(
                        path,
                        format!("not a readable PyTorch checkpoint or safetensors file ({e})"),
                    )
                })?
                .clone()
        }
        WeightsFormat::Safetensors => {
            let mut store = SafetensorsStore::from_file(path).map_indices_contiguous(false);
            store
                .get_all_tensors()
                .map_err(|e| format_error(path, format!("invalid safetensors file ({e})")))?
                .clone()
        }
    };
    if tensors.is_empty() {
        return Err(format_error(path, "the file holds no tensors"));
    }
    Ok((format, tensors))
}

fn strip_all(
    tensors: BTreeMap<String, PackTensor>,
    prefix: &str,
) -> Option<BTreeMap<String, PackTensor>> {
    if !tensors.keys().all(|k| k.starts_with(prefix)) {
        return None;
    }
    Some(
        tensors
            .into_iter()
            .map(|(k, mut t)| {
                let k = k[prefix.len()..].to_string();
                t.name = k.clone();
                (k, t)
            })
            .collect(),
    )
}

/// Read a weight file and normalise its keys to the network's original names.
fn read_state_dict(path: &Path, entry: CheckpointEntry) -> Result<StateDict, UnetError> {
    let (format, mut tensors) = read_raw(path)?;
    let mut report = LoadReport {
        path: path.to_path_buf(),
        format,
        entry: None,
        other_entries: Vec::new(),
        prefix: String::new(),
        ignored: Vec::new(),
        loaded: 0,
    };

    // A trainer checkpoint {step, model, ema}: the tensors sit under `model.` and `ema.`.
    let top: std::collections::BTreeSet<String> = tensors
        .keys()
        .map(|k| k.split('.').next().unwrap_or("").to_string())
        .collect();
    if top.contains("model") || top.contains("ema") {
        let wanted = entry.key();
        if !top.contains(wanted) {
            return Err(UnetError::MissingEntry {
                path: path.to_path_buf(),
                entry,
                available: top.into_iter().collect(),
            });
        }
        let prefix = format!("{wanted}.");
        report.entry = Some(entry);
        report.other_entries = top.into_iter().filter(|t| t != wanted).collect();
        tensors = tensors
            .into_iter()
            .filter_map(|(k, mut t)| {
                k.strip_prefix(&prefix).map(|rest| {
                    t.name = rest.to_string();
                    (rest.to_string(), t)
                })
            })
            .collect();
    }

    // DataParallel wraps everything in `module.`.
    if let Some(stripped) = strip_all(tensors.clone(), "module.") {
        tensors = stripped;
        report.prefix.push_str("module.");
    }

    // GaussianDiffusion holds the network as `denoise_fn`; its own tensors (blur kernels) are
    // not part of the network.
    if tensors.keys().any(|k| k.starts_with("denoise_fn.")) {
        let mut kept = BTreeMap::new();
        for (k, mut t) in tensors {
            match k.strip_prefix("denoise_fn.") {
                Some(rest) => {
                    t.name = rest.to_string();
                    kept.insert(rest.to_string(), t);
                }
                None => report.ignored.push(format!("{}{k}", report.prefix)),
            }
        }
        tensors = kept;
        report.prefix.push_str("denoise_fn.");
    }
    if tensors.is_empty() {
        return Err(format_error(
            path,
            "no network tensors found (expected keys like `downs.0.0.ds_conv.weight` or \
             `conv_in.weight`, optionally under `module.` / `denoise_fn.`)",
        ));
    }
    Ok(StateDict { tensors, report })
}

/// Check a normalised state dict against `module`, then load it. All problems are reported in
/// one error.
fn apply_state_dict<M: Module>(
    module: M,
    arch: Arch,
    state: StateDict,
) -> Result<(M, LoadReport), UnetError> {
    let StateDict {
        tensors,
        mut report,
    } = state;
    let path = report.path.clone();
    let expected = expected_keys(&module, arch);

    if let Some(found) = Arch::detect(tensors.keys())
        && found != arch
        && !tensors.keys().any(|k| expected.contains_key(k))
    {
        return Err(UnetError::ArchitectureMismatch {
            path,
            expected: arch.name(),
            found: found.name(),
        });
    }

    let shape_of = |t: &PackTensor| t.shape.iter().copied().collect::<Vec<usize>>();
    let mut missing = Vec::new();
    let mut mis_shaped = Vec::new();
    let mut to_apply = Vec::with_capacity(expected.len());
    for (key, (burn_path, shape)) in &expected {
        match tensors.get(key) {
            None => missing.push((report.prefix.clone() + key, shape.clone())),
            Some(t) if &shape_of(t) != shape => mis_shaped.push(ShapeMismatch {
                key: report.prefix.clone() + key,
                expected: shape.clone(),
                found: shape_of(t),
            }),
            Some(t) => {
                let mut t = t.clone();
                t.name = burn_path.clone();
                to_apply.push(t);
            }
        }
    }
    let unexpected: Vec<(String, Vec<usize>)> = tensors
        .iter()
        .filter(|(k, _)| !expected.contains_key(*k))
        .map(|(k, t)| (report.prefix.clone() + k, shape_of(t)))
        .collect();
    if !missing.is_empty() || !unexpected.is_empty() || !mis_shaped.is_empty() {
        return Err(UnetError::StateDictMismatch {
            path,
            arch: arch.name(),
            missing,
            unexpected,
            mis_shaped,
        });
    }

    let mut module = module;
    let adapter: Box<dyn ModuleAdapter> =
        Box::new(PyTorchToBurnAdapter.chain(FloatCastAdapter::to(DType::F32)));
    let result = module.apply(to_apply, None, Some(adapter), false);
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        let mut problems: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        problems.extend(
            result
                .missing
                .iter()
                .map(|(p, _)| format!("not loaded: {p}")),
        );
        problems.extend(result.unused.iter().map(|p| format!("not used: {p}")));
        return Err(format_error(
            &path,
            format!("loading the tensors failed:\n  {}", problems.join("\n  ")),
        ));
    }
    report.loaded = result.applied.len();
    Ok((module, report))
}

/// Load the weights in `path` (a PyTorch checkpoint or a safetensors file with original key
/// names) into `module`.
pub(crate) fn load_file<M: Module>(
    module: M,
    arch: Arch,
    path: &Path,
    entry: CheckpointEntry,
) -> Result<(M, LoadReport), UnetError> {
    let state = read_state_dict(path, entry)?;
    apply_state_dict(module, arch, state)
}

/// One tensor as stored in a file: original key, PyTorch shape, little-endian f32 bytes.
type TorchTensor = (String, Vec<usize>, Vec<u8>);

/// The module's tensors under their original keys, in PyTorch layout, as f32 bytes.
fn torch_tensors<M: Module>(module: &M, arch: Arch) -> Result<Vec<TorchTensor>, String> {
    module
        .collect(
            None,
            Some(Box::new(
                BurnToPyTorchAdapter.chain(FloatCastAdapter::to(DType::F32)),
            )),
            false,
        )
        .into_iter()
        .map(|t| {
            let key = arch.torch_key(&t.name);
            let shape = t.shape.iter().copied().collect();
            let bytes = t
                .to_bytes()
                .map_err(|e| format!("cannot read tensor {key}: {e}"))?;
            Ok((key, shape, bytes.to_vec()))
        })
        .collect()
}

/// Serialise the module as safetensors bytes (original keys, PyTorch layout, f32), with the
/// network configuration in the metadata under [`CONFIG_METADATA_KEY`].
pub(crate) fn to_safetensors_bytes<M: Module>(
    module: &M,
    arch: Arch,
    config: &NetConfig,
) -> Result<Vec<u8>, String> {
    let tensors = torch_tensors(module, arch)?;
    let views = tensors
        .iter()
        .map(|(key, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|v| (key.clone(), v))
                .map_err(|e| format!("tensor {key}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // One metadata entry only: safetensors serialises its metadata map in hash order, and a
    // single entry keeps the bytes of a given model deterministic.
    let metadata = std::collections::HashMap::from([(
        CONFIG_METADATA_KEY.to_string(),
        config.to_json_string(),
    )]);
    safetensors::serialize(views, Some(metadata)).map_err(|e| e.to_string())
}

/// Write the module to `path` as safetensors: a temporary file beside it is written, synced,
/// then renamed, so an interrupted save never leaves a truncated file at `path`.
pub(crate) fn save_safetensors<M: Module>(
    module: &M,
    arch: Arch,
    config: &NetConfig,
    path: &Path,
) -> Result<(), UnetError> {
    let bytes =
        to_safetensors_bytes(module, arch, config).map_err(|message| UnetError::Format {
            path: path.to_path_buf(),
            message,
        })?;
    let io = |source| UnetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| format_error(path, "the path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    {
        let mut file = File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// Load safetensors bytes (as written by [`to_safetensors_bytes`]) into the module. `name`
/// stands for the file in error messages.
pub(crate) fn load_safetensors_bytes<M: Module>(
    module: M,
    arch: Arch,
    bytes: Vec<u8>,
    name: &Path,
) -> Result<(M, LoadReport), UnetError> {
    let mut store = SafetensorsStore::from_bytes(Some(bytes)).map_indices_contiguous(false);
    let tensors = store
        .get_all_tensors()
        .map_err(|e| format_error(name, format!("invalid safetensors data ({e})")))?
        .clone();
    let state = StateDict {
        tensors,
        report: LoadReport {
            path: name.to_path_buf(),
            format: WeightsFormat::Safetensors,
            entry: None,
            other_entries: Vec::new(),
            prefix: String::new(),
            ignored: Vec::new(),
            loaded: 0,
        },
    };
    apply_state_dict(module, arch, state)
}

/// The network configuration stored in the metadata of one of our safetensors files, if any
/// (`None` for files written by other tools, e.g. the golden vectors).
pub fn read_safetensors_config(path: impl AsRef<Path>) -> Result<Option<NetConfig>, UnetError> {
    let path = path.as_ref();
    let io = |source| UnetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(io)?;
    let len = u64::from_le_bytes(len);
    let file_len = file.metadata().map_err(io)?.len();
    if len > file_len.saturating_sub(8) || len > 100 << 20 {
        return Err(format_error(
            path,
            "not a safetensors file (bad header length)",
        ));
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header).map_err(io)?;
    let header: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| format_error(path, format!("not a safetensors file ({e})")))?;
    let Some(text) = header
        .get("__metadata__")
        .and_then(|m| m.get(CONFIG_METADATA_KEY))
        .and_then(|v| v.as_str())
    else {
        return Ok(None);
    };
    NetConfig::from_json_str(text)
        .map(|p| Some(p.config))
        .map_err(|source| UnetError::ConfigFile {
            path: path.to_path_buf(),
            source,
        })
}
