//! The closed forms equal the step-by-step definitions of the original code.
//!
//! Blur: `D(x, s)` computed as `A_s X A_sᵀ` with cached composed axis matrices equals `s`
//! successive depth-wise 2-D convolutions with explicit circular or reflect padding (a direct
//! f64 reference written from the definition, not from the operator's code), for every routine
//! and non-square images. Inpainting: `x ⊙ Π m_i` equals `s` successive mask products.
//! Desaturation: the cached `C × C` product equals `s` successive 1×1 convolutions.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use cold_degrade::schedule::{Padding, blur_steps, fade_mask, gaussian_kernel_1d};
use cold_degrade::{
    BlurConfig, BlurRoutine, DecolorConfig, DecolorRoutine, DegradationConfig, Draw, FadeRoutine,
    InpaintConfig,
};
use common::{assert_close, host};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(n: usize, c: usize, h: usize, w: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * c * h * w)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect()
}

fn tensor(x: &[f64], dims: [usize; 4]) -> Tensor<4> {
    let v: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(v, dims), &Device::flex())
}

/// Pad one plane with `p` pixels on every side, the way `F.pad(mode='circular'/'reflect')`
/// does (reflect: `d c b | a b c d | c b a`, needs `p < side`; circular wraps modulo the side,
/// also for `p > side`, which PyTorch refuses but which is the same periodic operator).
fn pad(plane: &[f64], h: usize, w: usize, p: usize, mode: Padding) -> (Vec<f64>, usize, usize) {
    let src = |i: isize, n: usize| -> usize {
        let n = n as isize;
        match mode {
            Padding::Circular => i.rem_euclid(n) as usize,
            Padding::Reflect => {
                assert!(i > -n && i < 2 * n - 1, "reflect pad larger than the image");
                (if i < 0 {
                    -i
                } else if i >= n {
                    2 * (n - 1) - i
                } else {
                    i
                }) as usize
            }
        }
    };
    let (ph, pw) = (h + 2 * p, w + 2 * p);
    let mut out = vec![0.0; ph * pw];
    for y in 0..ph {
        for x in 0..pw {
            let sy = src(y as isize - p as isize, h);
            let sx = src(x as isize - p as isize, w);
            out[y * pw + x] = plane[sy * w + sx];
        }
    }
    (out, ph, pw)
}

/// One depth-wise convolution with the 2-D kernel `g ⊗ g` (as `nn.Conv2d(groups=C)` with
/// `padding=(k−1)/2` and the padding mode), on every plane.
fn conv_step(x: &[f64], h: usize, w: usize, g: &[f64], mode: Padding) -> Vec<f64> {
    let k = g.len();
    let p = k / 2;
    let mut out = Vec::with_capacity(x.len());
    for plane in x.chunks_exact(h * w) {
        let (padded, _, pw) = pad(plane, h, w, p, mode);
        for y in 0..h {
            for xx in 0..w {
                let mut acc = 0.0;
                for (i, gi) in g.iter().enumerate() {
                    for (j, gj) in g.iter().enumerate() {
                        acc += gi * gj * padded[(y + i) * pw + xx + j];
                    }
                }
                out.push(acc);
            }
        }
    }
    out
}

fn blur_cfg(routine: BlurRoutine, t: usize, k: usize, std: f64) -> BlurConfig {
    BlurConfig {
        time_steps: t,
        blur_size: k,
        blur_std: std,
        blur_routine: routine,
        ..BlurConfig::default()
    }
}

#[test]
fn blur_closed_form_equals_successive_convolutions_for_both_paddings() {
    let cases = [
        (blur_cfg(BlurRoutine::Constant, 6, 5, 1.3), 12, 16),
        (blur_cfg(BlurRoutine::Incremental, 5, 7, 0.6), 16, 10),
        (blur_cfg(BlurRoutine::ConstantReflect, 6, 5, 1.3), 12, 16),
        (blur_cfg(BlurRoutine::Exponential, 7, 9, 0.2), 14, 14),
        (blur_cfg(BlurRoutine::ExponentialReflect, 7, 9, 0.2), 10, 18),
        (blur_cfg(BlurRoutine::Special6, 12, 3, 0.1), 12, 13),
        // kernels up to 15 wide on a 6-pixel side: circular padding wraps more than once
        (
            blur_cfg(BlurRoutine::IndividualIncremental, 8, 3, 0.1),
            6,
            12,
        ),
    ];
    for (cfg, h, w) in cases {
        let what = format!("{} {h}×{w}", cfg.blur_routine.as_str());
        let t = cfg.time_steps;
        let op = DegradationConfig::Blur(cfg.clone()).build().unwrap();
        let (n, c) = (2, 2);
        let x = random(n, c, h, w, 3);
        let x0 = tensor(&x, [n, c, h, w]);
        let mut reference = x.clone();
        for (s, step) in blur_steps(&cfg).iter().enumerate() {
            let g = gaussian_kernel_1d(step.size, step.sigma);
            reference = conv_step(&reference, h, w, &g, step.padding);
            let got = host(op.degrade_at(x0.clone(), s + 1, &Draw::empty(n)).unwrap());
            let want: Vec<f32> = reference.iter().map(|&v| v as f32).collect();
            assert_close(&format!("{what} level {}", s + 1), &got, &want, 2e-6);
        }
        assert_eq!(t, op.steps());
    }
}

