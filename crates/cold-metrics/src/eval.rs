//! The evaluation driver of the paper's restoration tables (Tables 1–4): Degraded / Sampled /
//! Direct rows with FID, SSIM and RMSE (plus PSNR, and KID on request).
//!
//! The driver does not know about networks or samplers: the caller runs them (e.g. `cold eval`
//! with `cold-sample`) and hands over, batch by batch, the original images and the images of
//! each row, in the library's `[-1, 1]` range. Metrics are computed after `(x + 1) / 2`, with no
//! clamping (as the original code).
//!
//! # Which images the rows compare (spec §5.1)
//! The original `fid_distance_decrease_from_manifold` compares three image sets with the originals
//! `x₀`, but what it stores as "Degraded" and "Sampled" depends on the operator:
//!
//! | operator | "Degraded" | "Sampled" |
//! |---|---|---|
//! | blur (Table 1) | `x_T`, the fully degraded image | the final `x₀` of Algorithm 2 |
//! | super-resolution (Table 3) | `x_T` | the last prediction `R(x₁, 0)` |
//! | inpainting (Table 2) | `x_{T−1}`: the image after the **first** Algorithm-2 update, not `x_T` | `R(x₁, 0)` |
//! | snow (Table 4), decolorization (same trainer code) | `x_{T−1}` after the first update | `R(x₁, 0)` |
//!
//! "Direct" is always `R(x_T, T−1)`, one network call on the fully degraded image.
//! [`RowDefinition`] encodes this; [`RowDefinition::select`] picks the right tensors from a
//! [`TrajectoryImages`].
//!
//! The paper's image set is the test folder minus its first image (the loop keeps indices > 0),
//! or for snow/decolor a random permutation of 2000 (or 1000) test images: that choice belongs
//! to the caller's data source.

use std::fmt::Write as _;
use std::path::Path;

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{MetricsError, Result};
use crate::fid::{Features, FidExtractor};
use crate::frechet::frechet_distance;
use crate::inception::FEATURE_DIM;
use crate::kid::{Kid, KidConfig, kernel_inception_distance};
use crate::quality::{
    SsimConfig, mse_per_image, psnr_from_mse, ssim_per_channel, to_host_f64, to_unit_range,
};
use crate::stats::StatsAccumulator;

/// Which image the "Degraded" row compares with the originals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DegradedImage {
    /// `x_T = D(x₀, T)`, the fully degraded image (blur, super-resolution).
    FullyDegraded,
    /// `x_{T−1}` after the first Algorithm-2 update (what the inpainting and snow code store).
    AfterFirstUpdate,
}

/// Which image the "Sampled" row compares with the originals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SampledImage {
    /// The final `x₀` returned by Algorithm 2 (blur).
    FinalSample,
    /// The network's last prediction `R(x₁, 0)` (super-resolution, inpainting, snow).
    LastPrediction,
}

/// The paper's definition of the Degraded and Sampled rows for one operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowDefinition {
    /// What "Degraded" means.
    pub degraded: DegradedImage,
    /// What "Sampled" means.
    pub sampled: SampledImage,
}

impl RowDefinition {
    /// Gaussian blur (Table 1): `x_T` and the final `x₀`.
    pub const BLUR: Self = Self {
        degraded: DegradedImage::FullyDegraded,
        sampled: SampledImage::FinalSample,
    };
    /// Super-resolution (Table 3): `x_T` and `R(x₁, 0)`.
    pub const SUPER_RESOLUTION: Self = Self {
        degraded: DegradedImage::FullyDegraded,
        sampled: SampledImage::LastPrediction,
    };
    /// Inpainting (Table 2): `x_{T−1}` after the first update and `R(x₁, 0)`.
    pub const INPAINTING: Self = Self {
        degraded: DegradedImage::AfterFirstUpdate,
        sampled: SampledImage::LastPrediction,
    };
    /// Snow (Table 4) and decolorization (same trainer): `x_{T−1}` and `R(x₁, 0)`.
    pub const SNOW: Self = Self {
        degraded: DegradedImage::AfterFirstUpdate,
        sampled: SampledImage::LastPrediction,
    };

