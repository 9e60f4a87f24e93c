//! Blending operators `D(x0, s) = √ᾱ_s·x0 + √(1 − ᾱ_s)·z`: animorphosis
//! (`demixing-diffusion-pytorch`, `z` an image of another data set) and the Gaussian-noise "hot"
//! baseline (`denoising-diffusion-pytorch`, `z ~ N(0, I)`).

use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::config::{AnimorphConfig, NoiseConfig};
use crate::degradation::{Blend, PartnerKind, check_levels, check_shape};
use crate::schedule::{cosine_alphas_cumprod_f32, linear_alphas_cumprod};
use crate::{Degradation, DegradeError, Draw, ImageShape};

/// β schedule of the blending operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BetaSchedule {
    /// Nichol & Dhariwal's cosine schedule (s = 0.008, β ≤ 0.999), computed in float32 like the
    /// original.
    #[default]
    Cosine,
    /// DDPM's linear schedule scaled to `T` (β from `1e-4·1000/T` to `0.02·1000/T`).
    Linear,
}

/// `(√ᾱ_t, √(1 − ᾱ_t))` for `t = 0..T`, as float32 values computed like the original
/// (`sqrt` of the float32 `alphas_cumprod`, and of `1 − alphas_cumprod` in float32).
pub fn blend_schedule(schedule: BetaSchedule, time_steps: usize) -> (Vec<f32>, Vec<f32>) {
    let abar: Vec<f32> = match schedule {
        BetaSchedule::Cosine => cosine_alphas_cumprod_f32(time_steps),
        BetaSchedule::Linear => linear_alphas_cumprod(time_steps)
            .into_iter()
            .map(|v| v as f32)
            .collect(),
    };
    let a = abar.iter().map(|v| v.sqrt()).collect();
    let b = abar.iter().map(|v| (1.0 - v).sqrt()).collect();
    (a, b)
}

/// The shared implementation of both blending operators.
#[derive(Debug)]
struct Mix {
    name: &'static str,
    time_steps: usize,
    image_size: Option<usize>,
    channels: Option<usize>,
    sqrt_abar: Vec<f32>,
    sqrt_one_minus_abar: Vec<f32>,
}

impl Mix {
    fn coefficients(&self, levels: &[usize], device: &Device) -> Blend {
        let (a, b): (Vec<f32>, Vec<f32>) = levels
            .iter()
            .map(|&s| {
                if s == 0 {
                    (1.0, 0.0)
                } else {
                    (self.sqrt_abar[s - 1], self.sqrt_one_minus_abar[s - 1])
                }
            })
            .unzip();
        let n = levels.len();
        Blend {
            a: Tensor::from_data(TensorData::new(a, [n, 1, 1, 1]), device),
            b: Tensor::from_data(TensorData::new(b, [n, 1, 1, 1]), device),
        }
    }

    fn blend(&self, levels: &[usize], shape: ImageShape) -> Result<(), DegradeError> {
        let dims = [levels.len(), shape.channels, shape.height, shape.width];
        check_shape(self.name, dims, self.image_size, self.channels)?;
        check_levels(self.name, self.time_steps, levels, levels.len())
    }

    fn degrade(
        &self,
        x0: Tensor<4>,
        levels: &[usize],
        draw: &Draw,
    ) -> Result<Tensor<4>, DegradeError> {
        let dims = x0.dims();
        check_shape(self.name, dims, self.image_size, self.channels)?;
        check_levels(self.name, self.time_steps, levels, dims[0])?;
        draw.check_batch(dims[0])?;
        let z = match draw {
            Draw::Partner(z) if z.dims() == dims => z.clone(),
            Draw::Partner(z) => {
                return Err(DegradeError::DrawMismatch {
                    operator: self.name.into(),
                    reason: format!(
                        "the partner images have shape {:?}, the input {:?}",
                        z.dims(),
                        dims
                    ),
                });
            }
            other => {
                return Err(DegradeError::DrawMismatch {
                    operator: self.name.into(),
                    reason: format!(
                        "needs partner images z (Draw::Partner), got {}",
                        other.kind()
                    ),
                });
            }
        };
        Ok(self.coefficients(levels, &x0.device()).mix(x0, z))
    }
}

