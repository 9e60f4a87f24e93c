//! Generation from the priors: blur generation's symmetry (constant images stay constant under
//! a spatially equivariant pipeline; pixel noise breaks it), and the other priors' starts being
//! the operators' fully degraded images.

use burn::tensor::{Device, Tensor, TensorData};
use cold_degrade::{Degradation, DegradationConfig, ImageShape};
use cold_sample::prior::{self, ChannelMeanPrior, GenerationStart};
use cold_sample::{GmmConfig, Method, Sampler};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SIZE: usize = 32;

fn shrink(mut config: DegradationConfig) -> Box<dyn Degradation> {
    match &mut config {
        DegradationConfig::Blur(c) => c.image_size = Some(SIZE),
        DegradationConfig::InpaintGeneration(c) => c.image_size = Some(SIZE),
        DegradationConfig::Animorph(c) => c.image_size = Some(SIZE),
        DegradationConfig::Noise(c) => c.image_size = Some(SIZE),
        other => panic!("unexpected config {other:?}"),
    }
    config.build().unwrap()
}

fn host(x: &Tensor<4>) -> Vec<f32> {
    x.to_data().try_into_vec::<f32>().unwrap()
}

/// Circular shift by one pixel along `dim` (2 = rows, 3 = columns).
fn roll(x: Tensor<4>, dim: usize) -> Tensor<4> {
    let len = x.dims()[dim];
    Tensor::cat(
        vec![x.clone().narrow(dim, 1, len - 1), x.narrow(dim, 0, 1)],
        dim,
    )
}

/// A synthetic restorer that commutes with circular translations: an unsharp mask against the
/// four-neighbour mean, plus a small level-dependent brightening. It maps constant images to
/// constant images, as any translation-equivariant network with circular padding would.
fn unsharp(x: Tensor<4>, t: &[usize]) -> Tensor<4> {
    let dims = x.dims();
    let (h, w) = (dims[2], dims[3]);
    let up = Tensor::cat(
        vec![x.clone().narrow(2, h - 1, 1), x.clone().narrow(2, 0, h - 1)],
        2,
    );
    let left = Tensor::cat(
        vec![x.clone().narrow(3, w - 1, 1), x.clone().narrow(3, 0, w - 1)],
        3,
    );
    let mean = (up + roll(x.clone(), 2) + left + roll(x.clone(), 3)) / 4.0;
    let per: usize = dims[1..].iter().product();
    let bias: Vec<f32> = t
        .iter()
        .flat_map(|&t| std::iter::repeat_n(1e-4 * t as f32, per))
        .collect();
    x.clone() + (x - mean) * 0.3 + Tensor::from_data(TensorData::new(bias, dims), &Device::flex())
}

/// Spread (max − min) of every image channel plane.
fn plane_spreads(x: &Tensor<4>) -> Vec<f32> {
    let [_, _, h, w] = x.dims();
    host(x)
        .chunks(h * w)
        .map(|p| {
            let (lo, hi) = p
                .iter()
                .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
            hi - lo
        })
        .collect()
}

/// A blur-generation prior fitted to the channel means of a synthetic, seeded image set.
fn fitted_prior(device: &Device) -> ChannelMeanPrior {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 64;
    let mut values = Vec::with_capacity(n * 3 * 64);
    for _ in 0..n {
        for _ in 0..3 {
            // A tinted image: channel value plus a little texture.
            let tint = rng.random::<f32>() - 0.5;
            values.extend((0..64).map(|_| tint + 0.1 * (rng.random::<f32>() - 0.5)));
        }
    }
    let images = Tensor::<4>::from_data(TensorData::new(values, [n, 3, 8, 8]), device);
    let means = prior::channel_means(&images);
    ChannelMeanPrior::fit(&means, 3, &GmmConfig::new(2).with_seed(1))
        .unwrap()
        .0
}

