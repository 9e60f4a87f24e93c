//! Every file in `configs/` parses, validates, equals the training preset of its name, and is
//! accepted by `cold train --config FILE --dry-run`; every paper experiment has a file.

mod common;

use cold_diffusion::train::TrainConfig;
use common::{ok, repo, run, s};

fn config_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("configs"))
        .expect("configs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_config_file_is_valid_and_equals_its_preset() {
    let files = config_files();
    assert!(!files.is_empty());
    for file in &files {
        let loaded =
            TrainConfig::from_file(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            loaded.warnings.is_empty(),
            "{}: {:?}",
            file.display(),
            loaded.warnings
        );
        let name = file.file_stem().unwrap().to_str().unwrap();
        let preset = TrainConfig::preset(name)
            .unwrap_or_else(|e| panic!("{}: no preset of that name: {e}", file.display()));
        assert_eq!(
            loaded.config,
            preset,
            "{} differs from its preset (run scripts/gen-configs.py)",
            file.display()
        );
        let out = ok(&run(&["train", "--config", s(file), "--dry-run"]));
        assert!(out.contains("configuration is valid"), "{out}");
    }
}

#[test]
fn every_training_preset_except_the_test_one_has_a_file() {
    let names: Vec<String> = config_files()
        .iter()
        .map(|f| f.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    for p in TrainConfig::presets() {
        if p.name == "tiny-test" {
            continue;
        }
        assert!(
            names.contains(&p.name.to_string()),
            "configs/{}.toml is missing",
            p.name
        );
    }
    // The paper's experiments (spec §3, one row each; CelebA/AFHQ and MNIST/CIFAR rows split).
    for name in [
        "deblur-mnist",
        "deblur-cifar10",
        "deblur-celeba",
        "blurgen-celeba",
        "blurgen-afhq",
        "inpaint-mnist",
        "inpaint-cifar10",
        "inpaint-celeba",
        "inpaintgen-celeba",
        "superres-mnist",
        "superres-cifar10",
        "superres-celeba",
        "snow-cifar10",
        "snow-celeba",
        "decolor-cifar10",
        "decolor-celeba",
        "animorph-celeba",
        "hot-celeba",
        "hot-afhq",
    ] {
        assert!(
            names.contains(&name.to_string()),
            "configs/{name}.toml is missing"
        );
    }
}
