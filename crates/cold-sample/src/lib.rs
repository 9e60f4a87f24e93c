//! Sampling and generation for Cold Diffusion (Bansal et al., "Cold Diffusion: Inverting
//! Arbitrary Image Transforms Without Noise").
//!
//! - [`Sampler`]: direct reconstruction, Algorithm 1 and Algorithm 2 of the paper over any
//!   [`cold_degrade::Degradation`], with a fixed or re-estimated partner (DDIM, η = 0) for the
//!   blending operators, from any start level (per item), with an optional [`Trajectory`].
//! - [`Restorer`]: what a sampler calls, `R(x_s, s − 1) ≈ x0`; closures implement it, so the
//!   crate does not depend on the network. [`Oracle`] returns the true `x0`.
//! - Generation priors ([`prior`]): a Gaussian mixture over channel means for blur generation
//!   ([`ChannelMeanPrior`], [`GaussianMixture`]), downsampled images for super-resolution,
//!   constant colours, partner images, Gaussian noise. All randomness is drawn on the host from a
//!   seeded RNG.
//! - Output: image grids with labelled columns (PNG) and trajectory animations (GIF).
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use cold_degrade::DegradationConfig;
//! use cold_sample::{prior, Method, Sampler};
//! use rand::SeedableRng;
//!
//! let device = Device::flex();
//! let op = DegradationConfig::preset("blur-mnist").unwrap().build().unwrap();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! // A constant grey start, restored by a stand-in network that sharpens nothing.
//! let start = prior::constant_colour(2, cold_degrade::ImageShape::new(1, 32, 32), &mut rng, &device);
//! let start = prior::GenerationStart { draw: cold_degrade::Draw::empty(2), ..start };
//! let identity = |x: Tensor<4>, _t: &[usize]| x;
//! let out = Sampler::new(op.as_ref(), Method::Algorithm2).generate(&identity, start).unwrap();
//! assert_eq!(out.x0.dims(), [2, 1, 32, 32]);
//! ```

mod error;
mod font;
pub mod gmm;
pub mod output;
pub mod prior;
mod restorer;
mod sampler;

pub use error::SampleError;
pub use gmm::{FitReport, GaussianMixture, GmmConfig};
pub use output::{image_grid, labelled_grid, save_gif, save_png, save_trajectory_gif};
pub use prior::{ChannelMeanPrior, DownsampledPrior, GenerationStart};
pub use restorer::{Oracle, Restorer};
pub use sampler::{Method, PartnerMode, Record, SampleOutput, Sampler, Step, Trajectory};
