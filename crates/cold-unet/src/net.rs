//! [`RestorationNet`]: either network behind one type, for architecture-agnostic code.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

use crate::config::NetConfig;
use crate::error::{CheckpointEntry, InputError, UnetError};
use crate::resunet::ResUnet;
use crate::unet::Unet;
use crate::weights::{self, Arch, LoadReport};

/// The restoration network `R(x_s, s - 1) ≈ x0`: the paper's ConvNeXt U-Net or the DDPM ResNet
/// U-Net. Build it with [`NetConfig::init`] or [`RestorationNet::from_file`]; it is a Burn
/// [`Module`], so it trains on an autodiff device like any other.
// Both variants are a few KB of parameter handles (the tensors live on the device); the size
// difference is irrelevant for a value that exists once per model.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum RestorationNet {
    /// The ConvNeXt U-Net.
    Unet(Unet),
    /// The DDPM ResNet U-Net.
    ResUnet(ResUnet),
}

impl RestorationNet {
    /// The configuration this network was built from.
    pub fn config(&self) -> NetConfig {
        match self {
            Self::Unet(n) => NetConfig::Unet(n.config().clone()),
            Self::ResUnet(n) => NetConfig::ResUnet(n.config().clone()),
        }
    }

    /// Checks an input shape before any tensor work (see [`Unet::check_input`]).
    pub fn check_input(&self, x_dims: [usize; 4], t_len: usize) -> Result<(), InputError> {
        match self {
            Self::Unet(n) => n.check_input(x_dims, t_len),
            Self::ResUnet(n) => n.check_input(x_dims, t_len),
        }
    }

    /// [`forward`](Self::forward) with an error instead of a panic on a bad input shape.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, height, width]`, height and width multiples of
    ///   `2^(levels-1)` (see [`NetConfig::size_divisor`])
    /// - `t`: `[batch]`, the zero-based step index `s - 1`
    /// - output: `[batch, out_channels, height, width]`
    pub fn try_forward(&self, x: Tensor<4>, t: Tensor<1, Int>) -> Result<Tensor<4>, InputError> {
        match self {
            Self::Unet(n) => n.try_forward(x, t),
            Self::ResUnet(n) => n.try_forward(x, t),
        }
    }

    /// Predicts `x0` from the degraded `x` at zero-based step index `t = s - 1`.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, height, width]`
    /// - `t`: `[batch]`
    /// - output: `[batch, out_channels, height, width]`
    ///
    /// # Panics
    /// With the [`InputError`] message when the shapes do not fit.
    pub fn forward(&self, x: Tensor<4>, t: Tensor<1, Int>) -> Tensor<4> {
        match self {
            Self::Unet(n) => n.forward(x, t),
            Self::ResUnet(n) => n.forward(x, t),
        }
    }

    fn arch(&self) -> Arch {
        match self {
            Self::Unet(_) => Arch::Unet,
            Self::ResUnet(_) => Arch::ResUnet,
        }
    }

    /// Builds the network of `config` on `device` and loads the weights in `path`: an original
    /// PyTorch checkpoint (trainer `{step, model, ema}` or bare state dict, `module.` /
    /// `denoise_fn.` prefixes accepted) or a safetensors file with the original key names (ours
    /// or the golden vectors'). `entry` picks `ema` (default) or `model` of a trainer
    /// checkpoint and is ignored otherwise.
    pub fn from_file(
        config: &NetConfig,
        path: impl AsRef<Path>,
        entry: CheckpointEntry,
        device: &Device,
    ) -> Result<(Self, LoadReport), UnetError> {
        config.validate()?;
        config.init(device).load_file(path, entry)
    }

    /// Replaces the weights with those in `path` (see [`from_file`](Self::from_file)). On
    /// error the network is consumed; nothing is half-loaded into a network you keep.
    pub fn load_file(
        self,
        path: impl AsRef<Path>,
        entry: CheckpointEntry,
    ) -> Result<(Self, LoadReport), UnetError> {
        let path = path.as_ref();
        match self {
            Self::Unet(n) => {
                weights::load_file(n, Arch::Unet, path, entry).map(|(n, r)| (Self::Unet(n), r))
            }
            Self::ResUnet(n) => weights::load_file(n, Arch::ResUnet, path, entry)
                .map(|(n, r)| (Self::ResUnet(n), r)),
        }
    }

    /// Writes the weights to `path` as safetensors with the original key names and PyTorch
    /// layouts (loadable by the original code), the configuration JSON in the metadata. The
    /// write is atomic (temporary file, sync, rename).
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<(), UnetError> {
        let config = self.config();
        match self {
            Self::Unet(n) => weights::save_safetensors(n, Arch::Unet, &config, path.as_ref()),
            Self::ResUnet(n) => weights::save_safetensors(n, Arch::ResUnet, &config, path.as_ref()),
        }
    }

    /// The weights as the bytes of a safetensors file (what [`save_safetensors`] writes), e.g.
    /// to embed in a training checkpoint.
    ///
    /// [`save_safetensors`]: Self::save_safetensors
    pub fn to_safetensors_bytes(&self) -> Result<Vec<u8>, UnetError> {
        let config = self.config();
        let result = match self {
            Self::Unet(n) => weights::to_safetensors_bytes(n, self.arch(), &config),
            Self::ResUnet(n) => weights::to_safetensors_bytes(n, self.arch(), &config),
        };
        result.map_err(|message| UnetError::Format {
            path: "<memory>".into(),
            message,
        })
    }

    /// Replaces the weights with safetensors `bytes` (as from
    /// [`to_safetensors_bytes`](Self::to_safetensors_bytes)); `name` stands for the source in
    /// error messages.
    pub fn load_safetensors_bytes(
        self,
        bytes: Vec<u8>,
        name: impl AsRef<Path>,
    ) -> Result<(Self, LoadReport), UnetError> {
        let name = name.as_ref();
        match self {
            Self::Unet(n) => weights::load_safetensors_bytes(n, Arch::Unet, bytes, name)
                .map(|(n, r)| (Self::Unet(n), r)),
            Self::ResUnet(n) => weights::load_safetensors_bytes(n, Arch::ResUnet, bytes, name)
                .map(|(n, r)| (Self::ResUnet(n), r)),
        }
    }
}

impl Unet {
    /// Replaces the weights with those in `path` (see [`RestorationNet::from_file`]).
    pub fn load_file(
        self,
        path: impl AsRef<Path>,
        entry: CheckpointEntry,
    ) -> Result<(Self, LoadReport), UnetError> {
        weights::load_file(self, Arch::Unet, path.as_ref(), entry)
    }

    /// Writes the weights as safetensors (see [`RestorationNet::save_safetensors`]).
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<(), UnetError> {
        let config = NetConfig::Unet(self.config().clone());
        weights::save_safetensors(self, Arch::Unet, &config, path.as_ref())
    }
}

impl ResUnet {
    /// Replaces the weights with those in `path` (see [`RestorationNet::from_file`]).
    pub fn load_file(
        self,
        path: impl AsRef<Path>,
        entry: CheckpointEntry,
    ) -> Result<(Self, LoadReport), UnetError> {
        weights::load_file(self, Arch::ResUnet, path.as_ref(), entry)
    }

    /// Writes the weights as safetensors (see [`RestorationNet::save_safetensors`]).
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<(), UnetError> {
        let config = NetConfig::ResUnet(self.config().clone());
        weights::save_safetensors(self, Arch::ResUnet, &config, path.as_ref())
    }
}
