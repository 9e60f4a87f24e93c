//! The restoration network seen by the samplers.
//!
//! `cold-sample` does not depend on the network crate: a sampler only needs something that maps
//! a degraded batch and its time indices to a prediction of the clean images. The U-Net plugs in
//! as a closure (`|x, t| unet.forward(x, t_tensor(t))`), tests plug in an oracle that returns the
//! true `x0`, a toy restorer, or any hand-written map.

use burn::tensor::Tensor;

/// A restoration operator `R(x_s, t) ≈ x0` (the paper's network, or any stand-in).
///
/// `t` holds one zero-based time index per batch item, `t[i] = s_i − 1` for an input degraded
/// to level `s_i` (the original code's convention, so original checkpoints work unchanged).
///
/// # Shapes
/// - `x_s`: `[N, C, H, W]`, images in the library's `[-1, 1]` convention
/// - `t`: `N` indices in `0..T`
/// - returns `[N, C, H, W]`: the predicted `x0`
///
/// The samplers always pass the whole batch (row `i` is item `i` of the batch given to the
/// sampler), so a restorer may rely on row order, as an oracle does.
pub trait Restorer {
    /// Predicts the clean images from `x_s` degraded to levels `t[i] + 1`.
    fn restore(&self, x_s: Tensor<4>, t: &[usize]) -> Tensor<4>;
}

impl<F> Restorer for F
where
    F: Fn(Tensor<4>, &[usize]) -> Tensor<4>,
{
    fn restore(&self, x_s: Tensor<4>, t: &[usize]) -> Tensor<4> {
        self(x_s, t)
    }
}

/// The oracle restorer: always returns the given clean batch, whatever it is asked.
///
/// With an oracle, Algorithm 2 must return `x0` exactly from any start level: the update
/// `x_s − D(x0, s) + D(x0, s−1)` telescopes to `D(x0, 0) = x0` (paper §3.3). This is the
/// reference the crate's tests use, and a useful check for a new degradation operator.
#[derive(Debug, Clone)]
pub struct Oracle {
    x0: Tensor<4>,
}

impl Oracle {
    /// An oracle for the clean batch `x0` (`[N, C, H, W]`).
    pub fn new(x0: Tensor<4>) -> Self {
        Self { x0 }
    }
}

impl Restorer for Oracle {
    fn restore(&self, x_s: Tensor<4>, t: &[usize]) -> Tensor<4> {
        assert_eq!(
            x_s.dims(),
            self.x0.dims(),
            "Oracle restorer: input shape differs from the oracle's x0 shape"
        );
        assert_eq!(
            t.len(),
            self.x0.dims()[0],
            "Oracle restorer: {} time indices for a batch of {}",
            t.len(),
            self.x0.dims()[0]
        );
        self.x0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn closures_and_the_oracle_are_restorers() {
        let device = Device::flex();
        let x0 = Tensor::<4>::ones([2, 1, 2, 2], &device);
        let noisy = x0.clone() * 3.0;
        let oracle = Oracle::new(x0.clone());
        let halve = |x: Tensor<4>, t: &[usize]| {
            assert_eq!(t, &[4, 4]);
            x / 2.0
        };
        fn run(r: &dyn Restorer, x: Tensor<4>) -> Tensor<4> {
            r.restore(x, &[4, 4])
        }
        let a: Vec<f32> = run(&oracle, noisy.clone())
            .into_data()
            .try_into_vec()
            .unwrap();
        let b: Vec<f32> = run(&halve, noisy).into_data().try_into_vec().unwrap();
        assert!(a.iter().all(|v| *v == 1.0));
        assert!(b.iter().all(|v| *v == 1.5));
    }
}
