//! Helpers shared by the integration tests: fixture paths, golden tensors, comparisons.
#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::{Device, Int, Tensor, TensorData};
use safetensors::SafeTensors;

/// Path of a file in `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// One tensor of a safetensors file, as (shape, f32 values or i64 values).
pub enum Raw {
    F32(Vec<usize>, Vec<f32>),
    I64(Vec<usize>, Vec<i64>),
}

pub fn read_tensor(file: &str, key: &str) -> Raw {
    let bytes = std::fs::read(fixture(file)).expect("fixture readable");
    let st = SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let view = st
        .tensor(key)
        .unwrap_or_else(|e| panic!("{file}: {key}: {e}"));
    let shape = view.shape().to_vec();
    match view.dtype() {
        safetensors::Dtype::F32 => Raw::F32(
            shape,
            view.data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
        ),
        safetensors::Dtype::I64 => Raw::I64(
            shape,
            view.data()
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
                .collect(),
        ),
        other => panic!("{key}: unexpected dtype {other:?}"),
    }
}

/// `x`, `t` and `y` of one case of `networks_io.safetensors`.
pub struct Case {
    pub x: Tensor<4>,
    pub t: Tensor<1, Int>,
    pub y: Vec<f32>,
    pub y_shape: [usize; 4],
}

fn dims4(shape: &[usize]) -> [usize; 4] {
    shape.try_into().expect("4-d tensor")
}

pub fn golden_case(case: &str, device: &Device) -> Case {
    let Raw::F32(xs, x) = read_tensor("networks_io.safetensors", &format!("{case}.x")) else {
        panic!("x is f32")
    };
    let Raw::I64(ts, t) = read_tensor("networks_io.safetensors", &format!("{case}.t")) else {
        panic!("t is i64")
    };
    let Raw::F32(ys, y) = read_tensor("networks_io.safetensors", &format!("{case}.y")) else {
        panic!("y is f32")
    };
    Case {
        x: Tensor::from_data(TensorData::new(x, dims4(&xs)), device),
        t: Tensor::from_data(TensorData::new(t, [ts[0]]), device),
        y,
        y_shape: dims4(&ys),
    }
}

pub fn values(t: Tensor<4>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data")
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}
