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
//! Blur generation in a few lines (a closure stands in for the trained U-Net):
//!
//! ```
//! use burn::tensor::{Device, Distribution, Tensor};
//! use cold_degrade::DegradationConfig;
//! use cold_sample::{prior, ChannelMeanPrior, GmmConfig, Method, Record, Sampler};
//! use rand::SeedableRng;
//!
//! let device = Device::flex();
//! // The paper generates with `blur-gen-celeba` (T = 300, 128×128); MNIST blur keeps this short.
//! let op = DegradationConfig::preset("blur-mnist").unwrap().build().unwrap();
//! // Fit the prior to the channel means of a data set (here: random images).
//! let data = Tensor::<4>::random([64, 1, 32, 32], Distribution::Uniform(-1.0, 1.0), &device);
//! let means = prior::channel_means(&data);
//! let (prior, _report) = ChannelMeanPrior::fit(&means, 1, &GmmConfig::new(1)).unwrap();
//! let prior = prior.with_noise(0.002).unwrap(); // the paper's "broken symmetry"
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let start = prior.sample(4, 32, 32, &mut rng, &device);
//! let restorer = |x: Tensor<4>, _t: &[usize]| x * 1.01; // R(x_s, s − 1) ≈ x0
//! let out = Sampler::new(op.as_ref(), Method::Algorithm2)
//!     .record(Record::All)
//!     .generate(&restorer, start)
//!     .unwrap();
//! assert_eq!(out.x0.dims(), [4, 1, 32, 32]);
//! assert_eq!(out.trajectory.unwrap().states().len(), 21); // x_20, ..., x_1, x_0
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
