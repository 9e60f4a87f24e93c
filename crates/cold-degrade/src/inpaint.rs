//! Gaussian-mask inpainting: restoration (`defading-diffusion-pytorch`) and generation
//! (`defading-generation-diffusion-pytorch`).
//!
//! Step `i` multiplies the image by the mask `m_i = 1 − exp(−|p − c|²/(2σ_i²))` (the original's
//! max-normalised torchgeometry Gaussian on an `(S+1)²` grid minus its first row and column),
//! so `D(x, s) = x ⊙ Π_{i<s} m_i`. The cumulative product is computed on the host (per-step
//! masks in f64, accumulated with float32 rounding like the original) and cached per (grid
//! size, level). Random-centre masks are products on the `2H × 2W` grid
//! cropped per image at the drawn offset (a crop of a product is the product of the crops).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngExt};

use crate::cache::PrefixCache;
use crate::config::{FadeRoutine, InpaintConfig, InpaintGenerationConfig};
use crate::degradation::{Blend, PartnerKind, check_levels, check_shape, quantize_8bit};
use crate::schedule::{fade_mask, mask_sigmas};
use crate::{Degradation, DegradeError, Draw, ImageShape, MaskOffset};

/// Every per-step mask of one grid size, `[T][gh·gw]` (f32).
type StepMasks = Arc<Vec<Vec<f32>>>;

/// Cumulative Gaussian masks `Π_{i<s} m_i` on grids of a given size.
#[derive(Debug)]
struct MaskChain {
    sigmas: Vec<f64>,
    cache: PrefixCache<(usize, usize)>,
    steps: Mutex<HashMap<(usize, usize), StepMasks>>,
}

impl MaskChain {
    fn new(sigmas: Vec<f64>) -> Self {
        Self {
            sigmas,
            cache: PrefixCache::new(),
            steps: Mutex::new(HashMap::new()),
        }
    }

    /// Every per-step mask `m_i` on the `gh × gw` grid, rounded to f32 (as the original's
    /// float32 masks).
    fn step_masks(&self, gh: usize, gw: usize) -> StepMasks {
        let mut map = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((gh, gw))
            .or_insert_with(|| {
                Arc::new(
                    self.sigmas
                        .iter()
                        .map(|&sigma| {
                            fade_mask(gh + 1, gw + 1, sigma)
                                .into_iter()
                                .map(|v| v as f32)
                                .collect()
                        })
                        .collect(),
                )
            })
            .clone()
    }

    /// Cumulative masks of `levels` on the `gh × gw` grid (built from a `(gh+1) × (gw+1)`
    /// Gaussian).
    fn cumulative(&self, gh: usize, gw: usize, levels: &[usize]) -> Vec<Arc<Vec<f32>>> {
        let identity = || vec![1.0; gh * gw];
        // The mask values are computed in f64 and rounded to f32, and the running product is
        // rounded to f32 after every step, as the original's float32 `kers * kernel` does (the
        // product of two f32 values is exact in f64, so this is float32 multiplication).
        // Rounding only once would move mask values a few ulps below 1 where the original has
        // exactly 1.0, and --discrete's 8-bit truncation of clean pixels would then flip.
        let step = |i: usize, prev: &[f64]| -> Vec<f64> {
            let m = fade_mask(gh + 1, gw + 1, self.sigmas[i]);
            prev.iter()
                .zip(&m)
                .map(|(&a, &b)| (a * (b as f32) as f64) as f32 as f64)
                .collect()
        };
        self.cache.levels(&(gh, gw), levels, &identity, &step)
    }
}

fn even_side(operator: &str, dims: [usize; 4]) -> Result<(), DegradeError> {
    if dims[2] % 2 == 1 || dims[3] % 2 == 1 {
        return Err(DegradeError::Shape {
            operator: operator.to_string(),
            expected: "an even height and width (centred masks live on an (S+1)×(S+1) grid, which the original requires to be odd)".into(),
            found: dims,
        });
    }
    Ok(())
}

/// Gaussian-mask inpainting for restoration, built from an [`InpaintConfig`].
#[derive(Debug)]
pub struct Inpaint {
    cfg: InpaintConfig,
    chain: MaskChain,
}

