//! Network configurations: [`UnetConfig`], [`ResUnetConfig`], the architecture-agnostic
//! [`NetConfig`], named presets, and the JSON form that uses the original constructors'
//! argument names.

use std::fmt;
use std::path::Path;

use burn::config::Config;
use burn::tensor::Device;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::error::{ConfigError, UnetError};
use crate::net::RestorationNet;
use crate::resunet::ResUnet;
use crate::unet::Unet;

/// Serialises use of Burn's backend RNG within this process.
///
/// Burn seeds some backends' RNG process-wide (Flex keeps one global generator), so two
/// threads that each seed it and then draw (network initialisation, dropout in a training
/// forward pass) interleave their draws unless both hold this lock from the seed to the last
/// draw. [`NetConfig::init`] and [`NetConfig::init_seeded`] take it; so does `cold-train`
/// around its seeded forward passes. The lock is not re-entrant: do not call `init` while
/// holding it.
pub fn backend_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static BACKEND_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    BACKEND_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Configuration of the ConvNeXt U-Net ([`Unet`]), with the arguments of the original
/// `Unet(dim, out_dim=None, dim_mults=(1, 2, 4, 8), channels=3, with_time_emb=True,
/// residual=False)`.
#[derive(Config, Debug, PartialEq)]
pub struct UnetConfig {
    /// Base width: level `i` has `dim * dim_mults[i]` channels; also the width of the time
    /// embedding. Must be even and at least 4 when `with_time_emb` is on.
    pub dim: usize,
    /// Channel multiplier per resolution level; `dim_mults[0]` must be 1 (the original's final
    /// block takes `dim` channels). The number of levels is `dim_mults.len()`.
    #[config(default = "vec![1, 2, 4, 8]")]
    pub dim_mults: Vec<usize>,
    /// Image channels of the input (1 for MNIST, 3 for colour).
    #[config(default = 3)]
    pub channels: usize,
    /// Output channels; `None` means `channels`.
    pub out_dim: Option<usize>,
    /// Condition on the time index (the original `--remove_time_embed` turns this off).
    #[config(default = true)]
    pub with_time_emb: bool,
    /// Add the input to the output (the original `--residual`).
    #[config(default = false)]
    pub residual: bool,
}

impl UnetConfig {
    /// The paper's network for every ConvNeXt experiment: dim 64, mults (1, 2, 4, 8), time
    /// embedding on, no residual. 56,612,916 parameters for 1 channel, 56,615,708 for 3.
    pub fn paper(channels: usize) -> Self {
        Self::new(64).with_channels(channels)
    }

    /// Small MNIST network for CPU training: dim 32, mults (1, 2, 4), 1 channel (the
    /// `mnist-small-32` configuration of the PyTorch reference benchmark).
    pub fn mnist_small() -> Self {
        Self::new(32).with_dim_mults(vec![1, 2, 4]).with_channels(1)
    }

    /// Small colour network for CPU training: dim 32, mults (1, 2, 4), 3 channels.
    pub fn cifar_small() -> Self {
        Self::new(32).with_dim_mults(vec![1, 2, 4]).with_channels(3)
    }

    /// A tiny network for tests: dim 8, mults (1, 2).
    pub fn tiny(channels: usize) -> Self {
        Self::new(8)
            .with_dim_mults(vec![1, 2])
            .with_channels(channels)
    }

    /// Number of resolution levels (`dim_mults.len()`).
    pub fn levels(&self) -> usize {
        self.dim_mults.len()
    }

    /// Height and width of the input must be multiples of this (`2^(levels-1)`).
    pub fn size_divisor(&self) -> usize {
        1 << self.levels().saturating_sub(1)
    }

    /// Output channels (`out_dim`, or `channels`).
    pub fn out_channels(&self) -> usize {
        self.out_dim.unwrap_or(self.channels)
    }

