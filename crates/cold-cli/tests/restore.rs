//! `cold restore`: original `.pt` checkpoints reproduce the original network outputs recorded
//! in cold-unet's golden fixtures (`networks_io.safetensors`); our checkpoints restore with every
//! sampler as the library does; every bad input is a one-line error.

mod common;

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use cold_diffusion::degrade::Draw;
use cold_diffusion::sample::{Method, Sampler};
use common::*;

/// The manifest's network configs (`shared/vectors/manifest.json`, as in cold-unet's golden
/// test), with their extra fields, which the CLI must ignore with a warning.
const UNET_SMALL: &str = r#"{"arch": "unet", "dim": 16, "dim_mults": [1, 2], "channels": 3, "with_time_emb": true,
    "residual": false, "seed": 1, "n_params": 271900}"#;
const UNET_PAPERLIKE_SMALL: &str = r#"{"arch": "unet", "dim": 8, "dim_mults": [1, 2, 4, 8], "channels": 1,
    "with_time_emb": true, "residual": false, "seed": 2, "n_params": 1021940}"#;
const CHECKPOINT_UNET: &str = r#"{"arch": "unet", "dim": 8, "dim_mults": [1, 2], "channels": 3,
    "with_time_emb": true, "residual": false, "seed": 4}"#;
const DDPM_SMALL: &str = r#"{"arch": "resunet", "ch": 32, "out_ch": 3, "ch_mult": [1, 2], "num_res_blocks": 1,
    "attn_resolutions": [16], "dropout": 0.0, "resolution": 32, "in_channels": 3, "seed": 3}"#;

/// Restores item `i` of golden case `case` with `cold restore --sampler direct` and returns the
/// CLI's `x0_hat` and the original output `y[i]`.
fn restore_item(
    dir: &Path,
    weights: &Path,
    config: &str,
    case: &str,
    i: usize,
    extra: &[&str],
) -> (Vec<f32>, Vec<f32>, String) {
    let io = fixture("cold-unet", "networks_io.safetensors");
    let (x_shape, x) = read_tensor(&io, &format!("{case}.x"));
    let (_, t) = read_tensor(&io, &format!("{case}.t"));
    let (_, y) = read_tensor(&io, &format!("{case}.y"));
    let per: usize = x_shape[1..].iter().product();
    let input = dir.join(format!("{case}_{i}.safetensors"));
    let mut shape = x_shape.clone();
    shape[0] = 1;
    write_tensors(&input, &[("x0", shape, x[i * per..(i + 1) * per].to_vec())]);
    let cfg = dir.join(format!("{case}.json"));
    std::fs::write(&cfg, config).unwrap();
    let out = dir.join(format!("{case}_{i}_out.safetensors"));
    // Level S means the network sees index S - 1 = t.
    let level = (t[i] as usize + 1).to_string();
    let png = dir.join("png");
    let mut args = vec![
        "restore",
        "--checkpoint",
        s(weights),
        "--unet-config",
        s(&cfg),
        "--sampler",
        "direct",
        "--input",
        s(&input),
        "--level",
        &level,
        "--out",
        s(&png),
        "--save-tensors",
        s(&out),
    ];
    args.extend_from_slice(extra);
    let o = run_in(dir, &args);
    ok(&o);
    let (shape, ours) = read_tensor(&out, "x0_hat");
    assert_eq!(shape[1..], x_shape[1..]);
    (ours, y[i * per..(i + 1) * per].to_vec(), stderr(&o))
}

fn golden(weights: &str, config: &str, case: &str, n: usize, atol: f32) {
    let dir = tmp();
    for i in 0..n {
        let (ours, original, err) = restore_item(
            dir.path(),
            &fixture("cold-unet", weights),
            config,
            case,
            i,
            &[],
        );
        let diff = max_abs_diff(&ours, &original);
        assert!(
            diff <= atol,
            "{case} item {i}: max |cli - original| = {diff:e} > {atol:e}"
        );
        // The manifest's extra fields are ignored with a warning, not an error.
        assert!(err.contains("warning:") && err.contains("seed"), "{err}");
    }
}

// Tolerances: the manifest's `atol` of each case's `y`.
#[test]
fn original_unet_small_pt_reproduces_the_original_outputs() {
    golden("unet_small.pt", UNET_SMALL, "unet_small", 3, 2e-6);
}

#[test]
fn original_paperlike_unet_pt_reproduces_the_original_outputs() {
    golden(
        "unet_paperlike_small.pt",
        UNET_PAPERLIKE_SMALL,
        "unet_paperlike_small",
        3,
        2e-6,
    );
}

