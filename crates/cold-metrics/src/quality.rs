//! Pixel metrics of the paper's restoration tables: RMSE, PSNR, SSIM (and MS-SSIM).
//!
//! Every function takes NCHW batches with values in `[0, 1]` (use [`to_unit_range`] on the
//! library's `[-1, 1]` images first) and runs on whatever [`Device`](burn::tensor::Device) the
//! tensors live on; only the final per-image or per-channel numbers are read back.
//!
//! SSIM reproduces `pytorch_msssim.ssim(X, Y, data_range=1, size_average=True)` (version 1.0.0),
//! which is what the paper used:
//! * 1-D Gaussian window of 11 taps, σ = 1.5 (`exp(-(i - 5)² / (2σ²))`, normalised to sum 1),
//!   applied separably, first along H then along W, with no padding ("valid" filtering);
//! * along an axis shorter than the window the smoothing is *skipped* (pytorch_msssim warns and
//!   goes on), so images smaller than 11 pixels still get a value;
//! * `C1 = (0.01 · L)²`, `C2 = (0.03 · L)²` with `L = data_range`;
//! * the SSIM map is averaged over the pixels of each (image, channel), then over channels and
//!   images. No ReLU on the result (`nonnegative_ssim=False`).
//!
//! MS-SSIM reproduces `pytorch_msssim.ms_ssim` (5 scales with weights
//! `[0.0448, 0.2856, 0.3001, 0.2363, 0.1333]`, 2×2 average pooling with `padding = size % 2`
//! counting the padded zeros, ReLU on the contrast-structure terms); its smaller side must be
//! larger than `(win_size - 1) · 2⁴ = 160` pixels.

use burn::tensor::module::{avg_pool2d, conv2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions};
use burn::tensor::{Tensor, TensorData};

use crate::error::{MetricsError, Result};

/// Maps the library's `[-1, 1]` images to the `[0, 1]` range the metrics expect: `(x + 1) / 2`.
///
/// No clamping, as in the original code (the restoration network has no output activation, and
/// its predictions are evaluated as they are).
pub fn to_unit_range<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.add_scalar(1.0).mul_scalar(0.5)
}

fn check_same_shape(what: &'static str, x: &Tensor<4>, y: &Tensor<4>) -> Result<[usize; 4]> {
    let (a, b) = (x.dims(), y.dims());
    if a != b {
        return Err(MetricsError::ShapeMismatch {
            what,
            left: a.to_vec(),
            right: b.to_vec(),
        });
    }
    if a.contains(&0) {
        return Err(MetricsError::invalid(
            "images",
            format!("{a:?}"),
            "every dimension of an NCHW batch must be non-zero",
        ));
    }
    Ok(a)
}

/// Reads a float tensor back to the host as `f64` values.
pub(crate) fn to_host_f64<const D: usize>(t: Tensor<D>) -> Result<Vec<f64>> {
    let data = t
        .try_into_data()
        .map_err(|e| MetricsError::TensorRead(format!("{e:?}")))?;
    data.try_into_vec_as::<f64>()
        .map_err(|e| MetricsError::TensorRead(format!("{e:?}")))
}

/// Mean squared error of every image: `mean((x - y)²)` over its channels and pixels.
///
/// # Shapes
/// `x`, `y`: `[N, C, H, W]` → `[N]`.
pub fn mse_per_image(x: Tensor<4>, y: Tensor<4>) -> Result<Tensor<1>> {
    let [n, ..] = check_same_shape("mse", &x, &y)?;
    let d = x - y;
    Ok((d.clone() * d)
        .reshape([n as i64, -1])
        .mean_dim(1)
        .reshape([n]))
}

/// Root mean squared error over every pixel and channel of the batch, as the paper reports it:
/// `sqrt(mean((x - y)²))`.
///
/// # Shapes
/// `x`, `y`: `[N, C, H, W]`.
pub fn rmse(x: Tensor<4>, y: Tensor<4>) -> Result<f64> {
    let per_image = to_host_f64(mse_per_image(x, y)?)?;
    Ok((per_image.iter().sum::<f64>() / per_image.len() as f64).sqrt())
}

/// Peak signal-to-noise ratio in dB over the whole batch: `10 · log10(L² / mse)` with
/// `L = data_range` and the mean squared error of every pixel of the batch. Infinite for
/// identical batches.
///
/// # Shapes
/// `x`, `y`: `[N, C, H, W]`.
pub fn psnr(x: Tensor<4>, y: Tensor<4>, data_range: f64) -> Result<f64> {
    let per_image = to_host_f64(mse_per_image(x, y)?)?;
    let mse = per_image.iter().sum::<f64>() / per_image.len() as f64;
    Ok(psnr_from_mse(mse, data_range))
}

/// `10 · log10(L² / mse)`; infinite when `mse == 0`.
pub fn psnr_from_mse(mse: f64, data_range: f64) -> f64 {
    10.0 * (data_range * data_range / mse).log10()
}

