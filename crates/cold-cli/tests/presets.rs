//! `cold presets`: one line per preset, name first, then `key=value` parameters; `--show`.

mod common;

use std::collections::HashMap;

use cold_diffusion::degrade::{DegradationConfig, presets};
use cold_diffusion::train::{ConfigFormat, TrainConfig};
use cold_diffusion::unet::NetConfig;
use common::{fails_with, ok, run};

/// `name -> (kind, parameters)` of every line.
fn listing(args: &[&str]) -> Vec<(String, HashMap<String, String>)> {
    ok(&run(args))
        .lines()
        .map(|line| {
            let mut parts = line.split_whitespace();
            let name = parts.next().expect("a name").to_string();
            let params = parts
                .map(|p| {
                    let (k, v) = p
                        .split_once('=')
                        .unwrap_or_else(|| panic!("`{p}` is not key=value in: {line}"));
                    (k.to_string(), v.to_string())
                })
                .collect();
            (name, params)
        })
        .collect()
}

#[test]
fn every_preset_is_listed_once_per_kind_with_its_parameters() {
    let lines = listing(&["presets"]);
    let kinds = |kind: &str| -> Vec<&str> {
        lines
            .iter()
            .filter(|(_, p)| p["kind"] == kind)
            .map(|(n, _)| n.as_str())
            .collect()
    };
    let degradations: Vec<&str> = presets().iter().map(|p| p.name).collect();
    assert_eq!(kinds("degradation"), degradations);
    let networks: Vec<&str> = NetConfig::presets().iter().map(|p| p.name).collect();
    assert_eq!(kinds("network"), networks);
    let trains: Vec<&str> = TrainConfig::presets().iter().map(|p| p.name).collect();
    assert_eq!(kinds("train"), trains);
    assert_eq!(
        lines.len(),
        degradations.len() + networks.len() + trains.len()
    );

    // The parameters are the presets' own values.
    for (name, p) in &lines {
        match p["kind"].as_str() {
            "degradation" => {
                let cfg = DegradationConfig::preset(name).unwrap();
                assert_eq!(p["operator"], cfg.operator(), "{name}");
                assert_eq!(p["time_steps"], cfg.steps().to_string(), "{name}");
            }
            "network" => {
                let cfg = NetConfig::preset(name).unwrap();
                assert_eq!(p["arch"], cfg.arch(), "{name}");
            }
            "train" => {
                let cfg = TrainConfig::preset(name).unwrap();
                assert_eq!(p["steps"], cfg.steps.to_string(), "{name}");
                assert_eq!(
                    p["time_steps"],
                    cfg.degradation.steps().to_string(),
                    "{name}"
                );
                assert_eq!(p["image_size"], cfg.data.image_size.to_string(), "{name}");
            }
            other => panic!("unknown kind {other}"),
        }
    }
    let (_, blur) = lines.iter().find(|(n, _)| n == "blur-mnist").unwrap();
    assert_eq!(
        (
            blur["operator"].as_str(),
            blur["time_steps"].as_str(),
            blur["blur_size"].as_str(),
            blur["blur_std"].as_str()
        ),
        ("blur", "20", "11", "7.0")
    );
    let (_, unet) = lines.iter().find(|(n, _)| n == "unet-paper-rgb").unwrap();
    assert_eq!(
        (
            unet["dim"].as_str(),
            unet["dim_mults"].as_str(),
            unet["params"].as_str()
        ),
        ("64", "[1,2,4,8]", "56.62M")
    );
}

#[test]
fn kind_filters_the_list() {
    let lines = listing(&["presets", "--kind", "network"]);
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|(_, p)| p["kind"] == "network"));
}

#[test]
fn show_prints_a_loadable_configuration() {
    let text = ok(&run(&["presets", "--show", "mnist-deblur-small"]));
    let parsed = TrainConfig::parse(&text, ConfigFormat::Toml).unwrap();
    assert_eq!(
        parsed.config,
        TrainConfig::preset("mnist-deblur-small").unwrap()
    );

    let text = ok(&run(&["presets", "--show", "blur-cifar10"]));
    assert_eq!(
        DegradationConfig::from_toml(&text).unwrap(),
        DegradationConfig::preset("blur-cifar10").unwrap()
    );

    let text = ok(&run(&["presets", "--show", "unet-tiny"]));
    let json: String = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        NetConfig::from_json_str(&json).unwrap().config,
        NetConfig::preset("unet-tiny").unwrap()
    );
}

#[test]
fn unknown_and_ambiguous_names_are_errors() {
    fails_with(
        &run(&["presets", "--show", "no-such-preset"]),
        &["no-such-preset", "blur-mnist"],
    );
    // `inpaint-mnist` is a degradation and a training preset.
    fails_with(
        &run(&["presets", "--show", "inpaint-mnist"]),
        &["inpaint-mnist", "--kind"],
    );
    let text = ok(&run(&[
        "presets",
        "--show",
        "inpaint-mnist",
        "--kind",
        "degradation",
    ]));
    assert!(DegradationConfig::from_toml(&text).is_ok());
    fails_with(&run(&["presets", "--kind", "nonsense"]), &["nonsense"]);
}
