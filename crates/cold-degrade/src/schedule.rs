//! Per-step parameters of the operators, computed on the host (pure functions, unit tested
//! against closed forms and the original's values).

use crate::config::{BlurConfig, BlurRoutine, DecolorConfig, DecolorRoutine};

/// Padding of a blur step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Periodic (`padding_mode = 'circular'`).
    Circular,
    /// Mirror without repeating the edge (`padding_mode = 'reflect'`: `d c b | a b c d | c b a`).
    Reflect,
}

impl Padding {
    /// Map a (possibly out-of-range) index onto `0..n` with this padding. Reflect folds
    /// repeatedly (period `2n − 2`), which is what the reflect extension means for any offset;
    /// PyTorch itself only accepts pads smaller than `n`, where the two agree.
    pub fn map(self, i: isize, n: usize) -> usize {
        let n_i = n as isize;
        match self {
            Padding::Circular => i.rem_euclid(n_i) as usize,
            Padding::Reflect => {
                if n == 1 {
                    return 0;
                }
                let period = 2 * n_i - 2;
                let j = i.rem_euclid(period);
                (if j < n_i { j } else { period - j }) as usize
            }
        }
    }
}

/// One step of a blur schedule: kernel size `k` (odd), σ, padding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlurStep {
    /// Kernel size (odd); the padding is `(k − 1) / 2` on each side.
    pub size: usize,
    /// Standard deviation in pixels.
    pub sigma: f64,
    /// Padding mode.
    pub padding: Padding,
}

/// The per-step kernels of a blur config, step `i = 0..T` (the original's `get_kernels`).
pub fn blur_steps(cfg: &BlurConfig) -> Vec<BlurStep> {
    (0..cfg.time_steps)
        .map(|i| {
            let fi = i as f64;
            let (size, sigma, padding) = match cfg.blur_routine {
                BlurRoutine::Incremental => {
                    (cfg.blur_size, cfg.blur_std * (fi + 1.0), Padding::Circular)
                }
                BlurRoutine::Constant => (cfg.blur_size, cfg.blur_std, Padding::Circular),
                BlurRoutine::ConstantReflect => (cfg.blur_size, cfg.blur_std, Padding::Reflect),
                BlurRoutine::Exponential => {
                    (cfg.blur_size, (cfg.blur_std * fi).exp(), Padding::Circular)
                }
                BlurRoutine::ExponentialReflect => {
                    (cfg.blur_size, (cfg.blur_std * fi).exp(), Padding::Reflect)
                }
                BlurRoutine::Special6 => (11, fi / 100.0 + 0.35, Padding::Reflect),
                BlurRoutine::IndividualIncremental => {
                    let k = 2 * i + 1;
                    (k, 2.0 * k as f64, Padding::Circular)
                }
            };
            BlurStep {
                size,
                sigma,
                padding,
            }
        })
        .collect()
}

