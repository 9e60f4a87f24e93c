//! Super-resolution / pixelation (`resolution-diffusion-pytorch`) in closed form.
//!
//! Step `i` of the original (`transform_func`) resizes the full-size `S × S` image down to
//! `s_i × s_i` with `F.interpolate(mode, antialias=False, align_corners=False)` and back up to
//! `S × S` with `mode='nearest-exact'`; the `*_with_blur` routines add a 3×3 σ = 0.5 Gaussian
//! blur with reflect padding before and after. Every one of these maps is linear and acts on
//! each axis separately, so along one axis step `i` is an `S × S` matrix
//! `M_i = [B] · U(s_i → S) · R(S → s_i) · [B]`, the 2-D step is `X ↦ M_i X M_iᵀ`, and
//! `D(X, s) = A_s X A_sᵀ` with `A_s = M_{s−1}···M_0`. The `A_s` are composed once on the host in
//! f64 (cached per size and level, rounded to f32), so every level costs two batched matrix
//! products whatever `s` is.
//!
//! The resampling weights follow PyTorch's CPU kernels, including their float32 index
//! arithmetic: bicubic with `A = −0.75` and clamped border taps, bilinear with the source index
//! clamped at 0, `area` = adaptive average pooling, `nearest-exact` =
//! `min(⌊(i + ½)·in/out⌋, in − 1)`. Nothing clamps the result: like the original, bicubic
//! outputs overshoot [-1, 1].

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::cache::PrefixCache;
use crate::degradation::{check_levels, check_shape};
use crate::schedule::{Padding, gaussian_kernel_1d};
use crate::{ConfigError, Degradation, DegradeError, Draw, ImageShape};

const NAME: &str = "super_resolution";

/// An interpolation mode of `F.interpolate` (always with `align_corners = False` and
/// `antialias = False`, as the original calls it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResizeMode {
    /// `mode='bicubic'`: Keys cubic convolution with `A = −0.75`, border taps clamped.
    Bicubic,
    /// `mode='bilinear'`.
    Bilinear,
    /// `mode='area'` (adaptive average pooling).
    Area,
    /// `mode='nearest-exact'`: `src = min(⌊(dst + ½)·in/out⌋, in − 1)`.
    NearestExact,
}

/// The resolution schedule (`--resolution_routine`): the down-sampling mode, the size after
/// each step, and the optional extra blur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum ResolutionRoutine {
    /// Bicubic; step `i` goes down to `S − i` (step 0 is the identity). The original's default.
    #[default]
    Incremental,
    /// Bilinear; step `i` goes down to `S − i`.
    #[serde(rename = "Incremental_bilinear")]
    IncrementalBilinear,
    /// Area; step `i` goes down to `S − i`.
    #[serde(rename = "Incremental_area")]
    IncrementalArea,
    /// Bicubic to `S − i`, with a 3×3 σ = 0.5 reflect blur before and after.
    #[serde(rename = "Incremental_bicubic_with_blur")]
    IncrementalBicubicWithBlur,
    /// Bilinear to `S − i`, with a 3×3 σ = 0.5 reflect blur before and after.
    #[serde(rename = "Incremental_bilinear_with_blur")]
    IncrementalBilinearWithBlur,
    /// Area to `S − i`, with a 3×3 σ = 0.5 reflect blur before and after.
    #[serde(rename = "Incremental_area_with_blur")]
    IncrementalAreaWithBlur,
    /// Bicubic; step `i` goes down to `⌊S / 2^(i+1)⌋` (the paper's 32 → 16 → 8 → 4).
    #[serde(rename = "Incremental_factor_2")]
    IncrementalFactor2,
    /// Bilinear; step `i` goes down to `⌊S / 2^(i+1)⌋`.
    #[serde(rename = "Incremental_bilinear_factor_2")]
    IncrementalBilinearFactor2,
    /// Area; step `i` goes down to `⌊S / 2^(i+1)⌋`.
    #[serde(rename = "Incremental_area_factor_2")]
    IncrementalAreaFactor2,
}

