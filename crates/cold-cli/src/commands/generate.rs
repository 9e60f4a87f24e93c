//! Generation starts (samples of `x_T`) for a trained configuration: the priors of spec §4.3.

use burn::tensor::{Device, Tensor};
use cold_diffusion::data::Preset;
use cold_diffusion::degrade::{
    Degradation, DegradationConfig, Draw, ImageShape, ResolutionRoutine,
};
use cold_diffusion::sample::prior::{self, GenerationStart, channel_means};
use cold_diffusion::sample::{ChannelMeanPrior, DownsampledPrior, GmmConfig};
use cold_diffusion::train::TrainConfig;
use rand_chacha::ChaCha8Rng;

use crate::commands::data;
use crate::error::{CliError, Result};

/// Options of the priors that are fitted to data.
#[derive(Debug, Clone)]
pub struct PriorOptions {
    /// `--data`: where the prior's images come from (default: the training data of the config).
    pub data: Option<String>,
    /// How many images to fit on.
    pub fit_images: usize,
    /// Mixture components (default per operator).
    pub components: Option<usize>,
    /// Pixel noise (default per operator).
    pub noise: Option<f64>,
    /// Seed of the mixture's initialisation.
    pub seed: u64,
}

/// The default pixel noise of `cfg`'s generation: the paper's 0.002 ("broken symmetry") where
/// the start is a flat or blocky image, 0 where the start is already random.
pub fn default_noise(cfg: &DegradationConfig) -> f64 {
    match cfg {
        DegradationConfig::Blur(_) | DegradationConfig::SuperResolution(_) => 0.002,
        _ => 0.0,
    }
}

fn fit_images(
    cfg: &TrainConfig,
    opts: &PriorOptions,
    device: &Device,
) -> Result<(Tensor<4>, String)> {
    let d = &cfg.data;
    let named = match &opts.data {
        Some(spec) => data::load(spec, cold_diffusion::data::Split::Train, d.channels)?,
        None => data::load_source(&d.dataset, d.channels)?,
    };
    let description = named.description.clone();
    // The original fits on the images as its test loader prepares them (resize 1.12 S,
    // centre crop S).
    let parts = data::batches(
        named.set,
        Preset::ResizeCenterCrop,
        d.image_size,
        opts.fit_images,
        500,
        None,
        device,
    )?;
    Ok((Tensor::cat(parts, 0), description))
}

/// A generation start of `n` images for the operator of `cfg`, and a line saying what it is.
///
/// # Errors
/// An operator without a generation prior (restoration-only operators), unreadable prior data,
/// or a mixture that cannot be fitted.
pub fn start(
    cfg: &TrainConfig,
    op: &dyn Degradation,
    n: usize,
    opts: &PriorOptions,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<(GenerationStart, String)> {
    let d = &cfg.data;
    let shape = ImageShape::new(d.channels, d.image_size, d.image_size);
    let noise = opts
        .noise
        .unwrap_or_else(|| default_noise(&cfg.degradation));
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(CliError::new(format!(
            "--noise {noise}: must be a finite value >= 0"
        )));
    }
    match &cfg.degradation {
        DegradationConfig::Blur(_) => {
            let k = opts.components.unwrap_or(1);
            let (images, source) = fit_images(cfg, opts, device)?;
            let means = channel_means(&images);
            let (p, _) =
                ChannelMeanPrior::fit(&means, d.channels, &GmmConfig::new(k).with_seed(opts.seed))?;
            let p = p.with_noise(noise)?;
            let start = p.sample(n, d.image_size, d.image_size, rng, device);
            Ok((
                start,
                format!(
                    "blur generation: channel means of {} images of {source}, Gaussian mixture ({k} component(s)), pixel noise σ = {noise}",
                    images.dims()[0]
                ),
            ))
        }
        DegradationConfig::SuperResolution(sr) => {
            use ResolutionRoutine as R;
            let grid = match sr.resolution_routine {
                R::IncrementalFactor2
                | R::IncrementalBilinearFactor2
                | R::IncrementalAreaFactor2 => {
                    d.image_size >> sr.time_steps.min(usize::BITS as usize - 1)
                }
                other => {
                    return Err(CliError::new(format!(
                        "super-resolution routine `{}`: the generation prior needs a factor-2 routine \
                         (x_T is a grid of S / 2^T blocks)",
                        other.as_str()
                    )));
                }
            };
            if grid == 0 || !d.image_size.is_multiple_of(grid) {
                return Err(CliError::new(format!(
                    "super-resolution with T = {} on {}x{} images leaves no block grid to fit a prior on",
                    sr.time_steps, d.image_size, d.image_size
                )));
            }
            let k = opts.components.unwrap_or(10);
            let (images, source) = fit_images(cfg, opts, device)?;
            let m = images.dims()[0];
            let degraded = op.degrade_at(images, op.steps(), &Draw::empty(m))?;
            let (p, _) =
                DownsampledPrior::fit(&degraded, grid, &GmmConfig::new(k).with_seed(opts.seed))?;
            let p = p.with_noise(noise)?;
            let start = p.sample(n, d.image_size, d.image_size, rng, device)?;
            Ok((
                start,
                format!(
                    "super-resolution generation: {grid}x{grid} block images of {m} degraded images of {source}, Gaussian mixture ({k} components), pixel noise σ = {noise}"
                ),
            ))
        }
        DegradationConfig::InpaintGeneration(_) => {
            let s = prior::constant_colour(n, shape, rng, device);
            Ok((
                with_noise(s, noise, rng)?,
                "inpainting generation: constant colours ~ U(-0.5, 0.5)".into(),
            ))
        }
        DegradationConfig::Noise(_) => Ok((
            prior::gaussian(n, shape, rng, device),
            "hot diffusion: Gaussian noise N(0, I)".into(),
        )),
        DegradationConfig::Animorph(_) => {
            let partner = d.partner.as_ref().ok_or_else(|| {
                CliError::new(
                    "animorphosis needs partner images (data.partner in the configuration)",
                )
            })?;
            let named = data::load_source(&partner.dataset, d.channels)?;
            let description = named.description.clone();
            let parts = data::batches(
                named.set,
                partner.augmentation,
                d.image_size,
                n,
                n.max(1),
                Some(opts.seed),
                device,
            )?;
            let z = Tensor::cat(parts, 0);
            if z.dims()[0] < n {
                return Err(CliError::new(format!(
                    "{description}: only {} partner images for --n {n}",
                    z.dims()[0]
                )));
            }
            Ok((
                prior::partner_images(z),
                format!("animorphosis: partner images of {description}"),
            ))
        }
        other => Err(CliError::new(format!(
            "operator `{}` is a restoration operator: the paper defines no generation prior for it \
             (generation works for blur, super-resolution, inpainting generation, animorphosis and \
             noise); use `cold restore` on degraded images instead",
            other.operator()
        ))),
    }
}

fn with_noise(s: GenerationStart, noise: f64, rng: &mut ChaCha8Rng) -> Result<GenerationStart> {
    Ok(GenerationStart {
        x: prior::add_pixel_noise(s.x, noise, rng)?,
        draw: s.draw,
    })
}