#[test]
fn blur_levels_can_differ_per_item_and_in_any_order() {
    let cfg = blur_cfg(BlurRoutine::ConstantReflect, 9, 5, 1.0);
    let op = DegradationConfig::Blur(cfg).build().unwrap();
    let x = random(3, 1, 10, 10, 9);
    let x0 = tensor(&x, [3, 1, 10, 10]);
    // ask for the highest level first (cold cache), then lower ones
    let mixed = host(op.degrade(x0.clone(), &[9, 0, 4], &Draw::empty(3)).unwrap());
    for (i, s) in [9, 0, 4].into_iter().enumerate() {
        let xi = x0.clone().narrow(0, i, 1);
        let alone = host(op.degrade_at(xi, s, &Draw::empty(1)).unwrap());
        assert_close(
            &format!("item {i}"),
            &mixed[i * 100..(i + 1) * 100],
            &alone,
            0.0,
        );
    }
}

#[test]
fn inpaint_closed_form_equals_successive_masks() {
    for routine in [FadeRoutine::Incremental, FadeRoutine::Constant] {
        let cfg = InpaintConfig {
            time_steps: 8,
            kernel_std: 1.5,
            initial_mask: 1,
            fade_routine: routine,
            ..InpaintConfig::default()
        };
        let op = DegradationConfig::Inpaint(cfg.clone()).build().unwrap();
        let (h, w) = (12, 16);
        let x = random(1, 3, h, w, 4);
        let x0 = tensor(&x, [1, 3, h, w]);
        let mut reference = x.clone();
        for s in 1..=8 {
            let sigma = if routine == FadeRoutine::Constant {
                1.5
            } else {
                1.5 * s as f64
            };
            // the original's mask: (1 − G/max G)[1:, 1:] of an (S+1)-point torchgeometry Gaussian
            let g_h = gaussian_kernel_1d(h + 1, sigma);
            let g_w = gaussian_kernel_1d(w + 1, sigma);
            let max =
                g_h.iter().cloned().fold(0.0, f64::max) * g_w.iter().cloned().fold(0.0, f64::max);
            let m: Vec<f64> = (1..=h)
                .flat_map(|r| (1..=w).map(move |c| (r, c)))
                .map(|(r, c)| 1.0 - g_h[r] * g_w[c] / max)
                .collect();
            assert_close(
                "fade_mask",
                &fade_mask(h + 1, w + 1, sigma)
                    .iter()
                    .map(|&v| v as f32)
                    .collect::<Vec<_>>(),
                &m.iter().map(|&v| v as f32).collect::<Vec<_>>(),
                1e-7,
            );
            for (i, v) in reference.iter_mut().enumerate() {
                *v *= m[i % (h * w)];
            }
            let got = host(op.degrade_at(x0.clone(), s, &Draw::empty(1)).unwrap());
            let want: Vec<f32> = reference.iter().map(|&v| v as f32).collect();
            assert_close(
                &format!("{} level {s}", routine.as_str()),
                &got,
                &want,
                1e-6,
            );
        }
    }
}

#[test]
fn decolor_closed_form_equals_successive_channel_mixing() {
    let cfg = DecolorConfig {
        time_steps: 7,
        decolor_routine: DecolorRoutine::Linear,
        decolor_total_remove: false,
        ..DecolorConfig::default()
    };
    let op = DegradationConfig::Decolor(cfg.clone()).build().unwrap();
    let (c, hw) = (3, 20);
    let x = random(1, c, 4, 5, 6);
    let x0 = tensor(&x, [1, c, 4, 5]);
    let mut reference = x.clone();
    for (i, f) in cold_degrade::schedule::decolor_factors(&cfg)
        .into_iter()
        .enumerate()
    {
        let mut next = vec![0.0; reference.len()];
        for p in 0..hw {
            let mean: f64 = (0..c).map(|k| reference[k * hw + p]).sum::<f64>() / c as f64;
            for k in 0..c {
                next[k * hw + p] = f * reference[k * hw + p] + (1.0 - f) * mean;
            }
        }
        reference = next;
        let got = host(op.degrade_at(x0.clone(), i + 1, &Draw::empty(1)).unwrap());
        let want: Vec<f32> = reference.iter().map(|&v| v as f32).collect();
        assert_close(&format!("decolor level {}", i + 1), &got, &want, 1e-6);
    }
}