/// Parameters of SSIM; the defaults are the paper's (`pytorch_msssim` with `data_range=1`).
#[derive(Debug, Clone, PartialEq)]
pub struct SsimConfig {
    /// Value range of the images (`L` in `C1 = (K1 L)²`). Default 1.0 (images in `[0, 1]`).
    pub data_range: f64,
    /// Length of the Gaussian window; odd. Default 11.
    pub win_size: usize,
    /// Standard deviation of the Gaussian window. Default 1.5.
    pub win_sigma: f64,
    /// `K1` of the luminance term. Default 0.01.
    pub k1: f64,
    /// `K2` of the contrast-structure term. Default 0.03.
    pub k2: f64,
}

impl Default for SsimConfig {
    fn default() -> Self {
        Self {
            data_range: 1.0,
            win_size: 11,
            win_sigma: 1.5,
            k1: 0.01,
            k2: 0.03,
        }
    }
}

impl SsimConfig {
    /// Checks every field; the error names the field and its value.
    pub fn validate(&self) -> Result<()> {
        if self.win_size == 0 || self.win_size.is_multiple_of(2) {
            return Err(MetricsError::invalid(
                "SsimConfig.win_size",
                self.win_size,
                "must be odd",
            ));
        }
        for (field, v) in [
            ("SsimConfig.data_range", self.data_range),
            ("SsimConfig.win_sigma", self.win_sigma),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(MetricsError::invalid(field, v, "must be finite and > 0"));
            }
        }
        for (field, v) in [("SsimConfig.k1", self.k1), ("SsimConfig.k2", self.k2)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(MetricsError::invalid(field, v, "must be finite and >= 0"));
            }
        }
        Ok(())
    }

    /// The normalised 1-D Gaussian window, computed like `pytorch_msssim._fspecial_gauss_1d`
    /// (in `f32`, the precision the window is created in there).
    pub fn window(&self) -> Vec<f32> {
        let half = (self.win_size / 2) as f32;
        let sigma = self.win_sigma as f32;
        let g: Vec<f32> = (0..self.win_size)
            .map(|i| {
                let c = i as f32 - half;
                (-(c * c) / (2.0 * sigma * sigma)).exp()
            })
            .collect();
        let sum: f32 = g.iter().sum();
        g.into_iter().map(|v| v / sum).collect()
    }
}

/// Depthwise separable Gaussian filtering with "valid" borders; an axis shorter than the
/// window is left unfiltered (as `pytorch_msssim.gaussian_filter`).
fn gaussian_filter(x: Tensor<4>, window: &[f32]) -> Tensor<4> {
    let [_, c, h, w] = x.dims();
    let k = window.len();
    let device = x.device();
    let mut out = x;
    if h >= k {
        let weight = Tensor::<1>::from_data(TensorData::new(window.to_vec(), [k]), &device)
            .reshape([1, 1, k, 1])
            .repeat_dim(0, c);
        out = conv2d(
            out,
            weight,
            None,
            ConvOptions::new([1, 1], [0, 0], [1, 1], c),
        );
    }
    if w >= k {
        let weight = Tensor::<1>::from_data(TensorData::new(window.to_vec(), [k]), &device)
            .reshape([1, 1, 1, k])
            .repeat_dim(0, c);
        out = conv2d(
            out,
            weight,
            None,
            ConvOptions::new([1, 1], [0, 0], [1, 1], c),
        );
    }
    out
}

/// SSIM and contrast-structure maps averaged per (image, channel): `pytorch_msssim._ssim`.
fn ssim_and_cs(
    x: Tensor<4>,
    y: Tensor<4>,
    cfg: &SsimConfig,
    window: &[f32],
) -> (Tensor<2>, Tensor<2>) {
    let [n, c, _, _] = x.dims();
    let c1 = (cfg.k1 * cfg.data_range).powi(2);
    let c2 = (cfg.k2 * cfg.data_range).powi(2);
    // One depthwise pass over the five signals.
    let stacked = Tensor::cat(
        vec![
            x.clone(),
            y.clone(),
            x.clone() * x.clone(),
            y.clone() * y.clone(),
            x * y,
        ],
        1,
    );
    let f = gaussian_filter(stacked, window);
    let mu1 = f.clone().narrow(1, 0, c);
    let mu2 = f.clone().narrow(1, c, c);
    let exx = f.clone().narrow(1, 2 * c, c);
    let eyy = f.clone().narrow(1, 3 * c, c);
    let exy = f.narrow(1, 4 * c, c);

    let mu1_sq = mu1.clone() * mu1.clone();
    let mu2_sq = mu2.clone() * mu2.clone();
    let mu1_mu2 = mu1 * mu2;
    let sigma1_sq = exx - mu1_sq.clone();
    let sigma2_sq = eyy - mu2_sq.clone();
    let sigma12 = exy - mu1_mu2.clone();

    let cs_map = sigma12.mul_scalar(2.0).add_scalar(c2) / (sigma1_sq + sigma2_sq).add_scalar(c2);
    let ssim_map =
        mu1_mu2.mul_scalar(2.0).add_scalar(c1) / (mu1_sq + mu2_sq).add_scalar(c1) * cs_map.clone();
    let ssim = ssim_map
        .reshape([n as i64, c as i64, -1])
        .mean_dim(2)
        .reshape([n, c]);
    let cs = cs_map
        .reshape([n as i64, c as i64, -1])
        .mean_dim(2)
        .reshape([n, c]);
    (ssim, cs)
}

