//! # cold-degrade
//!
//! The image degradations of Cold Diffusion (Bansal et al., "Inverting Arbitrary Image
//! Transforms Without Noise"), exact to the original PyTorch code: Gaussian blur (every
//! routine, circular and reflect padding, `--discrete`), Gaussian-mask inpainting (centred,
//! random centre, constant; restoration and the constant-colour generation variant),
//! super-resolution / pixelation (every `resolution_routine`, PyTorch-exact resampling weights),
//! ImageNet-C snow (levels 1–4, `fix_brightness`, `random_snow`, `single_snow`), desaturation,
//! animorphosis and the Gaussian-noise "hot" baseline.
//!
//! - [`Degradation`]: one object-safe trait; `D(x0, s)` with one level per batch item, levels
//!   `0..=T`, level 0 the identity.
//! - [`Draw`]: randomness is data. A stochastic operator draws per-image randomness once on the
//!   host from a seeded RNG; every level of a trajectory reuses it, so the same seed gives the
//!   same result on every backend.
//! - [`DegradationConfig`]: serde (JSON / TOML) configs whose field names are the original's
//!   command-line flags, with [`DegradationConfig::validate`], [`DegradationConfig::build`] and
//!   the paper's [`presets`].
//! - Closed forms: the cost of `D(x, s)` does not depend on `s`. Blur is `A_s X A_sᵀ` with the
//!   composed per-axis matrices cached per size and level; masks and channel matrices are
//!   cached cumulative products (see `docs/degradations.md`).
//!
//! Images are NCHW `f32` tensors in [-1, 1].
//!
//! ```
//! use burn::tensor::{Device, Distribution, Tensor};
//! use cold_degrade::{DegradationConfig, Draw};
//!
//! let device = Device::flex();
//! let blur = DegradationConfig::preset("blur-cifar10").unwrap().build().unwrap();
//! let x0 = Tensor::<4>::random([4, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), &device);
//! let x_t = blur.degrade(x0.clone(), &[0, 1, 25, 50], &Draw::empty(4)).unwrap();
//! assert_eq!(x_t.dims(), [4, 3, 32, 32]);
//! assert!(blur.degrade(x0, &[51, 0, 0, 0], &Draw::empty(4)).is_err()); // T = 50
//! ```

mod blend;
mod blur;
mod cache;
mod config;
mod decolor;
mod degradation;
mod draw;
mod error;
mod inpaint;
mod presets;
pub mod schedule;
mod snow;
mod superres;

pub use blend::{Animorph, BetaSchedule, Noise, blend_schedule};
pub use blur::Blur;
pub use config::{
    AnimorphConfig, BlurConfig, BlurRoutine, DecolorConfig, DecolorRoutine, DegradationConfig,
    FadeRoutine, InpaintConfig, InpaintGenerationConfig, NoiseConfig,
};
pub use decolor::Decolor;
pub use degradation::{Blend, Degradation, PartnerKind, quantize_8bit};
pub use draw::{CustomDraw, Draw, ImageShape, MaskOffset};
pub use error::{ConfigError, DegradeError};
pub use inpaint::{Inpaint, InpaintGeneration};
pub use presets::{Preset, presets};
pub use snow::{
    FIXED_SNOW_SEED, Snow, SnowConfig, SnowDirection, SnowDraw, SnowLevel, SnowSchedule,
    clipped_zoom, fixed_single_snow_fields, fixed_snow_pattern, torch_linspace_f32,
};
pub use superres::{
    ResizeMode, ResolutionRoutine, SuperResolution, SuperResolutionConfig, blur3_reflect_matrix,
    cubic_coefficients, resize_matrix,
};
