//! RMSE / PSNR / SSIM / MS-SSIM against values computed by pytorch_msssim 1.0.0 (float64) on
//! real images (see tests/fixtures/README.md).

mod common;

use burn::tensor::{Device, Distribution, Tensor};
use cold_metrics::quality::{
    SsimConfig, ms_ssim, mse_per_image, psnr, psnr_from_mse, rmse, ssim, ssim_per_image, ssim_with,
    to_unit_range,
};
use common::{Fixture, to_vec};

const CASES: [&str; 7] = [
    "cifar_noise",
    "cifar_blur",
    "fashion_gray_noise",
    "small_h32_w8",
    "small_h10_w10",
    "chelsea_177x181",
    "float_uniform",
];

#[test]
fn ssim_matches_pytorch_msssim() {
    let device = Device::flex();
    let fx = Fixture::open("ssim_cases.safetensors");
    for case in CASES {
        let x = fx.images(&format!("{case}.x"), &device);
        let y = fx.images(&format!("{case}.y"), &device);
        let expected = fx.scalar(&format!("{case}.ssim"));
        let got = ssim(x.clone(), y.clone()).unwrap();
        eprintln!(
            "{case}: ssim {got:.8} vs {expected:.8} (|diff| {:.1e})",
            (got - expected).abs()
        );
        assert!(
            (got - expected).abs() < 1e-5,
            "{case}: ssim {got} vs pytorch_msssim {expected}"
        );
        let key = format!("{case}.ssim_per_image");
        if fx.has(&key) {
            let per = to_vec(ssim_per_image(x, y, &SsimConfig::default()).unwrap());
            let (_, exp) = fx.get(&key);
            assert_eq!(per.len(), exp.len());
            for (i, (g, e)) in per.iter().zip(&exp).enumerate() {
                assert!((g - e).abs() < 1e-5, "{case} image {i}: {g} vs {e}");
            }
        }
    }
}

#[test]
fn rmse_matches_numpy() {
    let device = Device::flex();
    let fx = Fixture::open("ssim_cases.safetensors");
    for case in &CASES[..6] {
        let x = fx.images(&format!("{case}.x"), &device);
        let y = fx.images(&format!("{case}.y"), &device);
        let expected = fx.scalar(&format!("{case}.rmse"));
        let got = rmse(x, y).unwrap();
        assert!((got - expected).abs() < 1e-6, "{case}: {got} vs {expected}");
    }
}

#[test]
fn ms_ssim_matches_pytorch_msssim() {
    let device = Device::flex();
    let fx = Fixture::open("ssim_cases.safetensors");
    let x = fx.images("chelsea_177x181.x", &device);
    let y = fx.images("chelsea_177x181.y", &device);
    let expected = fx.scalar("chelsea_177x181.ms_ssim");
    let got = ms_ssim(x, y, &SsimConfig::default()).unwrap();
    assert!((got - expected).abs() < 1e-5, "ms_ssim {got} vs {expected}");
}

#[test]
fn ms_ssim_rejects_small_images() {
    let device = Device::flex();
    let x = Tensor::<4>::zeros([1, 1, 160, 400], &device);
    let err = ms_ssim(x.clone(), x, &SsimConfig::default()).unwrap_err();
    assert!(err.to_string().contains("160"), "{err}");
}

#[test]
fn ssim_of_identical_images_is_one_and_symmetric() {
    let device = Device::flex();
    let x = Tensor::<4>::random([2, 3, 20, 24], Distribution::Uniform(0.0, 1.0), &device);
    let y = Tensor::<4>::random([2, 3, 20, 24], Distribution::Uniform(0.0, 1.0), &device);
    assert!((ssim(x.clone(), x.clone()).unwrap() - 1.0).abs() < 1e-6);
    let a = ssim(x.clone(), y.clone()).unwrap();
    let b = ssim(y, x).unwrap();
    assert!((a - b).abs() < 1e-6 && a < 0.5, "{a} {b}");
}

#[test]
fn shape_mismatch_and_bad_config_are_errors() {
    let device = Device::flex();
    let x = Tensor::<4>::zeros([1, 3, 16, 16], &device);
    let y = Tensor::<4>::zeros([1, 3, 16, 15], &device);
    let e = ssim(x.clone(), y.clone()).unwrap_err().to_string();
    assert!(
        e.contains("[1, 3, 16, 16]") && e.contains("[1, 3, 16, 15]"),
        "{e}"
    );
    assert!(rmse(x.clone(), y).is_err());
    let cfg = SsimConfig {
        win_size: 10,
        ..SsimConfig::default()
    };
    let e = ssim_with(x.clone(), x, &cfg).unwrap_err().to_string();
    assert!(e.contains("win_size") && e.contains("10"), "{e}");
}

#[test]
fn rmse_and_psnr_closed_forms() {
    let device = Device::flex();
    // A constant offset of 0.1 in [0, 1] units: RMSE 0.1, PSNR 20 dB.
    let x = Tensor::<4>::random([3, 2, 8, 5], Distribution::Uniform(0.0, 0.8), &device);
    let y = x.clone().add_scalar(0.1);
    assert!((rmse(x.clone(), y.clone()).unwrap() - 0.1).abs() < 1e-6);
    assert!((psnr(x.clone(), y.clone(), 1.0).unwrap() - 20.0).abs() < 1e-4);
    // Per-image MSE: image i gets offset 0.1 * (i + 1).
    let offsets = Tensor::<1>::from_floats([0.1, 0.2, 0.3], &device).reshape([3, 1, 1, 1]);
    let z = x.clone() + offsets;
    let mse = to_vec(mse_per_image(x, z).unwrap());
    for (i, m) in mse.iter().enumerate() {
        let e = (0.1 * (i + 1) as f64).powi(2);
        assert!((m - e).abs() < 1e-6, "image {i}: {m} vs {e}");
    }
    assert!(psnr_from_mse(0.0, 1.0).is_infinite());
    // [-1, 1] -> [0, 1]
    let u = to_vec(to_unit_range(Tensor::<1>::from_floats(
        [-1.0, 0.0, 1.0],
        &device,
    )));
    assert_eq!(u, vec![0.0, 0.5, 1.0]);
}
