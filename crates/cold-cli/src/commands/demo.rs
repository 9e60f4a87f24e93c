//! `cold demo`: the quickstart. Trains a small MNIST deblurring model on the bundled data, then
//! writes a restoration grid, generated samples, a trajectory GIF and the paper's metrics table.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Tensor;
use cold_diffusion::data::{Preset, Split};
use cold_diffusion::metrics::{EvalConfig, Evaluator};
use cold_diffusion::sample::{
    Method, Record, Sampler, labelled_grid, save_png, save_trajectory_gif,
};
use cold_diffusion::train::{RunPaths, TrainConfig, Trainer, load_ema_net};

use crate::cli::DemoArgs;
use crate::commands::generate::{self, PriorOptions};
use crate::commands::train::{drive, human_time};
use crate::commands::{build_op, data, device, eval, rng};
use crate::error::{CliError, Result};
use crate::io::{ensure_dir, report, save_grid};

/// The training preset the demo runs (small ConvNeXt U-Net, the paper's MNIST blur).
pub const PRESET: &str = "mnist-deblur-small";

/// Default number of training steps (the README gives measured times).
pub const DEFAULT_STEPS: u64 = 300;

/// Images in the restoration grid.
const GRID_IMAGES: usize = 8;

/// The paper's MNIST deblurring numbers (Table 1: SSIM / RMSE), for the metrics file.
const PAPER_TABLE: &str = "| | SSIM | RMSE |\n|---|---|---|\n| Degraded | 0.287 | 0.287 |\n| Sampled | 0.718 | 0.154 |\n| Direct | 0.757 | 0.142 |\n";

fn demo_config(out: &Path, steps: u64, seed: u64) -> Result<TrainConfig> {
    let mut c = TrainConfig::preset(PRESET)?;
    c.output_dir = out.join("train");
    c.steps = steps;
    c.seed = seed;
    c.samples.every = 0; // the demo draws its own pictures at the end
    c.checkpoint.every = steps.clamp(1, 500);
    c.checkpoint.keep_every = 0;
    c.log_every = (steps / 20).max(1);
    c.validate()?;
    Ok(c)
}

/// Trains (or resumes, or reuses) the demo model; returns the checkpoint.
fn train(config: TrainConfig, device: &burn::tensor::Device) -> Result<PathBuf> {
    let paths = RunPaths::new(&config.output_dir);
    let steps = config.steps;
    let mut trainer = if paths.latest().exists() {
        let t = Trainer::resume_with(paths.latest(), std::slice::from_ref(device), |c| {
            c.steps = steps.max(1);
            c.log_every = config.log_every;
            c.checkpoint = config.checkpoint.clone();
            c.samples = config.samples.clone();
        })
        .map_err(|e| {
            CliError::from(e).context(format!(
                "resuming the demo run in {} (delete it or choose another --out)",
                paths.root.display()
            ))
        })?;
        if t.step_count() >= steps {
            println!(
                "reusing the trained model in {} (step {})",
                paths.root.display(),
                t.step_count()
            );
            return Ok(paths.latest());
        }
        println!(
            "resuming the demo run at step {} of {steps}",
            t.step_count()
        );
        t
    } else {
        println!(
            "training a {:.2}M-parameter U-Net to undo the paper's MNIST blur (T = {}) for {steps} steps of batch {}",
            config.network.num_params() as f64 / 1e6,
            config.degradation.steps(),
            config.batch_size
        );
        Trainer::new(config, std::slice::from_ref(device))?
    };
    drive(&mut trainer, false)
}