    /// Checks every field; the error names the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.dim == 0 {
            return Err(ConfigError::invalid("dim", self.dim, "a positive width"));
        }
        if self.with_time_emb && (self.dim < 4 || self.dim % 2 == 1) {
            return Err(ConfigError::invalid(
                "dim",
                self.dim,
                "an even number >= 4 (the sinusoidal time embedding has dim/2 frequencies and \
                 divides by dim/2 - 1)",
            ));
        }
        if self.dim_mults.is_empty() || self.dim_mults.contains(&0) {
            return Err(ConfigError::invalid(
                "dim_mults",
                &self.dim_mults,
                "a non-empty list of positive multipliers",
            ));
        }
        if self.dim_mults[0] != 1 {
            return Err(ConfigError::invalid(
                "dim_mults",
                &self.dim_mults,
                "a list starting with 1 (the original's final ConvNeXt block takes `dim` \
                 channels, so any other first multiplier fails in the original too)",
            ));
        }
        if self.levels() > 16 {
            return Err(ConfigError::invalid(
                "dim_mults",
                &self.dim_mults,
                "at most 16 levels",
            ));
        }
        if self.channels == 0 {
            return Err(ConfigError::invalid(
                "channels",
                self.channels,
                "a positive channel count",
            ));
        }
        if self.out_dim == Some(0) {
            return Err(ConfigError::invalid(
                "out_dim",
                self.out_dim,
                "a positive channel count or null",
            ));
        }
        if self.residual && self.out_channels() != self.channels {
            return Err(ConfigError::invalid(
                "residual",
                self.residual,
                format!(
                    "false when out_dim ({}) differs from channels ({}): the residual adds the \
                     input to the output",
                    self.out_channels(),
                    self.channels
                ),
            ));
        }
        Ok(())
    }

    /// Builds the network on `device`.
    ///
    /// # Panics
    /// If [`validate`](Self::validate) fails (a programming error), with its message.
    pub fn init(&self, device: &Device) -> Unet {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        Unet::new(self, device)
    }

    /// Number of parameters of the network, computed from the configuration alone (no tensor
    /// is allocated). Equals `self.init(device).num_params()`.
    pub fn num_params(&self) -> usize {
        let conv = |i: usize, o: usize, k: usize, groups: usize, bias: bool| {
            o * (i / groups) * k * k + if bias { o } else { 0 }
        };
        let linear = |i: usize, o: usize| i * o + o;
        let time = self.with_time_emb.then_some(self.dim);
        let convnext = |i: usize, o: usize, t: Option<usize>, norm: bool| {
            t.map_or(0, |t| linear(t, i))
                + conv(i, i, 7, i, true)
                + if norm { 2 * i } else { 0 }
                + conv(i, 2 * o, 3, 1, true)
                + conv(2 * o, o, 3, 1, true)
                + if i != o { conv(i, o, 1, 1, true) } else { 0 }
        };
        let attn = |c: usize| 2 * c + conv(c, 384, 1, 1, false) + conv(128, c, 1, 1, true);
        let mut dims = vec![self.channels];
        dims.extend(self.dim_mults.iter().map(|m| self.dim * m));
        let mut n = time.map_or(0, |d| linear(d, 4 * d) + linear(4 * d, d));
        let levels = self.levels();
        for (i, pair) in dims.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            n += convnext(a, b, time, i != 0) + convnext(b, b, time, true) + attn(b);
            if i + 1 < levels {
                n += conv(b, b, 4, 1, true);
            }
        }
        let mid = dims[levels];
        n += 2 * convnext(mid, mid, time, true) + attn(mid);
        for pair in dims[1..].windows(2) {
            let (a, b) = (pair[0], pair[1]);
            n += convnext(2 * b, a, time, true) + convnext(a, a, time, true) + attn(a);
            n += conv(a, a, 4, 1, true); // transposed conv: same count
        }
        n + convnext(self.dim, self.dim, None, true)
            + conv(self.dim, self.out_channels(), 1, 1, true)
    }
}

/// Configuration of the DDPM ResNet U-Net ([`ResUnet`]), with the arguments of the original
/// `Model(ch, out_ch, ch_mult=(1, 2, 4, 8), num_res_blocks, attn_resolutions, dropout=0.0,
/// resamp_with_conv=True, in_channels, resolution)`.
#[derive(Config, Debug, PartialEq)]
pub struct ResUnetConfig {
    /// Base width; a multiple of 32 (GroupNorm with 32 groups). The time embedding has `ch`
    /// sinusoidal features and `4 ch` channels.
    pub ch: usize,
    /// Output channels.
    pub out_ch: usize,
    /// Channel multiplier per resolution level (the original's default is (1, 2, 4, 8); the
    /// paper's CIFAR-10 model uses (1, 2, 2, 2)).
    #[config(default = "vec![1, 2, 4, 8]")]
    pub ch_mult: Vec<usize>,
    /// Residual blocks per level on the way down (one more on the way up).
    pub num_res_blocks: usize,
    /// Resolutions (in the `resolution` frame) at which self-attention follows each block.
    pub attn_resolutions: Vec<usize>,
    /// Dropout probability inside the residual blocks (only active while training).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Convolutional down/up-sampling (true in every experiment); otherwise average pooling
    /// and plain nearest-neighbour up-sampling.
    #[config(default = true)]
    pub resamp_with_conv: bool,
    /// Input channels.
    pub in_channels: usize,
    /// Nominal input resolution: level `i` sits at `resolution / 2^i`, which decides where
    /// attention goes. The original also asserts `H == W == resolution`; this port accepts any
    /// `H`, `W` divisible by `2^(levels-1)` and keeps the attention placement.
    pub resolution: usize,
}

