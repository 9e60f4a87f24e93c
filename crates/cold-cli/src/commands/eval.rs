//! `cold eval`: the paper's Degraded / Direct / Sampled rows of a checkpoint on a test set.

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use cold_diffusion::data::{Preset, Split};
use cold_diffusion::degrade::{Degradation, DegradationConfig, ImageShape};
use cold_diffusion::metrics::{
    EvalBatch, EvalConfig, EvalReport, FidExtractor, KidConfig, RowDefinition, TrajectoryImages,
    evaluate,
};
use cold_diffusion::sample::{Method, Sampler};
use cold_diffusion::unet::RestorationNet;
use rand_chacha::ChaCha8Rng;

use crate::cli::EvalArgs;
use crate::commands::{build_op, data, device, method, rng};
use crate::error::{CliError, Result};
use crate::io::{read_tensor4, report};
use crate::model;

/// The environment variable naming the FID Inception weights when `--inception` is absent.
pub const INCEPTION_ENV: &str = "COLD_INCEPTION_WEIGHTS";

/// The metrics asked for with `--metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Compute FID.
    pub fid: bool,
    /// Compute KID.
    pub kid: bool,
}

/// Parses `--metrics` (rmse, ssim and psnr are always computed: they cost nothing next to the
/// sampling).
///
/// # Errors
/// An unknown metric name.
pub fn parse_metrics(text: &str) -> Result<Metrics> {
    let mut m = Metrics::default();
    for part in text.split(',').map(|p| p.trim().to_ascii_lowercase()) {
        match part.as_str() {
            "rmse" | "ssim" | "psnr" => {}
            "fid" => m.fid = true,
            "kid" => m.kid = true,
            other => {
                return Err(CliError::new(format!(
                    "--metrics: unknown metric `{other}` (known: rmse, ssim, psnr, fid, kid)"
                )));
            }
        }
    }
    Ok(m)
}

/// The paper's definition of the rows for an operator (spec §5.1).
///
/// # Errors
/// Operators without restoration rows (generation-only operators).
pub fn rows(cfg: &DegradationConfig) -> Result<RowDefinition> {
    Ok(match cfg {
        DegradationConfig::Blur(_) => RowDefinition::BLUR,
        DegradationConfig::SuperResolution(_) => RowDefinition::SUPER_RESOLUTION,
        DegradationConfig::Inpaint(_) => RowDefinition::INPAINTING,
        DegradationConfig::Snow(_) | DegradationConfig::Decolor(_) => RowDefinition::SNOW,
        other => {
            return Err(CliError::new(format!(
                "operator `{}`: the paper evaluates restoration rows (Degraded / Direct / Sampled) only for \
                 blur, inpainting, super-resolution, snow and decolor",
                other.operator()
            )));
        }
    })
}

