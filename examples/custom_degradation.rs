//! A degradation of your own: implement [`Degradation`] for a new operator, check the contract
//! every operator of the library meets, train a small restoration network for it with a plain
//! Burn training loop, and restore with the library's samplers.
//!
//! ```text
//! cargo run --release --example custom_degradation          # 200 training steps
//! cargo run --release --example custom_degradation -- 1500  # more steps
//! ```
//!
//! The operator, `Curtain`, lowers a black curtain over the top half of the image: level `s`
//! hides the first `s/T · H/2` rows, with a one-pixel soft edge. It is deterministic, so its
//! [`Draw`] is empty; a random operator would draw its randomness in `draw` and read it back in
//! `degrade` (see [`Draw::custom`]). Nothing in the library knows this type: the samplers take
//! any `&dyn Degradation`.
//!
//! Writes `runs/examples/custom_degradation/`: `levels.png` (one digit at every level) and
//! `restoration.png` (original | curtained | direct | Algorithm 2), and prints the RMSE of each
//! against the originals.
//!
//! Measured once (release build, Flex backend, on the 2-core development machine while it
//! was heavily shared, load average about 8, so a quiet machine is faster):
//! the first 50 training steps took
//! 154 s (about 3 s per step), so the default 200 steps take about 10 minutes at that rate
//! (extrapolated), plus a few seconds of sampling.

use std::path::PathBuf;

use cold_diffusion::burn::module::Module;
use cold_diffusion::burn::optim::{AdamConfig, GradientsParams};
use cold_diffusion::burn::tensor::{Device, Int, Tensor, TensorData};
use cold_diffusion::data::{Loader, LoaderConfig, Mnist, Preset, Split};
use cold_diffusion::degrade::{Degradation, DegradeError, Draw, ImageShape};
use cold_diffusion::metrics::{rmse, to_unit_range};
use cold_diffusion::sample::{Method, Sampler, labelled_grid, save_png};
use cold_diffusion::unet::{NetConfig, UnetConfig};
use rand::{Rng, RngExt, SeedableRng};

type Error = Box<dyn std::error::Error>;

/// A black curtain over the top half: `D(x, s) = (1 − m_s) · x + m_s · (−1)` with the row mask
/// `m_s(r) = clamp(s/T · H/2 − r, 0, 1)`. Level 0 is the identity, and `m_s` grows with `s`.
#[derive(Debug)]
struct Curtain {
    steps: usize,
}

impl Curtain {
    /// The mask of `levels` as host values, `[N, C, H, W]` (the same for every channel and
    /// column).
    fn mask(&self, levels: &[usize], shape: ImageShape) -> Vec<f32> {
        let ImageShape {
            channels: c,
            height: h,
            width: w,
        } = shape;
        let mut m = Vec::with_capacity(levels.len() * c * h * w);
        for &s in levels {
            let edge = s as f32 / self.steps as f32 * (h as f32 / 2.0);
            for _ in 0..c {
                for r in 0..h {
                    let v = (edge - r as f32).clamp(0.0, 1.0);
                    m.extend(std::iter::repeat_n(v, w));
                }
            }
        }
        m
    }
}

impl Degradation for Curtain {
    fn name(&self) -> &'static str {
        "curtain"
    }

    fn steps(&self) -> usize {
        self.steps
    }

    fn draw(
        &self,
        batch: usize,
        _shape: ImageShape,
        _device: &Device,
        _rng: &mut dyn Rng,
    ) -> Result<Draw, DegradeError> {
        Ok(Draw::empty(batch)) // deterministic: nothing to draw
    }

    fn degrade(
        &self,
        x0: Tensor<4>,
        levels: &[usize],
        draw: &Draw,
    ) -> Result<Tensor<4>, DegradeError> {
        let [n, c, h, w] = x0.dims();
        if levels.len() != n {
            return Err(DegradeError::LevelCount {
                levels: levels.len(),
                batch: n,
            });
        }
        if draw.batch() != n {
            return Err(DegradeError::DrawBatch {
                draw: draw.batch(),
                batch: n,
            });
        }
        if let Some((item, &level)) = levels.iter().enumerate().find(|(_, l)| **l > self.steps) {
            return Err(DegradeError::LevelOutOfRange {
                operator: self.name().into(),
                item,
                level,
                steps: self.steps,
            });
        }
        let mask = self.mask(levels, ImageShape::new(c, h, w));
        let m = Tensor::<4>::from_data(TensorData::new(mask, [n, c, h, w]), &x0.device());
        // x − m · (x + 1): the covered part goes to −1 (black).
        Ok(x0.clone() - m * x0.add_scalar(1.0))
    }
}

/// Host values of a tensor.
fn host(x: &Tensor<4>) -> Vec<f32> {
    x.to_data().try_into_vec().expect("f32 tensor")
}