impl Inpaint {
    /// Build the operator (the config is assumed valid: see [`InpaintConfig::validate`]).
    pub fn new(cfg: InpaintConfig) -> Self {
        let sigmas = mask_sigmas(
            cfg.time_steps,
            cfg.kernel_std,
            cfg.initial_mask,
            cfg.fade_routine == FadeRoutine::Constant,
        );
        Self {
            cfg,
            chain: MaskChain::new(sigmas),
        }
    }

    /// The per-step mask σ_i.
    pub fn sigmas(&self) -> &[f64] {
        &self.chain.sigmas
    }

    /// The cumulative mask `Π_{i<s} m_i` of one image (row-major `H × W`, f32) under the given
    /// offset (`None` for the centred routines).
    pub fn cumulative_mask(
        &self,
        height: usize,
        width: usize,
        level: usize,
        offset: Option<MaskOffset>,
    ) -> Vec<f32> {
        match offset {
            None => self.chain.cumulative(height, width, &[level])[0].to_vec(),
            Some(o) => {
                let grid = &self.chain.cumulative(2 * height, 2 * width, &[level])[0];
                crop(grid, 2 * width, o, height, width)
            }
        }
    }

    fn masks(
        &self,
        dims: [usize; 4],
        levels: &[usize],
        draw: &Draw,
        device: &Device,
    ) -> Result<Tensor<4>, DegradeError> {
        let [n, _, h, w] = dims;
        let mut data = Vec::with_capacity(n * h * w);
        match (self.cfg.fade_routine, draw) {
            (FadeRoutine::RandomIncremental, Draw::MaskOffsets(offsets)) => {
                if let Some(o) = offsets.iter().find(|o| o.row > h || o.col > w) {
                    return Err(DegradeError::DrawMismatch {
                        operator: "inpaint".into(),
                        reason: format!(
                            "mask offset (row {}, col {}) is outside 0..={h} × 0..={w} for {h}×{w} images",
                            o.row, o.col
                        ),
                    });
                }
                let grids = self.chain.cumulative(2 * h, 2 * w, levels);
                for (g, o) in grids.iter().zip(offsets) {
                    data.extend(crop(g, 2 * w, *o, h, w));
                }
            }
            (FadeRoutine::RandomIncremental, other) => {
                return Err(DegradeError::DrawMismatch {
                    operator: "inpaint".into(),
                    reason: format!(
                        "Random_Incremental needs one mask offset per image (Draw::MaskOffsets), got {}",
                        other.kind()
                    ),
                });
            }
            (_, Draw::Empty { .. }) => {
                even_side("inpaint", dims)?;
                for m in self.chain.cumulative(h, w, levels) {
                    data.extend_from_slice(&m);
                }
            }
            (routine, other) => {
                return Err(DegradeError::DrawMismatch {
                    operator: "inpaint".into(),
                    reason: format!(
                        "the centred routine {} is deterministic and takes an empty draw, not {}",
                        routine.as_str(),
                        other.kind()
                    ),
                });
            }
        }
        Ok(Tensor::from_data(
            TensorData::new(data, [n, 1, h, w]),
            device,
        ))
    }
}

fn crop(grid: &[f32], grid_w: usize, o: MaskOffset, h: usize, w: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(h * w);
    for r in 0..h {
        let start = (o.row + r) * grid_w + o.col;
        out.extend_from_slice(&grid[start..start + w]);
    }
    out
}

