//! Sinusoidal time-step embedding shared by both networks.

use burn::tensor::{Int, Tensor, TensorData};

/// The sinusoidal embedding of integer time indices, as both original networks compute it
/// (`SinusoidalPosEmb` of the ConvNeXt U-Net and `get_timestep_embedding` of the DDPM model):
/// with `half = dim / 2` and `f_k = exp(-k * ln(10000) / (half - 1))` for `k < half`, the
/// embedding is `[sin(t f_0), .., sin(t f_{half-1}), cos(t f_0), .., cos(t f_{half-1})]`,
/// zero-padded by one column when `dim` is odd.
///
/// The frequencies follow the original float32 operation order: `k` and the step
/// `-ln(10000)/(half-1)` are rounded to f32, multiplied in f32, then exponentiated in f32.
///
/// # Shapes
/// - `t`: `[batch]` (zero-based step index `s - 1`)
/// - output: `[batch, dim]`
///
/// # Panics
/// If `dim < 4` (the original divides by `half - 1`); configurations reject this earlier.
pub fn sinusoidal_embedding(t: Tensor<1, Int>, dim: usize) -> Tensor<2> {
    assert!(dim >= 4, "sinusoidal embedding needs dim >= 4, got {dim}");
    let half = dim / 2;
    let step = (-(10000f64.ln()) / (half as f64 - 1.0)) as f32;
    let freqs: Vec<f32> = (0..half).map(|k| (k as f32 * step).exp()).collect();
    let device = t.device();
    let [batch] = t.dims();
    let freqs = Tensor::<2>::from_data(TensorData::new(freqs, [1, half]), &device);
    let arg = t.float().reshape([batch, 1]) * freqs;
    let mut parts = vec![arg.clone().sin(), arg.cos()];
    if dim % 2 == 1 {
        parts.push(Tensor::zeros([batch, 1], &device));
    }
    Tensor::cat(parts, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn matches_the_closed_form() {
        let device = Device::flex();
        let steps = [0i64, 1, 5, 199];
        for dim in [16usize, 9] {
            let t = Tensor::<1, Int>::from_data(TensorData::new(steps.to_vec(), [4]), &device);
            let emb = sinusoidal_embedding(t, dim);
            assert_eq!(emb.dims(), [4, dim]);
            let got = emb.into_data().try_into_vec::<f32>().unwrap();
            let half = dim / 2;
            for (i, &s) in steps.iter().enumerate() {
                for k in 0..dim {
                    let expected = if k < 2 * half {
                        let f = (-((k % half) as f64) * 10000f64.ln() / (half as f64 - 1.0)).exp();
                        let a = s as f64 * f;
                        if k < half { a.sin() } else { a.cos() }
                    } else {
                        0.0 // zero padding of an odd width
                    };
                    // The argument t * f is float32 as in the original: error <= t * 2^-23.
                    let tol = 1e-6 + s as f64 * 2e-7;
                    let v = got[i * dim + k] as f64;
                    assert!(
                        (v - expected).abs() <= tol,
                        "t={s} k={k}: {v} vs {expected}"
                    );
                }
            }
        }
    }
}
