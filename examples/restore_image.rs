//! Restore a blurred image file with a trained checkpoint: read a PNG, degrade it with the
//! operator the checkpoint was trained on, restore it with direct reconstruction, Algorithm 1
//! and Algorithm 2, and write the results as PNGs.
//!
//! ```text
//! cargo run --release --example restore_image                        # a bundled MNIST digit
//! cargo run --release --example restore_image -- digit.png           # your own 32x32 gray image
//! cargo run --release --example restore_image -- digit.png run/checkpoints/latest.safetensors
//! ```
//!
//! The checkpoint defaults to the one of the `train_mnist_deblur` example
//! (`runs/examples/train_mnist_deblur/checkpoints/latest.safetensors`); when it does not exist
//! yet, this example first trains one with the same settings for 300 steps. The input defaults
//! to the first digit of the bundled MNIST test set (written to `input.png`).
//!
//! Writes `runs/examples/restore_image/`: `input.png`, `blurred.png`, `direct.png`, `alg1.png`,
//! `alg2.png` and `comparison.png` (all five side by side), and prints the RMSE of each against
//! the input.
//!
//! Measured once (release build, Flex backend, on the 2-core development machine while it
//! was heavily shared, load average about 8, so a quiet machine is faster):
//! 3.2 s with an existing checkpoint
//! (`cold demo`'s); without one, add the training of `train_mnist_deblur`.

use std::path::{Path, PathBuf};

use cold_diffusion::burn::tensor::{Device, Tensor, TensorData};
use cold_diffusion::data::{Mnist, Preset, Split, decode_image_file};
use cold_diffusion::degrade::Draw;
use cold_diffusion::metrics::{rmse, to_unit_range};
use cold_diffusion::sample::{Method, Sampler, image_grid, labelled_grid, save_png};
use cold_diffusion::train::{RunPaths, TrainConfig, Trainer, load_ema_net};

type Error = Box<dyn std::error::Error>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The checkpoint of `train_mnist_deblur`, trained here for 300 steps if it is missing.
fn default_checkpoint(device: &Device) -> Result<PathBuf, Error> {
    let out = root().join("runs/examples/train_mnist_deblur");
    let paths = RunPaths::new(&out);
    if paths.latest().exists() {
        return Ok(paths.latest());
    }
    println!(
        "no checkpoint yet: training mnist-deblur-small for 300 steps into {}",
        out.display()
    );
    let mut config = TrainConfig::preset("mnist-deblur-small")?;
    config.output_dir = out;
    config.steps = 300;
    config.log_every = 50;
    config.checkpoint.every = 100;
    config.samples.every = 0;
    config.ema.start_step = 50;
    let mut trainer = Trainer::new(config, std::slice::from_ref(device))?;
    Ok(trainer.train()?)
}

/// A gray image file as a `[1, 1, H, W]` tensor in [-1, 1] (`v / 255 · 2 − 1`).
fn read_gray(path: &Path, device: &Device) -> Result<Tensor<4>, Error> {
    let img = decode_image_file(path)?;
    let s = img.shape;
    // Colour files are averaged to gray: the MNIST model has one channel.
    let plane = s.height * s.width;
    let values: Vec<f32> = (0..plane)
        .map(|i| {
            let sum: f32 = (0..s.channels)
                .map(|c| img.pixels[c * plane + i] as f32)
                .sum();
            sum / s.channels as f32 / 255.0 * 2.0 - 1.0
        })
        .collect();
    Ok(Tensor::from_data(
        TensorData::new(values, [1, 1, s.height, s.width]),
        device,
    ))
}

fn main() -> Result<(), Error> {
    let device = Device::flex();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = root().join("runs/examples/restore_image");
    std::fs::create_dir_all(&out)?;

    let checkpoint = match args.get(1) {
        Some(p) => PathBuf::from(p),
        None => default_checkpoint(&device)?,
    };
    // The EMA weights and the training configuration (operator, image size) of the checkpoint.
    let (net, config) = load_ema_net(&checkpoint, &device)?;
    let size = config.data.image_size;

    let x0 = match args.first() {
        Some(p) => read_gray(Path::new(p), &device)?,
        None => {
            // The first test digit, resized and cropped as the original test loader does.
            let test = Mnist::bundled(Split::Test)?;
            let pipeline = Preset::ResizeCenterCrop.pipeline(size)?;
            let loader = cold_diffusion::data::Loader::new(
                test,
                pipeline,
                cold_diffusion::data::LoaderConfig::eval(1, 0),
            )?;
            let x = loader.stream(&device).next().ok_or("no test image")?.images;
            save_png(&image_grid(&x, 1)?, out.join("input.png"))?;
            x
        }
    };
    let [_, c, h, w] = x0.dims();
    if (c, h, w) != (1, size, size) {
        return Err(format!(
            "the input is {c}x{h}x{w}; the checkpoint was trained on 1x{size}x{size} images"
        )
        .into());
    }

    let op = config.degradation.build()?;
    let t = op.steps();
    let draw = Draw::empty(1); // blur has no randomness
    let x_t = op.degrade_at(x0.clone(), t, &draw)?;
    let restorer = cold_diffusion::unet_restorer(&net);
    let mut columns: Vec<(&str, Tensor<4>)> = vec![("input", x0.clone()), ("blurred", x_t.clone())];
    println!("restoring from level T = {t} of `{}`", op.name());
    println!(
        "RMSE against the input ([0, 1] units): blurred {:.4}",
        err(&x_t, &x0)?
    );
    for (name, method) in [
        ("direct", Method::Direct),
        ("alg1", Method::Algorithm1),
        ("alg2", Method::Algorithm2),
    ] {
        let restored =
            Sampler::new(op.as_ref(), method).run(&restorer, x_t.clone(), &[t], &draw)?;
        println!("  {name:<6} {:.4}", err(&restored.x0, &x0)?);
        save_png(
            &image_grid(&restored.x0, 1)?,
            out.join(format!("{name}.png")),
        )?;
        columns.push((name, restored.x0));
    }
    save_png(&image_grid(&x_t, 1)?, out.join("blurred.png"))?;
    save_png(&labelled_grid(&columns)?, out.join("comparison.png"))?;
    println!("wrote {}", out.display());
    Ok(())
}

fn err(x: &Tensor<4>, x0: &Tensor<4>) -> Result<f64, Error> {
    Ok(rmse(to_unit_range(x.clone()), to_unit_range(x0.clone()))?)
}