    /// The paper's definition for an operator name: `blur`, `super-resolution` (or `sr`,
    /// `resolution`, `pixelate`), `inpaint`/`inpainting`, `snow`, `decolor`/`decolorization`.
    pub fn for_operator(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "blur" | "deblur" | "deblurring" => Ok(Self::BLUR),
            "sr" | "super-resolution" | "superresolution" | "resolution" | "pixelate" => {
                Ok(Self::SUPER_RESOLUTION)
            }
            "inpaint" | "inpainting" | "defade" | "defading" => Ok(Self::INPAINTING),
            "snow" | "desnow" | "snowification" | "decolor" | "decolorization" => Ok(Self::SNOW),
            _ => Err(MetricsError::invalid(
                "operator",
                name,
                "the paper defines restoration rows for blur, super-resolution, inpainting, snow \
                 and decolor; give an explicit RowDefinition for other operators",
            )),
        }
    }

    /// Picks the Degraded / Direct / Sampled images of a trajectory according to this
    /// definition. Fails naming the field when the needed image is missing.
    pub fn select(&self, t: TrajectoryImages) -> Result<EvalBatch> {
        let degraded = match self.degraded {
            DegradedImage::FullyDegraded => t.fully_degraded,
            DegradedImage::AfterFirstUpdate => t.after_first_update.ok_or_else(|| {
                MetricsError::invalid(
                    "TrajectoryImages.after_first_update",
                    "None",
                    "this operator's Degraded row is x_{T-1} after the first update",
                )
            })?,
        };
        let sampled = match self.sampled {
            SampledImage::FinalSample => t.final_sample,
            SampledImage::LastPrediction => t.last_prediction,
        }
        .ok_or_else(|| {
            MetricsError::invalid(
                match self.sampled {
                    SampledImage::FinalSample => "TrajectoryImages.final_sample",
                    SampledImage::LastPrediction => "TrajectoryImages.last_prediction",
                },
                "None",
                "needed by this operator's Sampled row",
            )
        })?;
        Ok(EvalBatch {
            original: t.original,
            degraded,
            direct: t.direct,
            sampled,
        })
    }
}

/// The images of one batch of restoration trajectories (all `[N, C, H, W]` in `[-1, 1]`), from
/// which [`RowDefinition::select`] takes what the rows need.
#[derive(Debug, Clone)]
pub struct TrajectoryImages {
    /// The clean test images `x₀`.
    pub original: Tensor<4>,
    /// `x_T = D(x₀, T)`.
    pub fully_degraded: Tensor<4>,
    /// `x_{T−1}` after the first Algorithm-2 update, if recorded.
    pub after_first_update: Option<Tensor<4>>,
    /// Direct reconstruction `R(x_T, T−1)`.
    pub direct: Tensor<4>,
    /// Final `x₀` of Algorithm 2, if recorded.
    pub final_sample: Option<Tensor<4>>,
    /// Last network prediction `R(x₁, 0)`, if recorded.
    pub last_prediction: Option<Tensor<4>>,
}

/// One batch for the driver: originals and the image of each row, `[N, C, H, W]` in `[-1, 1]`.
#[derive(Debug, Clone)]
pub struct EvalBatch {
    /// Clean images `x₀`.
    pub original: Tensor<4>,
    /// The "Degraded" row's images.
    pub degraded: Tensor<4>,
    /// The "Direct" row's images.
    pub direct: Tensor<4>,
    /// The "Sampled" row's images.
    pub sampled: Tensor<4>,
}

/// A row of the paper's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Row {
    /// Degraded images vs. originals.
    Degraded,
    /// Iterative samples vs. originals.
    Sampled,
    /// Direct reconstructions vs. originals.
    Direct,
}

impl Row {
    /// The three rows in the paper's column order.
    pub const ALL: [Row; 3] = [Row::Degraded, Row::Sampled, Row::Direct];

    fn name(self) -> &'static str {
        match self {
            Row::Degraded => "Degraded",
            Row::Sampled => "Sampled",
            Row::Direct => "Direct",
        }
    }
}

/// Options of the driver.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// What Degraded / Sampled mean (recorded in the report).
    pub rows: RowDefinition,
    /// Compute FID against the originals (needs a [`FidExtractor`]).
    pub fid: bool,
    /// Also compute KID with these settings (keeps every feature vector in memory).
    pub kid: Option<KidConfig>,
    /// SSIM settings; the default is the paper's.
    pub ssim: SsimConfig,
    /// Free-form label stored in the report (e.g. `blur MNIST, checkpoint step 700k`).
    pub label: String,
}

impl EvalConfig {
    /// The paper's metrics for `rows`, with FID, without KID.
    pub fn new(rows: RowDefinition) -> Self {
        Self {
            rows,
            fid: true,
            kid: None,
            ssim: SsimConfig::default(),
            label: String::new(),
        }
    }
}

/// Progress of [`evaluate`], reported after every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalProgress {
    /// Batches done.
    pub batches: usize,
    /// Images done.
    pub images: usize,
    /// Total images, if the caller said.
    pub total_images: Option<usize>,
}

/// Metrics of one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowMetrics {
    /// Which row.
    pub row: Row,
    /// FID against the originals (pool3, pytorch-fid), if computed.
    pub fid: Option<f64>,
    /// KID against the originals, if computed.
    pub kid: Option<Kid>,
    /// Mean SSIM over images and channels (pytorch_msssim, data range 1).
    pub ssim: f64,
    /// `sqrt(mean((x - x₀)²))` over every pixel of the set, in `[0, 1]` units.
    pub rmse: f64,
    /// `10 log10(1 / mse)` of the same mean squared error, in dB; `None` when the mean squared
    /// error is 0 (identical images, infinite PSNR), which JSON cannot represent.
    pub psnr: Option<f64>,
}

