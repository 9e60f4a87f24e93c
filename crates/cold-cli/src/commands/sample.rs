//! `cold sample`: generation from the fully degraded distribution of a trained checkpoint.

use cold_diffusion::sample::{PartnerMode, Record, Sampler, save_trajectory_gif};

use crate::cli::SampleArgs;
use crate::commands::generate::{self, PriorOptions};
use crate::commands::{build_op, device, method, rng};
use crate::error::{CliError, Result};
use crate::io::{ensure_dir, report, save_each, save_grid, save_tensors};
use crate::model;

/// Columns of the sample grid.
fn grid_columns(n: usize) -> usize {
    ((n as f64).sqrt().ceil() as usize).clamp(1, 16)
}

/// Runs `cold sample`.
pub fn run(args: SampleArgs) -> Result<()> {
    if args.n == 0 {
        return Err(CliError::new("--n 0: ask for at least one image"));
    }
    if let Some(s) = args.noise
        && !(s.is_finite() && s >= 0.0)
    {
        return Err(CliError::new(format!(
            "--noise {s}: must be a finite value >= 0"
        )));
    }
    if args.gmm_components == Some(0) {
        return Err(CliError::new(
            "--gmm-components 0: the mixture needs at least one component",
        ));
    }
    let device = device(args.device.device.as_deref())?;
    let (loaded, config) =
        model::load_trained(&args.checkpoint, model::entry(args.model), &device)?;
    let op = build_op(&config.degradation)?;
    let mut rng = rng(args.seed);
    let opts = PriorOptions {
        data: args.data.clone(),
        fit_images: args.prior_images.max(1),
        components: args.gmm_components,
        noise: args.noise,
        seed: args.seed,
    };
    let (start, prior) = generate::start(&config, op.as_ref(), args.n, &opts, &mut rng, &device)?;
    let restorer = cold_diffusion::unet_restorer(&loaded.net);
    let partner = if args.reestimate {
        PartnerMode::Reestimated
    } else {
        PartnerMode::Fixed
    };
    let record = if args.gif { Record::All } else { Record::None };
    let out = Sampler::new(op.as_ref(), method(args.sampler))
        .partner(partner)
        .record(record)
        .generate(&restorer, start)?;

    ensure_dir(&args.out)?;
    let names: Vec<String> = (0..args.n).map(|i| format!("sample_{i:04}")).collect();
    let files = save_each(&out.x0, &names, "", &args.out)?;
    let grid = args.out.join("samples.png");
    save_grid(&out.x0, grid_columns(args.n), &grid)?;

    println!("{}", loaded.description);
    println!("prior: {prior}");
    println!(
        "generated {} image(s) with {} from level T = {}",
        args.n,
        args.sampler.name(),
        op.steps()
    );
    report(
        "images",
        &args
            .out
            .join(format!("sample_<i>.png ({} files)", files.len())),
    );
    report("grid", &grid);
    if let Some(t) = out.trajectory {
        let gif = args.out.join("trajectory.gif");
        save_trajectory_gif(&t.states(), grid_columns(args.n), 100, &gif)?;
        report("trajectory", &gif);
    }
    if let Some(path) = &args.save_tensors {
        save_tensors(path, &[("samples".to_string(), out.x0)])?;
        report("tensors (samples)", path);
    }
    Ok(())
}
