//! Helpers shared by the integration tests: fixture loading and tolerant comparisons.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};

/// Path of a file in `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// One tensor of a safetensors file, converted to f32 (or i64 for index tensors).
pub struct Array {
    pub shape: Vec<usize>,
    pub f32: Vec<f32>,
    pub i64: Vec<i64>,
}

impl Array {
    pub fn usizes(&self) -> Vec<usize> {
        self.i64.iter().map(|&v| v as usize).collect()
    }

    /// Item `i` along axis 0, as f32 with the remaining shape.
    pub fn index(&self, i: usize) -> (Vec<usize>, Vec<f32>) {
        let inner: usize = self.shape[1..].iter().product();
        (
            self.shape[1..].to_vec(),
            self.f32[i * inner..(i + 1) * inner].to_vec(),
        )
    }

    pub fn tensor4(&self, device: &Device) -> Tensor<4> {
        let s: [usize; 4] = self.shape.clone().try_into().expect("a 4-D tensor");
        Tensor::from_data(TensorData::new(self.f32.clone(), s), device)
    }
}

/// Every tensor of a safetensors fixture.
pub fn load(name: &str) -> HashMap<String, Array> {
    let bytes = std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("read {name}: {e}"));
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("a safetensors file");
    let mut out = HashMap::new();
    for (k, v) in st.tensors() {
        let data = v.data();
        let (f, i) = match v.dtype() {
            safetensors::Dtype::F32 => (
                data.chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
                vec![],
            ),
            safetensors::Dtype::F64 => (
                data.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
                    .collect(),
                vec![],
            ),
            safetensors::Dtype::I64 => (
                vec![],
                data.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            ),
            other => panic!("{k}: unexpected dtype {other:?}"),
        };
        out.insert(
            k.to_string(),
            Array {
                shape: v.shape().to_vec(),
                f32: f,
                i64: i,
            },
        );
    }
    out
}

/// Host copy of a tensor.
pub fn host(x: Tensor<4>) -> Vec<f32> {
    x.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data")
}

/// Largest absolute difference and where it is.
pub fn max_abs_diff(got: &[f32], want: &[f32]) -> (f32, usize) {
    assert_eq!(got.len(), want.len(), "length mismatch");
    got.iter()
        .zip(want)
        .enumerate()
        .map(|(i, (a, b))| ((a - b).abs(), i))
        .fold(
            (0.0, 0),
            |m, v| if v.0 > m.0 || v.0.is_nan() { v } else { m },
        )
}

/// Assert `max |got − want| ≤ atol`.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32) {
    let (d, i) = max_abs_diff(got, want);
    assert!(
        d <= atol,
        "{what}: max |diff| = {d:e} > atol {atol:e} at flat index {i} (got {}, want {})",
        got[i],
        want[i]
    );
}

/// 8-bit quantised outputs: every element within `atol`, except at most `max_fraction` of them
/// that differ by exactly one bucket (2/255). Returns the number of flips.
pub fn assert_quantised_close(
    what: &str,
    got: &[f32],
    want: &[f32],
    atol: f32,
    max_fraction: f64,
) -> usize {
    assert_eq!(got.len(), want.len(), "{what}: length mismatch");
    let bucket = 2.0f32 / 255.0;
    let mut flips = 0;
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let d = (a - b).abs();
        if d > atol {
            assert!(
                (d - bucket).abs() < 1e-5,
                "{what}: element {i} differs by {d} (got {a}, want {b}), more than one 8-bit level"
            );
            flips += 1;
        }
    }
    let allowed = (max_fraction * got.len() as f64).floor() as usize;
    assert!(
        flips <= allowed,
        "{what}: {flips} one-level flips of {} elements (at most {allowed} allowed)",
        got.len()
    );
    flips
}

/// Keep the rows `rows` of every `H × W` plane of a flat `[.., H, W]` array.
pub fn take_rows(x: &[f32], h: usize, w: usize, rows: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len() / h * rows.len());
    for plane in x.chunks_exact(h * w) {
        for &r in rows {
            out.extend_from_slice(&plane[r * w..(r + 1) * w]);
        }
    }
    out
}