impl ResolutionRoutine {
    /// Every routine of the original, in its order.
    pub const ALL: [ResolutionRoutine; 9] = [
        ResolutionRoutine::Incremental,
        ResolutionRoutine::IncrementalBilinear,
        ResolutionRoutine::IncrementalArea,
        ResolutionRoutine::IncrementalBicubicWithBlur,
        ResolutionRoutine::IncrementalBilinearWithBlur,
        ResolutionRoutine::IncrementalAreaWithBlur,
        ResolutionRoutine::IncrementalFactor2,
        ResolutionRoutine::IncrementalBilinearFactor2,
        ResolutionRoutine::IncrementalAreaFactor2,
    ];

    /// The original's string.
    pub fn as_str(self) -> &'static str {
        match self {
            ResolutionRoutine::Incremental => "Incremental",
            ResolutionRoutine::IncrementalBilinear => "Incremental_bilinear",
            ResolutionRoutine::IncrementalArea => "Incremental_area",
            ResolutionRoutine::IncrementalBicubicWithBlur => "Incremental_bicubic_with_blur",
            ResolutionRoutine::IncrementalBilinearWithBlur => "Incremental_bilinear_with_blur",
            ResolutionRoutine::IncrementalAreaWithBlur => "Incremental_area_with_blur",
            ResolutionRoutine::IncrementalFactor2 => "Incremental_factor_2",
            ResolutionRoutine::IncrementalBilinearFactor2 => "Incremental_bilinear_factor_2",
            ResolutionRoutine::IncrementalAreaFactor2 => "Incremental_area_factor_2",
        }
    }

    /// The down-sampling mode.
    pub fn mode(self) -> ResizeMode {
        use ResolutionRoutine as R;
        match self {
            R::Incremental | R::IncrementalBicubicWithBlur | R::IncrementalFactor2 => {
                ResizeMode::Bicubic
            }
            R::IncrementalBilinear
            | R::IncrementalBilinearWithBlur
            | R::IncrementalBilinearFactor2 => ResizeMode::Bilinear,
            R::IncrementalArea | R::IncrementalAreaWithBlur | R::IncrementalAreaFactor2 => {
                ResizeMode::Area
            }
        }
    }

    /// Whether each step is wrapped in the 3×3 σ = 0.5 reflect blur.
    pub fn with_blur(self) -> bool {
        matches!(
            self,
            ResolutionRoutine::IncrementalBicubicWithBlur
                | ResolutionRoutine::IncrementalBilinearWithBlur
                | ResolutionRoutine::IncrementalAreaWithBlur
        )
    }

    /// Whether step `i` goes down to `⌊S / 2^(i+1)⌋` (otherwise to `S − i`).
    pub fn factor_2(self) -> bool {
        matches!(
            self,
            ResolutionRoutine::IncrementalFactor2
                | ResolutionRoutine::IncrementalBilinearFactor2
                | ResolutionRoutine::IncrementalAreaFactor2
        )
    }

    /// The intermediate size of step `i` (0-based) for `S × S` images, `None` if it would be
    /// below 1 pixel. The original computes it as `S − d_i` with `d_i = i` or
    /// `d_i = S − S // 2**(i+1)`.
    pub fn step_size(self, image_size: usize, i: usize) -> Option<usize> {
        let s = if self.factor_2() {
            u32::try_from(i + 1)
                .ok()
                .and_then(|e| 1usize.checked_shl(e))
                .map_or(0, |d| image_size / d)
        } else {
            image_size.saturating_sub(i)
        };
        (s >= 1).then_some(s)
    }

    /// Why `T` steps of this routine cannot run on `S × S` images, or `None` if they can.
    pub fn size_problem(self, image_size: usize, time_steps: usize) -> Option<String> {
        if self.with_blur() && image_size < 2 {
            return Some(format!(
                "{} blurs with reflect padding 1, which needs images of at least 2×2 (got {image_size}×{image_size})",
                self.as_str()
            ));
        }
        if time_steps == 0 || self.step_size(image_size, time_steps - 1).is_some() {
            return None;
        }
        Some(if self.factor_2() {
            format!(
                "{} halves the image at every step, so T = {time_steps} steps need images of at least 2^{time_steps} = {} pixels a side (got {image_size}×{image_size})",
                self.as_str(),
                if time_steps < 64 {
                    (1u64 << time_steps).to_string()
                } else {
                    "more than 2^63".to_string()
                }
            )
        } else {
            format!(
                "{} shrinks the image by one pixel per step, so T = {time_steps} steps need images of at least {time_steps}×{time_steps} (got {image_size}×{image_size})",
                self.as_str()
            )
        })
    }
}