#[test]
fn blur_generation_without_noise_keeps_constant_images_and_noise_breaks_the_symmetry() {
    let device = Device::flex();
    let op = shrink(DegradationConfig::preset("blur-gen-celeba").unwrap());
    let sampler = Sampler::new(op.as_ref(), Method::Algorithm2);
    let prior = fitted_prior(&device);
    let restorer = |x: Tensor<4>, t: &[usize]| unsharp(x, t);

    // Perfect symmetry: every pixel of a plane stays identical through all 300 steps.
    let start = prior.sample(4, SIZE, SIZE, &mut ChaCha8Rng::seed_from_u64(3), &device);
    assert!(plane_spreads(&start.x).iter().all(|s| *s == 0.0));
    let out = sampler.generate(&restorer, start).unwrap();
    let spreads = plane_spreads(&out.x0);
    assert!(
        spreads.iter().all(|s| *s <= 1e-5),
        "planes should stay constant: {spreads:?}"
    );
    // ...and the pipeline did change them (the restorer brightens at every step).
    let v = host(&out.x0);
    let plane = SIZE * SIZE;
    for i in 0..4 {
        for j in 0..i {
            let d = (0..3)
                .map(|c| (v[(i * 3 + c) * plane] - v[(j * 3 + c) * plane]).abs())
                .fold(0.0, f32::max);
            assert!(d > 1e-3, "images {i} and {j} should have different colours");
        }
    }

    // Broken symmetry: noise 0.002 makes pixels and images differ, deterministically per seed.
    let noisy = prior.with_noise(0.002).unwrap();
    let run = |seed| {
        let start = noisy.sample(4, SIZE, SIZE, &mut ChaCha8Rng::seed_from_u64(seed), &device);
        sampler.generate(&restorer, start).unwrap().x0
    };
    let a = run(3);
    let spreads = plane_spreads(&a);
    assert!(
        spreads.iter().all(|s| *s > 1e-3),
        "noise should break the symmetry: {spreads:?}"
    );
    assert_eq!(host(&a), host(&run(3)), "same seed, same samples");
    assert_ne!(host(&a), host(&run(4)));
}

/// A restorer that always predicts the fixed batch `y`.
fn constant_prediction(y: Tensor<4>) -> impl Fn(Tensor<4>, &[usize]) -> Tensor<4> {
    move |_x, _t| y.clone()
}

#[test]
fn generation_starts_are_the_fully_degraded_images_of_their_operator() {
    let device = Device::flex();
    let shape = ImageShape::new(3, SIZE, SIZE);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let random = |rng: &mut ChaCha8Rng| {
        let v: Vec<f32> = (0..2 * 3 * SIZE * SIZE)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect();
        Tensor::<4>::from_data(TensorData::new(v, [2, 3, SIZE, SIZE]), &device)
    };
    let y = random(&mut rng);
    let cases: Vec<(&str, GenerationStart, f32)> = vec![
        // Reverse inpainting generation: x_T is exactly the colour (α_T = 0).
        (
            "inpaint-gen-celeba",
            prior::constant_colour(2, shape, &mut rng, &device),
            1e-6,
        ),
        // Noise and animorphosis: x_T = z, while D(y, T) = a_T·y + b_T·z with a_T ≈ 2.5e-4.
        (
            "noise-celeba",
            prior::gaussian(2, shape, &mut rng, &device),
            2e-3,
        ),
        (
            "animorph-celeba",
            prior::partner_images(random(&mut rng)),
            2e-3,
        ),
    ];
    for (name, start, tol) in cases {
        let op = shrink(DegradationConfig::preset(name).unwrap());
        let t = op.steps();
        let x_t = op.degrade_at(y.clone(), t, &start.draw).unwrap();
        let gap = (x_t - start.x.clone()).abs().max().into_scalar::<f32>();
        assert!(gap <= tol, "{name}: start differs from D(y, T) by {gap}");
        // Algorithm 2 with a restorer that predicts y telescopes to y (up to that gap).
        let out = Sampler::new(op.as_ref(), Method::Algorithm2)
            .generate(&constant_prediction(y.clone()), start)
            .unwrap();
        let err = (out.x0 - y.clone()).abs().max().into_scalar::<f32>();
        assert!(
            err <= tol + 1e-5,
            "{name}: generated {err} away from the predicted image"
        );
    }
}
