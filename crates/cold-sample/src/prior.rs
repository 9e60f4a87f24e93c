//! Starting points for generation: samples of the fully degraded distribution `x_T` and the
//! draw that goes with them (spec §4.3).
//!
//! | operator | prior | function |
//! |---|---|---|
//! | blur (`--discrete`) | Gaussian mixture over per-channel means, broadcast to a constant image, plus optional pixel noise (0.002 in the paper) | [`ChannelMeanPrior`] |
//! | super-resolution | Gaussian mixture over area-downsampled degraded images, nearest-upsampled | [`DownsampledPrior`] |
//! | inpainting generation | a constant colour `~ U(−0.5, 0.5)^C` | [`constant_colour`] |
//! | animorphosis | images of a second data set | [`partner_images`] |
//! | hot (noise) | `N(0, I)` | [`gaussian`] |
//!
//! All randomness is drawn on the host from the caller's RNG and uploaded, so a seeded RNG
//! (e.g. `rand_chacha::ChaCha8Rng::seed_from_u64`) gives the same samples on every backend.

use burn::tensor::{Device, Tensor, TensorData};
use cold_degrade::{Draw, ImageShape};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use crate::error::SampleError;
use crate::gmm::{FitReport, GaussianMixture, GmmConfig};

/// A generation start: the fully degraded batch `x_T` and the random draw of the operator that
/// belongs to it (the partner `z` of animorphosis and noise, the colours of inpainting
/// generation, [`Draw::empty`] for deterministic operators). Pass both to
/// [`crate::Sampler::generate`].
#[derive(Debug, Clone)]
pub struct GenerationStart {
    /// `x_T`, `[N, C, H, W]`.
    pub x: Tensor<4>,
    /// The draw every level of the trajectory reuses.
    pub draw: Draw,
}

fn upload(values: Vec<f32>, dims: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, dims), device)
}

fn check_std(std: f64) -> Result<(), SampleError> {
    if std.is_finite() && std >= 0.0 {
        Ok(())
    } else {
        Err(SampleError::Config {
            field: "noise_std".into(),
            value: std.to_string(),
            expected: "a finite value >= 0".into(),
        })
    }
}

/// `n` host-drawn standard-normal values as `f32`.
fn normals<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let v: f64 = StandardNormal.sample(rng);
            v as f32
        })
        .collect()
}

/// Adds i.i.d. pixel noise `N(0, std²)` drawn on the host (the paper's symmetry-breaking noise,
/// `std = 0.002` in `[-1, 1]` units). `std = 0` returns `x` unchanged and draws nothing.
///
/// # Shapes
/// `x`: `[N, C, H, W]`; returns the same shape.
///
/// # Errors
/// If `std` is negative or not finite.
pub fn add_pixel_noise<R: Rng + ?Sized>(
    x: Tensor<4>,
    std: f64,
    rng: &mut R,
) -> Result<Tensor<4>, SampleError> {
    check_std(std)?;
    if std == 0.0 {
        return Ok(x);
    }
    let dims = x.dims();
    let noise = normals(dims.iter().product(), rng)
        .into_iter()
        .map(|v| v * std as f32)
        .collect();
    Ok(x.clone() + upload(noise, dims, &x.device()))
}

