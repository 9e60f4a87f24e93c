//! `cold degrade`: `D(x0, s)` of a preset or configured operator at chosen levels.

use burn::tensor::Tensor;
use cold_diffusion::degrade::{Draw, ImageShape, PartnerKind};
use cold_diffusion::sample::{labelled_grid, save_png};

use crate::cli::DegradeArgs;
use crate::commands::{build_op, device, parse_levels, rng};
use crate::error::{CliError, Result};
use crate::io::{
    Expect, ensure_dir, load_inputs, read_degradation_config, report, save_each, save_tensors,
};

/// Runs `cold degrade`.
pub fn run(args: DegradeArgs) -> Result<()> {
    // Everything that can be checked without tensors first: config, levels, files.
    let cfg = match (&args.preset, &args.config) {
        (Some(name), _) => super::presets::degradation(name)?,
        (None, Some(path)) => read_degradation_config(path)?,
        (None, None) => return Err(CliError::new("give --preset NAME or --config FILE")),
    };
    let op = build_op(&cfg)?;
    let levels = parse_levels(&args.levels, op.steps(), op.name())?;
    let (size, channels) = cfg.image_size_and_channels();
    let source = match &args.preset {
        Some(name) => format!("preset `{name}`"),
        None => "the degradation config".to_string(),
    };
    let expect = Expect {
        tensor: Some(args.tensor.clone()),
        channels,
        size: size.map(|s| (s, s)),
        divisor: None,
        source: match size {
            Some(s) => format!("{source} (image_size = {s})"),
            None => source,
        },
    };
    if op.partner_kind() == PartnerKind::Images && args.partner.is_empty() {
        return Err(CliError::new(format!(
            "operator `{}` blends every image with a partner image: give --partner IMG_OR_SAFETENSORS (one per input)",
            op.name()
        )));
    }
    let device = device(args.device.device.as_deref())?;
    let inputs = load_inputs(&args.input, &expect, &device)?;
    let n = inputs.x.dims()[0];
    let shape = ImageShape::of(&inputs.x);
    let draw = if op.partner_kind() == PartnerKind::Images {
        let partner_expect = Expect {
            tensor: None,
            channels: Some(shape.channels),
            size: Some((shape.height, shape.width)),
            divisor: None,
            source: "the inputs".into(),
        };
        let partner = load_inputs(&args.partner, &partner_expect, &device)?;
        if partner.x.dims()[0] != n {
            return Err(CliError::new(format!(
                "--partner gives {} image(s) for {n} input(s): give one partner per input",
                partner.x.dims()[0]
            )));
        }
        Draw::partner(partner.x)
    } else {
        op.draw(n, shape, &device, &mut rng(args.seed))?
    };

    ensure_dir(&args.out)?;
    let mut tensors: Vec<(String, Tensor<4>)> = Vec::new();
    let mut columns: Vec<(String, Tensor<4>)> = Vec::new();
    let mut written = 0usize;
    for &s in &levels {
        let xs = op.degrade_at(inputs.x.clone(), s, &draw)?;
        written += save_each(&xs, &inputs.names, &format!("_level_{s}"), &args.out)?.len();
        columns.push((format!("s={s}"), xs.clone()));
        tensors.push((format!("level_{s}"), xs));
    }
    let grid_path = args.out.join("levels.png");
    let cols: Vec<(&str, Tensor<4>)> = columns
        .iter()
        .map(|(l, t)| (l.as_str(), t.clone()))
        .collect();
    save_png(&labelled_grid(&cols)?, &grid_path)?;

    println!(
        "degraded {n} image(s) with `{}` (T = {}) at levels {}",
        op.name(),
        op.steps(),
        levels
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    report(
        "images",
        &args
            .out
            .join(format!("<name>_level_<s>.png ({written} files)")),
    );
    report("grid", &grid_path);
    if let Some(path) = &args.save_tensors {
        save_tensors(path, &tensors)?;
        report("tensors (level_<s>)", path);
    }
    Ok(())
}
