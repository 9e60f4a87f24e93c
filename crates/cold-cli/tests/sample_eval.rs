//! `cold sample` and `cold eval` on a tiny trained checkpoint.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use cold_diffusion::degrade::Draw;
use common::*;

#[test]
fn sample_writes_images_and_is_reproducible() {
    let dir = tmp();
    let d = dir.path();
    let ckpt = tiny_checkpoint();
    let go = |seed: &str, out: &str| {
        let text = ok(&run_in(
            d,
            &[
                "sample",
                "--checkpoint",
                s(&ckpt),
                "--n",
                "3",
                "--seed",
                seed,
                "--out",
                out,
                "--gif",
                "--prior-images",
                "200",
                "--save-tensors",
                &format!("{out}.safetensors"),
            ],
        ));
        assert!(text.contains("generated 3 image(s)"), "{text}");
        assert!(text.contains("channel means of 200 images"), "{text}");
        for f in [
            "sample_0000.png",
            "sample_0002.png",
            "samples.png",
            "trajectory.gif",
        ] {
            assert!(d.join(out).join(f).is_file(), "{out}/{f}");
        }
        let (shape, v) = read_tensor(&d.join(format!("{out}.safetensors")), "samples");
        assert_eq!(shape, vec![3, 1, 16, 16]);
        v
    };
    let a = go("7", "a");
    assert_eq!(a, go("7", "b"), "same seed, same samples");
    assert_ne!(a, go("8", "c"), "another seed, other samples");
    // The direct sampler is one network call on the prior's sample.
    ok(&run_in(
        d,
        &[
            "sample",
            "--checkpoint",
            s(&ckpt),
            "--n",
            "2",
            "--sampler",
            "direct",
            "--prior-images",
            "50",
            "--out",
            "direct",
        ],
    ));
}

#[test]
fn sample_bad_inputs_are_one_line_errors() {
    let dir = tmp();
    let d = dir.path();
    let ckpt = tiny_checkpoint();
    let c = s(&ckpt);
    fails_with(
        &run_in(d, &["sample", "--checkpoint", c, "--n", "0", "--out", "o"]),
        &["--n 0"],
    );
    fails_with(
        &run_in(
            d,
            &["sample", "--checkpoint", c, "--noise", "-1", "--out", "o"],
        ),
        &["--noise", "-1"],
    );
    fails_with(
        &run_in(
            d,
            &[
                "sample",
                "--checkpoint",
                "missing.safetensors",
                "--out",
                "o",
            ],
        ),
        &["missing.safetensors"],
    );
    // Original weights hold no training configuration, hence no operator to sample.
    let pt = fixture("cold-unet", "unet_small.pt");
    fails_with(
        &run_in(d, &["sample", "--checkpoint", s(&pt), "--out", "o"]),
        &["unet_small.pt", "cold train"],
    );
    fails_with(
        &run_in(
            d,
            &["sample", "--checkpoint", c, "--out", "o", "--device", "gpu"],
        ),
        &["gpu"],
    );
    fails_with(
        &run_in(
            d,
            &[
                "sample",
                "--checkpoint",
                c,
                "--out",
                "o",
                "--data",
                "no/such/dir",
            ],
        ),
        &["no/such/dir"],
    );
}