/// Per-channel spatial means of a batch, row-major `[N, C]` in `f64` (the statistic the blur
/// generation prior is fitted to: with circular blur it equals the fully blurred image).
///
/// # Shapes
/// `images`: `[N, C, H, W]`; returns `N·C` values.
pub fn channel_means(images: &Tensor<4>) -> Vec<f64> {
    let [n, c, _, _] = images.dims();
    let means = images.clone().mean_dims(&[2, 3]).reshape([n * c]);
    means
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data converts to f32")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// The blur-generation prior: a Gaussian mixture over per-channel image means; a sample is the
/// constant image of a drawn mean vector, plus optional i.i.d. pixel noise.
///
/// The original fits pycave's `GaussianMixture` (full covariance, tolerance 1e-3; README
/// `--gmm_cluster 1`) to the channel means of the training folder and adds `--noise 0.002`
/// ("broken symmetry") or none ("perfect symmetry", diversity collapses).
#[derive(Debug, Clone)]
pub struct ChannelMeanPrior {
    gmm: GaussianMixture,
    noise_std: f64,
}

impl ChannelMeanPrior {
    /// Fits the mixture to `means` (row-major `[N, channels]`, e.g. from [`channel_means`] of
    /// every batch of a data set), with no pixel noise.
    ///
    /// # Errors
    /// As [`GaussianMixture::fit`].
    pub fn fit(
        means: &[f64],
        channels: usize,
        config: &GmmConfig,
    ) -> Result<(Self, FitReport), SampleError> {
        let (gmm, report) = GaussianMixture::fit(means, channels, config)?;
        Ok((
            Self {
                gmm,
                noise_std: 0.0,
            },
            report,
        ))
    }

    /// A prior from a given mixture (its dimension is the number of channels).
    pub fn from_gmm(gmm: GaussianMixture) -> Self {
        Self {
            gmm,
            noise_std: 0.0,
        }
    }

    /// Sets the standard deviation of the pixel noise added to every sample (paper: 0.002).
    ///
    /// # Errors
    /// If `std` is negative or not finite.
    pub fn with_noise(mut self, std: f64) -> Result<Self, SampleError> {
        check_std(std)?;
        self.noise_std = std;
        Ok(self)
    }

    /// The fitted mixture.
    pub fn gmm(&self) -> &GaussianMixture {
        &self.gmm
    }

    /// The pixel-noise standard deviation.
    pub fn noise_std(&self) -> f64 {
        self.noise_std
    }

    /// Draws `n` starting images of `height × width` (channels = the mixture's dimension), with
    /// [`Draw::empty`].
    ///
    /// # Shapes
    /// Returns `x` of shape `[n, C, height, width]`.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        n: usize,
        height: usize,
        width: usize,
        rng: &mut R,
        device: &Device,
    ) -> GenerationStart {
        let c = self.gmm.dim();
        let means = self.gmm.sample(n, rng);
        let hw = height * width;
        let values: Vec<f32> = means
            .iter()
            .flat_map(|&m| std::iter::repeat_n(m as f32, hw))
            .collect();
        let x = upload(values, [n, c, height, width], device);
        let x = add_pixel_noise(x, self.noise_std, rng).expect("noise_std validated by with_noise");
        GenerationStart {
            x,
            draw: Draw::empty(n),
        }
    }
}

/// Area-downsamples a batch by averaging `H/size × W/size` blocks, row-major `[N, C·size·size]`
/// in `f64`.
///
/// # Errors
/// If `size` is 0 or does not divide the image height and width.
pub fn area_downsample(images: &Tensor<4>, size: usize) -> Result<Vec<f64>, SampleError> {
    let [n, c, h, w] = images.dims();
    if size == 0 || !h.is_multiple_of(size) || !w.is_multiple_of(size) {
        return Err(SampleError::Input {
            what: "images".into(),
            problem: format!(
                "{h}x{w} images cannot be area-downsampled to {size}x{size} (the size must divide both sides)"
            ),
        });
    }
    let (bh, bw) = (h / size, w / size);
    let data = images
        .to_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data converts to f32");
    let mut out = vec![0.0f64; n * c * size * size];
    for (plane, chunk) in data.chunks_exact(h * w).enumerate() {
        for y in 0..h {
            for x in 0..w {
                out[(plane * size + y / bh) * size + x / bw] += f64::from(chunk[y * w + x]);
            }
        }
    }
    let area = (bh * bw) as f64;
    out.iter_mut().for_each(|v| *v /= area);
    Ok(out)
}