fn default_time_steps() -> usize {
    50
}

/// Super-resolution / pixelation, the original's `resolution-diffusion-pytorch` flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuperResolutionConfig {
    /// Number of steps `T` (`--time_steps`, default 50).
    #[serde(default = "default_time_steps")]
    pub time_steps: usize,
    /// Routine (`--resolution_routine`, default `"Incremental"`).
    #[serde(default)]
    pub resolution_routine: ResolutionRoutine,
    /// If set, inputs must be `image_size × image_size` (the original hard-codes it per data
    /// set); otherwise the size comes from the input, which must be square.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<usize>,
    /// If set, inputs must have this many channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
}

impl Default for SuperResolutionConfig {
    fn default() -> Self {
        Self {
            time_steps: default_time_steps(),
            resolution_routine: ResolutionRoutine::default(),
            image_size: None,
            channels: None,
        }
    }
}

impl SuperResolutionConfig {
    /// Check every field; the error names the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.time_steps == 0 {
            return Err(ConfigError::invalid(
                NAME,
                "time_steps",
                0,
                "must be at least 1",
            ));
        }
        if self.channels == Some(0) {
            return Err(ConfigError::invalid(
                NAME,
                "channels",
                0,
                "must be at least 1 (or left out)",
            ));
        }
        if let Some(s) = self.image_size {
            if s == 0 {
                return Err(ConfigError::invalid(
                    NAME,
                    "image_size",
                    0,
                    "must be at least 1 (or left out)",
                ));
            }
            if let Some(problem) = self.resolution_routine.size_problem(s, self.time_steps) {
                return Err(ConfigError::invalid(NAME, "image_size", s, problem));
            }
        }
        Ok(())
    }
}

