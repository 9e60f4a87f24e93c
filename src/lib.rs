//! # cold-diffusion
//!
//! Cold Diffusion (Bansal et al., *Cold Diffusion: Inverting Arbitrary Image Transforms Without
//! Noise*) on [Burn](https://burn.dev): degrade images with any operator of the paper, train a
//! restoration network `R(x_s, s − 1) ≈ x0`, restore with direct reconstruction, Algorithm 1 or
//! Algorithm 2, generate from the fully degraded distribution, and measure RMSE / SSIM / FID as
//! the paper did — on CPU (Flex), WGPU or CUDA with the same code, and with the original
//! PyTorch checkpoints.
//!
//! This crate is the facade: it re-exports the workspace crates under short names and picks
//! the backend with its cargo features (`flex`, the default; `wgpu`; `cuda`).
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`degrade`] | `cold-degrade` | the [`Degradation`](degrade::Degradation) trait, every operator, [`DegradationConfig`](degrade::DegradationConfig) and presets |
//! | [`unet`] | `cold-unet` | the ConvNeXt U-Net and DDPM ResNet U-Net, [`NetConfig`](unet::NetConfig), original `.pt` import, safetensors |
//! | [`data`] | `cold-data` | MNIST / CIFAR-10 / image folders, the original augmentations, a seeded loader |
//! | [`sample`] | `cold-sample` | [`Sampler`](sample::Sampler) (direct, Algorithm 1, Algorithm 2), generation priors, grids, GIFs |
//! | [`train`] | `cold-train` | [`TrainConfig`](train::TrainConfig) and presets, [`Trainer`](train::Trainer), checkpoints |
//! | [`metrics`] | `cold-metrics` | RMSE, PSNR, SSIM, FID, KID and the paper's evaluation rows |
//! | [`device`] | this crate | `cpu` / `wgpu` / `cuda:N` strings to a Burn [`Device`](burn::tensor::Device) |
//!
//! Images are NCHW `f32` tensors in `[-1, 1]`; level `s ∈ 0..=T` means `s` degradation steps
//! were applied, and the network is called with the zero-based index `s − 1`, as in the
//! original code.
//!
//! ## Example
//! Degrade a batch with the paper's MNIST blur, restore it with Algorithm 2 and score it. An
//! oracle restorer (it knows `x0`) stands in for a trained network: with it, Algorithm 2 walks
//! back exactly, which is the paper's argument for the algorithm.
//!
//! ```
//! use cold_diffusion::burn::tensor::{Distribution, Tensor};
//! use cold_diffusion::degrade::{DegradationConfig, Draw};
//! use cold_diffusion::metrics::{rmse, ssim, to_unit_range};
//! use cold_diffusion::sample::{Method, Oracle, Sampler};
//!
//! let device = cold_diffusion::device::select("cpu")?;
//! let blur = DegradationConfig::preset("blur-mnist")?.build()?; // T = 20
//! let x0 = Tensor::<4>::random([2, 1, 32, 32], Distribution::Uniform(-1.0, 1.0), &device);
//! let draw = Draw::empty(2); // blur is deterministic
//! let x_t = blur.degrade_at(x0.clone(), blur.steps(), &draw)?;
//!
//! let out = Sampler::new(blur.as_ref(), Method::Algorithm2)
//!     .run(&Oracle::new(x0.clone()), x_t.clone(), &[blur.steps(); 2], &draw)?;
//! let (x0, x_t, x0_hat) = (to_unit_range(x0), to_unit_range(x_t), to_unit_range(out.x0));
//! assert!(rmse(x0_hat.clone(), x0.clone())? < 1e-4);
//! assert!(ssim(x0_hat, x0.clone())? > ssim(x_t, x0)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With a network instead of the oracle, the restorer is a closure around
//! [`RestorationNet::forward`](unet::RestorationNet::forward): see [`unet_restorer`]. Training
//! is [`train::Trainer`]; the `cold` command line (`cargo run --release -p cold-cli -- --help`)
//! does all of this without writing Rust. The README has the tour and `docs/` the details.

pub mod device;

/// The Burn version this workspace is built on (`=0.22.1`), re-exported so that users name the
/// same tensor and device types.
pub use burn;
pub use cold_data as data;
pub use cold_degrade as degrade;
pub use cold_metrics as metrics;
pub use cold_sample as sample;
pub use cold_train as train;
pub use cold_unet as unet;

use burn::tensor::{Int, Tensor, TensorData};

/// A [`Restorer`](sample::Restorer) that runs `net` on the device of its input: the glue
/// between a network and the samplers (`t` holds the zero-based indices `s − 1`).
///
/// # Shapes
/// The returned closure maps `x_s`: `[N, C, H, W]` and `N` indices to `[N, C, H, W]`.
///
/// ```
/// use cold_diffusion::burn::tensor::Tensor;
/// use cold_diffusion::degrade::{DegradationConfig, Draw};
/// use cold_diffusion::sample::{Method, Sampler};
/// use cold_diffusion::unet::{NetConfig, UnetConfig};
///
/// let device = cold_diffusion::device::select("cpu")?;
/// let net = NetConfig::Unet(UnetConfig::tiny(1)).init(&device); // untrained
/// let op = DegradationConfig::preset("superres-mnist")?.build()?; // T = 3
/// let x_t = Tensor::<4>::zeros([1, 1, 32, 32], &device);
/// let restorer = cold_diffusion::unet_restorer(&net);
/// let out = Sampler::new(op.as_ref(), Method::Algorithm2).run(&restorer, x_t, &[3], &Draw::empty(1))?;
/// assert_eq!(out.x0.dims(), [1, 1, 32, 32]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn unet_restorer(net: &unet::RestorationNet) -> impl Fn(Tensor<4>, &[usize]) -> Tensor<4> + '_ {
    move |x: Tensor<4>, t: &[usize]| {
        let device = x.device();
        let t: Vec<i64> = t.iter().map(|&v| v as i64).collect();
        let n = t.len();
        net.forward(
            x,
            Tensor::<1, Int>::from_data(TensorData::new(t, [n]), &device),
        )
    }
}

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