impl ResUnetConfig {
    /// The paper's CIFAR-10 network (DDPM's): ch 128, mults (1, 2, 2, 2), 2 residual blocks,
    /// attention at 16x16, dropout 0.1, 3 channels at 32x32. 35,746,307 parameters.
    pub fn paper_cifar10() -> Self {
        Self::new(128, 3, 2, vec![16], 3, 32)
            .with_ch_mult(vec![1, 2, 2, 2])
            .with_dropout(0.1)
    }

    /// A tiny network for tests: ch 32, mults (1, 2), 1 residual block, attention at 16,
    /// 3 channels at 32x32 (the `ddpm_small` configuration of the golden vectors).
    pub fn tiny() -> Self {
        Self::new(32, 3, 1, vec![16], 3, 32).with_ch_mult(vec![1, 2])
    }

    /// Number of resolution levels (`ch_mult.len()`).
    pub fn levels(&self) -> usize {
        self.ch_mult.len()
    }

    /// Height and width of the input must be multiples of this (`2^(levels-1)`).
    pub fn size_divisor(&self) -> usize {
        1 << self.levels().saturating_sub(1)
    }

    /// Checks every field; the error names the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ch == 0 || !self.ch.is_multiple_of(32) {
            return Err(ConfigError::invalid(
                "ch",
                self.ch,
                "a positive multiple of 32 (every GroupNorm has 32 groups)",
            ));
        }
        if self.out_ch == 0 {
            return Err(ConfigError::invalid(
                "out_ch",
                self.out_ch,
                "a positive channel count",
            ));
        }
        if self.in_channels == 0 {
            return Err(ConfigError::invalid(
                "in_channels",
                self.in_channels,
                "a positive channel count",
            ));
        }
        if self.ch_mult.is_empty() || self.ch_mult.contains(&0) || self.ch_mult.len() > 16 {
            return Err(ConfigError::invalid(
                "ch_mult",
                &self.ch_mult,
                "a non-empty list of at most 16 positive multipliers",
            ));
        }
        if self.num_res_blocks == 0 {
            return Err(ConfigError::invalid(
                "num_res_blocks",
                self.num_res_blocks,
                "at least 1",
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ConfigError::invalid(
                "dropout",
                self.dropout,
                "a probability in [0, 1)",
            ));
        }
        if self.resolution == 0 {
            return Err(ConfigError::invalid(
                "resolution",
                self.resolution,
                "a positive image side",
            ));
        }
        Ok(())
    }

    /// Whether the encoder's level `level` (0 = full resolution) has self-attention: the
    /// original tracks `curr_res = resolution // 2^level` on the way down.
    pub fn has_attention_down(&self, level: usize) -> bool {
        self.attn_resolutions
            .contains(&(self.resolution >> level.min(63)))
    }

    /// Whether the decoder's level `level` has self-attention: on the way up the original
    /// doubles the bottom resolution, `curr_res = (resolution // 2^(levels-1)) * 2^(levels-1-level)`
    /// (equal to the encoder's value unless `resolution` is not divisible by `2^(levels-1)`).
    pub fn has_attention_up(&self, level: usize) -> bool {
        let bottom = self.levels().saturating_sub(1);
        let res = (self.resolution >> bottom) << bottom.saturating_sub(level);
        self.attn_resolutions.contains(&res)
    }

    /// Builds the network on `device`.
    ///
    /// # Panics
    /// If [`validate`](Self::validate) fails (a programming error), with its message.
    pub fn init(&self, device: &Device) -> ResUnet {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        ResUnet::new(self, device)
    }

    /// Number of parameters, computed from the configuration alone. Equals
    /// `self.init(device).num_params()`.
    pub fn num_params(&self) -> usize {
        let conv = |i: usize, o: usize, k: usize| o * i * k * k + o;
        let linear = |i: usize, o: usize| i * o + o;
        let temb = 4 * self.ch;
        let res = |i: usize, o: usize| {
            2 * i
                + conv(i, o, 3)
                + linear(temb, o)
                + 2 * o
                + conv(o, o, 3)
                + if i != o { conv(i, o, 1) } else { 0 }
        };
        let attn = |c: usize| 2 * c + 4 * conv(c, c, 1);
        let resamp = |c: usize| {
            if self.resamp_with_conv {
                conv(c, c, 3)
            } else {
                0
            }
        };
        let levels = self.levels();
        let mut n = linear(self.ch, temb) + linear(temb, temb) + conv(self.in_channels, self.ch, 3);
        let mut in_mult = vec![1];
        in_mult.extend(&self.ch_mult);
        let mut block_in = self.ch;
        for lvl in 0..levels {
            let out = self.ch * self.ch_mult[lvl];
            for _ in 0..self.num_res_blocks {
                n += res(block_in, out);
                block_in = out;
                if self.has_attention_down(lvl) {
                    n += attn(out);
                }
            }
            if lvl + 1 < levels {
                n += resamp(block_in);
            }
        }
        n += 2 * res(block_in, block_in) + attn(block_in);
        for lvl in (0..levels).rev() {
            let out = self.ch * self.ch_mult[lvl];
            for i in 0..=self.num_res_blocks {
                let skip = if i == self.num_res_blocks {
                    self.ch * in_mult[lvl]
                } else {
                    out
                };
                n += res(block_in + skip, out);
                block_in = out;
                if self.has_attention_up(lvl) {
                    n += attn(out);
                }
            }
            if lvl != 0 {
                n += resamp(block_in);
            }
        }
        n + 2 * block_in + conv(block_in, self.out_ch, 3)
    }
}