impl Degradation for Inpaint {
    fn name(&self) -> &'static str {
        "inpaint"
    }

    fn steps(&self) -> usize {
        self.cfg.time_steps
    }

    fn draw(
        &self,
        batch: usize,
        shape: ImageShape,
        _device: &Device,
        rng: &mut dyn Rng,
    ) -> Result<Draw, DegradeError> {
        if self.cfg.fade_routine != FadeRoutine::RandomIncremental {
            return Ok(Draw::empty(batch));
        }
        // The original: rand_x, rand_y = torch.randint(0, S + 1) per image.
        let offsets = (0..batch)
            .map(|_| {
                let row = rng.random_range(0..=shape.height);
                let col = rng.random_range(0..=shape.width);
                MaskOffset { row, col }
            })
            .collect();
        Ok(Draw::mask_offsets(offsets))
    }

    fn degrade(
        &self,
        x0: Tensor<4>,
        levels: &[usize],
        draw: &Draw,
    ) -> Result<Tensor<4>, DegradeError> {
        let dims = x0.dims();
        check_shape("inpaint", dims, self.cfg.image_size, self.cfg.channels)?;
        check_levels("inpaint", self.cfg.time_steps, levels, dims[0])?;
        draw.check_batch(dims[0])?;
        let masks = self.masks(dims, levels, draw, &x0.device())?;
        Ok(x0 * masks)
    }

    /// With `discrete`, the masks are applied one step at a time (`x ← m_i ⊙ x`, `O(s)`
    /// element-wise products like the original's `q_sample`) before the 8-bit quantisation:
    /// the truncation is sensitive to the last bit, and the closed form `x ⊙ Π m_i` flips up to
    /// 0.17 % of the quantised values of the golden vectors where the step-wise product flips
    /// none. Without `discrete` this is [`Degradation::degrade`].
    fn training_input(
        &self,
        x0: Tensor<4>,
        levels: &[usize],
        draw: &Draw,
    ) -> Result<Tensor<4>, DegradeError> {
        if !self.cfg.discrete {
            return self.degrade(x0, levels, draw);
        }
        let dims = x0.dims();
        check_shape("inpaint", dims, self.cfg.image_size, self.cfg.channels)?;
        check_levels("inpaint", self.cfg.time_steps, levels, dims[0])?;
        draw.check_batch(dims[0])?;
        let [n, _, h, w] = dims;
        let device = x0.device();
        // validates the draw against the routine and the size
        self.masks(dims, &vec![0; n], draw, &device)?;
        let offsets: Vec<Option<MaskOffset>> = match draw {
            Draw::MaskOffsets(o) => o.iter().copied().map(Some).collect(),
            _ => vec![None; n],
        };
        let steps = match offsets.first() {
            Some(Some(_)) => self.chain.step_masks(2 * h, 2 * w),
            _ => self.chain.step_masks(h, w),
        };
        let max_level = levels.iter().copied().max().unwrap_or(0);
        let mut x = x0;
        for (i, step) in steps.iter().enumerate().take(max_level) {
            let mut data = Vec::with_capacity(n * h * w);
            for (&s, o) in levels.iter().zip(&offsets) {
                if s <= i {
                    data.extend(std::iter::repeat_n(1.0f32, h * w));
                } else {
                    match o {
                        Some(o) => data.extend(crop(step, 2 * w, *o, h, w)),
                        None => data.extend_from_slice(step),
                    }
                }
            }
            let m = Tensor::<4>::from_data(TensorData::new(data, [n, 1, h, w]), &device);
            x = m * x;
        }
        Ok(quantize_8bit(x))
    }
}

/// Inpainting for generation, built from an [`InpaintGenerationConfig`]:
/// `D(x0, s) = α_s ⊙ x0 + (1 − α_s) ⊙ c` with `c` a constant colour per image.
///
/// `α_s = Π_{i<s} m_i` (the hole grows from the centre), or with `reverse`
/// `1 − α_s = Π_{i<T−s} m_i` (the colour grows from the border inward and `x_T = c`).
/// Level 0 is the identity.
#[derive(Debug)]
pub struct InpaintGeneration {
    cfg: InpaintGenerationConfig,
    chain: MaskChain,
}

impl InpaintGeneration {
    /// Build the operator (the config is assumed valid: see
    /// [`InpaintGenerationConfig::validate`]).
    pub fn new(cfg: InpaintGenerationConfig) -> Self {
        let sigmas = mask_sigmas(cfg.time_steps, cfg.kernel_std, cfg.initial_mask, false);
        Self {
            cfg,
            chain: MaskChain::new(sigmas),
        }
    }

    /// `(α, 1 − α)` of `levels` as host arrays `[N, H, W]`, in the original's float32 order:
    /// the cumulative product is rounded to f32 and the other weight is `1 − it` in f32.
    fn weights(&self, h: usize, w: usize, levels: &[usize]) -> (Vec<f32>, Vec<f32>) {
        let t = self.cfg.time_steps;
        let cum_levels: Vec<usize> = levels
            .iter()
            .map(|&s| if self.cfg.reverse { t - s } else { s })
            .collect();
        let cums = self.chain.cumulative(h, w, &cum_levels);
        let mut a = Vec::with_capacity(levels.len() * h * w);
        let mut b = Vec::with_capacity(levels.len() * h * w);
        for (&s, cum) in levels.iter().zip(&cums) {
            if s == 0 {
                a.extend(std::iter::repeat_n(1.0f32, h * w));
                b.extend(std::iter::repeat_n(0.0f32, h * w));
            } else if self.cfg.reverse {
                a.extend(cum.iter().map(|&v| 1.0 - v));
                b.extend_from_slice(cum);
            } else {
                a.extend_from_slice(cum);
                b.extend(cum.iter().map(|&v| 1.0 - v));
            }
        }
        (a, b)
    }

