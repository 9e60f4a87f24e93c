//! Restoration networks of Cold Diffusion (Bansal et al.): the paper's ConvNeXt U-Net
//! ([`Unet`]) and the DDPM ResNet U-Net ([`ResUnet`]), exact to the original PyTorch code, with
//! import of the original checkpoints and safetensors save/load.
//!
//! Both networks predict `x0` directly: `R(x_s, s - 1)`, where the time input is the
//! zero-based index `s - 1` of the last applied degradation step, as in the original code.
//!
//! Architecture-agnostic code holds a [`NetConfig`] (serde form: the original constructors'
//! argument names with an `arch` tag) and a [`RestorationNet`]:
//!
//! ```
//! use burn::tensor::{Device, Int, Tensor};
//! use cold_unet::{NetConfig, UnetConfig};
//!
//! let device = Device::flex();
//! let config = NetConfig::Unet(UnetConfig::tiny(1));
//! let net = config.init(&device);
//! let x = Tensor::<4>::zeros([2, 1, 16, 24], &device); // non-square is fine
//! let t = Tensor::<1, Int>::from_ints([0, 19], &device);
//! assert_eq!(net.forward(x, t).dims(), [2, 1, 16, 24]);
//!
//! // Inputs are checked before any tensor work:
//! let bad = Tensor::<4>::zeros([2, 1, 15, 24], &device);
//! let t = Tensor::<1, Int>::from_ints([0, 19], &device);
//! assert!(net.try_forward(bad, t).is_err());
//! ```
//!
//! Weights: [`RestorationNet::from_file`] reads original `.pt` checkpoints (through
//! burn-store's PyTorch reader) and safetensors files, [`RestorationNet::save_safetensors`]
//! writes safetensors with the original key names; see [`weights`].

pub mod blocks;
pub mod channel_norm;
mod config;
pub mod dense;
pub mod depthwise;
pub mod embedding;
mod error;
#[cfg(feature = "flex")]
mod flex_data;
pub mod gelu;
#[cfg(feature = "flex")]
mod gelu_math;
mod net;
mod resunet;
mod unet;
pub mod weights;

pub use config::{
    NetConfig, NetPreset, ParsedNetConfig, ResUnetConfig, UnetConfig, backend_rng_lock,
};
pub use error::{CheckpointEntry, ConfigError, InputError, ShapeMismatch, UnetError};
pub use net::RestorationNet;
pub use resunet::{ResDown, ResMid, ResUnet, ResUp, TimeDense};
pub use unet::{Unet, UnetDown, UnetUp};
pub use weights::{LoadReport, WeightsFormat, read_safetensors_config};