/// Animorphosis, built from an [`AnimorphConfig`]: `x0` blends into a partner image `z` (an
/// animal photo in the paper) along the cosine schedule.
///
/// The partner comes from a data set, not from an RNG: build the draw with
/// [`Draw::partner`]. [`Degradation::draw`] returns [`DegradeError::NeedsPartnerImages`].
#[derive(Debug)]
pub struct Animorph {
    mix: Mix,
}

impl Animorph {
    /// Build the operator (the config is assumed valid: see [`AnimorphConfig::validate`]).
    pub fn new(cfg: AnimorphConfig) -> Self {
        let (a, b) = blend_schedule(BetaSchedule::Cosine, cfg.time_steps);
        Self {
            mix: Mix {
                name: "animorph",
                time_steps: cfg.time_steps,
                image_size: cfg.image_size,
                channels: cfg.channels,
                sqrt_abar: a,
                sqrt_one_minus_abar: b,
            },
        }
    }
}

/// The Gaussian-noise ("hot") baseline, built from a [`NoiseConfig`]:
/// `x_s = √ᾱ_s·x0 + √(1 − ᾱ_s)·z`, `z ~ N(0, I)` drawn on the host.
#[derive(Debug)]
pub struct Noise {
    mix: Mix,
}

impl Noise {
    /// Build the operator (the config is assumed valid: see [`NoiseConfig::validate`]).
    pub fn new(cfg: NoiseConfig) -> Self {
        let (a, b) = blend_schedule(cfg.beta_schedule, cfg.time_steps);
        Self {
            mix: Mix {
                name: "noise",
                time_steps: cfg.time_steps,
                image_size: cfg.image_size,
                channels: cfg.channels,
                sqrt_abar: a,
                sqrt_one_minus_abar: b,
            },
        }
    }
}

macro_rules! impl_blend_degradation {
    ($ty:ty, $kind:expr) => {
        impl Degradation for $ty {
            fn name(&self) -> &'static str {
                self.mix.name
            }

            fn steps(&self) -> usize {
                self.mix.time_steps
            }

            fn draw(
                &self,
                batch: usize,
                shape: ImageShape,
                device: &Device,
                rng: &mut dyn Rng,
            ) -> Result<Draw, DegradeError> {
                draw_partner(self.mix.name, $kind, batch, shape, device, rng)
            }

            fn degrade(
                &self,
                x0: Tensor<4>,
                levels: &[usize],
                draw: &Draw,
            ) -> Result<Tensor<4>, DegradeError> {
                self.mix.degrade(x0, levels, draw)
            }

            fn partner_kind(&self) -> PartnerKind {
                $kind
            }

            fn blend(
                &self,
                levels: &[usize],
                shape: ImageShape,
                device: &Device,
            ) -> Result<Option<Blend>, DegradeError> {
                self.mix.blend(levels, shape)?;
                Ok(Some(self.mix.coefficients(levels, device)))
            }

            fn partner(
                &self,
                draw: &Draw,
                shape: ImageShape,
                _device: &Device,
            ) -> Result<Option<Tensor<4>>, DegradeError> {
                match draw {
                    Draw::Partner(z) if ImageShape::of(z) == shape => Ok(Some(z.clone())),
                    other => Err(DegradeError::DrawMismatch {
                        operator: self.mix.name.into(),
                        reason: format!(
                            "needs partner images of shape {shape:?} (Draw::Partner), got {}",
                            other.kind()
                        ),
                    }),
                }
            }
        }
    };
}

impl_blend_degradation!(Animorph, PartnerKind::Images);
impl_blend_degradation!(Noise, PartnerKind::GaussianNoise);

fn draw_partner(
    name: &'static str,
    kind: PartnerKind,
    batch: usize,
    shape: ImageShape,
    device: &Device,
    rng: &mut dyn Rng,
) -> Result<Draw, DegradeError> {
    if kind != PartnerKind::GaussianNoise {
        return Err(DegradeError::NeedsPartnerImages {
            operator: name.into(),
        });
    }
    let len = batch * shape.channels * shape.height * shape.width;
    let z: Vec<f32> = (0..len).map(|_| StandardNormal.sample(&mut *rng)).collect();
    let z = Tensor::<4>::from_data(
        TensorData::new(z, [batch, shape.channels, shape.height, shape.width]),
        device,
    );
    Ok(Draw::partner(z))
}
