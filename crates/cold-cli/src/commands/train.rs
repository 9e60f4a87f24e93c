//! `cold train`: a training run from a configuration file, a preset, or a checkpoint to resume.

use std::time::Instant;

use burn::tensor::Device;
use cold_diffusion::train::{CheckpointInfo, RunPaths, TrainConfig, Trainer};

use crate::cli::TrainArgs;
use crate::commands::device;
use crate::error::{CliError, Result};
use crate::io::report;
use crate::model::resolve_checkpoint;

/// The devices of `--device` (several for data parallelism), else the default device.
fn devices(specs: &[String]) -> Result<Vec<Device>> {
    if specs.is_empty() {
        return Ok(vec![device(None)?]);
    }
    specs.iter().map(|s| device(Some(s))).collect()
}

/// Reads `--config` / `--preset` with the command-line overrides applied.
fn config(args: &TrainArgs) -> Result<Option<TrainConfig>> {
    let mut config = match (&args.config, &args.preset) {
        (Some(path), _) => {
            let loaded = TrainConfig::from_file(path)?;
            for w in &loaded.warnings {
                eprintln!("warning: {}: {w}", path.display());
            }
            loaded.config
        }
        (None, Some(name)) => TrainConfig::preset(name)?,
        (None, None) => return Ok(None),
    };
    if let Some(out) = &args.out {
        config.output_dir = out.clone();
    }
    if let Some(steps) = args.steps {
        config.steps = steps;
    }
    config.validate()?;
    Ok(Some(config))
}

/// Runs the trainer to its configured step count, printing a line at every log interval.
pub fn drive(trainer: &mut Trainer, quiet: bool) -> Result<std::path::PathBuf> {
    trainer.set_progress_bar(false);
    let total = trainer.config().steps;
    let every = trainer.config().log_every.max(1);
    let start_step = trainer.step_count();
    let started = Instant::now();
    while trainer.step_count() < total {
        let r = trainer.step()?;
        if !quiet && (r.step % every == 0 || r.step == total) {
            let done = (r.step - start_step) as f64;
            let elapsed = started.elapsed().as_secs_f64();
            let eta = elapsed / done.max(1.0) * (total - r.step) as f64;
            println!(
                "step {:>7}/{total}  loss {:.5}  lr {:.2e}  {:.2} s/step  eta {}",
                r.step,
                r.loss,
                r.lr,
                elapsed / done.max(1.0),
                human_time(eta)
            );
        }
    }
    Ok(trainer.train()?)
}

/// `1h02m`, `3m05s`, `12s`.
pub fn human_time(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Runs `cold train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let config = config(&args)?;
    if config.is_none() && args.resume.is_none() {
        return Err(CliError::new(
            "give --config FILE, --preset NAME or --resume CKPT (see `cold presets --kind train` and configs/)",
        ));
    }
    if let Some(ckpt) = &args.resume {
        let path = resolve_checkpoint(ckpt);
        if !path.exists() {
            return Err(CliError::new(format!(
                "{}: no such file (--resume)",
                path.display()
            )));
        }
        // Read the header before any device or data work: a wrong file fails fast.
        let info = CheckpointInfo::read(&path)?;
        if args.dry_run {
            println!(
                "would resume {} at step {}",
                path.display(),
                info.state.step
            );
            return Ok(());
        }
        let devices = devices(&args.device)?;
        let mut trainer = Trainer::resume_with(&path, &devices, |c| {
            if let Some(new) = &config {
                *c = new.clone();
            }
            if let Some(out) = &args.out {
                c.output_dir = out.clone();
            }
            if let Some(steps) = args.steps {
                c.steps = steps;
            }
        })?;
        println!(
            "resuming {} at step {} of {}",
            path.display(),
            trainer.step_count(),
            trainer.config().steps
        );
        let last = drive(&mut trainer, false)?;
        return finish(&trainer, &last);
    }
    let config = config.expect("checked above");
    if args.dry_run {
        println!("configuration is valid:");
        print!("{}", config.to_toml());
        return Ok(());
    }
    let devices = devices(&args.device)?;
    let paths = RunPaths::new(&config.output_dir);
    if paths.latest().exists() {
        return Err(CliError::new(format!(
            "{}: the output directory already holds a run (checkpoint {}); continue it with --resume {} or choose another --out",
            config.output_dir.display(),
            paths.latest().display(),
            config.output_dir.display()
        )));
    }
    println!(
        "training `{}` (T = {}) with a {} network ({:.2}M parameters) for {} steps on {}",
        config.degradation.operator(),
        config.degradation.steps(),
        config.network.arch(),
        config.network.num_params() as f64 / 1e6,
        config.steps,
        args.device
            .first()
            .map_or("the default device", String::as_str)
    );
    let mut trainer = Trainer::new(config, &devices)?;
    let last = drive(&mut trainer, false)?;
    finish(&trainer, &last)
}

fn finish(trainer: &Trainer, last: &std::path::Path) -> Result<()> {
    let paths = trainer.paths();
    println!("done: {} steps", trainer.step_count());
    report("checkpoint", last);
    report("configuration", &paths.config());
    report("log (JSON lines)", &paths.log());
    if paths.samples().exists() {
        report("sample grids", &paths.samples());
    }
    Ok(())
}
