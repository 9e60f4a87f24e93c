//! FID: pytorch-fid's preprocessing, Inception pool3 features, statistics and distance.
//!
//! What pytorch-fid (and the paper's in-repo copy of it) does, and this module reproduces:
//! * images in `[0, 1]`; 1-channel images (MNIST) repeated to 3 channels;
//! * `F.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False)`;
//! * `2x - 1`;
//! * the FID Inception's 2048-d pool3 features, in batches of 50;
//! * mean and unbiased covariance in `f64`, Fréchet distance.
//!
//! Not reproduced: the paper's quirk of leaving the last `N mod 50` rows of the activation array
//! uninitialised (`np.empty`), which makes its FIDs over 9 999 / 2 999 images depend on memory
//! garbage; here every image counts.

use std::path::Path;

use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};

use crate::error::{MetricsError, Result};
use crate::frechet::frechet_distance;
use crate::inception::{FEATURE_DIM, FidInceptionV3, InceptionWeights};
use crate::quality::to_host_f64;
use crate::stats::{ActivationStats, StatsAccumulator};

/// Side of the Inception input.
pub const INCEPTION_INPUT_SIZE: usize = 299;

/// pytorch-fid's batch size.
pub const DEFAULT_BATCH_SIZE: usize = 50;

/// Bilinear resize with `align_corners=False` (half-pixel centres), as `F.interpolate`.
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, size[0], size[1]]`.
pub fn resize_bilinear(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    if [h, w] == size {
        // Identity for align_corners=False (source coordinate = destination coordinate).
        return x;
    }
    let opts = InterpolateOptions {
        mode: InterpolateMode::Bilinear,
        align_corners: false,
        output_size: Some(size),
        scale_factor: None,
    };
    interpolate(x, opts)
}

/// pytorch-fid's input pipeline: repeat 1-channel images to 3 channels, resize to 299×299
/// (bilinear, `align_corners=False`), map `[0, 1]` to `[-1, 1]`.
///
/// # Shapes
/// `[N, 1 | 3, H, W]` → `[N, 3, 299, 299]`.
pub fn preprocess(x: Tensor<4>) -> Result<Tensor<4>> {
    let [n, c, h, w] = x.dims();
    if n == 0 || h == 0 || w == 0 || (c != 1 && c != 3) {
        return Err(MetricsError::invalid(
            "images",
            format!("{:?}", [n, c, h, w]),
            "expected [N, 1 or 3, H, W] with N, H, W > 0",
        ));
    }
    let x = if c == 1 { x.repeat_dim(1, 3) } else { x };
    let x = resize_bilinear(x, [INCEPTION_INPUT_SIZE, INCEPTION_INPUT_SIZE]);
    Ok(x.mul_scalar(2.0).sub_scalar(1.0))
}

/// Feature vectors on the host, row-major `[rows, dim]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Feature dimension.
    pub dim: usize,
    /// Values, `rows × dim`.
    pub values: Vec<f32>,
}

impl Features {
    /// Number of feature vectors.
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Appends the rows of `other` (same dimension).
    pub fn extend(&mut self, other: &Features) -> Result<()> {
        if self.dim == 0 {
            self.dim = other.dim;
        }
        if other.dim != self.dim {
            return Err(MetricsError::invalid(
                "features",
                other.dim,
                format!("dimension differs from {}", self.dim),
            ));
        }
        self.values.extend_from_slice(&other.values);
        Ok(())
    }

    /// Mean and covariance of the rows.
    pub fn stats(&self) -> Result<ActivationStats> {
        ActivationStats::from_features(&self.values, self.dim)
    }
}

/// Turns image batches into FID Inception features: the network plus pytorch-fid's
/// preprocessing and batch size.
#[derive(Debug)]
pub struct FidExtractor {
    model: FidInceptionV3,
    batch_size: usize,
}

impl FidExtractor {
    /// Wraps a network; batches of [`DEFAULT_BATCH_SIZE`] images.
    pub fn new(model: FidInceptionV3) -> Self {
        Self {
            model,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }

    /// Loads the weights of `path` (see [`InceptionWeights::load`]) onto `device`.
    pub fn from_file(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Ok(Self::new(InceptionWeights::load(path)?.into_model(device)?))
    }

    /// Sets how many images go through the network at once (memory vs. speed; the features do
    /// not depend on it beyond float rounding).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The network.
    pub fn model(&self) -> &FidInceptionV3 {
        &self.model
    }

    /// pool3 features of `images` (`[N, 1 | 3, H, W]`, values in `[0, 1]`), read back to the
    /// host.
    pub fn features(&self, images: Tensor<4>) -> Result<Features> {
        let [n, ..] = images.dims();
        let mut out = Features {
            dim: FEATURE_DIM,
            values: Vec::with_capacity(n * FEATURE_DIM),
        };
        let mut start = 0;
        while start < n {
            let len = self.batch_size.min(n - start);
            let chunk = images.clone().narrow(0, start, len);
            let f = self.model.forward(preprocess(chunk)?);
            out.values
                .extend(to_host_f64(f)?.into_iter().map(|v| v as f32));
            start += len;
        }
        Ok(out)
    }

    /// Activation statistics of a stream of image batches (values in `[0, 1]`).
    pub fn stats<I>(&self, batches: I) -> Result<ActivationStats>
    where
        I: IntoIterator<Item = Tensor<4>>,
    {
        let mut acc = StatsAccumulator::new(FEATURE_DIM);
        for b in batches {
            acc.add(&self.features(b)?.values)?;
        }
        acc.finish()
    }

    /// FID between two sets of images given as batch streams (values in `[0, 1]`).
    pub fn fid<I, J>(&self, a: I, b: J) -> Result<f64>
    where
        I: IntoIterator<Item = Tensor<4>>,
        J: IntoIterator<Item = Tensor<4>>,
    {
        frechet_distance(&self.stats(a)?, &self.stats(b)?)
    }
}
