//! Generate new digits from blur, as in the paper's Section 5.1: fit a Gaussian mixture to the
//! channel means of training images (a fully blurred image at T is nearly a constant, its
//! mean), draw constants from it, add the paper's small "broken symmetry" pixel noise
//! (σ = 0.002), and run Algorithm 2 from level T with a trained deblurring network.
//!
//! ```text
//! cargo run --release --example generate_from_blur                    # 16 digits
//! cargo run --release --example generate_from_blur -- 36 run/checkpoints/latest.safetensors
//! ```
//!
//! The checkpoint defaults to the one of the `train_mnist_deblur` example
//! (`runs/examples/train_mnist_deblur/checkpoints/latest.safetensors`); when it does not exist
//! yet, this example first trains one with the same settings for 300 steps. Such a short run
//! gives blobs, not digits: the shapes need thousands of steps (`cargo run --release --example
//! train_mnist_deblur -- 5000`, or `cold train --config configs/mnist-blurgen-small.toml`).
//!
//! Writes `runs/examples/generate_from_blur/`: `samples.png` (the generated images),
//! `start.png` (the prior's draws, x_T) and `trajectory.gif` (x_T → x_0).
//!
//! Measured once (release build, Flex backend, on the 2-core development machine while it
//! was heavily shared, load average about 8, so a quiet machine is faster):
//! 21 s for 16 images with an
//! existing checkpoint (`cold demo`'s); without one, add the training of `train_mnist_deblur`.

use std::path::PathBuf;

use cold_diffusion::burn::tensor::{Device, Tensor};
use cold_diffusion::data::{Loader, LoaderConfig, Mnist, Preset, Split};
use cold_diffusion::sample::prior::channel_means;
use cold_diffusion::sample::{
    ChannelMeanPrior, GmmConfig, Method, Record, Sampler, image_grid, save_png, save_trajectory_gif,
};
use cold_diffusion::train::{RunPaths, TrainConfig, Trainer, load_ema_net};
use rand::SeedableRng;

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

fn main() -> Result<(), Error> {
    let device = Device::flex();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = match args.first() {
        Some(s) => s.parse().map_err(|e| format!("count `{s}`: {e}"))?,
        None => 16,
    };
    let checkpoint = match args.get(1) {
        Some(p) => PathBuf::from(p),
        None => default_checkpoint(&device)?,
    };
    let out = root().join("runs/examples/generate_from_blur");
    std::fs::create_dir_all(&out)?;

    let (net, config) = load_ema_net(&checkpoint, &device)?;
    let op = config.degradation.build()?;
    let size = config.data.image_size;

    // 1. The prior: one Gaussian over the channel means of 10 000 training digits, prepared as
    //    the original test loader prepares them (the paper's README uses one component).
    let train = Mnist::bundled(Split::Train)?;
    let pipeline = Preset::ResizeCenterCrop.pipeline(size)?;
    let loader = Loader::new(train, pipeline, LoaderConfig::eval(500, 0))?;
    let images: Vec<Tensor<4>> = loader.stream(&device).take(20).map(|b| b.images).collect();
    let means = channel_means(&Tensor::cat(images, 0));
    let (prior, _) = ChannelMeanPrior::fit(&means, 1, &GmmConfig::new(1).with_seed(0))?;
    let prior = prior.with_noise(0.002)?;
    println!(
        "prior fitted to the means of {} digits; generating {n} images with Algorithm 2 from T = {}",
        means.len(),
        op.steps()
    );

    // 2. Draw x_T from the prior and walk back with Algorithm 2, recording every state.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let start = prior.sample(n, size, size, &mut rng, &device);
    let x_t = start.x.clone();
    let restorer = cold_diffusion::unet_restorer(&net);
    let generated = Sampler::new(op.as_ref(), Method::Algorithm2)
        .record(Record::All)
        .generate(&restorer, start)?;

    let cols = (n as f64).sqrt().ceil() as usize;
    save_png(&image_grid(&generated.x0, cols)?, out.join("samples.png"))?;
    save_png(&image_grid(&x_t, cols)?, out.join("start.png"))?;
    let trajectory = generated.trajectory.ok_or("trajectory not recorded")?;
    save_trajectory_gif(&trajectory.states(), cols, 150, out.join("trajectory.gif"))?;
    println!(
        "wrote samples.png, start.png and trajectory.gif to {}",
        out.display()
    );
    Ok(())
}