/// The result of an evaluation: one [`RowMetrics`] per row, in the paper's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The caller's label.
    pub label: String,
    /// What Degraded / Sampled meant.
    pub rows_definition: RowDefinition,
    /// Number of images evaluated.
    pub images: usize,
    /// Degraded, Sampled, Direct.
    pub rows: Vec<RowMetrics>,
}

impl EvalReport {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises")
    }

    /// A Markdown table in the paper's layout (FID / SSIM / RMSE per row, plus PSNR and KID).
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        if !self.label.is_empty() {
            let _ = writeln!(s, "**{}**\n", self.label);
        }
        let _ = writeln!(
            s,
            "{} images; Degraded = {}, Sampled = {}.\n",
            self.images,
            match self.rows_definition.degraded {
                DegradedImage::FullyDegraded => "x_T",
                DegradedImage::AfterFirstUpdate => "x_{T-1} after the first update",
            },
            match self.rows_definition.sampled {
                SampledImage::FinalSample => "final x_0 of Algorithm 2",
                SampledImage::LastPrediction => "last prediction R(x_1, 0)",
            }
        );
        let with_kid = self.rows.iter().any(|r| r.kid.is_some());
        let _ = write!(s, "| | FID | SSIM | RMSE | PSNR (dB) |");
        if with_kid {
            let _ = write!(s, " KID |");
        }
        let _ = write!(s, "\n|---|---|---|---|---|");
        if with_kid {
            let _ = write!(s, "---|");
        }
        s.push('\n');
        for r in &self.rows {
            let fid = r.fid.map_or("–".to_string(), |f| format!("{f:.2}"));
            let psnr = r.psnr.map_or("∞".to_string(), |p| format!("{p:.2}"));
            let _ = write!(
                s,
                "| {} | {fid} | {:.3} | {:.3} | {psnr} |",
                r.row.name(),
                r.ssim,
                r.rmse,
            );
            if with_kid {
                let kid = r.kid.as_ref().map_or("–".to_string(), |k| {
                    format!("{:.4} ± {:.4}", k.mean, k.std)
                });
                let _ = write!(s, " {kid} |");
            }
            s.push('\n');
        }
        s
    }

    /// Writes [`EvalReport::to_json`] and [`EvalReport::to_markdown`] to the given paths.
    pub fn write(&self, json: impl AsRef<Path>, markdown: impl AsRef<Path>) -> Result<()> {
        for (path, text) in [
            (json.as_ref(), self.to_json()),
            (markdown.as_ref(), self.to_markdown()),
        ] {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| MetricsError::io(parent, e))?;
            }
            std::fs::write(path, text).map_err(|e| MetricsError::io(path, e))?;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct RowAccumulator {
    sq_err_sum: f64,
    pixels: u64,
    ssim_sum: f64,
    ssim_count: u64,
    stats: Option<StatsAccumulator>,
    features: Option<Features>,
}

/// Accumulates the three rows over batches; see [`evaluate`] for the loop.
#[derive(Debug)]
pub struct Evaluator<'a> {
    cfg: EvalConfig,
    extractor: Option<&'a FidExtractor>,
    rows: [RowAccumulator; 3],
    original_stats: Option<StatsAccumulator>,
    original_features: Option<Features>,
    images: usize,
    shape: Option<[usize; 3]>,
}

impl<'a> Evaluator<'a> {
    /// A new driver; `extractor` is required when FID or KID is asked for.
    pub fn new(cfg: EvalConfig, extractor: Option<&'a FidExtractor>) -> Result<Self> {
        cfg.ssim.validate()?;
        let needs_features = cfg.fid || cfg.kid.is_some();
        if needs_features && extractor.is_none() {
            return Err(MetricsError::invalid(
                "extractor",
                "None",
                "FID/KID need the FID Inception (FidExtractor::from_file)",
            ));
        }
        let stats = || cfg.fid.then(|| StatsAccumulator::new(FEATURE_DIM));
        let feats = || {
            cfg.kid.is_some().then(|| Features {
                dim: FEATURE_DIM,
                values: Vec::new(),
            })
        };
        let row = || RowAccumulator {
            sq_err_sum: 0.0,
            pixels: 0,
            ssim_sum: 0.0,
            ssim_count: 0,
            stats: stats(),
            features: feats(),
        };
        Ok(Self {
            rows: [row(), row(), row()],
            original_stats: stats(),
            original_features: feats(),
            extractor,
            images: 0,
            shape: None,
            cfg,
        })
    }