    fn make_blend(
        &self,
        levels: &[usize],
        shape: ImageShape,
        device: &Device,
    ) -> Result<Blend, DegradeError> {
        let dims = [levels.len(), shape.channels, shape.height, shape.width];
        check_shape(
            "inpaint_generation",
            dims,
            self.cfg.image_size,
            self.cfg.channels,
        )?;
        check_levels(
            "inpaint_generation",
            self.cfg.time_steps,
            levels,
            levels.len(),
        )?;
        even_side("inpaint_generation", dims)?;
        let (h, w) = (shape.height, shape.width);
        let (a, b) = self.weights(h, w, levels);
        let shape4 = [levels.len(), 1, h, w];
        Ok(Blend {
            a: Tensor::from_data(TensorData::new(a, shape4), device),
            b: Tensor::from_data(TensorData::new(b, shape4), device),
        })
    }

    fn partner_image(
        &self,
        draw: &Draw,
        dims: [usize; 4],
        device: &Device,
    ) -> Result<Tensor<4>, DegradeError> {
        let [n, c, h, w] = dims;
        match draw {
            Draw::Colours { channels, values } => {
                if *channels != c {
                    return Err(DegradeError::DrawMismatch {
                        operator: "inpaint_generation".into(),
                        reason: format!(
                            "the colours have {channels} channels but the images have {c}"
                        ),
                    });
                }
                let col =
                    Tensor::<4>::from_data(TensorData::new(values.clone(), [n, c, 1, 1]), device);
                Ok(col.expand([n, c, h, w]))
            }
            Draw::Partner(z) => {
                if z.dims() != dims {
                    return Err(DegradeError::DrawMismatch {
                        operator: "inpaint_generation".into(),
                        reason: format!(
                            "the partner images have shape {:?}, the input {:?}",
                            z.dims(),
                            dims
                        ),
                    });
                }
                Ok(z.clone())
            }
            other => Err(DegradeError::DrawMismatch {
                operator: "inpaint_generation".into(),
                reason: format!(
                    "needs one colour per image (Draw::Colours) or partner images, got {}",
                    other.kind()
                ),
            }),
        }
    }
}

impl Degradation for InpaintGeneration {
    fn name(&self) -> &'static str {
        "inpaint_generation"
    }

    fn steps(&self) -> usize {
        self.cfg.time_steps
    }

    fn draw(
        &self,
        batch: usize,
        shape: ImageShape,
        _device: &Device,
        rng: &mut dyn Rng,
    ) -> Result<Draw, DegradeError> {
        // The original: torch.rand((batch, 3)) - 0.5, one colour per image.
        let values = (0..batch * shape.channels)
            .map(|_| rng.random::<f32>() - 0.5)
            .collect();
        Draw::colours(shape.channels, values)
    }

    fn degrade(
        &self,
        x0: Tensor<4>,
        levels: &[usize],
        draw: &Draw,
    ) -> Result<Tensor<4>, DegradeError> {
        let dims = x0.dims();
        let device = x0.device();
        check_shape(
            "inpaint_generation",
            dims,
            self.cfg.image_size,
            self.cfg.channels,
        )?;
        check_levels("inpaint_generation", self.cfg.time_steps, levels, dims[0])?;
        draw.check_batch(dims[0])?;
        let z = self.partner_image(draw, dims, &device)?;
        let blend = self.make_blend(levels, ImageShape::of_dims(dims), &device)?;
        Ok(blend.mix(x0, z))
    }

    fn partner_kind(&self) -> PartnerKind {
        PartnerKind::ConstantColour
    }

    fn blend(
        &self,
        levels: &[usize],
        shape: ImageShape,
        device: &Device,
    ) -> Result<Option<Blend>, DegradeError> {
        self.make_blend(levels, shape, device).map(Some)
    }

    fn partner(
        &self,
        draw: &Draw,
        shape: ImageShape,
        device: &Device,
    ) -> Result<Option<Tensor<4>>, DegradeError> {
        let dims = [draw.batch(), shape.channels, shape.height, shape.width];
        self.partner_image(draw, dims, device).map(Some)
    }
}
