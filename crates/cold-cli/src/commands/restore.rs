//! `cold restore`: restore inputs degraded to a known level with a checkpoint.

use burn::tensor::Tensor;
use cold_diffusion::degrade::{DegradationConfig, Draw, ImageShape, PartnerKind};
use cold_diffusion::sample::{
    PartnerMode, Record, Sampler, labelled_grid, save_png, save_trajectory_gif,
};

use crate::cli::{RestoreArgs, SamplerArg};
use crate::commands::{build_op, device, method, rng};
use crate::error::{CliError, Result};
use crate::io::{
    Expect, ensure_dir, load_inputs, read_degradation_config, report, save_each, save_tensors,
};
use crate::model;

/// Runs `cold restore`.
pub fn run(args: RestoreArgs) -> Result<()> {
    if args.level == 0 {
        return Err(CliError::new(
            "--level 0: level-0 inputs are not degraded; the level is the number of degradation steps (1..=T), and the network is called with level - 1",
        ));
    }
    for p in &args.input {
        if !p.exists() {
            return Err(CliError::new(format!(
                "{}: no such file (input)",
                p.display()
            )));
        }
    }
    let given: Option<(DegradationConfig, String)> = match (&args.preset, &args.degradation) {
        (Some(name), _) => Some((
            super::presets::degradation(name)?,
            format!("preset `{name}`"),
        )),
        (None, Some(path)) => Some((read_degradation_config(path)?, path.display().to_string())),
        (None, None) => None,
    };
    let checkpoint = model::resolve_checkpoint(&args.checkpoint);
    let device = device(args.device.device.as_deref())?;
    let loaded = model::load(
        &checkpoint,
        args.unet_config.as_deref(),
        model::entry(args.model),
        &device,
    )?;
    let trained = loaded.train.as_ref();

    let degradation = match (given, trained) {
        (Some((cfg, source)), Some(t)) => {
            if cfg != t.degradation {
                eprintln!(
                    "warning: restoring with {source} instead of the degradation the checkpoint was trained with (`{}`, T = {})",
                    t.degradation.operator(),
                    t.degradation.steps()
                );
            }
            Some(cfg)
        }
        (Some((cfg, _)), None) => Some(cfg),
        (None, Some(t)) => Some(t.degradation.clone()),
        (None, None) => None,
    };
    let op = degradation.as_ref().map(build_op).transpose()?;
    if let Some(op) = &op
        && args.level > op.steps()
    {
        return Err(CliError::new(format!(
            "--level {}: above T = {} of operator `{}` (levels are 1..={})",
            args.level,
            op.steps(),
            op.name(),
            op.steps()
        )));
    }
    if op.is_none() && args.sampler != SamplerArg::Direct {
        return Err(CliError::new(format!(
            "--sampler {} needs the degradation operator: give --preset NAME or --degradation FILE \
             (or --sampler direct, which only calls the network)",
            args.sampler.name()
        )));
    }

    let net_cfg = loaded.net.config();
    let size = trained.map(|t| t.data.image_size).or_else(|| {
        degradation
            .as_ref()
            .and_then(|d| d.image_size_and_channels().0)
    });
    let expect = Expect {
        tensor: Some(args.tensor.clone()),
        channels: Some(net_cfg.in_channels()),
        size: size.map(|s| (s, s)),
        divisor: Some(net_cfg.size_divisor()),
        source: match (trained, size) {
            (Some(_), Some(s)) => format!("the checkpoint (trained on {s}x{s} images)"),
            (None, Some(s)) => format!("the degradation (image_size = {s})"),
            _ => format!("the network ({} resolution levels)", net_cfg.levels()),
        },
    };
    let inputs = load_inputs(&args.input, &expect, &device)?;
    let n = inputs.x.dims()[0];
    loaded.net.check_input(inputs.x.dims(), n)?;
    if inputs.x.dims()[1] != net_cfg.out_channels() {
        return Err(CliError::new(format!(
            "the network predicts {} channel(s) from {} input channel(s): it is not a restoration network",
            net_cfg.out_channels(),
            net_cfg.in_channels()
        )));
    }

    let restorer = cold_diffusion::unet_restorer(&loaded.net);
    let s = args.level;
    let (x0_hat, trajectory) = match (&op, args.sampler) {
        (_, SamplerArg::Direct) | (None, _) => {
            let t = vec![s - 1; n];
            (restorer(inputs.x.clone(), &t), None)
        }
        (Some(op), sampler) => {
            let shape = ImageShape::of(&inputs.x);
            // The partner of a blending operator is unknown for a given degraded image: it is
            // re-estimated at every step (DDIM), as the original `sample` routines do.
            let (draw, partner) = match op.partner_kind() {
                PartnerKind::None => (
                    op.draw(n, shape, &device, &mut rng(args.seed))?,
                    PartnerMode::Fixed,
                ),
                PartnerKind::Images => (Draw::partner(inputs.x.clone()), PartnerMode::Reestimated),
                _ => (
                    op.draw(n, shape, &device, &mut rng(args.seed))?,
                    PartnerMode::Reestimated,
                ),
            };
            let record = if args.gif { Record::All } else { Record::None };
            let out = Sampler::new(op.as_ref(), method(sampler))
                .partner(partner)
                .record(record)
                .run(&restorer, inputs.x.clone(), &vec![s; n], &draw)?;
            (out.x0, out.trajectory)
        }
    };

    ensure_dir(&args.out)?;
    let files = save_each(&x0_hat, &inputs.names, "_restored", &args.out)?;
    let grid_path = args.out.join("restore.png");
    let columns: Vec<(&str, Tensor<4>)> = vec![
        ("input", inputs.x.clone()),
        (args.sampler.name(), x0_hat.clone()),
    ];
    save_png(&labelled_grid(&columns)?, &grid_path)?;

    println!("{}", loaded.description);
    println!(
        "restored {n} image(s) from level {s} with {}",
        match args.sampler {
            SamplerArg::Direct => format!("direct reconstruction R(x_{s}, {})", s - 1),
            other => format!("{} ({} network calls)", other.name(), s),
        }
    );
    report(
        "images",
        &args
            .out
            .join(format!("<name>_restored.png ({} files)", files.len())),
    );
    report("grid (input | result)", &grid_path);
    if let Some(t) = trajectory {
        let gif = args.out.join("trajectory.gif");
        save_trajectory_gif(&t.states(), n.min(8), 120, &gif)?;
        report("trajectory", &gif);
    }
    if let Some(path) = &args.save_tensors {
        save_tensors(path, &[("x0_hat".to_string(), x0_hat)])?;
        report("tensors (x0_hat)", path);
    }
    Ok(())
}
