//! Train a small deblurring model on the bundled MNIST with the library's [`Trainer`], then
//! measure it on test digits: RMSE / SSIM of the blurred input, of direct reconstruction and of
//! Algorithm 2, against the originals.
//!
//! ```text
//! cargo run --release --example train_mnist_deblur            # 300 steps
//! cargo run --release --example train_mnist_deblur -- 1000    # more steps, better numbers
//! ```
//!
//! Writes `runs/examples/train_mnist_deblur/` (the run: `config.json`, `train.jsonl`,
//! `checkpoints/latest.safetensors`) and `runs/examples/train_mnist_deblur/restoration.png`
//! (original | blurred | direct | Algorithm 2). Running it again continues the run from its
//! checkpoint up to the requested step count. The examples `restore_image` and
//! `generate_from_blur` reuse this checkpoint.
//!
//! The run is the `mnist-deblur-small` training preset (`cold presets --show mnist-deblur-small`):
//! the paper's MNIST blur (T = 20 constant Gaussian blurs, k 11, σ 7) and a 1.01M-parameter
//! ConvNeXt U-Net (dim 16, mults 1, 2, 4), batch 32, L1 loss, Adam at 3e-4 after a 50-step
//! warm-up (about 2.4 s per step on one core of the 2-core development machine, quiet).
//!
//! Measured once with the earlier dim-32 preset (release build, Flex backend, on the 2-core
//! development machine while it was heavily shared, load average about 8):
//! `-- 3` ran in 1 min 43 s, of
//! which 26 s training (about 9 s per step) and the rest the evaluation of 64 digits with
//! Algorithm 2; at that rate the default 300 steps would take about 45 minutes (extrapolated).

use std::path::PathBuf;

use cold_diffusion::burn::tensor::{Device, Tensor};
use cold_diffusion::data::{Loader, LoaderConfig, Mnist, Preset, Split};
use cold_diffusion::degrade::Draw;
use cold_diffusion::metrics::{rmse, ssim, to_unit_range};
use cold_diffusion::sample::{Method, Sampler, labelled_grid, save_png};
use cold_diffusion::train::{RunPaths, TrainConfig, Trainer, load_ema_net};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let steps: u64 = match std::env::args().nth(1) {
        Some(s) => s.parse().map_err(|e| format!("steps `{s}`: {e}"))?,
        None => 300,
    };
    let device = Device::flex();
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runs/examples/train_mnist_deblur");

    // 1. The configuration: a preset, edited like any struct (or read from a TOML file with
    //    `TrainConfig::from_file`).
    let mut config = TrainConfig::preset("mnist-deblur-small")?;
    config.output_dir = out.clone();
    config.steps = steps;
    config.log_every = 25;
    config.checkpoint.every = 100;
    config.samples.every = 0;
    // The preset averages from step 2000 on; start early so that a short run has a useful EMA.
    config.ema.start_step = 50;
    config.validate()?;

    // 2. Train (or continue the run of an earlier invocation).
    let paths = RunPaths::new(&out);
    let mut trainer = if paths.latest().exists() {
        Trainer::resume_with(paths.latest(), std::slice::from_ref(&device), |c| {
            c.steps = steps
        })?
    } else {
        Trainer::new(config, std::slice::from_ref(&device))?
    };
    trainer.set_progress_bar(false);
    let started = std::time::Instant::now();
    while trainer.step_count() < steps {
        let report = trainer.step()?;
        if report.step % 25 == 0 {
            println!(
                "step {:>5}/{steps}  loss {:.4}  ({:.2} s/step)",
                report.step,
                report.loss,
                started.elapsed().as_secs_f64() / report.step.max(1) as f64
            );
        }
    }
    let checkpoint = trainer.train()?; // writes the final checkpoint
    println!(
        "trained to step {} in {:.0} s: {}",
        trainer.step_count(),
        started.elapsed().as_secs_f64(),
        checkpoint.display()
    );

    // 3. Evaluate the EMA weights on 64 test digits, prepared as the original test loader did.
    let (net, config) = load_ema_net(&checkpoint, &device)?;
    let op = config.degradation.build()?;
    let t = op.steps();
    let test = Mnist::bundled(Split::Test)?;
    let pipeline = Preset::ResizeCenterCrop.pipeline(config.data.image_size)?;
    let loader = Loader::new(test, pipeline, LoaderConfig::eval(64, 0))?;
    let x0 = loader.stream(&device).next().ok_or("no test batch")?.images;
    let n = x0.dims()[0];
    let draw = Draw::empty(n); // blur is deterministic
    let x_t = op.degrade_at(x0.clone(), t, &draw)?;
    let restorer = cold_diffusion::unet_restorer(&net);
    let direct = Sampler::new(op.as_ref(), Method::Direct).run(
        &restorer,
        x_t.clone(),
        &vec![t; n],
        &draw,
    )?;
    let alg2 = Sampler::new(op.as_ref(), Method::Algorithm2).run(
        &restorer,
        x_t.clone(),
        &vec![t; n],
        &draw,
    )?;

    println!("\n{n} test digits, level T = {t}  (metrics in [0, 1] units)");
    println!("| | RMSE | SSIM |\n|---|---|---|");
    for (label, x) in [
        ("Degraded", x_t.clone()),
        ("Direct", direct.x0.clone()),
        ("Algorithm 2", alg2.x0.clone()),
    ] {
        let (a, b) = (to_unit_range(x), to_unit_range(x0.clone()));
        println!(
            "| {label} | {:.4} | {:.4} |",
            rmse(a.clone(), b.clone())?,
            ssim(a, b)?
        );
    }

    let k = 8.min(n);
    let columns: Vec<(&str, Tensor<4>)> = vec![
        ("original", x0.slice(0..k)),
        ("blurred", x_t.slice(0..k)),
        ("direct", direct.x0.slice(0..k)),
        ("alg 2", alg2.x0.slice(0..k)),
    ];
    let grid = out.join("restoration.png");
    save_png(&labelled_grid(&columns)?, &grid)?;
    println!("\nrestoration grid: {}", grid.display());
    Ok(())
}