/// Either network's configuration: what training, sampling and CLI code hold so that they do
/// not depend on the architecture.
///
/// Its serde form is the JSON of the CLI contract: `{"arch": "unet", "dim", "dim_mults",
/// "channels", "with_time_emb", "residual"}` or `{"arch": "resunet", "ch", "out_ch", "ch_mult",
/// "num_res_blocks", "attn_resolutions", "dropout", "resolution", "in_channels"}` (plus the
/// original's optional `out_dim` and `resamp_with_conv`). Deserialising applies the original
/// constructors' defaults and ignores unknown fields; use [`NetConfig::from_json_str`] to get
/// the list of ignored fields.
#[derive(Debug, Clone, PartialEq)]
pub enum NetConfig {
    /// The ConvNeXt U-Net (`"arch": "unet"`).
    Unet(UnetConfig),
    /// The DDPM ResNet U-Net (`"arch": "resunet"`).
    ResUnet(ResUnetConfig),
}

/// A [`NetConfig`] read from JSON, with what was ignored or inferred on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedNetConfig {
    /// The configuration.
    pub config: NetConfig,
    /// Fields that are not arguments of the chosen architecture's constructor (ignored).
    pub ignored_fields: Vec<String>,
    /// Human-readable warnings: one per ignored field, and one if `arch` was inferred.
    pub warnings: Vec<String>,
}

/// One named network preset.
#[derive(Debug, Clone, Copy)]
pub struct NetPreset {
    /// The preset's name, e.g. `unet-mnist-small`.
    pub name: &'static str,
    /// What it is for.
    pub description: &'static str,
    build: fn() -> NetConfig,
}

impl NetPreset {
    /// The preset's configuration.
    pub fn config(&self) -> NetConfig {
        (self.build)()
    }
}

const PRESETS: &[NetPreset] = &[
    NetPreset {
        name: "unet-paper-mnist",
        description: "the paper's ConvNeXt U-Net for MNIST (dim 64, mults 1,2,4,8, 1 channel)",
        build: || NetConfig::Unet(UnetConfig::paper(1)),
    },
    NetPreset {
        name: "unet-paper-rgb",
        description: "the paper's ConvNeXt U-Net for colour images (dim 64, mults 1,2,4,8, 3 channels)",
        build: || NetConfig::Unet(UnetConfig::paper(3)),
    },
    NetPreset {
        name: "resunet-paper-cifar10",
        description: "the paper's DDPM ResNet U-Net for CIFAR-10 (ch 128, mults 1,2,2,2, 2 blocks, attn 16, dropout 0.1)",
        build: || NetConfig::ResUnet(ResUnetConfig::paper_cifar10()),
    },
    NetPreset {
        name: "unet-mnist-small",
        description: "small CPU ConvNeXt U-Net for MNIST (dim 32, mults 1,2,4, 1 channel)",
        build: || NetConfig::Unet(UnetConfig::mnist_small()),
    },
    NetPreset {
        name: "unet-cifar-small",
        description: "small CPU ConvNeXt U-Net for colour 32x32 (dim 32, mults 1,2,4, 3 channels)",
        build: || NetConfig::Unet(UnetConfig::cifar_small()),
    },
    NetPreset {
        name: "unet-tiny",
        description: "tiny ConvNeXt U-Net for tests (dim 8, mults 1,2, 1 channel)",
        build: || NetConfig::Unet(UnetConfig::tiny(1)),
    },
    NetPreset {
        name: "resunet-tiny",
        description: "tiny DDPM ResNet U-Net for tests (ch 32, mults 1,2, 1 block, attn 16, 3 channels)",
        build: || NetConfig::ResUnet(ResUnetConfig::tiny()),
    },
];

