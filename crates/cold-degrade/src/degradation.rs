//! The [`Degradation`] trait every operator implements, and helpers shared by the operators.

use std::fmt::Debug;

use burn::tensor::{Device, Tensor};
use rand::Rng;

use crate::{DegradeError, Draw, ImageShape};

/// Which partner `z` a blending operator mixes `x0` with (`x_s = a_s·x0 + b_s·z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerKind {
    /// The operator does not blend with a partner.
    None,
    /// `z ~ N(0, I)`, drawn by [`Degradation::draw`] (hot-diffusion baseline).
    GaussianNoise,
    /// `z` is an image from another data set (animorphosis): the caller builds the draw with
    /// [`Draw::partner`]; [`Degradation::draw`] returns [`DegradeError::NeedsPartnerImages`].
    Images,
    /// `z` is a constant colour per image, drawn by [`Degradation::draw`] (inpainting
    /// generation). A re-estimated full image can be passed instead with [`Draw::partner`].
    ConstantColour,
}

/// The blend coefficients of levels `s` (one per batch item): `D(x0, s) = a ⊙ x0 + b ⊙ z`.
///
/// # Shapes
/// `a` and `b` are `[N, 1, 1, 1]` (one scalar per image: animorphosis, noise) or `[N, 1, H, W]`
/// (a spatial weight: inpainting generation); both broadcast against `[N, C, H, W]`.
#[derive(Debug, Clone)]
pub struct Blend {
    /// Weight of `x0`.
    pub a: Tensor<4>,
    /// Weight of the partner `z`.
    pub b: Tensor<4>,
}

impl Blend {
    /// `a ⊙ x0 + b ⊙ z` (`[N, C, H, W]` each).
    pub fn mix(&self, x0: Tensor<4>, z: Tensor<4>) -> Tensor<4> {
        x0 * self.a.clone() + z * self.b.clone()
    }

    /// Re-estimate the partner from a degraded image and an estimate of `x0`:
    /// `ẑ = (x_s − a ⊙ x̂0) / b`, the DDIM-style update of the original samplers (animorphosis
    /// `get_x2_bar_from_xt`, hot diffusion with estimated noise).
    ///
    /// Where `b` is 0 (level 0, or pixels the partner does not reach yet) `z` is not
    /// identifiable; those elements of `ẑ` are set to 0. They are multiplied by a zero weight at
    /// every lower level of a monotone schedule, so this matches the original's
    /// `/(b + 1e-14)` wherever the result is used.
    ///
    /// # Shapes
    /// `x_s`, `x0_hat`: `[N, C, H, W]`; returns `[N, C, H, W]`.
    pub fn estimate_partner(&self, x_s: Tensor<4>, x0_hat: Tensor<4>) -> Tensor<4> {
        let dims = x_s.dims();
        let b = self.b.clone().expand(dims);
        let zero = b.clone().equal_elem(0.0);
        let safe_b = b.mask_fill(zero.clone(), 1.0);
        let z = (x_s - x0_hat * self.a.clone()) / safe_b;
        z.mask_fill(zero, 0.0)
    }
}

/// One degradation operator `D(x0, s)` of Cold Diffusion with `T` steps; levels are `0..=T`.
///
/// The trait is object safe: [`crate::DegradationConfig::build`] returns a
/// `Box<dyn Degradation>`. Every operator meets the contract checked by the shared contract
/// test (`tests/contract.rs`): the shape is kept, level 0 is the identity, the output is
/// deterministic given the draw, batch items are independent, severity does not decrease with
/// `s`, and a level above `T` is an error that names the level and `T`.
///
/// Typical use (training draws `s` in `1..=T`, sampling walks `s = T..1`):
/// ```
/// # use burn::tensor::{Device, Tensor, Distribution};
/// # use cold_degrade::{DegradationConfig, ImageShape};
/// # use rand::SeedableRng;
/// let device = Device::flex();
/// let op = DegradationConfig::preset("blur-mnist").unwrap().build().unwrap();
/// let x0 = Tensor::<4>::random([2, 1, 32, 32], Distribution::Uniform(-1.0, 1.0), &device);
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
/// let draw = op.draw(2, ImageShape::of(&x0), &device, &mut rng).unwrap();
/// let xs = op.degrade(x0, &[op.steps(), 3], &draw).unwrap();
/// assert_eq!(xs.dims(), [2, 1, 32, 32]);
/// ```
pub trait Degradation: Send + Sync + Debug {
    /// Short operator name (`"blur"`, `"inpaint"`, ...), the config's `operator` tag.
    fn name(&self) -> &'static str;

    /// Number of steps `T`; valid levels are `0..=T`.
    fn steps(&self) -> usize;

    /// Draw the randomness of `batch` images of shape `shape` on the host from `rng` (then
    /// upload what needs uploading to `device`). Deterministic operators return
    /// [`Draw::empty`]. The same RNG state gives the same draw on every backend.
    ///
    /// # Errors
    /// If the shape does not fit the operator, or (animorphosis) if the randomness cannot come
    /// from an RNG: see [`Degradation::partner_kind`].
    fn draw(
        &self,
        batch: usize,
        shape: ImageShape,
        device: &Device,
        rng: &mut dyn Rng,
    ) -> Result<Draw, DegradeError>;

