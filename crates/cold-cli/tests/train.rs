//! `cold train`: a run from a preset and from a file, resuming, and bad configurations.

mod common;

use cold_diffusion::train::{CheckpointInfo, TrainConfig, read_log};
use common::{fails_with, ok, run_in, s, tmp};

#[test]
fn trains_from_a_config_file_and_resumes() {
    let dir = tmp();
    let d = dir.path();
    // The tiny preset as a file, the way a user starts from `cold presets --show`.
    let text = ok(&run_in(d, &["presets", "--show", "tiny-test"]));
    std::fs::write(d.join("tiny.toml"), text).unwrap();
    let out = ok(&run_in(
        d,
        &[
            "train",
            "--config",
            "tiny.toml",
            "--steps",
            "2",
            "--out",
            "run",
        ],
    ));
    assert!(out.contains("done: 2 steps"), "{out}");
    let latest = d.join("run/checkpoints/latest.safetensors");
    let info = CheckpointInfo::read(&latest).unwrap();
    assert_eq!(info.state.step, 2);
    let mut expected = TrainConfig::preset("tiny-test").unwrap();
    expected.steps = 2;
    expected.output_dir = "run".into();
    assert_eq!(info.config, expected);
    assert_eq!(
        read_log(d.join("run/train.jsonl"))
            .unwrap()
            .last()
            .unwrap()
            .step,
        2
    );

    // Starting again in the same directory would overwrite the run: refused.
    fails_with(
        &run_in(
            d,
            &[
                "train",
                "--config",
                "tiny.toml",
                "--steps",
                "2",
                "--out",
                "run",
            ],
        ),
        &["run", "--resume"],
    );
    // Resuming continues to the new step count.
    let out = ok(&run_in(d, &["train", "--resume", "run", "--steps", "4"]));
    assert!(
        out.contains("resuming") && out.contains("done: 4 steps"),
        "{out}"
    );
    assert_eq!(CheckpointInfo::read(&latest).unwrap().state.step, 4);
    // Fields that shape the saved state cannot change on resume.
    let mut changed = expected.clone();
    changed.batch_size = 4;
    std::fs::write(d.join("changed.json"), changed.to_json()).unwrap();
    fails_with(
        &run_in(
            d,
            &[
                "train",
                "--resume",
                "run",
                "--config",
                "changed.json",
                "--steps",
                "6",
            ],
        ),
        &["batch_size"],
    );
    // A configuration of another network architecture cannot resume this checkpoint.
    let mut other = serde_json::to_value(&expected).unwrap();
    other["network"] = serde_json::json!({
        "arch": "resunet", "ch": 32, "out_ch": 1, "ch_mult": [1, 2], "num_res_blocks": 1,
        "attn_resolutions": [], "dropout": 0.0, "resolution": 16, "in_channels": 1
    });
    std::fs::write(d.join("other.json"), other.to_string()).unwrap();
    fails_with(
        &run_in(
            d,
            &[
                "train",
                "--resume",
                "run",
                "--config",
                "other.json",
                "--steps",
                "6",
            ],
        ),
        &["network", "cannot change"],
    );
}

#[test]
fn dry_run_validates_without_training() {
    let dir = tmp();
    let out = ok(&run_in(
        dir.path(),
        &["train", "--preset", "deblur-celeba", "--dry-run"],
    ));
    assert!(out.contains("configuration is valid"), "{out}");
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn bad_configurations_are_one_line_errors() {
    let dir = tmp();
    let d = dir.path();
    let good = TrainConfig::preset("tiny-test").unwrap();
    // Unknown field (a typo), in TOML and JSON.
    let toml = good
        .to_toml()
        .replace("batch_size = 8", "batch_size = 8\nbatch_sise = 8");
    std::fs::write(d.join("typo.toml"), toml).unwrap();
    fails_with(
        &run_in(d, &["train", "--config", "typo.toml"]),
        &["typo.toml", "batch_sise"],
    );
    let mut v = serde_json::to_value(&good).unwrap();
    v["optimizer"]["learning_rate"] = 0.1.into();
    std::fs::write(d.join("typo.json"), v.to_string()).unwrap();
    fails_with(
        &run_in(d, &["train", "--config", "typo.json"]),
        &["typo.json", "learning_rate"],
    );
    // A wrong value: the image size must suit the network and the degradation.
    let mut bad = good.clone();
    bad.data.image_size = 15;
    std::fs::write(d.join("size.json"), bad.to_json()).unwrap();
    fails_with(
        &run_in(d, &["train", "--config", "size.json"]),
        &["image_size", "15"],
    );
    // Missing file, unknown preset, nothing given, missing resume checkpoint, wrong device.
    fails_with(
        &run_in(d, &["train", "--config", "nope.toml"]),
        &["nope.toml"],
    );
    fails_with(
        &run_in(d, &["train", "--preset", "nope"]),
        &["nope", "deblur-mnist"],
    );
    fails_with(&run_in(d, &["train"]), &["--config"]);
    fails_with(&run_in(d, &["train", "--resume", "gone"]), &["gone"]);
    fails_with(
        &run_in(d, &["train", "--preset", "tiny-test", "--device", "wgpu"]),
        &["wgpu", "--features wgpu"],
    );
    // A data set that is not there names the path.
    let mut cifar = TrainConfig::preset("deblur-cifar10").unwrap();
    cifar.output_dir = d.join("cifar");
    std::fs::write(d.join("cifar.json"), cifar.to_json()).unwrap();
    fails_with(
        &run_in(d, &["train", "--config", "cifar.json", "--steps", "1"]),
        &["cifar-10-batches-bin"],
    );
    // A checkpoint that is not one of ours cannot be resumed.
    let pt = common::fixture("cold-unet", "unet_small.pt");
    fails_with(
        &run_in(d, &["train", "--resume", s(&pt)]),
        &["unet_small.pt"],
    );
}