impl NetConfig {
    /// Every named preset, paper configurations first.
    pub fn presets() -> &'static [NetPreset] {
        PRESETS
    }

    /// The preset called `name`, if any.
    pub fn preset(name: &str) -> Option<NetConfig> {
        PRESETS
            .iter()
            .find(|p| p.name == name)
            .map(NetPreset::config)
    }

    /// `"unet"` or `"resunet"`.
    pub fn arch(&self) -> &'static str {
        match self {
            Self::Unet(_) => "unet",
            Self::ResUnet(_) => "resunet",
        }
    }

    /// Checks every field; the error names the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Unet(c) => c.validate(),
            Self::ResUnet(c) => c.validate(),
        }
    }

    /// Builds the network on `device`, drawing its random initial weights from the backend's
    /// RNG right away (under [`backend_rng_lock`]), not lazily at first use.
    ///
    /// # Panics
    /// If [`validate`](Self::validate) fails, with its message.
    pub fn init(&self, device: &Device) -> RestorationNet {
        let _rng = backend_rng_lock();
        self.init_materialized(device)
    }

    /// Like [`init`](Self::init), but seeds the backend's RNG with `seed` first: the same seed
    /// gives the same weights on a backend, whatever other threads of the process do with
    /// Burn's RNG (as long as they draw under [`backend_rng_lock`]).
    ///
    /// # Panics
    /// If [`validate`](Self::validate) fails, with its message.
    pub fn init_seeded(&self, device: &Device, seed: u64) -> RestorationNet {
        let _rng = backend_rng_lock();
        device.seed(seed);
        self.init_materialized(device)
    }

    /// Builds the modules and forces Burn's lazy parameters to initialise now, so that every
    /// draw from the backend RNG happens while the caller holds the lock.
    fn init_materialized(&self, device: &Device) -> RestorationNet {
        struct Materialize;
        impl ModuleVisitor for Materialize {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let _ = param.val();
            }
        }
        let net = match self {
            Self::Unet(c) => RestorationNet::Unet(c.init(device)),
            Self::ResUnet(c) => RestorationNet::ResUnet(c.init(device)),
        };
        net.visit(&mut Materialize);
        net
    }

    /// Input image channels.
    pub fn in_channels(&self) -> usize {
        match self {
            Self::Unet(c) => c.channels,
            Self::ResUnet(c) => c.in_channels,
        }
    }

    /// Output image channels.
    pub fn out_channels(&self) -> usize {
        match self {
            Self::Unet(c) => c.out_channels(),
            Self::ResUnet(c) => c.out_ch,
        }
    }

    /// Number of resolution levels.
    pub fn levels(&self) -> usize {
        match self {
            Self::Unet(c) => c.levels(),
            Self::ResUnet(c) => c.levels(),
        }
    }

    /// Height and width of the input must be multiples of this (`2^(levels-1)`).
    pub fn size_divisor(&self) -> usize {
        1 << self.levels().saturating_sub(1)
    }

    /// Number of parameters, from the configuration alone.
    pub fn num_params(&self) -> usize {
        match self {
            Self::Unet(c) => c.num_params(),
            Self::ResUnet(c) => c.num_params(),
        }
    }

    /// The JSON object of the CLI contract (original argument names, `arch` tag).
    pub fn to_json_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("arch".into(), Value::from(self.arch()));
        match self {
            Self::Unet(c) => {
                map.insert("dim".into(), c.dim.into());
                map.insert("dim_mults".into(), c.dim_mults.clone().into());
                map.insert("channels".into(), c.channels.into());
                map.insert("out_dim".into(), c.out_dim.map_or(Value::Null, Value::from));
                map.insert("with_time_emb".into(), c.with_time_emb.into());
                map.insert("residual".into(), c.residual.into());
            }
            Self::ResUnet(c) => {
                map.insert("ch".into(), c.ch.into());
                map.insert("out_ch".into(), c.out_ch.into());
                map.insert("ch_mult".into(), c.ch_mult.clone().into());
                map.insert("num_res_blocks".into(), c.num_res_blocks.into());
                map.insert("attn_resolutions".into(), c.attn_resolutions.clone().into());
                map.insert("dropout".into(), c.dropout.into());
                map.insert("resamp_with_conv".into(), c.resamp_with_conv.into());
                map.insert("in_channels".into(), c.in_channels.into());
                map.insert("resolution".into(), c.resolution.into());
            }
        }
        Value::Object(map)
    }

    /// [`to_json_value`](Self::to_json_value) as a compact string.
    pub fn to_json_string(&self) -> String {
        self.to_json_value().to_string()
    }

    /// Parses the JSON of the CLI contract. Unknown fields are ignored and reported in the
    /// result; missing required fields are one error naming all of them; a missing `arch` is
    /// inferred from `dim` (unet) or `ch` (resunet) with a warning. The result is validated.
    pub fn from_json_str(text: &str) -> Result<ParsedNetConfig, ConfigError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        Self::from_json_value(&value)
    }

    /// [`from_json_str`](Self::from_json_str) on an already parsed value.
    pub fn from_json_value(value: &Value) -> Result<ParsedNetConfig, ConfigError> {
        let map = value.as_object().ok_or_else(|| {
            ConfigError::Json(format!("expected a JSON object, found {}", kind(value)))
        })?;
        let mut warnings = Vec::new();
        let arch = match map.get("arch") {
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "unet" | "convnext" => "unet",
                "resunet" | "ddpm" => "resunet",
                _ => {
                    return Err(ConfigError::invalid(
                        "arch",
                        s,
                        "\"unet\" (ConvNeXt U-Net) or \"resunet\" (DDPM ResNet U-Net)",
                    ));
                }
            },
            Some(other) => {
                return Err(ConfigError::invalid(
                    "arch",
                    other,
                    "the string \"unet\" or \"resunet\"",
                ));
            }
            None if map.contains_key("dim") && !map.contains_key("ch") => {
                warnings.push("no \"arch\" field: inferred \"unet\" from \"dim\"".to_string());
                "unet"
            }
            None if map.contains_key("ch") && !map.contains_key("dim") => {
                warnings.push("no \"arch\" field: inferred \"resunet\" from \"ch\"".to_string());
                "resunet"
            }
            None => {
                return Err(ConfigError::MissingFields {
                    arch: "?".into(),
                    fields: vec!["arch (\"unet\" or \"resunet\")".into()],
                });
            }
        };
        let known: &[&str] = if arch == "unet" {
            &[
                "arch",
                "dim",
                "dim_mults",
                "channels",
                "out_dim",
                "with_time_emb",
                "residual",
            ]
        } else {
            &[
                "arch",
                "ch",
                "out_ch",
                "ch_mult",
                "num_res_blocks",
                "attn_resolutions",
                "dropout",
                "resamp_with_conv",
                "in_channels",
                "resolution",
            ]
        };
        let mut ignored_fields: Vec<String> = map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        ignored_fields.sort();
        for f in &ignored_fields {
            warnings.push(format!(
                "ignored field \"{f}\": not an argument of the original {} constructor",
                if arch == "unet" { "Unet" } else { "Model" }
            ));
        }
        let f = Fields { map };
        let config = if arch == "unet" {
            f.require(arch, &["dim"])?;
            let defaults = UnetConfig::new(f.usize("dim")?.unwrap_or(0));
            NetConfig::Unet(UnetConfig {
                dim: defaults.dim,
                dim_mults: f.usize_list("dim_mults")?.unwrap_or(defaults.dim_mults),
                channels: f.usize("channels")?.unwrap_or(defaults.channels),
                out_dim: f.usize("out_dim")?,
                with_time_emb: f.bool("with_time_emb")?.unwrap_or(defaults.with_time_emb),
                residual: f.bool("residual")?.unwrap_or(defaults.residual),
            })
        } else {
            f.require(
                arch,
                &[
                    "ch",
                    "out_ch",
                    "num_res_blocks",
                    "attn_resolutions",
                    "in_channels",
                    "resolution",
                ],
            )?;
            let mut c = ResUnetConfig::new(
                f.usize("ch")?.unwrap_or(0),
                f.usize("out_ch")?.unwrap_or(0),
                f.usize("num_res_blocks")?.unwrap_or(0),
                f.usize_list("attn_resolutions")?.unwrap_or_default(),
                f.usize("in_channels")?.unwrap_or(0),
                f.usize("resolution")?.unwrap_or(0),
            );
            if let Some(m) = f.usize_list("ch_mult")? {
                c.ch_mult = m;
            }
            if let Some(d) = f.f64("dropout")? {
                c.dropout = d;
            }
            if let Some(r) = f.bool("resamp_with_conv")? {
                c.resamp_with_conv = r;
            }
            NetConfig::ResUnet(c)
        };
        config.validate()?;
        Ok(ParsedNetConfig {
            config,
            ignored_fields,
            warnings,
        })
    }

    /// Reads a JSON configuration file (see [`from_json_str`](Self::from_json_str)).
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<ParsedNetConfig, UnetError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| UnetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_str(&text).map_err(|source| UnetError::ConfigFile {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl fmt::Display for NetConfig {
    /// One line: the architecture, then its parameters (`unet dim=64 dim_mults=[1, 2, 4, 8]
    /// ...`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unet(c) => {
                write!(
                    f,
                    "unet dim={} dim_mults={:?} channels={} with_time_emb={} residual={}",
                    c.dim, c.dim_mults, c.channels, c.with_time_emb, c.residual
                )?;
                if let Some(o) = c.out_dim {
                    write!(f, " out_dim={o}")?;
                }
                Ok(())
            }
            Self::ResUnet(c) => {
                write!(
                    f,
                    "resunet ch={} out_ch={} ch_mult={:?} num_res_blocks={} attn_resolutions={:?} \
                     dropout={} in_channels={} resolution={}",
                    c.ch,
                    c.out_ch,
                    c.ch_mult,
                    c.num_res_blocks,
                    c.attn_resolutions,
                    c.dropout,
                    c.in_channels,
                    c.resolution
                )?;
                if !c.resamp_with_conv {
                    write!(f, " resamp_with_conv=false")?;
                }
                Ok(())
            }
        }
    }
}

