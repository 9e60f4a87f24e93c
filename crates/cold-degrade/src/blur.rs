//! Cumulative Gaussian blur (`deblurring-diffusion-pytorch`) in closed form.
//!
//! One blur step is a depth-wise convolution with a separable kernel `g_i ⊗ g_i` and circular
//! or reflect padding. Along one axis of length `n` it is a linear map `M_i = C_i·P` (padding,
//! then the 1-D correlation), an `n × n` matrix, and the 2-D step is `X ↦ M_i X M_iᵀ` (both
//! paddings act per axis, so the corners agree). Hence
//! `D(X, s) = A_s X A_sᵀ` with `A_s = M_{s−1}···M_0`, composed once on the host in f64 and
//! cached per (axis length, level): every level costs two batched matrix products.

use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

use crate::cache::PrefixCache;
use crate::config::BlurConfig;
use crate::degradation::{check_levels, check_shape, quantize_8bit};
use crate::schedule::{BlurStep, blur_steps, gaussian_kernel_1d};
use crate::{Degradation, DegradeError, Draw, ImageShape};

/// The blur operator built from a [`BlurConfig`].
#[derive(Debug)]
pub struct Blur {
    cfg: BlurConfig,
    steps: Vec<BlurStep>,
    kernels: Vec<Vec<f64>>,
    cache: PrefixCache<usize>,
}

impl Blur {
    /// Build the operator (the config is assumed valid: see [`BlurConfig::validate`]).
    pub fn new(cfg: BlurConfig) -> Self {
        let steps = blur_steps(&cfg);
        let kernels = steps
            .iter()
            .map(|s| gaussian_kernel_1d(s.size, s.sigma))
            .collect();
        Self {
            cfg,
            steps,
            kernels,
            cache: PrefixCache::new(),
        }
    }

    /// The per-step kernel sizes, σ and paddings.
    pub fn schedule(&self) -> &[BlurStep] {
        &self.steps
    }

    /// The per-step 1-D kernels `g_i` (f64, each summing to 1).
    pub fn kernels_1d(&self) -> &[Vec<f64>] {
        &self.kernels
    }

    /// The composed axis matrix `A_s` (`n × n`, row-major, f32) of level `s`, so that
    /// `D(X, s) = A_s X A_sᵀ` for an `n × n` image plane.
    pub fn axis_matrix(&self, n: usize, level: usize) -> Arc<Vec<f32>> {
        self.axis_matrices(n, &[level]).remove(0)
    }

    fn axis_matrices(&self, n: usize, levels: &[usize]) -> Vec<Arc<Vec<f32>>> {
        let identity = || {
            let mut m = vec![0.0; n * n];
            for i in 0..n {
                m[i * n + i] = 1.0;
            }
            m
        };
        let step = |i: usize, prev: &[f64]| -> Vec<f64> {
            let g = &self.kernels[i];
            let pad = self.steps[i].padding;
            let p = (g.len() / 2) as isize;
            let mut out = vec![0.0; n * n];
            for r in 0..n {
                let row = &mut out[r * n..(r + 1) * n];
                for (j, &w) in g.iter().enumerate() {
                    let src = pad.map(r as isize + j as isize - p, n);
                    for (o, &v) in row.iter_mut().zip(&prev[src * n..(src + 1) * n]) {
                        *o += w * v;
                    }
                }
            }
            out
        };
        self.cache.levels(&n, levels, &identity, &step)
    }

    /// Stack the matrices of `levels` as a `[L, 1, n, n]` tensor (transposed if asked).
    fn stack(&self, n: usize, levels: &[usize], transpose: bool, device: &Device) -> Tensor<4> {
        let mats = self.axis_matrices(n, levels);
        let mut data = Vec::with_capacity(levels.len() * n * n);
        for m in &mats {
            if transpose {
                for c in 0..n {
                    data.extend((0..n).map(|r| m[r * n + c]));
                }
            } else {
                data.extend_from_slice(m);
            }
        }
        Tensor::from_data(TensorData::new(data, [levels.len(), 1, n, n]), device)
    }

    fn check(&self, x0: &Tensor<4>, levels: &[usize], draw: &Draw) -> Result<(), DegradeError> {
        let dims = x0.dims();
        check_shape("blur", dims, self.cfg.image_size, self.cfg.channels)?;
        check_levels("blur", self.cfg.time_steps, levels, dims[0])?;
        draw.check_batch(dims[0])?;
        if !matches!(draw, Draw::Empty { .. }) {
            return Err(DegradeError::DrawMismatch {
                operator: "blur".into(),
                reason: format!(
                    "blur is deterministic and takes an empty draw, not {}",
                    draw.kind()
                ),
            });
        }
        Ok(())
    }
}

impl Degradation for Blur {
    fn name(&self) -> &'static str {
        "blur"
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
        self.check(&x0, levels, draw)?;
        if levels.iter().all(|&l| l == 0) {
            return Ok(x0);
        }
        let [n, _, h, w] = x0.dims();
        let device = x0.device();
        let uniform = levels.iter().all(|&l| l == levels[0]);
        let used: Vec<usize> = if uniform {
            vec![levels[0]]
        } else {
            levels.to_vec()
        };
        let a = self.stack(h, &used, false, &device);
        let bt = self.stack(w, &used, true, &device);
        let mut y = a.matmul(x0).matmul(bt);
        let t = self.cfg.time_steps;
        if self.cfg.discrete && levels.contains(&t) {
            // --discrete: the last step replaces the image by its per-channel mean.
            let dims = y.dims();
            let mean = y.clone().mean_dims(&[2, 3]).expand(dims);
            let sel: Vec<f32> = levels
                .iter()
                .map(|&l| if l == t { 1.0 } else { 0.0 })
                .collect();
            let sel = Tensor::<4>::from_data(TensorData::new(sel, [n, 1, 1, 1]), &device);
            let keep = sel.clone().neg().add_scalar(1.0);
            y = y * keep + mean * sel;
        }
        Ok(y)
    }

    fn training_input(
        &self,
        x0: Tensor<4>,
        levels: &[usize],
        draw: &Draw,
    ) -> Result<Tensor<4>, DegradeError> {
        let y = self.degrade(x0, levels, draw)?;
        Ok(if self.cfg.discrete {
            quantize_8bit(y)
        } else {
            y
        })
    }
}