/// One evaluation batch: degrade the originals to `T` with a fresh draw, restore, and pick the
/// images of each row.
#[allow(clippy::too_many_arguments)]
pub fn batch(
    op: &dyn Degradation,
    net: &RestorationNet,
    rows: RowDefinition,
    sampler: Method,
    x0: Tensor<4>,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<(EvalBatch, cold_diffusion::sample::SampleOutput, Tensor<4>)> {
    let n = x0.dims()[0];
    let t = op.steps();
    let draw = op.draw(n, ImageShape::of(&x0), device, rng)?;
    let x_t = op.degrade_at(x0.clone(), t, &draw)?;
    let restorer = cold_diffusion::unet_restorer(net);
    let out = Sampler::new(op, sampler).run(&restorer, x_t.clone(), &vec![t; n], &draw)?;
    let images = TrajectoryImages {
        original: x0,
        fully_degraded: x_t.clone(),
        after_first_update: Some(out.first_update.clone()),
        direct: out.direct.clone(),
        final_sample: Some(out.x0.clone()),
        last_prediction: Some(out.last_prediction.clone()),
    };
    Ok((rows.select(images)?, out, x_t))
}

fn test_images(
    args: &EvalArgs,
    cfg: &cold_diffusion::train::TrainConfig,
    device: &Device,
) -> Result<(Vec<Tensor<4>>, String)> {
    let d = &cfg.data;
    let b = args.batch_size.max(1);
    let limit = args.n.unwrap_or(usize::MAX);
    let skip = usize::from(args.skip_first);
    if args.data.to_ascii_lowercase().ends_with(".safetensors") {
        let path = PathBuf::from(&args.data);
        if !path.exists() {
            return Err(CliError::new(format!(
                "{}: no such file (--data)",
                path.display()
            )));
        }
        let (values, dims) = read_tensor4(&path, crate::io::INPUT_TENSOR)?;
        if dims[1..] != [d.channels, d.image_size, d.image_size] {
            return Err(CliError::new(format!(
                "{}: tensor `x0` has shape {dims:?}, but the checkpoint was trained on [N, {}, {}, {}] images",
                path.display(),
                d.channels,
                d.image_size,
                d.image_size
            )));
        }
        let all = Tensor::<4>::from_data(TensorData::new(values, dims), device);
        let end = dims[0].min(skip.saturating_add(limit));
        if end <= skip {
            return Err(CliError::new(format!(
                "{}: no image left to evaluate",
                path.display()
            )));
        }
        let parts = (skip..end)
            .step_by(b)
            .map(|s| all.clone().slice(s..(s + b).min(end)))
            .collect();
        return Ok((parts, format!("{} ({} images)", path.display(), end - skip)));
    }
    let named = data::load(&args.data, Split::Test, d.channels)?;
    let preset = match &args.augmentation {
        Some(name) => Preset::from_name(name)?,
        None => {
            let exp = data::experiment(&cfg.degradation).ok_or_else(|| {
                CliError::new("this operator has no original test loader: give --augmentation NAME")
            })?;
            Preset::for_experiment(exp, named.kind, false)
        }
    };
    let len = named.set.len();
    if len <= skip {
        return Err(CliError::new(format!(
            "{}: no image left to evaluate",
            named.description
        )));
    }
    let set = named.set.slice(skip..len)?;
    let n = limit.min(set.len());
    let parts = data::batches(set, preset, d.image_size, n, b, None, device)?;
    Ok((
        parts,
        format!(
            "{} test split ({n} images, {})",
            named.description,
            preset.name()
        ),
    ))
}

/// Runs `cold eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let metrics = parse_metrics(&args.metrics)?;
    if args.batch_size == 0 {
        return Err(CliError::new("--batch-size 0: must be at least 1"));
    }
    if args.n == Some(0) {
        return Err(CliError::new("--n 0: evaluate at least one image"));
    }
    let inception = if metrics.fid || metrics.kid {
        let path = args
            .inception
            .clone()
            .or_else(|| std::env::var_os(INCEPTION_ENV).map(PathBuf::from))
            .ok_or_else(|| {
                CliError::new(format!(
                    "--metrics fid/kid needs the FID Inception weights: give --inception FILE or set {INCEPTION_ENV} \
                     (scripts/fetch-inception.sh prints the path)"
                ))
            })?;
        if !path.exists() {
            return Err(CliError::new(format!(
                "{}: no such file (--inception)",
                path.display()
            )));
        }
        Some(path)
    } else {
        None
    };
    let device = device(args.device.device.as_deref())?;
    let (loaded, config) =
        model::load_trained(&args.checkpoint, model::entry(args.model), &device)?;
    let rows = rows(&config.degradation)?;
    let op = build_op(&config.degradation)?;
    let (parts, data_description) = test_images(&args, &config, &device)?;
    let extractor = inception
        .as_ref()
        .map(|p| FidExtractor::from_file(p, &device))
        .transpose()?;
    let total: usize = parts.iter().map(|p| p.dims()[0]).sum();
    let label = format!(
        "{} (T = {}), {}, {}{}, sampler {}",
        config.degradation.operator(),
        config.degradation.steps(),
        data_description,
        args.checkpoint.display(),
        loaded
            .step
            .map(|s| format!(" step {s}"))
            .unwrap_or_default(),
        args.sampler.name()
    );
    let cfg = EvalConfig {
        fid: metrics.fid,
        kid: metrics.kid.then(KidConfig::default),
        label,
        ..EvalConfig::new(rows)
    };
    let mut rng = rng(args.seed);
    let sampler = method(args.sampler);
    let batches = parts.into_iter().map(|x0| {
        batch(
            op.as_ref(),
            &loaded.net,
            rows,
            sampler,
            x0,
            &mut rng,
            &device,
        )
        .map(|(b, _, _)| b)
    });
    let report_: EvalReport = evaluate(cfg, extractor.as_ref(), batches, Some(total), |p| {
        eprintln!("evaluated {}/{} images", p.images, total);
    })?;
    let json = args.out.join("eval.json");
    let md = args.out.join("eval.md");
    report_.write(&json, &md)?;
    print!("{}", report_.to_markdown());
    report("metrics (JSON)", &json);
    report("metrics (Markdown)", &md);
    Ok(())
}
