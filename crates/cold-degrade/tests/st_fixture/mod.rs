//! Reading the safetensors fixtures of the super-resolution and snow tests
//! (`tests/fixtures/{superres,snow}/`, see the README there).

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

/// One fixture file, read into memory.
pub struct Fixture {
    name: String,
    bytes: Vec<u8>,
    meta: HashMap<String, String>,
}

impl Fixture {
    /// `tests/fixtures/<rel>`.
    pub fn open(rel: &str) -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let (_, m) = SafeTensors::read_metadata(&bytes)
            .unwrap_or_else(|e| panic!("{}: not safetensors: {e}", path.display()));
        let meta = m.metadata().clone().unwrap_or_default();
        Self {
            name: rel.to_string(),
            bytes,
            meta,
        }
    }

    fn view(&self, name: &str, dtype: Dtype) -> (Vec<u8>, Vec<usize>) {
        let st = SafeTensors::deserialize(&self.bytes).unwrap();
        let t = st
            .tensor(name)
            .unwrap_or_else(|e| panic!("{}: no tensor `{name}`: {e}", self.name));
        assert_eq!(
            t.dtype(),
            dtype,
            "{}: `{name}` has dtype {:?}",
            self.name,
            t.dtype()
        );
        (t.data().to_vec(), t.shape().to_vec())
    }

    /// A float32 tensor and its shape.
    pub fn f32(&self, name: &str) -> (Vec<f32>, Vec<usize>) {
        let (b, s) = self.view(name, Dtype::F32);
        (
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            s,
        )
    }

    /// A float64 tensor and its shape.
    pub fn f64(&self, name: &str) -> (Vec<f64>, Vec<usize>) {
        let (b, s) = self.view(name, Dtype::F64);
        (
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            s,
        )
    }

    /// An int64 tensor as `usize`s.
    pub fn usizes(&self, name: &str) -> Vec<usize> {
        let (b, _) = self.view(name, Dtype::I64);
        b.chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as usize)
            .collect()
    }

    /// A uint8 tensor and its shape.
    pub fn u8(&self, name: &str) -> (Vec<u8>, Vec<usize>) {
        self.view(name, Dtype::U8)
    }

    /// A float32 tensor as a rank-4 Burn tensor on `device`.
    pub fn tensor4(&self, name: &str, device: &Device) -> Tensor<4> {
        let (v, s) = self.f32(name);
        assert_eq!(s.len(), 4, "{}: `{name}` has shape {s:?}", self.name);
        Tensor::from_data(TensorData::new(v, [s[0], s[1], s[2], s[3]]), device)
    }

    /// A metadata string.
    pub fn meta(&self, key: &str) -> &str {
        self.meta
            .get(key)
            .unwrap_or_else(|| panic!("{}: no metadata `{key}`", self.name))
    }

    /// The recorded tolerance (max abs) of an output tensor.
    pub fn tol(&self, tensor: &str) -> f64 {
        self.meta(&format!("tolerance.{tensor}")).parse().unwrap()
    }
}

/// The values of a tensor on the host.
pub fn host(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

/// max |a − b|.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs())
        .fold(0.0, f64::max)
}

/// Assert max |a − b| ≤ tol, printing the measured error.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f64) {
    let d = max_abs_diff(got, want);
    println!("{what}: max |diff| = {d:.3e} (tolerance {tol:.1e})");
    assert!(
        d <= tol,
        "{what}: max |diff| = {d:.3e} > tolerance {tol:.1e}"
    );
}

/// The rows `rows` of every `h × w` plane of `v` (planes stacked), as the fixtures store 128×128
/// outputs.
pub fn keep_rows(v: &[f32], h: usize, w: usize, rows: &[usize]) -> Vec<f32> {
    v.chunks_exact(h * w)
        .flat_map(|p| {
            rows.iter()
                .flat_map(move |&r| p[r * w..(r + 1) * w].iter().copied())
        })
        .collect()
}