#[test]
fn original_ddpm_pt_reproduces_the_original_outputs() {
    golden("ddpm_small.pt", DDPM_SMALL, "ddpm_small", 3, 3e-5);
}

#[test]
fn original_trainer_checkpoint_reproduces_the_original_outputs() {
    // `{step, model, ema}` with `module.denoise_fn.` keys and 50 blur kernels that are not
    // network weights (ignored with a note).
    let dir = tmp();
    for flag in ["--ema", "--model"] {
        for i in 0..2 {
            let ckpt = fixture("cold-unet", "checkpoint_like_blur_cifar10.pt");
            let (ours, original, err) = restore_item(
                dir.path(),
                &ckpt,
                CHECKPOINT_UNET,
                "checkpoint_unet",
                i,
                &[flag],
            );
            let diff = max_abs_diff(&ours, &original);
            assert!(diff <= 9e-7, "item {i} {flag}: {diff:e}");
            assert!(err.contains("gaussian_kernels"), "{err}");
        }
    }
}

#[test]
fn ema_and_model_pick_the_entries_of_a_trainer_checkpoint() {
    // trainer_ckpt_legacy.pt: `model` = the checkpoint's weights, `ema` = the same with the
    // final 1x1 convolution's bias + 1, so the EMA output is the original output + 1.
    let dir = tmp();
    let ckpt = fixture("cold-unet", "trainer_ckpt_legacy.pt");
    let (model, original, _) = restore_item(
        dir.path(),
        &ckpt,
        CHECKPOINT_UNET,
        "checkpoint_unet",
        1,
        &["--model"],
    );
    assert!(max_abs_diff(&model, &original) <= 9e-7);
    let (ema, _, _) = restore_item(
        dir.path(),
        &ckpt,
        CHECKPOINT_UNET,
        "checkpoint_unet",
        1,
        &[],
    );
    let shifted: Vec<f32> = original.iter().map(|v| v + 1.0).collect();
    assert!(max_abs_diff(&ema, &shifted) <= 2e-6);
}