/// The paper's super-resolution presets (`resolution-diffusion-pytorch/runs.sh`).
pub(crate) fn presets() -> Vec<crate::Preset> {
    let cfg = |time_steps, image_size, channels| {
        crate::DegradationConfig::SuperResolution(SuperResolutionConfig {
            time_steps,
            resolution_routine: ResolutionRoutine::IncrementalFactor2,
            image_size: Some(image_size),
            channels: Some(channels),
        })
    };
    vec![
        crate::Preset {
            name: "superres-mnist",
            description: "MNIST 32×32 super-resolution: 3 factor-2 pixelations (bicubic down, nearest-exact up), 32 → 16 → 8 → 4",
            config: cfg(3, 32, 1),
        },
        crate::Preset {
            name: "superres-cifar10",
            description: "CIFAR-10 32×32 super-resolution: 3 factor-2 pixelations (bicubic down, nearest-exact up), 32 → 16 → 8 → 4",
            config: cfg(3, 32, 3),
        },
        crate::Preset {
            name: "superres-celeba",
            description: "CelebA 128×128 super-resolution: 4 factor-2 pixelations (bicubic down, nearest-exact up), 128 → 64 → 32 → 16 → 8",
            config: cfg(4, 128, 3),
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Per-axis resampling matrices (row-major `output × input`, f64).

/// PyTorch's `area_pixel_compute_source_index` in float32: `scale·(dst + ½) − ½`, one fused
/// multiply-add as PyTorch's (FMA-enabled AVX2) CPU kernels compute it.
fn source_index(scale: f32, dst: usize) -> f32 {
    scale.mul_add(dst as f32 + 0.5, -0.5)
}

/// PyTorch's bicubic coefficients of the four taps around a source position with fractional
/// part `t` (`get_cubic_upsample_coefficients`, float32, `A = −0.75`).
///
/// The multiply-adds that PyTorch's AVX2 CPU build fuses are fused here too, so the weights are
/// bit-identical to PyTorch's (checked against `F.interpolate` for every `in, out ≤ 39` while
/// building the fixtures, and in the tests for the sizes stored there).
pub fn cubic_coefficients(t: f32) -> [f32; 4] {
    const A: f32 = -0.75;
    // ((A + 2)·x − (A + 3))·x·x + 1
    let near = |x: f32| (A + 2.0).mul_add(x, -(A + 3.0)) * x * x + 1.0;
    // ((A·x − 5A)·x + 8A)·x − 4A
    let far = |x: f32| A.mul_add(x, -(5.0 * A)).mul_add(x, 8.0 * A) * x - 4.0 * A;
    let x2 = 1.0 - t;
    [far(t + 1.0), near(t), near(x2), far(x2 + 1.0)]
}

/// The `output × input` matrix (row-major, f64) of resizing one axis from `input` to `output`
/// samples with PyTorch's `F.interpolate(mode, align_corners=False, antialias=False)`. Its
/// weights are PyTorch's float32 weights (bit-identical for bicubic, bilinear and
/// nearest-exact), widened to f64.
///
/// # Panics
/// If `input` or `output` is 0.
pub fn resize_matrix(mode: ResizeMode, input: usize, output: usize) -> Vec<f64> {
    assert!(
        input > 0 && output > 0,
        "cannot resize {input} samples to {output}"
    );
    let mut m = vec![0.0; output * input];
    let scale = input as f32 / output as f32;
    let last = input as i64 - 1;
    // Taps clamped onto one border sample add up in float32, as PyTorch's kernel sums them.
    let mut row = vec![0.0f32; input];
    for i in 0..output {
        row.fill(0.0);
        match mode {
            ResizeMode::Bicubic => {
                let real = source_index(scale, i);
                let idx = (real.floor() as i64).min(last);
                let t = (real - idx as f32).clamp(0.0, 1.0);
                for (j, w) in cubic_coefficients(t).into_iter().enumerate() {
                    let col = (idx - 1 + j as i64).clamp(0, last) as usize;
                    row[col] += w;
                }
            }
            ResizeMode::Bilinear => {
                if input == output {
                    row[i] = 1.0;
                } else {
                    let real = source_index(scale, i).max(0.0);
                    let i0 = (real.floor() as i64).min(last);
                    let l1 = (real - i0 as f32).clamp(0.0, 1.0);
                    let l0 = 1.0 - l1;
                    let i1 = if i0 < last { i0 + 1 } else { i0 };
                    row[i0 as usize] += l0;
                    row[i1 as usize] += l1;
                }
            }
            ResizeMode::Area => {
                // adaptive_avg_pool: [⌊i·in/out⌋, ⌈(i+1)·in/out⌉), weight 1/len (kept in f64:
                // PyTorch divides the float32 window sum by the window size).
                let start = i * input / output;
                let end = ((i + 1) * input).div_ceil(output);
                let w = 1.0 / (end - start) as f64;
                for v in &mut m[i * input + start..i * input + end] {
                    *v = w;
                }
                continue;
            }
            ResizeMode::NearestExact => {
                // floorf((dst + 0.5) * scale): the product is formed in double and rounded to
                // float before the floor.
                let src = (((i as f64 + 0.5) * f64::from(scale)) as f32).floor() as usize;
                row[src.min(input - 1)] = 1.0;
            }
        }
        for (o, &v) in m[i * input..(i + 1) * input].iter_mut().zip(&row) {
            *o = f64::from(v);
        }
    }
    m
}

/// The `n × n` matrix (row-major, f64) of the `*_with_blur` routines' extra blur along one
/// axis: the 3-tap σ = 0.5 Gaussian of `get_gaussian_kernel2d((3, 3), (0.5, 0.5))` with reflect
/// padding 1.
///
/// # Panics
/// If `n < 2` (PyTorch's reflect padding needs a pad smaller than the axis).
pub fn blur3_reflect_matrix(n: usize) -> Vec<f64> {
    assert!(
        n >= 2,
        "reflect padding 1 needs at least 2 samples, got {n}"
    );
    let g = gaussian_kernel_1d(3, 0.5);
    let mut m = vec![0.0; n * n];
    for r in 0..n {
        for (j, &w) in g.iter().enumerate() {
            let c = Padding::Reflect.map(r as isize + j as isize - 1, n);
            m[r * n + c] += w;
        }
    }
    m
}

/// `a · b` for row-major `a: r × k`, `b: k × c`.
fn matmul(a: &[f64], b: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
    debug_assert_eq!(a.len(), r * k);
    debug_assert_eq!(b.len(), k * c);
    let mut out = vec![0.0; r * c];
    for i in 0..r {
        let row = &mut out[i * c..(i + 1) * c];
        for (p, &av) in a[i * k..(i + 1) * k].iter().enumerate() {
            if av != 0.0 {
                for (o, &bv) in row.iter_mut().zip(&b[p * c..(p + 1) * c]) {
                    *o += av * bv;
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The operator.

/// The super-resolution / pixelation operator built from a [`SuperResolutionConfig`].
///
/// Deterministic: it takes [`Draw::empty`].
#[derive(Debug)]
pub struct SuperResolution {
    cfg: SuperResolutionConfig,
    cache: PrefixCache<usize>,
}

impl SuperResolution {
    /// Build the operator (the config is assumed valid: see
    /// [`SuperResolutionConfig::validate`]).
    pub fn new(cfg: SuperResolutionConfig) -> Self {
        Self {
            cfg,
            cache: PrefixCache::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SuperResolutionConfig {
        &self.cfg
    }

    /// The intermediate size of every step for `S × S` images (`[16, 8, 4]` for
    /// `Incremental_factor_2` at 32 with T = 3).
    ///
    /// # Errors
    /// If `T` steps do not fit `S` (see [`ResolutionRoutine::size_problem`]).
    pub fn step_sizes(&self, image_size: usize) -> Result<Vec<usize>, DegradeError> {
        self.check_size(image_size, [1, 1, image_size, image_size])?;
        Ok((0..self.cfg.time_steps)
            .map(|i| {
                self.cfg
                    .resolution_routine
                    .step_size(image_size, i)
                    .expect("checked above")
            })
            .collect())
    }

    /// The matrix `M_i` (`n × n`, row-major, f64) of step `i` (0-based) along an axis of
    /// length `n`: `[B]·U(s_i → n)·R(n → s_i)·[B]`.
    ///
    /// # Panics
    /// If step `i` does not fit `n` (see [`ResolutionRoutine::size_problem`]).
    pub fn step_matrix(&self, n: usize, i: usize) -> Vec<f64> {
        let routine = self.cfg.resolution_routine;
        let small = routine
            .step_size(n, i)
            .unwrap_or_else(|| panic!("step {i} of {} does not fit {n} pixels", routine.as_str()));
        let down = resize_matrix(routine.mode(), n, small);
        let up = resize_matrix(ResizeMode::NearestExact, small, n);
        let m = matmul(&up, &down, n, small, n);
        if routine.with_blur() {
            let b = blur3_reflect_matrix(n);
            matmul(&matmul(&b, &m, n, n, n), &b, n, n, n)
        } else {
            m
        }
    }

    /// The composed axis matrix `A_s = M_{s−1}···M_0` of level `s` (`n × n`, row-major, f32),
    /// so that `D(X, s) = A_s X A_sᵀ` for each `n × n` image plane. Cached per `(n, s)`.
    ///
    /// # Panics
    /// If `T` steps do not fit `n`, or `level > T`.
    pub fn axis_matrix(&self, n: usize, level: usize) -> Arc<Vec<f32>> {
        assert!(level <= self.cfg.time_steps, "level {level} > T");
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
        let step = |i: usize, prev: &[f64]| matmul(&self.step_matrix(n, i), prev, n, n, n);
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

    fn check_size(&self, size: usize, dims: [usize; 4]) -> Result<(), DegradeError> {
        let routine = self.cfg.resolution_routine;
        if let Some(problem) = routine.size_problem(size, self.cfg.time_steps) {
            return Err(DegradeError::Shape {
                operator: NAME.into(),
                expected: problem,
                found: dims,
            });
        }
        Ok(())
    }

    fn check_shape(&self, dims: [usize; 4]) -> Result<(), DegradeError> {
        check_shape(NAME, dims, self.cfg.image_size, self.cfg.channels)?;
        let [_, _, h, w] = dims;
        if h != w {
            return Err(DegradeError::Shape {
                operator: NAME.into(),
                expected: format!(
                    "square images (the original resizes both axes to `size = H − d_i`), not {h}×{w}"
                ),
                found: dims,
            });
        }
        self.check_size(h, dims)
    }

    fn check(&self, x0: &Tensor<4>, levels: &[usize], draw: &Draw) -> Result<(), DegradeError> {
        let dims = x0.dims();
        check_levels(NAME, self.cfg.time_steps, levels, dims[0])?;
        draw.check_batch(dims[0])?;
        if !matches!(draw, Draw::Empty { .. }) {
            return Err(DegradeError::DrawMismatch {
                operator: NAME.into(),
                reason: format!(
                    "super-resolution is deterministic and takes an empty draw, not {}",
                    draw.kind()
                ),
            });
        }
        self.check_shape(dims)
    }
}

impl Degradation for SuperResolution {
    fn name(&self) -> &'static str {
        NAME
    }

    fn steps(&self) -> usize {
        self.cfg.time_steps
    }

    /// Deterministic: [`Draw::empty`] (the shape is checked by [`Degradation::degrade`]).
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
        let n = x0.dims()[2];
        let device = x0.device();
        // Upload each distinct level's matrix once (at most T + 1), then gather per item; one
        // shared level broadcasts a single [1, 1, n, n] matrix over the batch.
        let mut used: Vec<usize> = Vec::new();
        let index: Vec<i64> = levels
            .iter()
            .map(|l| match used.iter().position(|u| u == l) {
                Some(p) => p as i64,
                None => {
                    used.push(*l);
                    (used.len() - 1) as i64
                }
            })
            .collect();
        let mut a = self.stack(n, &used, false, &device);
        let mut at = self.stack(n, &used, true, &device);
        if used.len() > 1 {
            let index =
                Tensor::<1, Int>::from_data(TensorData::new(index, [levels.len()]), &device);
            a = a.select(0, index.clone());
            at = at.select(0, index);
        }
        Ok(a.matmul(x0).matmul(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: &[f64], b: &[f64], tol: f64) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn exact_2x_bicubic_weights() {
        // For an exact 2× reduction every source position is 2i + ½: t = ½ and the four taps
        // get cc2(1.5), cc1(0.5), cc1(0.5), cc2(1.5) of the A = −0.75 kernel.
        let w = cubic_coefficients(0.5);
        assert_eq!(w, [-0.09375, 0.59375, 0.59375, -0.09375]);
        let m = resize_matrix(ResizeMode::Bicubic, 8, 4);
        // Interior row 1 reads inputs 1..=4; the border rows clamp tap −1 onto input 0 and
        // tap 8 onto input 7.
        assert_eq!(
            &m[8..16],
            &[0.0, -0.09375, 0.59375, 0.59375, -0.09375, 0.0, 0.0, 0.0]
        );
        assert_eq!(
            &m[0..8],
            &[
                -0.09375 + 0.59375,
                0.59375,
                -0.09375,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0
            ]
        );
        assert_eq!(
            &m[24..32],
            &[
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                -0.09375,
                0.59375,
                0.59375 - 0.09375
            ]
        );
    }

    #[test]
    fn cubic_kernel_is_a_partition_of_unity_and_interpolates() {
        for k in 0..=64 {
            let t = k as f32 / 64.0;
            let w = cubic_coefficients(t);
            let sum: f32 = w.iter().sum();
            assert!((sum - 1.0).abs() < 1e-6, "t = {t}: sum {sum}");
        }
        assert_eq!(cubic_coefficients(0.0), [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn every_resize_row_sums_to_one() {
        for mode in [
            ResizeMode::Bicubic,
            ResizeMode::Bilinear,
            ResizeMode::Area,
            ResizeMode::NearestExact,
        ] {
            for (i, o) in [(16, 8), (16, 15), (13, 5), (5, 13), (7, 7), (9, 1)] {
                let m = resize_matrix(mode, i, o);
                for r in 0..o {
                    let s: f64 = m[r * i..(r + 1) * i].iter().sum();
                    assert!((s - 1.0).abs() < 1e-6, "{mode:?} {i}→{o} row {r}: {s}");
                }
            }
        }
    }

    #[test]
    fn area_and_nearest_exact_have_the_closed_forms() {
        // area 6 → 4: windows [0,2) [1,3) [3,5) [4,6)
        let m = resize_matrix(ResizeMode::Area, 6, 4);
        let expect = [
            [0.5, 0.5, 0.0, 0.0, 0.0, 0.0],
            [0.0, 0.5, 0.5, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.5, 0.5, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.5, 0.5],
        ];
        assert_eq!(m, expect.concat());
        // nearest-exact 2× up: output i reads input ⌊i/2⌋; 3 → 7: ⌊(i + ½)·3/7⌋
        let m = resize_matrix(ResizeMode::NearestExact, 4, 8);
        for i in 0..8 {
            assert_eq!(m[i * 4 + i / 2], 1.0);
        }
        let m = resize_matrix(ResizeMode::NearestExact, 3, 7);
        let src: Vec<usize> = (0..7)
            .map(|i| (0..3).find(|&c| m[i * 3 + c] == 1.0).unwrap())
            .collect();
        assert_eq!(src, [0, 0, 1, 1, 1, 2, 2]);
    }

    #[test]
    fn same_size_resizes_are_the_identity() {
        for mode in [
            ResizeMode::Bicubic,
            ResizeMode::Bilinear,
            ResizeMode::Area,
            ResizeMode::NearestExact,
        ] {
            let m = resize_matrix(mode, 9, 9);
            for r in 0..9 {
                for c in 0..9 {
                    assert_eq!(m[r * 9 + c], if r == c { 1.0 } else { 0.0 }, "{mode:?}");
                }
            }
        }
    }

    #[test]
    fn step_sizes_follow_the_routines() {
        let op = |routine, t| {
            SuperResolution::new(SuperResolutionConfig {
                time_steps: t,
                resolution_routine: routine,
                ..Default::default()
            })
        };
        let f2 = op(ResolutionRoutine::IncrementalFactor2, 3);
        assert_eq!(f2.step_sizes(32).unwrap(), [16, 8, 4]);
        assert_eq!(f2.step_sizes(12).unwrap(), [6, 3, 1]);
        assert!(f2.step_sizes(7).is_err());
        assert_eq!(
            op(ResolutionRoutine::IncrementalFactor2, 4)
                .step_sizes(128)
                .unwrap(),
            [64, 32, 16, 8]
        );
        let inc = op(ResolutionRoutine::Incremental, 4);
        assert_eq!(inc.step_sizes(6).unwrap(), [6, 5, 4, 3]);
        assert!(inc.step_sizes(3).is_err());
        let err = op(ResolutionRoutine::IncrementalFactor2, 6)
            .step_sizes(32)
            .unwrap_err()
            .to_string();
        assert!(err.contains("T = 6") && err.contains("32×32"), "{err}");
    }

    /// Apply one step of the original's definition directly, with gathers instead of
    /// matrices: `[blur] → resize down → nearest-exact up → [blur]`, on an `n × n` plane.
    fn reference_step(routine: ResolutionRoutine, x: &[f64], n: usize, i: usize) -> Vec<f64> {
        let blur = |x: &[f64]| -> Vec<f64> {
            let g = gaussian_kernel_1d(3, 0.5);
            let at =
                |r: isize, c: isize| x[Padding::Reflect.map(r, n) * n + Padding::Reflect.map(c, n)];
            let mut out = vec![0.0; n * n];
            for r in 0..n as isize {
                for c in 0..n as isize {
                    let mut acc = 0.0;
                    for (a, ga) in g.iter().enumerate() {
                        for (b, gb) in g.iter().enumerate() {
                            acc += ga * gb * at(r + a as isize - 1, c + b as isize - 1);
                        }
                    }
                    out[(r as usize) * n + c as usize] = acc;
                }
            }
            out
        };
        // A 1-D resize of every row, then of every column, through the resampling rule
        // written as taps (not through `resize_matrix`'s dense output).
        let resize_rows = |x: &[f64], rows: usize, inp: usize, out: usize, mode: ResizeMode| {
            let taps = resize_matrix(mode, inp, out);
            let mut y = vec![0.0; rows * out];
            for r in 0..rows {
                for o in 0..out {
                    y[r * out + o] = (0..inp).map(|c| taps[o * inp + c] * x[r * inp + c]).sum();
                }
            }
            y
        };
        let transpose = |x: &[f64], r: usize, c: usize| -> Vec<f64> {
            (0..c * r).map(|k| x[(k % r) * c + k / r]).collect()
        };
        let small = routine.step_size(n, i).unwrap();
        let x = if routine.with_blur() {
            blur(x)
        } else {
            x.to_vec()
        };
        let y = resize_rows(&x, n, n, small, routine.mode()); // [n, small]
        let y = transpose(
            &resize_rows(&transpose(&y, n, small), small, n, small, routine.mode()),
            small,
            small,
        );
        let y = resize_rows(&y, small, small, n, ResizeMode::NearestExact); // [small, n]
        let y = transpose(
            &resize_rows(
                &transpose(&y, small, n),
                n,
                small,
                n,
                ResizeMode::NearestExact,
            ),
            n,
            n,
        );
        if routine.with_blur() { blur(&y) } else { y }
    }

    #[test]
    fn composed_matrices_equal_the_step_by_step_definition() {
        // D(X, s) = A_s X A_sᵀ with the cached composite equals s applications of the step.
        let n = 16;
        let x: Vec<f64> = (0..n * n)
            .map(|k| ((k * 7919 % 257) as f64 / 128.0) - 1.0)
            .collect();
        for routine in ResolutionRoutine::ALL {
            let t = if routine.factor_2() { 4 } else { 6 };
            let op = SuperResolution::new(SuperResolutionConfig {
                time_steps: t,
                resolution_routine: routine,
                ..Default::default()
            });
            let mut stepwise = x.clone();
            for s in 1..=t {
                stepwise = reference_step(routine, &stepwise, n, s - 1);
                let a: Vec<f64> = op.axis_matrix(n, s).iter().map(|&v| f64::from(v)).collect();
                let at: Vec<f64> = (0..n * n).map(|k| a[(k % n) * n + k / n]).collect();
                let closed = matmul(&matmul(&a, &x, n, n, n), &at, n, n, n);
                // f32 rounding of the composite is the only difference.
                assert!(
                    approx(&closed, &stepwise, 2e-6),
                    "{} level {s}: max diff {}",
                    routine.as_str(),
                    closed
                        .iter()
                        .zip(&stepwise)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f64::max)
                );
            }
        }
    }

    #[test]
    fn factor_2_steps_on_pixelated_images_average_blocks() {
        // Spec §1.4: on the already-pixelated image every later factor-2 step averages two
        // adjacent blocks per axis. Step 1 at 16 px goes 16 → 4 (bicubic, taps 4i..4i+3 with
        // weights −0.09375, 0.59375, 0.59375, −0.09375) and back up: on a signal constant on
        // blocks of 2 (what step 0 outputs) that is the mean of two adjacent blocks.
        let n = 16;
        let op = SuperResolution::new(SuperResolutionConfig {
            time_steps: 2,
            resolution_routine: ResolutionRoutine::IncrementalFactor2,
            ..Default::default()
        });
        let m1 = op.step_matrix(n, 1);
        // a signal constant on blocks of 2 (what step 0 outputs)
        let blocks = [0.3, -0.7, 1.0, 0.2, -0.4, 0.9, 0.1, -1.0];
        let v: Vec<f64> = (0..n).map(|i| blocks[i / 2]).collect();
        let out = matmul(&m1, &v, n, n, 1);
        for (i, o) in out.iter().enumerate() {
            let pair = i / 4;
            let avg = 0.5 * (blocks[2 * pair] + blocks[2 * pair + 1]);
            assert!((o - avg).abs() < 1e-12, "{i}: {o} vs {avg}");
        }
    }

    #[test]
    fn config_validation_names_field_and_value() {
        let bad = SuperResolutionConfig {
            time_steps: 6,
            resolution_routine: ResolutionRoutine::IncrementalFactor2,
            image_size: Some(32),
            channels: None,
        };
        let e = bad.validate().unwrap_err().to_string();
        assert!(
            e.contains("`image_size` = 32") && e.contains("T = 6"),
            "{e}"
        );
        let zero = SuperResolutionConfig {
            time_steps: 0,
            ..Default::default()
        };
        assert!(
            zero.validate()
                .unwrap_err()
                .to_string()
                .contains("`time_steps` = 0")
        );
        let json = r#"{"time_steps": 3, "resolution_routine": "Incremental_factor_2"}"#;
        let cfg: SuperResolutionConfig = serde_json::from_str(json).unwrap();
        assert_eq!(
            cfg.resolution_routine,
            ResolutionRoutine::IncrementalFactor2
        );
        for r in ResolutionRoutine::ALL {
            let s = serde_json::to_string(&r).unwrap();
            assert_eq!(s, format!("\"{}\"", r.as_str()));
        }
        let e = serde_json::from_str::<SuperResolutionConfig>(r#"{"resolution_routine": "Bogus"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Bogus"), "{e}");
    }
}