/// SSIM of every (image, channel) pair, before any averaging.
///
/// # Shapes
/// `x`, `y`: `[N, C, H, W]` → `[N, C]`.
pub fn ssim_per_channel(x: Tensor<4>, y: Tensor<4>, cfg: &SsimConfig) -> Result<Tensor<2>> {
    cfg.validate()?;
    check_same_shape("ssim", &x, &y)?;
    Ok(ssim_and_cs(x, y, cfg, &cfg.window()).0)
}

/// SSIM of every image (mean over its channels): `pytorch_msssim.ssim(.., size_average=False)`.
///
/// # Shapes
/// `x`, `y`: `[N, C, H, W]` → `[N]`.
pub fn ssim_per_image(x: Tensor<4>, y: Tensor<4>, cfg: &SsimConfig) -> Result<Tensor<1>> {
    let per_channel = ssim_per_channel(x, y, cfg)?;
    let [n, _] = per_channel.dims();
    Ok(per_channel.mean_dim(1).reshape([n]))
}

/// SSIM of a batch with the paper's settings, averaged over images and channels:
/// `pytorch_msssim.ssim(x, y, data_range=1, size_average=True)`.
///
/// # Shapes
/// `x`, `y`: `[N, C, H, W]`, values in `[0, 1]`.
pub fn ssim(x: Tensor<4>, y: Tensor<4>) -> Result<f64> {
    ssim_with(x, y, &SsimConfig::default())
}

/// [`ssim`] with explicit parameters.
pub fn ssim_with(x: Tensor<4>, y: Tensor<4>, cfg: &SsimConfig) -> Result<f64> {
    let v = to_host_f64(ssim_per_channel(x, y, cfg)?)?;
    Ok(v.iter().sum::<f64>() / v.len() as f64)
}

/// Scale weights of MS-SSIM (`pytorch_msssim.ms_ssim`'s default).
pub const MS_SSIM_WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/// MS-SSIM of every image: `pytorch_msssim.ms_ssim(.., size_average=False)` with the default
/// five scales.
///
/// # Shapes
/// `x`, `y`: `[N, C, H, W]` with `min(H, W) > (win_size - 1) · 16` → `[N]`.
pub fn ms_ssim_per_image(x: Tensor<4>, y: Tensor<4>, cfg: &SsimConfig) -> Result<Tensor<1>> {
    cfg.validate()?;
    let [n, c, h, w] = check_same_shape("ms_ssim", &x, &y)?;
    let min_side = (cfg.win_size - 1) * 16;
    if h.min(w) <= min_side {
        return Err(MetricsError::invalid(
            "images",
            format!("{h}x{w}"),
            format!("MS-SSIM needs both sides larger than {min_side} (4 downsamplings)"),
        ));
    }
    let window = cfg.window();
    let levels = MS_SSIM_WEIGHTS.len();
    let (mut x, mut y) = (x, y);
    let mut acc: Option<Tensor<2>> = None;
    for (level, weight) in MS_SSIM_WEIGHTS.iter().enumerate() {
        let (ssim, cs) = ssim_and_cs(x.clone(), y.clone(), cfg, &window);
        let term = if level < levels - 1 { cs } else { ssim };
        // relu(v) ** w; 0 ** w = 0 for w > 0, as in PyTorch.
        let term = term.clamp_min(0.0).powf_scalar(*weight);
        acc = Some(match acc {
            None => term,
            Some(a) => a * term,
        });
        if level < levels - 1 {
            let [_, _, hh, ww] = x.dims();
            let mut opts = AvgPoolOptions::new([2, 2]);
            opts.padding = [(hh % 2, hh % 2), (ww % 2, ww % 2)];
            opts.count_include_pad = true;
            x = avg_pool2d(x, opts.clone());
            y = avg_pool2d(y, opts);
        }
    }
    let acc = acc.expect("MS_SSIM_WEIGHTS is not empty");
    debug_assert_eq!(acc.dims(), [n, c]);
    Ok(acc.mean_dim(1).reshape([n]))
}

/// MS-SSIM of a batch averaged over images and channels:
/// `pytorch_msssim.ms_ssim(x, y, data_range=cfg.data_range, size_average=True)`.
pub fn ms_ssim(x: Tensor<4>, y: Tensor<4>, cfg: &SsimConfig) -> Result<f64> {
    let v = to_host_f64(ms_ssim_per_image(x, y, cfg)?)?;
    Ok(v.iter().sum::<f64>() / v.len() as f64)
}