impl From<UnetConfig> for NetConfig {
    fn from(c: UnetConfig) -> Self {
        Self::Unet(c)
    }
}

impl From<ResUnetConfig> for NetConfig {
    fn from(c: ResUnetConfig) -> Self {
        Self::ResUnet(c)
    }
}

impl Serialize for NetConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for NetConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        NetConfig::from_json_value(&value)
            .map(|p| p.config)
            .map_err(serde::de::Error::custom)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Typed access to the fields of a JSON configuration, with errors naming the field.
struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn require(&self, arch: &str, fields: &[&str]) -> Result<(), ConfigError> {
        let missing: Vec<String> = fields
            .iter()
            .filter(|f| !self.map.contains_key(**f))
            .map(|f| f.to_string())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::MissingFields {
                arch: arch.to_string(),
                fields: missing,
            })
        }
    }

    fn usize_of(field: &str, v: &Value) -> Result<usize, ConfigError> {
        match v {
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    return usize::try_from(u)
                        .map_err(|_| ConfigError::invalid(field, u, "a smaller integer"));
                }
                // Accept integral floats such as 64.0 (JSON written by Python tools).
                match n.as_f64() {
                    Some(x) if x >= 0.0 && x.fract() == 0.0 && x < 1e15 => Ok(x as usize),
                    _ => Err(ConfigError::invalid(field, n, "a non-negative integer")),
                }
            }
            other => Err(ConfigError::invalid(
                field,
                other,
                format!("a non-negative integer, found {}", kind(other)),
            )),
        }
    }

    fn usize(&self, field: &str) -> Result<Option<usize>, ConfigError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => Self::usize_of(field, v).map(Some),
        }
    }

    fn usize_list(&self, field: &str) -> Result<Option<Vec<usize>>, ConfigError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| Self::usize_of(field, v))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            // A single number stands for a one-element tuple, e.g. attn_resolutions: 16.
            Some(v @ Value::Number(_)) => Self::usize_of(field, v).map(|u| Some(vec![u])),
            Some(other) => Err(ConfigError::invalid(
                field,
                other,
                format!("a list of non-negative integers, found {}", kind(other)),
            )),
        }
    }

    fn bool(&self, field: &str) -> Result<Option<bool>, ConfigError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(ConfigError::invalid(
                field,
                other,
                format!("true or false, found {}", kind(other)),
            )),
        }
    }

    fn f64(&self, field: &str) -> Result<Option<f64>, ConfigError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(ConfigError::invalid(
                field,
                other,
                format!("a number, found {}", kind(other)),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_defaults_follow_the_original_constructors() {
        let p = NetConfig::from_json_str(r#"{"arch": "unet", "dim": 64}"#).unwrap();
        assert_eq!(p.config, NetConfig::Unet(UnetConfig::paper(3)));
        assert!(p.warnings.is_empty() && p.ignored_fields.is_empty());

        let p = NetConfig::from_json_str(
            r#"{"arch": "resunet", "ch": 128, "out_ch": 3, "ch_mult": [1, 2, 2, 2],
                "num_res_blocks": 2, "attn_resolutions": [16], "dropout": 0.1,
                "resolution": 32, "in_channels": 3}"#,
        )
        .unwrap();
        assert_eq!(p.config, NetConfig::ResUnet(ResUnetConfig::paper_cifar10()));
        // Model2's own default ch_mult is (1, 2, 4, 8) and dropout 0.
        let p = NetConfig::from_json_str(
            r#"{"arch": "ResUnet", "ch": 64, "out_ch": 1, "num_res_blocks": 1,
                "attn_resolutions": 16, "resolution": 64, "in_channels": 1}"#,
        )
        .unwrap();
        let NetConfig::ResUnet(c) = p.config else {
            panic!()
        };
        assert_eq!(
            (c.ch_mult, c.attn_resolutions, c.dropout),
            (vec![1, 2, 4, 8], vec![16], 0.0)
        );
        assert!(c.resamp_with_conv);
    }

    #[test]
    fn unknown_fields_are_ignored_with_a_warning() {
        let p = NetConfig::from_json_str(
            r#"{"arch": "unet", "dim": 16, "dim_mults": [1, 2], "seed": 1, "lr": 2e-5}"#,
        )
        .unwrap();
        assert_eq!(p.ignored_fields, vec!["lr".to_string(), "seed".to_string()]);
        assert_eq!(p.warnings.len(), 2);
        assert!(p.warnings[0].contains("\"lr\""));
        // Fields of the other architecture are unknown too.
        let p = NetConfig::from_json_str(r#"{"arch": "unet", "dim": 16, "ch": 32}"#).unwrap();
        assert_eq!(p.ignored_fields, vec!["ch".to_string()]);
    }

    #[test]
    fn missing_required_fields_are_all_named() {
        let e = NetConfig::from_json_str(r#"{"arch": "resunet", "ch": 128, "dropout": 0.1}"#)
            .unwrap_err();
        assert_eq!(
            e,
            ConfigError::MissingFields {
                arch: "resunet".into(),
                fields: [
                    "out_ch",
                    "num_res_blocks",
                    "attn_resolutions",
                    "in_channels",
                    "resolution"
                ]
                .map(String::from)
                .to_vec(),
            }
        );
        assert!(e.to_string().contains("out_ch, num_res_blocks"), "{e}");
        let e = NetConfig::from_json_str(r#"{"arch": "unet", "channels": 1}"#).unwrap_err();
        assert!(matches!(e, ConfigError::MissingFields { ref fields, .. } if fields == &["dim"]));
        let e = NetConfig::from_json_str(r#"{"channels": 1}"#).unwrap_err();
        assert!(e.to_string().contains("arch"), "{e}");
    }

    #[test]
    fn arch_is_inferred_when_unambiguous() {
        let p =
            NetConfig::from_json_str(r#"{"dim": 8, "dim_mults": [1, 2], "channels": 1}"#).unwrap();
        assert_eq!(p.config, NetConfig::Unet(UnetConfig::tiny(1)));
        assert!(p.warnings[0].contains("inferred \"unet\""));
        assert!(NetConfig::from_json_str(r#"{"dim": 8, "ch": 32}"#).is_err());
        assert!(NetConfig::from_json_str(r#"{"arch": "vit", "dim": 8}"#).is_err());
    }

    #[test]
    fn invalid_values_name_the_field() {
        for (json, field) in [
            (r#"{"arch": "unet", "dim": 7}"#, "dim"),
            (r#"{"arch": "unet", "dim": "64"}"#, "dim"),
            (
                r#"{"arch": "unet", "dim": 64, "dim_mults": [2, 4]}"#,
                "dim_mults",
            ),
            (
                r#"{"arch": "unet", "dim": 64, "dim_mults": []}"#,
                "dim_mults",
            ),
            (r#"{"arch": "unet", "dim": 64, "channels": 0}"#, "channels"),
            (r#"{"arch": "unet", "dim": 64, "residual": 1}"#, "residual"),
            (
                r#"{"arch": "unet", "dim": 64, "out_dim": 1, "residual": true}"#,
                "residual",
            ),
            (
                r#"{"arch": "resunet", "ch": 48, "out_ch": 3, "num_res_blocks": 2,
                    "attn_resolutions": [16], "in_channels": 3, "resolution": 32}"#,
                "ch",
            ),
            (
                r#"{"arch": "resunet", "ch": 32, "out_ch": 3, "num_res_blocks": 2,
                    "attn_resolutions": [16], "in_channels": 3, "resolution": 32,
                    "dropout": 1.5}"#,
                "dropout",
            ),
        ] {
            match NetConfig::from_json_str(json) {
                Err(ConfigError::Invalid { field: f, .. }) => assert_eq!(f, field, "{json}"),
                other => panic!("{json}: expected an Invalid({field}) error, got {other:?}"),
            }
        }
        assert!(matches!(
            NetConfig::from_json_str("{"),
            Err(ConfigError::Json(_))
        ));
        assert!(matches!(
            NetConfig::from_json_str("[1]"),
            Err(ConfigError::Json(_))
        ));
    }

    #[test]
    fn serde_round_trip_of_every_preset() {
        for preset in NetConfig::presets() {
            let config = preset.config();
            let json = serde_json::to_string(&config).unwrap();
            let back: NetConfig = serde_json::from_str(&json).unwrap();
            assert_eq!(back, config, "{json}");
            let parsed = NetConfig::from_json_str(&json).unwrap();
            assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
            assert!(json.contains(&format!("\"arch\":\"{}\"", config.arch())));
        }
        let line = NetConfig::preset("unet-mnist-small").unwrap().to_string();
        assert_eq!(
            line,
            "unet dim=32 dim_mults=[1, 2, 4] channels=1 with_time_emb=true residual=false"
        );
    }

    #[test]
    fn attention_placement_follows_the_original_resolution_bookkeeping() {
        let c = ResUnetConfig::paper_cifar10();
        let down: Vec<bool> = (0..4).map(|l| c.has_attention_down(l)).collect();
        let up: Vec<bool> = (0..4).map(|l| c.has_attention_up(l)).collect();
        assert_eq!(down, [false, true, false, false]);
        assert_eq!(up, down);
        let odd = ResUnetConfig::new(32, 3, 1, vec![15, 28], 3, 30).with_ch_mult(vec![1, 1, 1]);
        assert_eq!(
            (0..3)
                .map(|l| odd.has_attention_down(l))
                .collect::<Vec<_>>(),
            [false, true, false]
        );
        assert_eq!(
            (0..3).map(|l| odd.has_attention_up(l)).collect::<Vec<_>>(),
            [true, false, false]
        );
    }
}
