//! Helpers shared by the integration tests: fixture loading.
#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use safetensors::SafeTensors;
use safetensors::tensor::Dtype;

/// `crates/cold-metrics/tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A safetensors fixture held in memory.
pub struct Fixture {
    bytes: Vec<u8>,
    name: String,
}

impl Fixture {
    pub fn open(name: &str) -> Self {
        let path = fixture(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self {
            bytes,
            name: name.to_string(),
        }
    }

    fn st(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("fixture is safetensors")
    }

    pub fn names(&self) -> Vec<String> {
        self.st().names().into_iter().map(str::to_string).collect()
    }

    pub fn has(&self, key: &str) -> bool {
        self.st().tensor(key).is_ok()
    }

    /// Shape and values as f64, whatever the stored dtype (u8, f32, f64).
    pub fn get(&self, key: &str) -> (Vec<usize>, Vec<f64>) {
        let st = self.st();
        let t = st
            .tensor(key)
            .unwrap_or_else(|_| panic!("{}: no tensor {key}", self.name));
        let d = t.data();
        let v: Vec<f64> = match t.dtype() {
            Dtype::U8 => d.iter().map(|b| *b as f64).collect(),
            Dtype::F32 => d
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                .collect(),
            Dtype::F64 => d
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            other => panic!("{}: {key} has dtype {other:?}", self.name),
        };
        (t.shape().to_vec(), v)
    }

    pub fn scalar(&self, key: &str) -> f64 {
        let (_, v) = self.get(key);
        assert_eq!(v.len(), 1, "{key} is not a scalar");
        v[0]
    }

    pub fn f32s(&self, key: &str) -> Vec<f32> {
        self.get(key).1.into_iter().map(|v| v as f32).collect()
    }

    /// A 4-D tensor; u8 data is divided by 255 (images in [0, 1]).
    pub fn images(&self, key: &str, device: &Device) -> Tensor<4> {
        let st = self.st();
        let is_u8 = st
            .tensor(key)
            .map(|t| t.dtype() == Dtype::U8)
            .unwrap_or(false);
        let (shape, v) = self.get(key);
        let scale = if is_u8 { 1.0 / 255.0 } else { 1.0 };
        let v: Vec<f32> = v.iter().map(|x| (x * scale) as f32).collect();
        let s: [usize; 4] = shape.try_into().expect("4-D tensor");
        Tensor::from_data(TensorData::new(v, s), device)
    }
}

/// Reads the first `n` images of a gzip IDX3 file (u8, `[n, rows, cols]`).
pub fn read_idx_images(path: &std::path::Path, n: usize) -> (Vec<u8>, [usize; 3]) {
    use std::io::Read;
    let f = std::fs::File::open(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (MNIST is expected in the repository's data/mnist/)",
            path.display()
        )
    });
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut raw)
        .expect("gzip");
    let be = |i: usize| u32::from_be_bytes(raw[i..i + 4].try_into().unwrap()) as usize;
    assert_eq!(be(0), 0x803, "{}: not an IDX3 image file", path.display());
    let (count, rows, cols) = (be(4), be(8), be(12));
    let n = n.min(count);
    (raw[16..16 + n * rows * cols].to_vec(), [n, rows, cols])
}

/// u8 images `[n, h, w]` → `[n, 1, h, w]` in [0, 1].
pub fn gray_images(pixels: &[u8], shape: [usize; 3], device: &Device) -> Tensor<4> {
    let v: Vec<f32> = pixels.iter().map(|p| *p as f32 / 255.0).collect();
    Tensor::from_data(
        TensorData::new(v, [shape[0], 1, shape[1], shape[2]]),
        device,
    )
}

pub fn to_vec(t: Tensor<1>) -> Vec<f64> {
    t.into_data().try_into_vec_as::<f64>().unwrap()
}
