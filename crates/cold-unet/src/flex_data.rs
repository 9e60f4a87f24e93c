//! Reading and building f32 Burn Flex tensors for this crate's own kernels.

use burn::backend::flex::FlexTensor;
use burn::tensor::TensorData;

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
