//! The exact GELU, `x · Φ(x)`, with fast kernels on Burn Flex.
//!
//! [`gelu`] computes what `burn::tensor::activation::gelu` computes (the exact, erf-based GELU
//! of PyTorch's `nn.GELU()`, which the original networks use). On f32 Burn Flex tensors it uses
//! this module's kernels for the value and, under autodiff, registers its own backward step;
//! on every other backend it is Burn's call.
//!
//! **Why.** Burn 0.22.1 Flex evaluates the GELU and its derivative one element at a time on one
//! thread, through libm's scalar `erff` (≈ 15.5 ns per element here) while the second core
//! idles; a forward pass of the `mnist-small-32` network (batch 32) has 11.5 M GELU inputs.
//! Measured with this module (docs/performance.md, "Quiet sitting 4"): per layer 3.1× faster
//! forward and forward + backward, whole training step −16 to −18 %. Here the activations are
//! split into chunks on rayon's pool and each chunk is evaluated in blocks of 8 values with a
//! vectorisable `Φ` (Numerical Recipes' `erfcc` and a polynomial `exp`, see `gelu_math`),
//! as accurate as `erff` (`|error| ≤ 1.2 · 10⁻⁷ · max(1, |x|)` against an f64 reference).

use burn::tensor::Tensor;

/// The exact GELU of every element, `x · Φ(x) = ½ x (1 + erf(x / √2))`: the same function as
/// `burn::tensor::activation::gelu`, computed by this module's kernels on f32 Burn Flex tensors
/// (see the [module documentation](self)).
///
/// # Shapes
/// - `x`: any
/// - output: same as `x`
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::gelu(&x) {
        return y;
    }
    burn::tensor::activation::gelu(x)
}

/// Whether [`gelu`] evaluates `x` (and, under autodiff, its gradient) with this module's
/// kernels: `x` is an f32 Burn Flex tensor, without autodiff or under autodiff without gradient
/// checkpointing.
pub fn uses_fast_gelu<const D: usize>(x: &Tensor<D>) -> bool {
    #[cfg(feature = "flex")]
    return crate::flex_data::operand(x).is_some();
    #[cfg(not(feature = "flex"))]
    {
        let _ = x;
        false
    }
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::backend::TensorMetadata;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::flex::FlexTensor;
    use burn::tensor::{Tensor, TensorData};
    use rayon::prelude::*;

    use crate::flex_data::{AutodiffFlex, Operand, f32_values, operand};
    use crate::gelu_math;

    /// Values per rayon task: large enough to amortise the task, small enough to split the
    /// smallest activations of the networks (`[32, 64, 8, 8]`, 131 072 values) over both cores.
    const CHUNK: usize = 16 * 1024;

    /// `gelu(x)` as a new Flex tensor of `x`'s shape.
    fn forward(x: &FlexTensor) -> FlexTensor {
        let values = f32_values(x);
        let values = values.as_ref();
        let mut out = vec![0.0f32; values.len()];
        out.par_chunks_mut(CHUNK)
            .zip(values.par_chunks(CHUNK))
            .for_each(|(o, x)| gelu_math::gelu_slice(x, o));
        FlexTensor::from_data(TensorData::new(out, x.shape()))
    }

    /// `dy · gelu'(x)` as a new Flex tensor of `x`'s shape.
    fn backward(x: &FlexTensor, dy: &FlexTensor) -> FlexTensor {
        let (values, grad) = (f32_values(x), f32_values(dy));
        let (values, grad) = (values.as_ref(), grad.as_ref());
        let mut out = vec![0.0f32; values.len()];
        out.par_chunks_mut(CHUNK)
            .zip(values.par_chunks(CHUNK).zip(grad.par_chunks(CHUNK)))
            .for_each(|(o, (x, dy))| gelu_math::gelu_backward_slice(x, dy, o));
        FlexTensor::from_data(TensorData::new(out, x.shape()))
    }

    /// `gelu(x)` by this module's kernels; `None` when `x` is not eligible (the caller uses
    /// Burn's `gelu`).
    pub(super) fn gelu<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
        Some(match operand(x)? {
            Operand::Plain(x) => Tensor::from_primitive::<Flex>(forward(&x)),
            Operand::Tracked(x) => {
                let (x, node) = x.into_parts();
                let y = match GeluBackward
                    .prepare::<NoCheckpointing>([node])
                    .compute_bound()
                    .stateful()
                {
                    OpsKind::Tracked(prep) => {
                        let y = forward(&x);
                        prep.finish(x, y)
                    }
                    OpsKind::UnTracked(prep) => prep.finish(forward(&x)),
                };
                Tensor::from_primitive::<AutodiffFlex>(y)
            }
        })
    }

    /// The backward step of [`gelu`]; state: the input.
    #[derive(Debug)]
    struct GeluBackward;

    impl Backward<Flex, 1> for GeluBackward {
        type State = FlexTensor;

        fn backward(
            self,
            ops: Ops<Self::State, 1>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [node] = ops.parents;
            let grad = grads.consume::<Flex>(&ops.node);
            if let Some(node) = node {
                grads.register::<Flex>(node.id, backward(&ops.state, &grad));
            }
        }
    }
}