/// The contract every operator of the library is tested against, checked here on real digits.
fn check_contract(op: &dyn Degradation, x0: &Tensor<4>) -> Result<(), Error> {
    let n = x0.dims()[0];
    let draw = Draw::empty(n);
    let t = op.steps();
    assert_eq!(
        host(&op.degrade_at(x0.clone(), 0, &draw)?),
        host(x0),
        "level 0 is the identity"
    );
    let mut previous = 0.0;
    for s in 0..=t {
        let xs = op.degrade_at(x0.clone(), s, &draw)?;
        assert_eq!(xs.dims(), x0.dims(), "shape kept");
        let distance = rmse(to_unit_range(xs), to_unit_range(x0.clone()))?;
        assert!(distance >= previous, "severity grows with the level");
        previous = distance;
    }
    // Batch items are independent: item 0 alone gives the same result as in the batch.
    let levels: Vec<usize> = (0..n).map(|i| i % (t + 1)).collect();
    let all = host(&op.degrade(x0.clone(), &levels, &draw)?);
    let one = host(&op.degrade(x0.clone().slice(0..1), &levels[..1], &Draw::empty(1))?);
    assert_eq!(
        &all[..one.len()],
        one.as_slice(),
        "batch items are independent"
    );
    // A level above T is an error with a message, not a panic.
    match op.degrade_at(x0.clone(), t + 1, &draw) {
        Ok(_) => Err("level T + 1 was accepted".into()),
        Err(e) => {
            println!("contract holds; level T + 1 gives: {e}");
            Ok(())
        }
    }
}

fn main() -> Result<(), Error> {
    let steps: usize = match std::env::args().nth(1) {
        Some(s) => s.parse().map_err(|e| format!("steps `{s}`: {e}"))?,
        None => 200,
    };
    let device = Device::flex();
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runs/examples/custom_degradation");
    std::fs::create_dir_all(&out)?;
    let op = Curtain { steps: 8 };
    let t = op.steps();

    // MNIST at 32x32, as the original loaders prepare it: train with random crops and flips,
    // test with a centre crop.
    let train = Loader::new(
        Mnist::bundled(Split::Train)?,
        Preset::ResizeRandomCropFlip.pipeline(32)?,
        LoaderConfig::train(32, 0),
    )?;
    let test = Loader::new(
        Mnist::bundled(Split::Test)?,
        Preset::ResizeCenterCrop.pipeline(32)?,
        LoaderConfig::eval(64, 0),
    )?;
    let x_test = test.stream(&device).next().ok_or("no test batch")?.images;
    check_contract(&op, &x_test)?;

    let levels_grid: Vec<(String, Tensor<4>)> = (0..=t)
        .map(|s| {
            let x = op.degrade_at(x_test.clone().slice(0..4), s, &Draw::empty(4))?;
            Ok((format!("s={s}"), x))
        })
        .collect::<Result<_, DegradeError>>()?;
    let cols: Vec<(&str, Tensor<4>)> = levels_grid
        .iter()
        .map(|(l, x)| (l.as_str(), x.clone()))
        .collect();
    save_png(&labelled_grid(&cols)?, out.join("levels.png"))?;

    // Train R(x_s, s − 1) ≈ x0 with the L1 loss, levels uniform in 1..=T: the paper's recipe,
    // written out with Burn's autodiff and Adam.
    let autodiff = device.clone().autodiff();
    let mut net = NetConfig::Unet(UnetConfig::tiny(1)).init(&autodiff);
    let mut optim = AdamConfig::new().init();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let started = std::time::Instant::now();
    for (step, batch) in train.stream(&device).take(steps).enumerate() {
        let x0 = batch.images;
        let n = x0.dims()[0];
        let levels: Vec<usize> = (0..n).map(|_| rng.random_range(1..=t)).collect();
        let x_s = op.training_input(x0.clone(), &levels, &Draw::empty(n))?;
        let t_index: Vec<i64> = levels.iter().map(|&s| s as i64 - 1).collect();
        let t_index = Tensor::<1, Int>::from_data(TensorData::new(t_index, [n]), &autodiff);
        let prediction = net.forward(x_s.autodiff(), t_index);
        let loss = (prediction - x0.autodiff()).abs().mean();
        let grads = GradientsParams::from_grads(loss.clone().backward(), &net);
        net = optim.step(1e-3, net, grads);
        if (step + 1) % 50 == 0 {
            println!(
                "step {:>5}/{steps}  loss {:.4}  ({:.0} s)",
                step + 1,
                loss.inner().into_scalar::<f32>(),
                started.elapsed().as_secs_f64()
            );
        }
    }

    // Restore the test digits from T with the library's samplers.
    let net = net.valid(); // inference copy on the plain device
    let restorer = cold_diffusion::unet_restorer(&net);
    let n = x_test.dims()[0];
    let draw = Draw::empty(n);
    let x_t = op.degrade_at(x_test.clone(), t, &draw)?;
    let direct =
        Sampler::new(&op, Method::Direct).run(&restorer, x_t.clone(), &vec![t; n], &draw)?;
    let alg2 =
        Sampler::new(&op, Method::Algorithm2).run(&restorer, x_t.clone(), &vec![t; n], &draw)?;
    let score = |x: &Tensor<4>| rmse(to_unit_range(x.clone()), to_unit_range(x_test.clone()));
    println!("\nRMSE against the {n} originals ([0, 1] units):");
    println!("  curtained   {:.4}", score(&x_t)?);
    println!("  direct      {:.4}", score(&direct.x0)?);
    println!("  Algorithm 2 {:.4}", score(&alg2.x0)?);
    let k = 8;
    let columns: Vec<(&str, Tensor<4>)> = vec![
        ("original", x_test.slice(0..k)),
        ("curtained", x_t.slice(0..k)),
        ("direct", direct.x0.slice(0..k)),
        ("alg 2", alg2.x0.slice(0..k)),
    ];
    save_png(&labelled_grid(&columns)?, out.join("restoration.png"))?;
    println!("wrote levels.png and restoration.png to {}", out.display());
    Ok(())
}
