//! Reading and building f32 Burn Flex tensors for this crate's own kernels.

use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::ops::{Backward, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, DispatchAutodiffContext, Flex};
use burn::tensor::{DType, GradientCheckpointingStrategy, Tensor, TensorData};

/// Burn Flex under autodiff: the backend this crate's own backward steps register on.
pub(crate) type AutodiffFlex = Autodiff<Flex>;

/// One tensor as a Flex primitive, when this crate's kernels can take it: f32, without
/// autodiff or under autodiff without gradient checkpointing.
pub(crate) enum Operand {
    /// Without autodiff.
    Plain(FlexTensor),
    /// Under autodiff without gradient checkpointing.
    Tracked(FloatTensor<AutodiffFlex>),
}

/// `x` as an [`Operand`]; `None` for other backends, other dtypes or checkpointed autodiff.
pub(crate) fn operand<const D: usize>(x: &Tensor<D>) -> Option<Operand> {
    let plain_autodiff = DispatchAutodiffContext::Enabled(GradientCheckpointingStrategy::Disabled);
    let is_f32 = |t: &FlexTensor| t.dtype() == DType::F32;
    match x.clone().into_dispatch().autodiff {
        DispatchAutodiffContext::Disabled => {
            let x = x.clone().try_into_primitive::<Flex>().ok()?;
            is_f32(&x).then_some(Operand::Plain(x))
        }
        context if context == plain_autodiff => {
            let x = x.clone().try_into_primitive::<AutodiffFlex>().ok()?;
            is_f32(x.primitive()).then_some(Operand::Tracked(x))
        }
        _ => None,
    }
}

/// The input and weight of a convolution as Flex primitives, when this crate's kernels can
/// take them: both [`Operand`]s, both without autodiff or both under autodiff.
pub(crate) enum Operands {
    /// Both without autodiff.
    Plain(FlexTensor, FlexTensor),
    /// Both under autodiff without gradient checkpointing.
    Tracked(FloatTensor<AutodiffFlex>, FloatTensor<AutodiffFlex>),
}

/// `x` and `weight` as [`Operands`]; `None` for other backends, other dtypes, mixed or
/// checkpointed autodiff.
pub(crate) fn operands(x: &Tensor<4>, weight: &Tensor<4>) -> Option<Operands> {
    match (operand(x)?, operand(weight)?) {
        (Operand::Plain(x), Operand::Plain(weight)) => Some(Operands::Plain(x, weight)),
        (Operand::Tracked(x), Operand::Tracked(weight)) => Some(Operands::Tracked(x, weight)),
        _ => None,
    }
}

/// A contiguous view of a Flex tensor's f32 values in row-major order.
pub(crate) struct F32Values(FlexTensor);

impl AsRef<[f32]> for F32Values {
    fn as_ref(&self) -> &[f32] {
        let layout = self.0.layout();
        &self.0.storage::<f32>()[layout.start_offset()..][..layout.num_elements()]
    }
}

/// The values of `tensor` (f32; the caller checked the dtype), without a copy when the tensor
/// is already contiguous.
pub(crate) fn f32_values(tensor: &FlexTensor) -> F32Values {
    F32Values(tensor.to_contiguous())
}

/// A Flex tensor of `shape` holding `values` (row-major).
pub(crate) fn from_f32<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// `forward(x, weight)` as one autodiff step whose backward is `op`: when a gradient is needed,
/// the step keeps `(x, weight, extra)` as `op`'s state.
pub(crate) fn autodiff_step<Op, Extra>(
    op: Op,
    x: FloatTensor<AutodiffFlex>,
    weight: FloatTensor<AutodiffFlex>,
    extra: Extra,
    forward: impl Fn(&FlexTensor, &FlexTensor) -> FlexTensor,
) -> Tensor<4>
where
    Op: Backward<Flex, 2, State = (FlexTensor, FlexTensor, Extra)>,
    Extra: Clone + Send + std::fmt::Debug + 'static,
{
    let (x, x_node) = x.into_parts();
    let (weight, weight_node) = weight.into_parts();
    let output = match op
        .prepare::<NoCheckpointing>([x_node, weight_node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let y = forward(&x, &weight);
            prep.finish((x, weight, extra), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(&x, &weight)),
    };
    Tensor::from_primitive::<AutodiffFlex>(output)
}
