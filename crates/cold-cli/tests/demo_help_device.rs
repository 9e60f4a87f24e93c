//! `cold demo` (shortened), `--help` of every subcommand, and device selection.

mod common;

use common::*;

#[test]
fn demo_writes_its_pictures_and_metrics() {
    let dir = tmp();
    let d = dir.path();
    let out = ok(&run_in(
        d,
        &[
            "demo",
            "--steps",
            "2",
            "--eval-images",
            "6",
            "--samples",
            "4",
            "--out",
            "demo",
        ],
    ));
    for f in [
        "restoration.png",
        "samples.png",
        "trajectory.gif",
        "metrics.md",
        "metrics.json",
        "train/checkpoints/latest.safetensors",
    ] {
        assert!(
            d.join("demo").join(f).is_file(),
            "{f} missing; stdout:\n{out}"
        );
        assert!(
            out.contains(f.rsplit('/').next().unwrap()),
            "stdout does not say where {f} went:\n{out}"
        );
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("demo/metrics.json")).unwrap())
            .unwrap();
    assert_eq!(metrics["images"], 6);
    let rows: Vec<&str> = metrics["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ["Degraded", "Sampled", "Direct"]);
    // The paper's blur definition: Degraded = x_T, Sampled = the final Algorithm-2 image.
    assert_eq!(metrics["rows_definition"]["degraded"], "FullyDegraded");
    assert_eq!(metrics["rows_definition"]["sampled"], "FinalSample");
    let md = std::fs::read_to_string(d.join("demo/metrics.md")).unwrap();
    assert!(
        md.contains("| Degraded |") && md.contains("SSIM") && md.contains("RMSE"),
        "{md}"
    );
    // The grid has five labelled columns of 6 images (original | degraded | direct | alg 1 | alg 2).
    let grid = image::open(d.join("demo/restoration.png")).unwrap();
    assert!(
        grid.width() > 5 * 32 && grid.height() > 6 * 32,
        "{}x{}",
        grid.width(),
        grid.height()
    );

    // A second run reuses the finished model instead of training again.
    let again = ok(&run_in(
        d,
        &[
            "demo",
            "--steps",
            "2",
            "--eval-images",
            "2",
            "--samples",
            "1",
            "--out",
            "demo",
        ],
    ));
    assert!(again.contains("reusing the trained model"), "{again}");
}

#[test]
fn demo_bad_inputs_are_one_line_errors() {
    let dir = tmp();
    fails_with(
        &run_in(dir.path(), &["demo", "--steps", "0"]),
        &["--steps 0"],
    );
    fails_with(
        &run_in(dir.path(), &["demo", "--device", "quantum"]),
        &["quantum"],
    );
}

#[test]
fn every_subcommand_has_help() {
    for (cmd, flags) in [
        ("demo", &["--out", "--steps", "--device"][..]),
        (
            "train",
            &["--config", "--resume", "--out", "--device", "--steps"],
        ),
        (
            "sample",
            &[
                "--checkpoint",
                "--n",
                "--seed",
                "--sampler",
                "--noise",
                "--out",
                "--gif",
                "--device",
            ],
        ),
        (
            "restore",
            &[
                "--checkpoint",
                "--input",
                "--level",
                "--sampler",
                "--out",
                "--save-tensors",
                "--unet-config",
                "--preset",
                "--degradation",
                "--ema",
                "--model",
                "--device",
            ],
        ),
        (
            "degrade",
            &[
                "--preset",
                "--config",
                "--input",
                "--levels",
                "--out",
                "--save-tensors",
                "--seed",
                "--device",
            ],
        ),
        (
            "eval",
            &[
                "--checkpoint",
                "--data",
                "--metrics",
                "--inception",
                "--n",
                "--sampler",
                "--out",
                "--device",
            ],
        ),
        ("presets", &["--kind", "--show"]),
    ] {
        let text = ok(&run(&[cmd, "--help"]));
        for f in flags {
            assert!(
                text.contains(f),
                "`cold {cmd} --help` does not mention {f}:\n{text}"
            );
        }
    }
    let top = ok(&run(&["--help"]));
    for cmd in [
        "demo", "train", "sample", "restore", "degrade", "eval", "presets",
    ] {
        assert!(top.contains(cmd), "{top}");
    }
    assert!(ok(&run(&["--version"])).contains(env!("CARGO_PKG_VERSION")));
    fails_with(&run(&["frobnicate"]), &["frobnicate"]);
}

#[test]
fn devices_are_chosen_by_flag_or_environment_with_clear_errors() {
    let dir = tmp();
    let d = dir.path();
    write_png(&d.join("a.png"), 32, 32, 0);
    let args = [
        "degrade",
        "--preset",
        "blur-mnist",
        "--input",
        "a.png",
        "--out",
        "o",
    ];
    for good in ["cpu", "flex", "FLEX"] {
        let mut a = args.to_vec();
        a.extend(["--device", good]);
        ok(&run_in(d, &a));
    }
    // BURN_DEVICE is honoured when --device is absent, and its errors say where they came from.
    let o = cold()
        .current_dir(d)
        .args(args)
        .env("BURN_DEVICE", "flex")
        .output()
        .unwrap();
    ok(&o);
    let o = cold()
        .current_dir(d)
        .args(args)
        .env("BURN_DEVICE", "abacus")
        .output()
        .unwrap();
    fails_with(&o, &["abacus", "BURN_DEVICE"]);
    // --device wins over BURN_DEVICE.
    let mut a = args.to_vec();
    a.extend(["--device", "cpu"]);
    ok(&cold()
        .current_dir(d)
        .args(&a)
        .env("BURN_DEVICE", "abacus")
        .output()
        .unwrap());
    // Backends not compiled into this build (the default build has flex only).
    if !cfg!(feature = "wgpu") {
        let mut a = args.to_vec();
        a.extend(["--device", "wgpu"]);
        fails_with(&run_in(d, &a), &["wgpu", "--features wgpu"]);
    }
    if !cfg!(feature = "cuda") {
        let o = cold()
            .current_dir(d)
            .args(args)
            .env("BURN_DEVICE", "cuda")
            .output()
            .unwrap();
        fails_with(&o, &["cuda", "BURN_DEVICE", "--features cuda"]);
        let mut a = args.to_vec();
        a.extend(["--device", "cuda:1"]);
        fails_with(&run_in(d, &a), &["cuda:1"]);
    }
    for bad in ["tpu", "cuda:-1", "cuda:one", ""] {
        let mut a = args.to_vec();
        a.extend(["--device", bad]);
        fails_with(&run_in(d, &a), &[]);
    }
}
