//! `cold presets`: every preset on one line, its name first, then `key=value` parameters
//! starting with its kind; `--show NAME` prints one preset's full configuration.

use cold_diffusion::degrade::{DegradationConfig, presets as degradation_presets};
use cold_diffusion::train::{DatasetSource, TrainConfig};
use cold_diffusion::unet::NetConfig;

use crate::cli::{PresetKind, PresetsArgs};
use crate::error::{CliError, Result};

/// A JSON value as one `key=value` token: arrays as `[1,2,4]`, strings without quotes.
fn token(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(token).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

fn params_millions(n: usize) -> String {
    format!("{:.2}M", n as f64 / 1e6)
}

/// `arch=unet dim=64 ... params=56.62M`.
pub fn network_parameters(cfg: &NetConfig) -> String {
    let mut parts = Vec::new();
    if let serde_json::Value::Object(map) = cfg.to_json_value() {
        // `arch` first, then the constructor's arguments in its order.
        if let Some(a) = map.get("arch") {
            parts.push(format!("arch={}", token(a)));
        }
        for (k, v) in &map {
            if k != "arch" && !v.is_null() {
                parts.push(format!("{k}={}", token(v)));
            }
        }
    }
    parts.push(format!("params={}", params_millions(cfg.num_params())));
    parts.join(" ")
}

fn dataset(source: &DatasetSource) -> String {
    match source {
        DatasetSource::Mnist { path: None } => "mnist".into(),
        DatasetSource::Mnist { path: Some(p) } => format!("mnist:{}", p.display()),
        DatasetSource::FashionMnist { path } => format!("fashion-mnist:{}", path.display()),
        DatasetSource::Cifar10 { path } => format!("cifar10:{}", path.display()),
        DatasetSource::Folder { path } => format!("folder:{}", path.display()),
    }
}

/// A training configuration's main parameters on one line.
pub fn train_parameters(c: &TrainConfig) -> String {
    let mut parts = vec![
        format!("dataset={}", dataset(&c.data.dataset)),
        format!("augmentation={}", c.data.augmentation.name()),
        format!("image_size={}", c.data.image_size),
        format!("channels={}", c.data.channels),
        format!("operator={}", c.degradation.operator()),
        format!("time_steps={}", c.degradation.steps()),
        format!("arch={}", c.network.arch()),
        format!("params={}", params_millions(c.network.num_params())),
        format!("steps={}", c.steps),
        format!("batch_size={}", c.batch_size),
        format!("grad_accumulation={}", c.grad_accumulation),
        format!("lr={}", c.optimizer.lr),
        format!(
            "loss={}",
            token(&serde_json::to_value(c.loss).unwrap_or_default())
        ),
        format!("ema_decay={}", c.ema.decay),
    ];
    if let Some(p) = &c.data.partner {
        parts.push(format!("partner={}", dataset(&p.dataset)));
    }
    parts.push(format!("output_dir={}", c.output_dir.display()));
    parts.join(" ")
}

/// Every preset line of `kind` (all kinds when `None`), in the order degradations, networks,
/// training runs.
pub fn lines(kind: Option<PresetKind>) -> Vec<String> {
    let want = |k: PresetKind| kind.is_none_or(|w| w == k);
    let mut out = Vec::new();
    if want(PresetKind::Degradation) {
        for p in degradation_presets() {
            out.push(format!(
                "{}  kind=degradation {}",
                p.name,
                p.config.parameters()
            ));
        }
    }
    if want(PresetKind::Network) {
        for p in NetConfig::presets() {
            out.push(format!(
                "{}  kind=network {}",
                p.name,
                network_parameters(&p.config())
            ));
        }
    }
    if want(PresetKind::Train) {
        for p in TrainConfig::presets() {
            out.push(format!(
                "{}  kind=train {}",
                p.name,
                train_parameters(&p.config())
            ));
        }
    }
    out
}

fn comment(text: &str) -> String {
    format!("# {text}\n")
}

/// The full configuration of the preset `name` as TOML (a training preset can be saved as a
/// config file), with a comment header. A name used by several kinds needs `kind`.
pub fn show(name: &str, kind: Option<PresetKind>) -> Result<String> {
    let found: Vec<&str> = [
        (
            PresetKind::Degradation,
            "degradation",
            degradation_presets().iter().any(|p| p.name == name),
        ),
        (
            PresetKind::Network,
            "network",
            NetConfig::presets().iter().any(|p| p.name == name),
        ),
        (
            PresetKind::Train,
            "train",
            TrainConfig::presets().iter().any(|p| p.name == name),
        ),
    ]
    .into_iter()
    .filter(|(k, _, hit)| *hit && kind.is_none_or(|w| w == *k))
    .map(|(_, label, _)| label)
    .collect();
    if found.len() > 1 {
        return Err(CliError::new(format!(
            "`{name}` names a preset of several kinds ({}): add --kind {}",
            found.join(", "),
            found.join("|")
        )));
    }
    let want = |k: PresetKind| kind.is_none_or(|w| w == k);
    let mut out = String::new();
    if want(PresetKind::Degradation)
        && let Some(p) = degradation_presets().into_iter().find(|p| p.name == name)
    {
        out.push_str(&comment(&format!(
            "degradation preset `{name}`: {}",
            p.description
        )));
        out.push_str(&p.config.to_toml());
    }
    if want(PresetKind::Network)
        && let Some(p) = NetConfig::presets().iter().find(|p| p.name == name)
    {
        out.push_str(&comment(&format!(
            "network preset `{name}`: {} (JSON, for --unet-config)",
            p.description
        )));
        out.push_str(
            &serde_json::to_string_pretty(&p.config().to_json_value()).unwrap_or_default(),
        );
        out.push('\n');
    }
    if want(PresetKind::Train)
        && let Some(p) = TrainConfig::presets().iter().find(|p| p.name == name)
    {
        out.push_str(&comment(&format!(
            "training preset `{name}`: {}",
            p.description
        )));
        out.push_str(&comment(&format!(
            "run it: cold train --config {name}.toml"
        )));
        out.push_str(&p.config().to_toml());
    }
    if out.is_empty() {
        let mut known: Vec<&str> = degradation_presets().iter().map(|p| p.name).collect();
        known.extend(NetConfig::presets().iter().map(|p| p.name));
        known.extend(TrainConfig::presets().iter().map(|p| p.name));
        return Err(CliError::new(format!(
            "unknown preset `{name}`; the presets are: {}",
            known.join(", ")
        )));
    }
    Ok(out)
}

/// Runs `cold presets`.
pub fn run(args: PresetsArgs) -> Result<()> {
    match &args.show {
        Some(name) => print!("{}", show(name, args.kind)?),
        None => {
            for line in lines(args.kind) {
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// The degradation preset `name`, with an error listing the known names.
pub fn degradation(name: &str) -> Result<DegradationConfig> {
    Ok(DegradationConfig::preset(name)?)
}