/// The Degraded row of blur is `x_T` against `x0`: computed here independently of the
/// evaluation driver (operator + plain arithmetic on the host).
#[test]
fn eval_reports_the_papers_rows() {
    let dir = tmp();
    let d = dir.path();
    let ckpt = tiny_checkpoint();
    let n = 6;
    let x0: Vec<f32> = (0..n * 256)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    write_tensors(
        &d.join("x.safetensors"),
        &[("x0", vec![n, 1, 16, 16], x0.clone())],
    );
    let text = ok(&run_in(
        d,
        &[
            "eval",
            "--checkpoint",
            s(&ckpt),
            "--data",
            "x.safetensors",
            "--batch-size",
            "4",
            "--out",
            "ev",
        ],
    ));
    assert!(
        text.contains("| Degraded |")
            && text.contains("| Sampled |")
            && text.contains("| Direct |"),
        "{text}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("ev/eval.json")).unwrap()).unwrap();
    assert_eq!(report["images"], n);
    let rows = report["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["row"].as_str().unwrap()).collect();
    assert_eq!(names, ["Degraded", "Sampled", "Direct"]);
    assert!(d.join("ev/eval.md").is_file());

    let (_, config) = cold_diffusion::train::load_ema_net(&ckpt, &Device::flex()).unwrap();
    let op = config.degradation.build().unwrap();
    let x = Tensor::<4>::from_data(TensorData::new(x0.clone(), [n, 1, 16, 16]), &Device::flex());
    let xt: Vec<f32> = op
        .degrade_at(x, op.steps(), &Draw::empty(n))
        .unwrap()
        .to_data()
        .try_into_vec()
        .unwrap();
    let mse: f64 = x0
        .iter()
        .zip(&xt)
        .map(|(a, b)| (((a - b) / 2.0) as f64).powi(2))
        .sum::<f64>()
        / x0.len() as f64;
    let rmse = rows[0]["rmse"].as_f64().unwrap();
    assert!(
        (rmse - mse.sqrt()).abs() < 1e-6,
        "Degraded RMSE {rmse} vs {}",
        mse.sqrt()
    );
    for r in rows {
        let (ssim, rmse) = (r["ssim"].as_f64().unwrap(), r["rmse"].as_f64().unwrap());
        assert!(
            (-1.0..=1.0).contains(&ssim) && (0.0..=1.0).contains(&rmse),
            "{r}"
        );
        assert!(r["fid"].is_null());
    }

    // The bundled MNIST test split through the original test loader, first 5 images.
    let text = ok(&run_in(
        d,
        &[
            "eval",
            "--checkpoint",
            s(&ckpt),
            "--data",
            "mnist",
            "--n",
            "5",
            "--out",
            "ev2",
            "--sampler",
            "direct",
        ],
    ));
    assert!(text.contains("5 images"), "{text}");
}

#[test]
fn eval_bad_inputs_are_one_line_errors() {
    let dir = tmp();
    let d = dir.path();
    let ckpt = tiny_checkpoint();
    let c = s(&ckpt);
    fails_with(
        &run_in(
            d,
            &[
                "eval",
                "--checkpoint",
                c,
                "--data",
                "mnist",
                "--metrics",
                "rmse,lpips",
            ],
        ),
        &["lpips"],
    );
    fails_with(
        &run_in(
            d,
            &[
                "eval",
                "--checkpoint",
                c,
                "--data",
                "mnist",
                "--metrics",
                "fid",
            ],
        ),
        &["--inception"],
    );
    fails_with(
        &run_in(
            d,
            &[
                "eval",
                "--checkpoint",
                c,
                "--data",
                "mnist",
                "--metrics",
                "fid",
                "--inception",
                "none.pth",
            ],
        ),
        &["none.pth"],
    );
    fails_with(
        &run_in(d, &["eval", "--checkpoint", c, "--data", "missing_dir"]),
        &["missing_dir"],
    );
    write_tensors(
        &d.join("big.safetensors"),
        &[("x0", vec![1, 1, 32, 32], vec![0.0; 1024])],
    );
    fails_with(
        &run_in(d, &["eval", "--checkpoint", c, "--data", "big.safetensors"]),
        &["big.safetensors", "[N, 1, 16, 16]"],
    );
    fails_with(
        &run_in(d, &["eval", "--checkpoint", "gone", "--data", "mnist"]),
        &["gone"],
    );
    // Original weights hold no training configuration (operator, image size): named.
    let pt = common::fixture("cold-unet", "unet_small.pt");
    fails_with(
        &run_in(d, &["eval", "--checkpoint", s(&pt), "--data", "mnist"]),
        &["unet_small.pt", "cold restore"],
    );
    // Wrong device.
    fails_with(
        &run_in(
            d,
            &[
                "eval",
                "--checkpoint",
                c,
                "--data",
                "mnist",
                "--device",
                "tpu",
            ],
        ),
        &["tpu"],
    );
}

/// Without `--out`, samples go to `runs/sample/` of the working directory.
#[test]
fn sample_default_output_directory() {
    let dir = tmp();
    let d = dir.path();
    let ckpt = tiny_checkpoint();
    let text = ok(&run_in(
        d,
        &[
            "sample",
            "--checkpoint",
            s(&ckpt),
            "--n",
            "2",
            "--sampler",
            "direct",
            "--data",
            "mnist",
            "--prior-images",
            "20",
        ],
    ));
    assert!(text.contains("runs/sample"), "{text}");
    assert!(d.join("runs/sample/samples.png").is_file());
}