/// Runs `cold demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    if args.steps == 0 {
        return Err(CliError::new("--steps 0: train at least one step"));
    }
    if args.samples == 0 {
        return Err(CliError::new("--samples 0: generate at least one image"));
    }
    if args.eval_images == 0 {
        return Err(CliError::new(
            "--eval-images 0: evaluate at least one image",
        ));
    }
    let started = Instant::now();
    let device = device(args.device.device.as_deref())?;
    let config = demo_config(&args.out, args.steps, args.seed)?;
    ensure_dir(&args.out)?;

    let checkpoint = train(config, &device)?;
    let trained_in = started.elapsed().as_secs_f64();
    let (net, config) = load_ema_net(&checkpoint, &device)?;
    let op = build_op(&config.degradation)?;
    let t = op.steps();

    // Test images as the original deblurring test loader prepares them.
    let test = data::load("mnist", Split::Test, 1)?;
    let parts = data::batches(
        test.set,
        Preset::ResizeCenterCrop,
        config.data.image_size,
        args.eval_images,
        64,
        None,
        &device,
    )?;

    // 1. Metrics: the paper's rows for blur (Degraded = x_T, Sampled = final x0 of Algorithm 2,
    //    Direct = R(x_T, T-1)), RMSE / SSIM in [0, 1] units.
    let rows = eval::rows(&config.degradation)?;
    let eval_cfg = EvalConfig {
        fid: false,
        label: format!(
            "cold demo: MNIST deblurring (T = {t}), {} test images, {} training steps",
            args.eval_images, args.steps
        ),
        ..EvalConfig::new(rows)
    };
    let mut evaluator = Evaluator::new(eval_cfg, None)?;
    let mut rng = rng(args.seed);
    let mut first = None;
    for x0 in parts {
        let (batch, out, x_t) = eval::batch(
            op.as_ref(),
            &net,
            rows,
            Method::Algorithm2,
            x0,
            &mut rng,
            &device,
        )?;
        if first.is_none() {
            first = Some((batch.original.clone(), x_t, out));
        }
        evaluator.add(batch)?;
    }
    let metrics = evaluator.finish()?;

    // 2. The restoration grid: original | degraded | direct | Algorithm 1 | Algorithm 2.
    let (x0, x_t, out) = first.expect("at least one batch");
    let k = x0.dims()[0].min(GRID_IMAGES);
    let (x0, x_t) = (x0.slice(0..k), x_t.slice(0..k));
    let restorer = cold_diffusion::unet_restorer(&net);
    let draw = cold_diffusion::degrade::Draw::empty(k);
    let alg1 = Sampler::new(op.as_ref(), Method::Algorithm1).run(
        &restorer,
        x_t.clone(),
        &vec![t; k],
        &draw,
    )?;
    let columns: Vec<(&str, Tensor<4>)> = vec![
        ("original", x0),
        ("degraded", x_t),
        ("direct", out.direct.slice(0..k)),
        ("alg 1", alg1.x0),
        ("alg 2", out.x0.slice(0..k)),
    ];
    let grid_path = args.out.join("restoration.png");
    save_png(&labelled_grid(&columns)?, &grid_path)?;

    // 3. Generation: blur generation from a Gaussian-mixture prior over channel means, with the
    //    paper's 0.002 symmetry-breaking noise, Algorithm 2 from T; the trajectory as a GIF.
    let opts = PriorOptions {
        data: None,
        fit_images: 10_000,
        components: Some(1),
        noise: Some(0.002),
        seed: args.seed,
    };
    let (start, prior) =
        generate::start(&config, op.as_ref(), args.samples, &opts, &mut rng, &device)?;
    let generated = Sampler::new(op.as_ref(), Method::Algorithm2)
        .record(Record::All)
        .generate(&restorer, start)?;
    let samples_path = args.out.join("samples.png");
    let cols = ((args.samples as f64).sqrt().ceil() as usize).max(1);
    save_grid(&generated.x0, cols, &samples_path)?;
    let gif_path = args.out.join("trajectory.gif");
    let trajectory = generated.trajectory.expect("recorded");
    save_trajectory_gif(&trajectory.states(), cols, 150, &gif_path)?;

    // 4. The metrics table, Markdown and JSON.
    let md_path = args.out.join("metrics.md");
    let json_path = args.out.join("metrics.json");
    metrics.write(&json_path, &md_path)?;
    let markdown = format!(
        "{}\nFor reference, the paper's Table 1 (MNIST, the 56.6M-parameter U-Net after 700 000 steps of batch 64):\n\n{PAPER_TABLE}",
        metrics.to_markdown()
    );
    std::fs::write(&md_path, &markdown).map_err(|e| CliError::io(&md_path, e))?;

    println!();
    print!("{}", metrics.to_markdown());
    println!();
    println!("prior: {prior}");
    println!(
        "done in {} (training {})",
        human_time(started.elapsed().as_secs_f64()),
        human_time(trained_in)
    );
    report("restoration grid", &grid_path);
    report("generated samples", &samples_path);
    report("trajectory GIF", &gif_path);
    report("metrics (Markdown)", &md_path);
    report("metrics (JSON)", &json_path);
    report("checkpoint", &checkpoint);
    Ok(())
}