/// The super-resolution generation prior of the original `celebA_128_test.py` (spec §4.3): a
/// Gaussian mixture over area-downsampled (to `size × size`) fully degraded training images; a
/// sample is nearest-upsampled to full size, plus optional pixel noise.
#[derive(Debug, Clone)]
pub struct DownsampledPrior {
    gmm: GaussianMixture,
    channels: usize,
    size: usize,
    noise_std: f64,
}

impl DownsampledPrior {
    /// Fits the mixture to `degraded` (`[N, C, H, W]`, typically `D(x0, T)` of training images)
    /// area-downsampled to `size × size` (the original's `gmm_size`).
    ///
    /// # Errors
    /// As [`area_downsample`] and [`GaussianMixture::fit`].
    pub fn fit(
        degraded: &Tensor<4>,
        size: usize,
        config: &GmmConfig,
    ) -> Result<(Self, FitReport), SampleError> {
        let channels = degraded.dims()[1];
        let data = area_downsample(degraded, size)?;
        let (gmm, report) = GaussianMixture::fit(&data, channels * size * size, config)?;
        Ok((
            Self {
                gmm,
                channels,
                size,
                noise_std: 0.0,
            },
            report,
        ))
    }

    /// Sets the pixel-noise standard deviation.
    ///
    /// # Errors
    /// If `std` is negative or not finite.
    pub fn with_noise(mut self, std: f64) -> Result<Self, SampleError> {
        check_std(std)?;
        self.noise_std = std;
        Ok(self)
    }

    /// The fitted mixture (dimension `C·size²`).
    pub fn gmm(&self) -> &GaussianMixture {
        &self.gmm
    }

    /// Draws `n` starting images of `height × width`: `size × size` mixture samples,
    /// nearest-upsampled, plus noise; with [`Draw::empty`].
    ///
    /// # Errors
    /// If `size` does not divide `height` and `width`.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        n: usize,
        height: usize,
        width: usize,
        rng: &mut R,
        device: &Device,
    ) -> Result<GenerationStart, SampleError> {
        let g = self.size;
        if !height.is_multiple_of(g) || !width.is_multiple_of(g) {
            return Err(SampleError::Input {
                what: "sample size".into(),
                problem: format!("{height}x{width} is not a multiple of the prior's {g}x{g} grid"),
            });
        }
        let small = self.gmm.sample(n, rng);
        let (bh, bw) = (height / g, width / g);
        let mut values = Vec::with_capacity(n * self.channels * height * width);
        for plane in small.chunks_exact(g * g) {
            for y in 0..height {
                for x in 0..width {
                    values.push(plane[(y / bh) * g + x / bw] as f32);
                }
            }
        }
        let x = upload(values, [n, self.channels, height, width], device);
        let x = add_pixel_noise(x, self.noise_std, rng)?;
        Ok(GenerationStart {
            x,
            draw: Draw::empty(n),
        })
    }
}

/// The inpainting-generation start: one constant colour per image, each channel
/// `~ U(−0.5, 0.5)` in `[-1, 1]` units (the original's `torch.rand(3) − 0.5`), as `x_T` and as
/// the operator's [`Draw::Colours`] (the colour the hole is filled with at every level).
///
/// # Shapes
/// Returns `x` of shape `[n, shape.channels, shape.height, shape.width]`.
pub fn constant_colour<R: Rng + ?Sized>(
    n: usize,
    shape: ImageShape,
    rng: &mut R,
    device: &Device,
) -> GenerationStart {
    let c = shape.channels;
    let colours: Vec<f32> = (0..n * c).map(|_| rng.random::<f32>() - 0.5).collect();
    let hw = shape.height * shape.width;
    let values: Vec<f32> = colours
        .iter()
        .flat_map(|&v| std::iter::repeat_n(v, hw))
        .collect();
    let x = upload(values, [n, c, shape.height, shape.width], device);
    let draw = Draw::colours(c, colours).expect("channels > 0 and n·channels values");
    GenerationStart { x, draw }
}