/// The normalised 1-D Gaussian of torchgeometry's `get_gaussian_kernel(k, σ)`, in f64:
/// `g[i] ∝ exp(−(i − ⌊k/2⌋)² / (2σ²))`, summing to 1 (for an even `k` the positions are
/// shifted by ½, as torchgeometry's `gaussian` does).
pub fn gaussian_kernel_1d(size: usize, sigma: f64) -> Vec<f64> {
    let g: Vec<f64> = (0..size)
        .map(|i| {
            let x = grid_coordinate(i, size);
            (-(x * x) / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let sum: f64 = g.iter().sum();
    g.into_iter().map(|v| v / sum).collect()
}

/// Coordinate of index `i` on a Gaussian grid of `size` points, centred as torchgeometry does.
pub(crate) fn grid_coordinate(i: usize, size: usize) -> f64 {
    let x = i as f64 - (size / 2) as f64;
    if size.is_multiple_of(2) { x + 0.5 } else { x }
}

/// σ_i of the inpainting masks, `i = 0..T`: `kernel_std·(i + initial_mask)`, or `kernel_std`
/// for the `Constant` routine.
pub fn mask_sigmas(
    time_steps: usize,
    kernel_std: f64,
    initial_mask: usize,
    constant: bool,
) -> Vec<f64> {
    (0..time_steps)
        .map(|i| {
            if constant {
                kernel_std
            } else {
                kernel_std * (i + initial_mask) as f64
            }
        })
        .collect()
}

/// The original's Gaussian fade mask `m = (1 − G/max G)[1:, 1:]` of a `grid_h × grid_w`
/// torchgeometry kernel of std σ, as a row-major `(grid_h − 1) × (grid_w − 1)` array.
///
/// Because the max-normalised separable Gaussian is `exp(−(x² − x²_min + y² − y²_min)/(2σ²))`,
/// this is computed in closed form in f64.
pub fn fade_mask(grid_h: usize, grid_w: usize, sigma: f64) -> Vec<f64> {
    let min_sq = |size: usize| if size.is_multiple_of(2) { 0.25 } else { 0.0 };
    let (mh, mw) = (min_sq(grid_h), min_sq(grid_w));
    let inv = 1.0 / (2.0 * sigma * sigma);
    let ys: Vec<f64> = (1..grid_h)
        .map(|r| {
            let y = grid_coordinate(r, grid_h);
            y * y - mh
        })
        .collect();
    let xs: Vec<f64> = (1..grid_w)
        .map(|c| {
            let x = grid_coordinate(c, grid_w);
            x * x - mw
        })
        .collect();
    let mut out = Vec::with_capacity(ys.len() * xs.len());
    for &y2 in &ys {
        for &x2 in &xs {
            out.push(1.0 - (-(y2 + x2) * inv).exp());
        }
    }
    out
}

/// `alphas_cumprod` of the cosine schedule (Nichol & Dhariwal, s = 0.008, β clipped to 0.999)
/// computed in float32 with the original's operation order (`torch.linspace` in the default
/// dtype, then `cos(((x/steps) + s)/(1 + s)·π·0.5)²`, normalised, β = 1 − ratio, clipped,
/// `cumprod(1 − β)`); index `t = 0..T` (level `s` uses `t = s − 1`).
pub fn cosine_alphas_cumprod_f32(time_steps: usize) -> Vec<f32> {
    let steps = time_steps + 1;
    // torch.linspace(0, steps, steps) in float32: start + i·step below the halfway point,
    // end − (steps − 1 − i)·step above it.
    let step = if steps > 1 {
        steps as f32 / (steps - 1) as f32
    } else {
        0.0
    };
    let halfway = steps / 2;
    let x: Vec<f32> = (0..steps)
        .map(|i| {
            if i < halfway {
                i as f32 * step
            } else {
                steps as f32 - step * (steps - 1 - i) as f32
            }
        })
        .collect();
    let s = 0.008f32;
    let one_plus_s = (1.0f64 + 0.008) as f32;
    let pi = std::f64::consts::PI as f32;
    let acp: Vec<f32> = x
        .iter()
        .map(|&xi| {
            let c = ((((xi / steps as f32) + s) / one_plus_s) * pi * 0.5).cos();
            c * c
        })
        .collect();
    let first = acp[0];
    let acp: Vec<f32> = acp.iter().map(|&a| a / first).collect();
    let mut out = Vec::with_capacity(time_steps);
    let mut prod = 1.0f32;
    for t in 0..time_steps {
        let beta = (1.0 - acp[t + 1] / acp[t]).clamp(0.0, 0.999);
        let alpha = 1.0 - beta;
        prod = if t == 0 { alpha } else { prod * alpha };
        out.push(prod);
    }
    out
}

/// `alphas_cumprod` of DDPM's linear β schedule scaled to `T` steps (β from `1e-4·1000/T` to
/// `0.02·1000/T`, as in later versions of the `denoising-diffusion-pytorch` code the original
/// forked), in f64; index `t = 0..T`.
pub fn linear_alphas_cumprod(time_steps: usize) -> Vec<f64> {
    let scale = 1000.0 / time_steps as f64;
    let (b0, b1) = (scale * 1e-4, scale * 0.02);
    let mut prod = 1.0;
    (0..time_steps)
        .map(|t| {
            let beta = if time_steps == 1 {
                b0
            } else {
                b0 + (b1 - b0) * t as f64 / (time_steps - 1) as f64
            };
            prod *= 1.0 - beta;
            prod
        })
        .collect()
}

/// The per-step chroma factors `f_i` of desaturation (`W_i = f_i·I + (1 − f_i)/C·11ᵀ`),
/// `i = 0..T` (the original's `DeColorization.get_kernels`).
pub fn decolor_factors(cfg: &DecolorConfig) -> Vec<f64> {
    let t = cfg.time_steps;
    let mut start = 1.0f64;
    let diff = 1.0 / t as f64;
    (0..t)
        .map(|i| {
            if i + 1 == t && cfg.decolor_total_remove {
                return 0.0;
            }
            match cfg.decolor_routine {
                DecolorRoutine::Constant => cfg.decolor_ema_factor,
                DecolorRoutine::Linear => {
                    let f = 1.0 - diff / start;
                    start *= f;
                    f
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_kernel_is_normalised_and_symmetric() {
        let g = gaussian_kernel_1d(11, 7.0);
        assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        for i in 0..11 {
            assert!((g[i] - g[10 - i]).abs() < 1e-17);
        }
        // ratio of neighbours is the closed form exp(-(2x+1)/(2σ²))
        let r = g[6] / g[5];
        assert!((r - (-1.0f64 / 98.0).exp()).abs() < 1e-15);
    }

    #[test]
    fn special6_sigmas_follow_i_over_100_plus_035() {
        let cfg = BlurConfig {
            time_steps: 50,
            blur_routine: BlurRoutine::Special6,
            ..BlurConfig::default()
        };
        let steps = blur_steps(&cfg);
        assert_eq!(steps.len(), 50);
        for (i, s) in steps.iter().enumerate() {
            assert_eq!(s.size, 11);
            assert_eq!(s.padding, Padding::Reflect);
            assert!((s.sigma - (0.35 + i as f64 * 0.01)).abs() < 1e-12);
        }
        assert!((steps[49].sigma - 0.84).abs() < 1e-12);
    }

    #[test]
    fn exponential_and_individual_incremental_sigmas() {
        let cfg = BlurConfig {
            time_steps: 300,
            blur_size: 27,
            blur_std: 0.01,
            blur_routine: BlurRoutine::Exponential,
            ..BlurConfig::default()
        };
        let s = blur_steps(&cfg);
        assert_eq!(s[0].sigma, 1.0);
        assert!((s[299].sigma - 2.99f64.exp()).abs() < 1e-12);
        let cfg = BlurConfig {
            time_steps: 4,
            blur_routine: BlurRoutine::IndividualIncremental,
            ..BlurConfig::default()
        };
        let s = blur_steps(&cfg);
        assert_eq!(
            s.iter().map(|s| (s.size, s.sigma)).collect::<Vec<_>>(),
            vec![(1, 2.0), (3, 6.0), (5, 10.0), (7, 14.0)]
        );
    }

    #[test]
    fn reflect_and_circular_index_maps() {
        let r: Vec<usize> = (-3..7).map(|i| Padding::Reflect.map(i, 4)).collect();
        assert_eq!(r, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        let c: Vec<usize> = (-3..7).map(|i| Padding::Circular.map(i, 4)).collect();
        assert_eq!(c, vec![1, 2, 3, 0, 1, 2, 3, 0, 1, 2]);
    }

    #[test]
    fn linear_decolor_leaves_chroma_one_minus_s_over_t() {
        for total_remove in [false, true] {
            let cfg = DecolorConfig {
                time_steps: 20,
                decolor_routine: DecolorRoutine::Linear,
                decolor_total_remove: total_remove,
                ..DecolorConfig::default()
            };
            let f = decolor_factors(&cfg);
            let mut chroma = 1.0;
            for (i, fi) in f.iter().enumerate() {
                chroma *= fi;
                let expected = 1.0 - (i + 1) as f64 / 20.0;
                assert!((chroma - expected).abs() < 1e-12, "s={} {chroma}", i + 1);
            }
        }
    }

    #[test]
    fn constant_decolor_is_power_of_the_factor() {
        let cfg = DecolorConfig {
            time_steps: 5,
            decolor_ema_factor: 0.9,
            decolor_total_remove: true,
            ..DecolorConfig::default()
        };
        assert_eq!(decolor_factors(&cfg), vec![0.9, 0.9, 0.9, 0.9, 0.0]);
    }

    #[test]
    fn cosine_schedule_matches_the_closed_form() {
        // float64 closed form: torch.linspace(0, T+1, T+1) puts point i at i·(T+1)/T, so
        // x/steps = i/T and abar_t = Π_{j≤t} (1 − clip(1 − f(j+1)/f(j))) with
        // f(i) = cos((i/T + s)/(1+s)·π/2)².
        let t_max = 200;
        let f32s = cosine_alphas_cumprod_f32(t_max);
        let f = |x: f64| {
            let c = ((x / t_max as f64 + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2).cos();
            c * c
        };
        let mut prod = 1.0f64;
        for (t, &got) in f32s.iter().enumerate() {
            let beta = (1.0 - f(t as f64 + 1.0) / f(t as f64)).clamp(0.0, 0.999);
            prod *= 1.0 - beta;
            assert!((got as f64 - prod).abs() < 2e-6, "t={t}: {got} vs {prod}");
        }
        assert!(f32s.windows(2).all(|w| w[1] <= w[0]));
    }

    #[test]
    fn linear_schedule_is_ddpm_at_t_1000() {
        let a = linear_alphas_cumprod(1000);
        assert!((a[0] - (1.0 - 1e-4)).abs() < 1e-15);
        let expected_last: f64 = (0..1000)
            .map(|t| 1.0 - (1e-4 + (0.02 - 1e-4) * t as f64 / 999.0))
            .product();
        assert!((a[999] - expected_last).abs() < 1e-15);
    }

    #[test]
    fn fade_mask_is_zero_at_the_centre_and_radial() {
        // (S+1) grid, S = 8: centre at pixel (S/2 - 1, S/2 - 1) after dropping row/col 0.
        let m = fade_mask(9, 9, 1.5);
        assert_eq!(m.len(), 64);
        assert_eq!(m[3 * 8 + 3], 0.0);
        let at = |r: usize, c: usize| m[r * 8 + c];
        let r2 = 2.0f64 * 2.0 + 1.0; // (5,4) is dy=2, dx=1 from (3,3)
        assert!((at(5, 4) - (1.0 - (-r2 / (2.0 * 2.25)).exp())).abs() < 1e-15);
        assert!((at(5, 4) - at(4, 5)).abs() < 1e-15);
    }
}