#[test]
fn original_checkpoint_errors_name_the_problem() {
    let dir = tmp();
    let d = dir.path();
    write_tensors(
        &d.join("x.safetensors"),
        &[("x0", vec![1, 3, 32, 32], vec![0.0; 3072])],
    );
    let pt = fixture("cold-unet", "unet_small.pt");
    let ddpm = fixture("cold-unet", "ddpm_small.pt");
    let base = |ckpt: &Path| {
        vec![
            "restore".to_string(),
            "--checkpoint".into(),
            s(ckpt).into(),
            "--input".into(),
            "x.safetensors".into(),
            "--level".into(),
            "3".into(),
            "--sampler".into(),
            "direct".into(),
            "--out".into(),
            "o".into(),
        ]
    };
    let go = |mut args: Vec<String>, extra: &[&str]| {
        args.extend(extra.iter().map(|e| e.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_in(d, &refs)
    };
    // No --unet-config for a .pt.
    fails_with(&go(base(&pt), &[]), &["unet_small.pt", "--unet-config"]);
    // Checkpoint of another architecture.
    std::fs::write(d.join("unet.json"), UNET_SMALL).unwrap();
    fails_with(
        &go(base(&ddpm), &["--unet-config", "unet.json"]),
        &["ddpm_small.pt", "resunet", "unet"],
    );
    // The right architecture with other sizes: the mismatched tensors are listed on one line.
    std::fs::write(
        d.join("dim8.json"),
        r#"{"arch": "unet", "dim": 8, "dim_mults": [1, 2], "channels": 3}"#,
    )
    .unwrap();
    let line = fails_with(
        &go(base(&pt), &["--unet-config", "dim8.json"]),
        &["unet_small.pt", "mis-shaped"],
    );
    assert!(line.contains("; "), "{line}");
    // Missing required fields are named; a missing config file is named.
    std::fs::write(d.join("nodim.json"), r#"{"arch": "unet", "channels": 3}"#).unwrap();
    fails_with(
        &go(base(&pt), &["--unet-config", "nodim.json"]),
        &["nodim.json", "dim"],
    );
    std::fs::write(d.join("noch.json"), r#"{"arch": "resunet", "ch": 32}"#).unwrap();
    fails_with(
        &go(base(&ddpm), &["--unet-config", "noch.json"]),
        &["noch.json", "out_ch", "in_channels", "resolution"],
    );
    fails_with(
        &go(base(&pt), &["--unet-config", "missing.json"]),
        &["missing.json"],
    );
    // Algorithm 2 needs the degradation, which a .pt does not record.
    let mut alg2 = base(&pt);
    alg2.truncate(alg2.len() - 4);
    alg2.extend(["--out".into(), "o".into()]);
    fails_with(
        &go(alg2, &["--unet-config", "unet.json"]),
        &["--preset", "--degradation"],
    );
    // With a degradation, the level is checked against its T.
    ok(&go(
        base(&pt),
        &["--unet-config", "unet.json", "--preset", "superres-cifar10"],
    ));
    let mut high = base(&pt);
    high[6] = "4".into();
    fails_with(
        &go(
            high,
            &["--unet-config", "unet.json", "--preset", "superres-cifar10"],
        ),
        &["--level 4", "T = 3"],
    );
    // Level 0 and a missing checkpoint.
    let mut zero = base(&pt);
    zero[6] = "0".into();
    fails_with(&go(zero, &["--unet-config", "unet.json"]), &["--level 0"]);
    fails_with(&go(base(&d.join("nope.pt")), &[]), &["nope.pt"]);
    // Not a checkpoint at all.
    std::fs::write(d.join("junk.pt"), b"this is not a checkpoint").unwrap();
    fails_with(
        &go(base(&d.join("junk.pt")), &["--unet-config", "unet.json"]),
        &["junk.pt", "not a checkpoint"],
    );
}

/// The tiny model of `common::tiny_run` on the CPU, as the library loads it.
fn tiny_net() -> (
    cold_diffusion::unet::RestorationNet,
    cold_diffusion::train::TrainConfig,
) {
    cold_diffusion::train::load_ema_net(tiny_checkpoint(), &Device::flex()).unwrap()
}

#[test]
fn our_checkpoint_restores_pngs_and_tensors_with_every_sampler() {
    let dir = tmp();
    let d = dir.path();
    write_png(&d.join("a.png"), 16, 16, 1);
    write_png(&d.join("b.png"), 16, 16, 2);
    // Degrade to level 4 with the checkpoint's own operator (T = 5), then restore from the
    // tensors.
    let (net, config) = tiny_net();
    let op = config.degradation.build().unwrap();
    let device = Device::flex();
    let png = |p: &str| -> Vec<f32> {
        image::open(d.join(p))
            .unwrap()
            .to_luma8()
            .pixels()
            .map(|v| (v.0[0] as f32 / 255.0) * 2.0 - 1.0)
            .collect()
    };
    let x0: Vec<f32> = [png("a.png"), png("b.png")].concat();
    let x0 = Tensor::<4>::from_data(TensorData::new(x0, [2, 1, 16, 16]), &device);
    let x4 = op.degrade_at(x0, 4, &Draw::empty(2)).unwrap();
    let x4_host: Vec<f32> = x4.to_data().try_into_vec().unwrap();
    write_tensors(
        &d.join("x4.safetensors"),
        &[("level_4", vec![2, 1, 16, 16], x4_host)],
    );

    let ckpt = tiny_checkpoint();
    let restorer = cold_diffusion::unet_restorer(&net);
    for (sampler, method) in [
        ("direct", Method::Direct),
        ("alg1", Method::Algorithm1),
        ("alg2", Method::Algorithm2),
    ] {
        let out = d.join(format!("{sampler}.safetensors"));
        let text = ok(&run_in(
            d,
            &[
                "restore",
                "--checkpoint",
                s(&ckpt),
                "--input",
                "x4.safetensors",
                "--tensor",
                "level_4",
                "--level",
                "4",
                "--sampler",
                sampler,
                "--out",
                sampler,
                "--save-tensors",
                s(&out),
                "--gif",
            ],
        ));
        assert!(text.contains("restored 2 image(s) from level 4"), "{text}");
        let (shape, ours) = read_tensor(&out, "x0_hat");
        assert_eq!(shape, vec![2, 1, 16, 16]);
        let expected = Sampler::new(op.as_ref(), method)
            .run(&restorer, x4.clone(), &[4, 4], &Draw::empty(2))
            .unwrap();
        let expected: Vec<f32> = expected.x0.to_data().try_into_vec().unwrap();
        assert!(max_abs_diff(&ours, &expected) < 1e-5, "{sampler}");
        for f in ["x4_0_restored.png", "x4_1_restored.png", "restore.png"] {
            assert!(d.join(sampler).join(f).is_file(), "{sampler}/{f}");
        }
        assert_eq!(
            d.join(sampler).join("trajectory.gif").is_file(),
            sampler != "direct"
        );
    }
    // A run directory works as --checkpoint; PNG inputs are read as the library reads them.
    ok(&run_in(
        d,
        &[
            "restore",
            "--checkpoint",
            s(tiny_run()),
            "--input",
            "a.png",
            "b.png",
            "--level",
            "5",
            "--out",
            "png",
        ],
    ));
    assert!(d.join("png/a_restored.png").is_file() && d.join("png/b_restored.png").is_file());
}

#[test]
fn our_checkpoint_bad_inputs_are_one_line_errors() {
    let dir = tmp();
    let d = dir.path();
    write_png(&d.join("big.png"), 32, 32, 1);
    write_png(&d.join("ok.png"), 16, 16, 1);
    let ckpt = tiny_checkpoint();
    let c = s(&ckpt);
    // Image of the wrong size: the checkpoint was trained on 16x16 images.
    fails_with(
        &run_in(
            d,
            &[
                "restore",
                "--checkpoint",
                c,
                "--input",
                "big.png",
                "--level",
                "2",
                "--out",
                "o",
            ],
        ),
        &["big.png", "32x32", "16x16"],
    );
    // Level above T = 5.
    fails_with(
        &run_in(
            d,
            &[
                "restore",
                "--checkpoint",
                c,
                "--input",
                "ok.png",
                "--level",
                "6",
                "--out",
                "o",
            ],
        ),
        &["--level 6", "T = 5"],
    );
    // Missing input.
    fails_with(
        &run_in(
            d,
            &[
                "restore",
                "--checkpoint",
                c,
                "--input",
                "gone.png",
                "--level",
                "2",
                "--out",
                "o",
            ],
        ),
        &["gone.png"],
    );
    // A --unet-config that contradicts the checkpoint.
    std::fs::write(d.join("other.json"), UNET_SMALL).unwrap();
    fails_with(
        &run_in(
            d,
            &[
                "restore",
                "--checkpoint",
                c,
                "--unet-config",
                "other.json",
                "--input",
                "ok.png",
                "--level",
                "2",
                "--out",
                "o",
            ],
        ),
        &["other.json", "contradicts"],
    );
    // Wrong device.
    fails_with(
        &run_in(
            d,
            &[
                "restore",
                "--checkpoint",
                c,
                "--input",
                "ok.png",
                "--level",
                "2",
                "--out",
                "o",
                "--device",
                "cuda:x",
            ],
        ),
        &["cuda:x"],
    );
}

/// The command of the design's contract, exactly: no `--out`, so the PNGs go to the default
/// `runs/restore/` of the working directory, and `x0_hat` equals the original network's output.
#[test]
fn documented_pt_command_without_out_dir_reproduces_the_original_output() {
    let dir = tmp();
    let d = dir.path();
    let io = fixture("cold-unet", "networks_io.safetensors");
    let (x_shape, x) = read_tensor(&io, "unet_small.x");
    let (_, t) = read_tensor(&io, "unet_small.t");
    let (_, y) = read_tensor(&io, "unet_small.y");
    let per: usize = x_shape[1..].iter().product();
    let mut shape = x_shape.clone();
    shape[0] = 1;
    write_tensors(
        &d.join("x.safetensors"),
        &[("x0", shape, x[..per].to_vec())],
    );
    std::fs::write(d.join("unet.json"), UNET_SMALL).unwrap();
    let level = (t[0] as usize + 1).to_string();
    let pt = fixture("cold-unet", "unet_small.pt");
    let o = run_in(
        d,
        &[
            "restore",
            "--checkpoint",
            s(&pt),
            "--unet-config",
            "unet.json",
            "--sampler",
            "direct",
            "--input",
            "x.safetensors",
            "--level",
            &level,
            "--save-tensors",
            "out.safetensors",
        ],
    );
    ok(&o);
    let (out_shape, ours) = read_tensor(&d.join("out.safetensors"), "x0_hat");
    assert_eq!(out_shape[1..], x_shape[1..]);
    let diff = max_abs_diff(&ours, &y[..per]);
    assert!(diff <= 2e-6, "max |cli - original| = {diff:e}");
    // Unknown fields of the JSON (the manifest's `seed`, `n_params`) are warnings naming them.
    let err = stderr(&o);
    for field in ["seed", "n_params"] {
        assert!(
            err.lines()
                .any(|l| l.starts_with("warning:") && l.contains("unet.json") && l.contains(field)),
            "{field}: {err}"
        );
    }
    assert!(d.join("runs/restore/x_restored.png").is_file());
    assert!(d.join("runs/restore/restore.png").is_file());
}