/// The hot-diffusion start: `z ~ N(0, I)` drawn on the host, used as `x_T` and as the fixed
/// partner (the original's `gen_sample` takes the noise itself as `x_T`).
///
/// # Shapes
/// Returns `x` of shape `[n, shape.channels, shape.height, shape.width]`.
pub fn gaussian<R: Rng + ?Sized>(
    n: usize,
    shape: ImageShape,
    rng: &mut R,
    device: &Device,
) -> GenerationStart {
    let dims = [n, shape.channels, shape.height, shape.width];
    let z = upload(normals(dims.iter().product(), rng), dims, device);
    GenerationStart {
        x: z.clone(),
        draw: Draw::partner(z),
    }
}

/// The animorphosis start: a batch of images of the second data set (e.g. AFHQ animals), used
/// as `x_T` and as the fixed partner (the original's `gen_sample`).
///
/// # Shapes
/// `z`: `[N, C, H, W]` in `[-1, 1]`.
pub fn partner_images(z: Tensor<4>) -> GenerationStart {
    GenerationStart {
        x: z.clone(),
        draw: Draw::partner(z),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn host(x: &Tensor<4>) -> Vec<f32> {
        x.to_data().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn channel_means_are_spatial_means() {
        let d = Device::flex();
        let x = upload(
            (0..2 * 3 * 2 * 2).map(|v| v as f32).collect(),
            [2, 3, 2, 2],
            &d,
        );
        let m = channel_means(&x);
        assert_eq!(m, vec![1.5, 5.5, 9.5, 13.5, 17.5, 21.5]);
    }

    #[test]
    fn constant_colour_is_constant_uniform_and_seeded() {
        let d = Device::flex();
        let shape = ImageShape::new(3, 4, 5);
        let a = constant_colour(64, shape, &mut ChaCha8Rng::seed_from_u64(1), &d);
        let b = constant_colour(64, shape, &mut ChaCha8Rng::seed_from_u64(1), &d);
        let c = constant_colour(64, shape, &mut ChaCha8Rng::seed_from_u64(2), &d);
        let (va, vb, vc) = (host(&a.x), host(&b.x), host(&c.x));
        assert_eq!(va, vb);
        assert_ne!(va, vc);
        for plane in va.chunks(20) {
            assert!(plane.iter().all(|v| *v == plane[0]));
            assert!((-0.5..0.5).contains(&plane[0]));
        }
        let (lo, hi) = va
            .iter()
            .fold((1.0f32, -1.0f32), |(l, h), v| (l.min(*v), h.max(*v)));
        assert!(
            lo < -0.4 && hi > 0.4,
            "192 uniform draws should span the range: {lo}..{hi}"
        );
        match &a.draw {
            Draw::Colours { channels, values } => {
                assert_eq!(*channels, 3);
                let firsts: Vec<f32> = va.chunks(20).map(|p| p[0]).collect();
                assert_eq!(values, &firsts);
            }
            other => panic!("expected colours, got {}", other.kind()),
        }
    }

    #[test]
    fn gaussian_start_is_standard_normal_and_is_its_own_partner() {
        let d = Device::flex();
        let g = gaussian(
            8,
            ImageShape::new(3, 16, 16),
            &mut ChaCha8Rng::seed_from_u64(4),
            &d,
        );
        let v = host(&g.x);
        let n = v.len() as f64;
        let mean = v.iter().map(|x| f64::from(*x)).sum::<f64>() / n;
        let var = v
            .iter()
            .map(|x| (f64::from(*x) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(
            mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
            "mean {mean}, var {var}"
        );
        match &g.draw {
            Draw::Partner(z) => assert_eq!(host(z), v),
            other => panic!("expected a partner, got {}", other.kind()),
        }
    }

    #[test]
    fn channel_mean_prior_samples_constant_images_and_noise_breaks_symmetry() {
        let d = Device::flex();
        let truth = GaussianMixture::new(
            vec![1.0],
            vec![vec![0.1, -0.2, 0.3]],
            vec![vec![0.04, 0.01, 0.0, 0.01, 0.03, 0.0, 0.0, 0.0, 0.02]],
        )
        .unwrap();
        let data = truth.sample(3000, &mut ChaCha8Rng::seed_from_u64(9));
        let (prior, _) = ChannelMeanPrior::fit(&data, 3, &GmmConfig::new(1)).unwrap();
        for a in 0..3 {
            assert!((prior.gmm().means()[0][a] - truth.means()[0][a]).abs() < 0.02);
        }
        let s = prior.sample(6, 8, 8, &mut ChaCha8Rng::seed_from_u64(1), &d);
        let v = host(&s.x);
        for plane in v.chunks(64) {
            assert!(plane.iter().all(|x| *x == plane[0]));
        }
        assert_ne!(v[0], v[3 * 64], "two images should get different colours");
        let noisy = prior.clone().with_noise(0.002).unwrap().sample(
            6,
            8,
            8,
            &mut ChaCha8Rng::seed_from_u64(1),
            &d,
        );
        let vn = host(&noisy.x);
        for (plane, clean) in vn.chunks(64).zip(v.chunks(64)) {
            let (lo, hi) = plane
                .iter()
                .fold((f32::MAX, f32::MIN), |(l, h), x| (l.min(*x), h.max(*x)));
            assert!(hi > lo, "noise should make pixels differ");
            let dev = plane
                .iter()
                .map(|x| f64::from(*x - clean[0]).powi(2))
                .sum::<f64>()
                / 64.0;
            assert!(
                (dev.sqrt() - 0.002).abs() < 0.001,
                "noise std {}",
                dev.sqrt()
            );
        }
        assert!(
            prior
                .with_noise(-1.0)
                .unwrap_err()
                .to_string()
                .contains("noise_std")
        );
    }

    #[test]
    fn downsampled_prior_produces_block_images() {
        let d = Device::flex();
        // 4x4 images made of 2x2 blocks with random levels.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 200;
        let mut values = Vec::new();
        for _ in 0..n {
            let blocks: Vec<f32> = (0..4).map(|_| rng.random::<f32>() - 0.5).collect();
            for y in 0..4 {
                for x in 0..4 {
                    values.push(blocks[(y / 2) * 2 + x / 2]);
                }
            }
        }
        let x = upload(values, [n, 1, 4, 4], &d);
        let down = area_downsample(&x, 2).unwrap();
        assert_eq!(down.len(), n * 4);
        let (prior, _) = DownsampledPrior::fit(&x, 2, &GmmConfig::new(2)).unwrap();
        let s = prior
            .sample(3, 8, 8, &mut ChaCha8Rng::seed_from_u64(0), &d)
            .unwrap();
        assert_eq!(s.x.dims(), [3, 1, 8, 8]);
        let v = host(&s.x);
        for img in v.chunks(64) {
            for y in 0..8 {
                for x in 0..8 {
                    assert_eq!(
                        img[y * 8 + x],
                        img[(y / 4 * 4) * 8 + x / 4 * 4],
                        "not block-constant at {y},{x}"
                    );
                }
            }
        }
        assert!(
            area_downsample(&x, 3)
                .unwrap_err()
                .to_string()
                .contains("cannot be area-downsampled")
        );
        assert!(
            prior
                .sample(1, 7, 8, &mut rng, &d)
                .unwrap_err()
                .to_string()
                .contains("7x8")
        );
    }

    #[test]
    fn pixel_noise_zero_is_identity() {
        let d = Device::flex();
        let x = upload(vec![0.25; 12], [1, 3, 2, 2], &d);
        let y = add_pixel_noise(x.clone(), 0.0, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert_eq!(host(&y), host(&x));
        assert!(add_pixel_noise(x, f64::NAN, &mut ChaCha8Rng::seed_from_u64(0)).is_err());
    }
}