    /// Images accumulated so far.
    pub fn images(&self) -> usize {
        self.images
    }

    /// Adds one batch (all four tensors `[N, C, H, W]` in `[-1, 1]`, same shape).
    pub fn add(&mut self, batch: EvalBatch) -> Result<()> {
        let [n, c, h, w] = batch.original.dims();
        for (name, t) in [
            ("degraded", &batch.degraded),
            ("direct", &batch.direct),
            ("sampled", &batch.sampled),
        ] {
            if t.dims() != [n, c, h, w] {
                return Err(MetricsError::ShapeMismatch {
                    what: name,
                    left: vec![n, c, h, w],
                    right: t.dims().to_vec(),
                });
            }
        }
        match self.shape {
            None => self.shape = Some([c, h, w]),
            Some(s) if s != [c, h, w] => {
                return Err(MetricsError::invalid(
                    "EvalBatch",
                    format!("{:?}", [n, c, h, w]),
                    format!("image shape differs from the first batch's {s:?}"),
                ));
            }
            Some(_) => {}
        }
        let original = to_unit_range(batch.original);
        if let Some(ex) = self.extractor {
            let f = ex.features(original.clone())?;
            if let Some(s) = &mut self.original_stats {
                s.add(&f.values)?;
            }
            if let Some(all) = &mut self.original_features {
                all.extend(&f)?;
            }
        }
        let pixels = (c * h * w) as u64;
        for (acc, images) in self
            .rows
            .iter_mut()
            .zip([batch.degraded, batch.sampled, batch.direct])
        {
            let x = to_unit_range(images);
            let mse = to_host_f64(mse_per_image(x.clone(), original.clone())?)?;
            acc.sq_err_sum += mse.iter().sum::<f64>() * pixels as f64;
            acc.pixels += pixels * n as u64;
            let ssim = to_host_f64(ssim_per_channel(
                x.clone(),
                original.clone(),
                &self.cfg.ssim,
            )?)?;
            acc.ssim_sum += ssim.iter().sum::<f64>();
            acc.ssim_count += ssim.len() as u64;
            if let Some(ex) = self.extractor {
                let f = ex.features(x)?;
                if let Some(s) = &mut acc.stats {
                    s.add(&f.values)?;
                }
                if let Some(all) = &mut acc.features {
                    all.extend(&f)?;
                }
            }
        }
        self.images += n;
        Ok(())
    }

    /// Computes the rows.
    pub fn finish(self) -> Result<EvalReport> {
        if self.images == 0 {
            return Err(MetricsError::invalid(
                "images",
                0,
                "nothing to evaluate: no batch was added",
            ));
        }
        let original_stats = self
            .original_stats
            .as_ref()
            .map(StatsAccumulator::finish)
            .transpose()?;
        let mut rows = Vec::with_capacity(3);
        for (row, acc) in Row::ALL.into_iter().zip(&self.rows) {
            let mse = acc.sq_err_sum / acc.pixels as f64;
            let fid = match (&acc.stats, &original_stats) {
                (Some(s), Some(o)) => Some(frechet_distance(&s.finish()?, o)?),
                _ => None,
            };
            let kid = match (&acc.features, &self.original_features, &self.cfg.kid) {
                (Some(f), Some(o), Some(k)) => {
                    Some(kernel_inception_distance(&f.values, &o.values, f.dim, k)?)
                }
                _ => None,
            };
            rows.push(RowMetrics {
                row,
                fid,
                kid,
                ssim: acc.ssim_sum / acc.ssim_count as f64,
                rmse: mse.sqrt(),
                psnr: (mse > 0.0).then(|| psnr_from_mse(mse, 1.0)),
            });
        }
        Ok(EvalReport {
            label: self.cfg.label.clone(),
            rows_definition: self.cfg.rows,
            images: self.images,
            rows,
        })
    }
}

/// Runs the driver over a stream of batches, calling `progress` after each one.
///
/// `batches` yields `Result`s so that the caller's sampler can fail; its error is returned as
/// [`MetricsError::Source`].
pub fn evaluate<I, E>(
    cfg: EvalConfig,
    extractor: Option<&FidExtractor>,
    batches: I,
    total_images: Option<usize>,
    mut progress: impl FnMut(&EvalProgress),
) -> Result<EvalReport>
where
    I: IntoIterator<Item = std::result::Result<EvalBatch, E>>,
    E: std::fmt::Display,
{
    let mut ev = Evaluator::new(cfg, extractor)?;
    for (i, b) in batches.into_iter().enumerate() {
        let b = b.map_err(|e| MetricsError::Source(e.to_string()))?;
        ev.add(b)?;
        progress(&EvalProgress {
            batches: i + 1,
            images: ev.images(),
            total_images,
        });
    }
    ev.finish()
}