    /// `D(x0, s)` with one level per batch item: level 0 is the identity, level `s` has had `s`
    /// steps applied. Its cost does not depend on `s` (closed forms, cached per size and level).
    ///
    /// # Shapes
    /// `x0`: `[N, C, H, W]` in [-1, 1]; `levels.len() == N`; `draw.batch() == N`; returns
    /// `[N, C, H, W]`.
    ///
    /// # Errors
    /// A level above `T`, a level count or draw that does not match the batch, or an input
    /// shape the operator was not configured for.
    fn degrade(
        &self,
        x0: Tensor<4>,
        levels: &[usize],
        draw: &Draw,
    ) -> Result<Tensor<4>, DegradeError>;

    /// The network input of training, `x_s` for levels `s` (the original's `q_sample`). Equal
    /// to [`Degradation::degrade`] except for operators with `discrete = true` (blur,
    /// inpainting), whose training input is quantised to 8 bits with the original's float32
    /// operation order (see [`quantize_8bit`]).
    ///
    /// # Shapes
    /// As [`Degradation::degrade`].
    fn training_input(
        &self,
        x0: Tensor<4>,
        levels: &[usize],
        draw: &Draw,
    ) -> Result<Tensor<4>, DegradeError> {
        self.degrade(x0, levels, draw)
    }

    /// `D(x0, level)` with the same level for every batch item.
    ///
    /// # Shapes
    /// As [`Degradation::degrade`].
    fn degrade_at(
        &self,
        x0: Tensor<4>,
        level: usize,
        draw: &Draw,
    ) -> Result<Tensor<4>, DegradeError> {
        let n = x0.dims()[0];
        self.degrade(x0, &vec![level; n], draw)
    }

    /// Which partner a blending operator mixes with; [`PartnerKind::None`] for the others.
    fn partner_kind(&self) -> PartnerKind {
        PartnerKind::None
    }

    /// For blending operators (`x_s = a_s ⊙ x0 + b_s ⊙ z`: animorphosis, noise, inpainting
    /// generation) the coefficients of `levels`; `None` for the others. A DDIM-style sampler
    /// re-estimates `ẑ` with [`Blend::estimate_partner`] and degrades with
    /// `Draw::partner(ẑ)`.
    ///
    /// # Errors
    /// As [`Degradation::degrade`] for the levels and the shape.
    fn blend(
        &self,
        levels: &[usize],
        shape: ImageShape,
        device: &Device,
    ) -> Result<Option<Blend>, DegradeError> {
        let _ = (levels, shape, device);
        Ok(None)
    }

    /// The partner image `z` (`[N, C, H, W]`) a blending operator mixes with under `draw`
    /// (e.g. the constant-colour image of inpainting generation); `None` for the others.
    ///
    /// # Errors
    /// If the draw does not fit the operator or the shape.
    fn partner(
        &self,
        draw: &Draw,
        shape: ImageShape,
        device: &Device,
    ) -> Result<Option<Tensor<4>>, DegradeError> {
        let _ = (draw, shape, device);
        Ok(None)
    }
}

/// The original's 8-bit quantisation of `--discrete` training inputs, in its float32 operation
/// order: `((x + 1) * 0.5 * 255)` truncated toward zero, `/ 255`, `* 2 - 1`.
///
/// The order matters: in float32 `((2k/255 − 1) + 1)·0.5·255` often lands just below `k`, so
/// the original lowers many clean 8-bit pixels by one level, and a faithful port must too.
///
/// # Shapes
/// Any `[N, C, H, W]`; returns the same shape.
pub fn quantize_8bit(x: Tensor<4>) -> Tensor<4> {
    x.add_scalar(1.0)
        .mul_scalar(0.5)
        .mul_scalar(255.0)
        .trunc()
        .div_scalar(255.0)
        .mul_scalar(2.0)
        .sub_scalar(1.0)
}

/// Check the level list against the batch and `T`.
pub(crate) fn check_levels(
    operator: &str,
    steps: usize,
    levels: &[usize],
    batch: usize,
) -> Result<(), DegradeError> {
    if levels.len() != batch {
        return Err(DegradeError::LevelCount {
            levels: levels.len(),
            batch,
        });
    }
    if let Some((item, &level)) = levels.iter().enumerate().find(|(_, l)| **l > steps) {
        return Err(DegradeError::LevelOutOfRange {
            operator: operator.to_string(),
            item,
            level,
            steps,
        });
    }
    Ok(())
}

/// Check an input's shape against a config's optional `image_size` / `channels`.
pub(crate) fn check_shape(
    operator: &str,
    dims: [usize; 4],
    image_size: Option<usize>,
    channels: Option<usize>,
) -> Result<(), DegradeError> {
    let [_, c, h, w] = dims;
    if let Some(s) = image_size
        && (h != s || w != s)
    {
        return Err(DegradeError::Shape {
            operator: operator.to_string(),
            expected: format!("{s}×{s} images (config `image_size` = {s})"),
            found: dims,
        });
    }
    if let Some(ch) = channels
        && c != ch
    {
        return Err(DegradeError::Shape {
            operator: operator.to_string(),
            expected: format!("{ch} channels (config `channels` = {ch})"),
            found: dims,
        });
    }
    if h == 0 || w == 0 || c == 0 {
        return Err(DegradeError::Shape {
            operator: operator.to_string(),
            expected: "non-empty images".to_string(),
            found: dims,
        });
    }
    Ok(())
}
