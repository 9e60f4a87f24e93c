//! Desaturation (`snowification` / `decolor-diffusion`, class `DeColorization`).
//!
//! Step `i` is a 1×1 convolution across channels with `W_i = f_i·I + (1 − f_i)/C·11ᵀ` (keeps
//! the channel mean and scales the chroma by `f_i`), applied cumulatively. The product
//! `W_{s−1}···W_0` is a cached `C × C` matrix per level, so `D(x, s)` is one batched matmul.

use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

use crate::cache::PrefixCache;
use crate::config::DecolorConfig;
use crate::degradation::{check_levels, check_shape};
use crate::schedule::decolor_factors;
use crate::{Degradation, DegradeError, Draw, ImageShape};

/// The desaturation operator built from a [`DecolorConfig`].
#[derive(Debug)]
pub struct Decolor {
    cfg: DecolorConfig,
    factors: Vec<f64>,
    cache: PrefixCache<usize>,
}

impl Decolor {
    /// Build the operator (the config is assumed valid: see [`DecolorConfig::validate`]).
    pub fn new(cfg: DecolorConfig) -> Self {
        let factors = decolor_factors(&cfg);
        Self {
            cfg,
            factors,
            cache: PrefixCache::new(),
        }
    }

    /// The per-step chroma factors `f_i`.
    pub fn factors(&self) -> &[f64] {
        &self.factors
    }

    /// The per-step weight `W_i` (`C × C`, row-major `[out, in]`, f64).
    pub fn step_weight(&self, channels: usize, i: usize) -> Vec<f64> {
        let f = self.factors[i];
        let c = channels as f64;
        (0..channels * channels)
            .map(|k| f * ((k / channels == k % channels) as u8 as f64) + (1.0 - f) / c)
            .collect()
    }

    /// The cumulative weight `W_{s−1}···W_0` of level `s` (`C × C`, row-major, f32).
    pub fn cumulative_weight(&self, channels: usize, level: usize) -> Vec<f32> {
        self.weights(channels, &[level]).remove(0)
    }

    fn weights(&self, c: usize, levels: &[usize]) -> Vec<Vec<f32>> {
        let identity = || (0..c * c).map(|k| (k / c == k % c) as u8 as f64).collect();
        let step = |i: usize, prev: &[f64]| -> Vec<f64> {
            let w = self.step_weight(c, i);
            let mut out = vec![0.0; c * c];
            for r in 0..c {
                for k in 0..c {
                    for j in 0..c {
                        out[r * c + j] += w[r * c + k] * prev[k * c + j];
                    }
                }
            }
            out
        };
        self.cache
            .levels(&c, levels, &identity, &step)
            .into_iter()
            .map(|m| m.to_vec())
            .collect()
    }
}

impl Degradation for Decolor {
    fn name(&self) -> &'static str {
        "decolor"
    }

    fn steps(&self) -> usize {
        self.cfg.time_steps
    }

    fn draw(
        &self,
        batch: usize,
        _shape: ImageShape,
        _device: &Device,
        _rng: &mut dyn Rng,
    ) -> Result<Draw, DegradeError> {
        Ok(Draw::empty(batch))
    }

    fn degrade(
        &self,
        x0: Tensor<4>,
        levels: &[usize],
        draw: &Draw,
    ) -> Result<Tensor<4>, DegradeError> {
        let dims = x0.dims();
        check_shape("decolor", dims, self.cfg.image_size, self.cfg.channels)?;
        check_levels("decolor", self.cfg.time_steps, levels, dims[0])?;
        draw.check_batch(dims[0])?;
        if !matches!(draw, Draw::Empty { .. }) {
            return Err(DegradeError::DrawMismatch {
                operator: "decolor".into(),
                reason: format!(
                    "desaturation is deterministic and takes an empty draw, not {}",
                    draw.kind()
                ),
            });
        }
        if levels.iter().all(|&l| l == 0) {
            return Ok(x0);
        }
        let [n, c, h, w] = dims;
        let uniform = levels.iter().all(|&l| l == levels[0]);
        let used: Vec<usize> = if uniform {
            vec![levels[0]]
        } else {
            levels.to_vec()
        };
        let data: Vec<f32> = self.weights(c, &used).concat();
        let mats = Tensor::<3>::from_data(TensorData::new(data, [used.len(), c, c]), &x0.device());
        let y = mats.matmul(x0.reshape([n, c, h * w]));
        Ok(y.reshape([n, c, h, w]))
    }
}
