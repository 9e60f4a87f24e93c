//! The command-line grammar (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Cold Diffusion (Bansal et al.) on Burn: degrade images, train restoration networks, restore,
/// generate and evaluate, on CPU, WGPU or CUDA.
///
/// Images are read as PNG/JPEG/WebP or as a `.safetensors` file holding the tensor `x0`
/// (NCHW f32 in [-1, 1]). Level `s` means `s` degradation steps were applied; the network is
/// called with the index `s - 1`. Start with `cold demo`.
#[derive(Debug, Parser)]
#[command(name = "cold", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a small MNIST deblurring model on the CPU and write restorations, generated samples,
    /// a trajectory GIF and a metrics table (the quickstart).
    Demo(DemoArgs),
    /// Train a restoration network from a configuration file (TOML or JSON) or a preset.
    Train(TrainArgs),
    /// Generate images from the fully degraded distribution of a trained checkpoint.
    Sample(SampleArgs),
    /// Restore degraded images with a checkpoint (ours, or an original PyTorch `.pt`).
    Restore(RestoreArgs),
    /// Apply a degradation operator to images at chosen levels.
    Degrade(DegradeArgs),
    /// Evaluate a checkpoint on a test set: the paper's Degraded / Direct / Sampled rows.
    Eval(EvalArgs),
    /// List the presets (degradations, networks, training runs), one per line.
    Presets(PresetsArgs),
}

/// `--device`, shared by every compute subcommand.
#[derive(Debug, Clone, Args)]
pub struct DeviceArg {
    /// Compute device: cpu (= flex), flex, wgpu, wgpu:N, cuda or cuda:N. Default: $BURN_DEVICE,
    /// else the first backend compiled in (cuda, wgpu, flex).
    #[arg(long, value_name = "DEV")]
    pub device: Option<String>,
}

/// The sampling procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SamplerArg {
    /// Algorithm 2 of the paper (improved sampling): x_{s-1} = x_s - D(x̂0, s) + D(x̂0, s-1).
    Alg2,
    /// Algorithm 1 of the paper (naive sampling): x_{s-1} = D(x̂0, s-1).
    Alg1,
    /// Direct reconstruction: one network call, x̂0 = R(x_s, s - 1).
    Direct,
}

impl SamplerArg {
    /// The name used in file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            SamplerArg::Alg2 => "alg2",
            SamplerArg::Alg1 => "alg1",
            SamplerArg::Direct => "direct",
        }
    }
}

/// `cold demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output directory (the training run goes to OUT/train).
    #[arg(long, default_value = "runs/demo", value_name = "DIR")]
    pub out: PathBuf,
    /// Training steps (optimiser updates of batch 32). An existing run in OUT/train is resumed
    /// up to this count, or reused if it has already reached it.
    #[arg(long, default_value_t = crate::commands::demo::DEFAULT_STEPS, value_name = "N")]
    pub steps: u64,
    /// Test images for the metrics table.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub eval_images: usize,
    /// Generated samples.
    #[arg(long, default_value_t = 36, value_name = "N")]
    pub samples: usize,
    /// Seed of training, sampling and generation.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// `cold train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training configuration (`.toml` is read as TOML, anything else as JSON); see configs/.
    #[arg(long, value_name = "FILE", conflicts_with = "preset")]
    pub config: Option<PathBuf>,
    /// A named training preset instead of a file (`cold presets --kind train`).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Continue a run: a checkpoint file or a run directory (its checkpoints/latest.safetensors).
    /// With --config, only fields that do not shape the saved state may differ (steps,
    /// cadences, learning rate, output directory, ...).
    #[arg(long, value_name = "CKPT")]
    pub resume: Option<PathBuf>,
    /// Output directory (overrides the configuration's output_dir).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Total number of optimiser updates (overrides the configuration's steps).
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Validate the configuration, print it and exit without training.
    #[arg(long)]
    pub dry_run: bool,
    /// Compute device; repeat it (or separate with commas) to split each batch over several
    /// devices of one backend: cpu (= flex), flex, wgpu, wgpu:N, cuda or cuda:N. Default:
    /// $BURN_DEVICE, else the first backend compiled in.
    #[arg(long, value_name = "DEV", value_delimiter = ',')]
    pub device: Vec<String>,
}

/// `cold sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// A training checkpoint written by `cold train` (it holds the configuration).
    #[arg(long, value_name = "CKPT")]
    pub checkpoint: PathBuf,
    /// Number of images to generate.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub n: usize,
    /// Seed of the prior and of the operator's draws.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Sampling procedure.
    #[arg(long, value_enum, default_value_t = SamplerArg::Alg2)]
    pub sampler: SamplerArg,
    /// Standard deviation of the pixel noise added to the prior samples ([-1, 1] units).
    /// Default: 0.002 for blur and super-resolution (the paper's "broken symmetry"), 0 otherwise.
    #[arg(long, value_name = "σ", allow_negative_numbers = true)]
    pub noise: Option<f64>,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "runs/sample")]
    pub out: PathBuf,
    /// Also write the sampling trajectory as an animated GIF.
    #[arg(long)]
    pub gif: bool,
    /// Use the live weights of the checkpoint instead of the EMA weights.
    #[arg(long)]
    pub model: bool,
    /// Images to fit the generation prior on (blur: channel means; super-resolution:
    /// downsampled images). Default: the training data named in the checkpoint. `mnist` is the
    /// bundled MNIST; otherwise an MNIST or CIFAR-10 directory or an image folder.
    #[arg(long, value_name = "PATH")]
    pub data: Option<String>,
    /// How many images of that data the prior is fitted to.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub prior_images: usize,
    /// Mixture components of the prior (default: 1 for blur, as the paper's README; 10 for
    /// super-resolution, the original script's default).
    #[arg(long, value_name = "K")]
    pub gmm_components: Option<usize>,
    /// Blending operators (noise, animorphosis, inpainting generation): re-estimate the partner
    /// at every step (DDIM, "estimated noise") instead of keeping the start's ("fixed noise").
    #[arg(long)]
    pub reestimate: bool,
    /// Also write the samples as a tensor `samples` (NCHW f32) to this safetensors file.
    #[arg(long, value_name = "FILE")]
    pub save_tensors: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// `cold restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Weights: a checkpoint of `cold train`, a safetensors network file, or an original
    /// PyTorch checkpoint (`.pt`, `{step, model, ema}` or a state dict) with --unet-config.
    #[arg(long, value_name = "CKPT")]
    pub checkpoint: PathBuf,
    /// Network configuration for an original checkpoint: JSON with the original constructor's
    /// argument names, e.g. {"arch": "unet", "dim": 64, "dim_mults": [1, 2, 4, 8], "channels": 3}.
    #[arg(long, value_name = "FILE")]
    pub unet_config: Option<PathBuf>,
    /// Degraded images (PNG/JPEG/WebP) or `.safetensors` files holding `x0` (NCHW f32 in [-1, 1]).
    #[arg(long, value_name = "IMG_OR_SAFETENSORS", num_args = 1.., required = true)]
    pub input: Vec<PathBuf>,
    /// The tensor to read from `.safetensors` inputs (e.g. `level_20` of `cold degrade
    /// --save-tensors`).
    #[arg(long, value_name = "NAME", default_value = "x0")]
    pub tensor: String,
    /// The level the inputs are degraded to (1..=T); the network is called with S - 1.
    #[arg(long, value_name = "S")]
    pub level: usize,
    /// Sampling procedure.
    #[arg(long, value_enum, default_value_t = SamplerArg::Alg2)]
    pub sampler: SamplerArg,
    /// Degradation preset for alg1/alg2 (a checkpoint of `cold train` already holds its own).
    #[arg(long, value_name = "NAME", conflicts_with = "degradation")]
    pub preset: Option<String>,
    /// Degradation configuration file (TOML or JSON) for alg1/alg2.
    #[arg(long, value_name = "FILE")]
    pub degradation: Option<PathBuf>,
    /// Use the EMA weights of a `{step, model, ema}` checkpoint (the default).
    #[arg(long, conflicts_with = "model")]
    pub ema: bool,
    /// Use the live (non-EMA) weights of a `{step, model, ema}` checkpoint.
    #[arg(long)]
    pub model: bool,
    /// Seed of the operator's random draw (random masks, snow): give the same seed and the same
    /// number of inputs as to `cold degrade` to restore with the draw that degraded them.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Output directory for the PNGs.
    #[arg(long, value_name = "DIR", default_value = "runs/restore")]
    pub out: PathBuf,
    /// Also write the result as tensor `x0_hat` (NCHW f32 in [-1, 1]) to this safetensors file.
    #[arg(long, value_name = "FILE")]
    pub save_tensors: Option<PathBuf>,
    /// Also write the trajectory as an animated GIF (alg1/alg2).
    #[arg(long)]
    pub gif: bool,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// `cold degrade`.
#[derive(Debug, Args)]
pub struct DegradeArgs {
    /// Degradation preset (`cold presets --kind degradation`).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "config",
        conflicts_with = "config"
    )]
    pub preset: Option<String>,
    /// Degradation configuration file (TOML or JSON), e.g. {"operator": "blur", "time_steps": 20, ...}.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Images (PNG/JPEG/WebP) or `.safetensors` files holding `x0` (NCHW f32 in [-1, 1]).
    #[arg(long, value_name = "IMG_OR_SAFETENSORS", num_args = 1.., required = true)]
    pub input: Vec<PathBuf>,
    /// The tensor to read from `.safetensors` inputs (e.g. `level_20` of `cold degrade
    /// --save-tensors`).
    #[arg(long, value_name = "NAME", default_value = "x0")]
    pub tensor: String,
    /// Comma-separated levels in 0..=T; the literal `T` is the operator's number of steps.
    #[arg(long, value_name = "LEVELS", default_value = "0,T")]
    pub levels: String,
    /// Output directory for the PNGs.
    #[arg(long, value_name = "DIR", default_value = "runs/degrade")]
    pub out: PathBuf,
    /// Also write every level as tensor `level_<s>` (NCHW f32) to this safetensors file.
    #[arg(long, value_name = "FILE")]
    pub save_tensors: Option<PathBuf>,
    /// Seed of the operator's random draw (random mask centres, snow, noise, colours).
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Partner images of animorphosis (one per input), as images or a safetensors `x0`.
    #[arg(long, value_name = "IMG_OR_SAFETENSORS", num_args = 1..)]
    pub partner: Vec<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// `cold eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A training checkpoint written by `cold train` (it holds the configuration).
    #[arg(long, value_name = "CKPT")]
    pub checkpoint: PathBuf,
    /// Test images: `mnist` (the bundled test split), an MNIST or CIFAR-10 directory (test
    /// split), an image folder, or a `.safetensors` file holding `x0`.
    #[arg(long, value_name = "PATH")]
    pub data: String,
    /// Comma-separated metrics: rmse, ssim, psnr, fid, kid.
    #[arg(long, value_name = "LIST", default_value = "rmse,ssim")]
    pub metrics: String,
    /// FID Inception weights (pytorch-fid `.pth` or TorchScript; see scripts/fetch-inception.sh).
    /// Default: $COLD_INCEPTION_WEIGHTS.
    #[arg(long, value_name = "WEIGHTS")]
    pub inception: Option<PathBuf>,
    /// Evaluate only the first N test images (default: all).
    #[arg(long, value_name = "N")]
    pub n: Option<usize>,
    /// Skip the first test image, as the original evaluation loop did.
    #[arg(long)]
    pub skip_first: bool,
    /// Sampling procedure of the "Sampled" row.
    #[arg(long, value_enum, default_value_t = SamplerArg::Alg2)]
    pub sampler: SamplerArg,
    /// Batch size.
    #[arg(long, default_value_t = 32, value_name = "B")]
    pub batch_size: usize,
    /// Seed of the operator's random draws.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Augmentation preset of the test images (default: the original test loader's).
    #[arg(long, value_name = "NAME")]
    pub augmentation: Option<String>,
    /// Use the live weights of the checkpoint instead of the EMA weights.
    #[arg(long)]
    pub model: bool,
    /// Output directory for eval.json and eval.md.
    #[arg(long, value_name = "DIR", default_value = "runs/eval")]
    pub out: PathBuf,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// The kinds of presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetKind {
    /// Degradation operators (`cold degrade --preset`, `cold restore --preset`).
    Degradation,
    /// Restoration networks.
    Network,
    /// Training runs (`cold train --preset`; configs/ holds them as files).
    Train,
}

/// `cold presets`.
#[derive(Debug, Args)]
pub struct PresetsArgs {
    /// Only this kind.
    #[arg(long, value_enum)]
    pub kind: Option<PresetKind>,
    /// Print one preset's full configuration (TOML; a training preset is a ready config file).
    #[arg(long, value_name = "NAME")]
    pub show: Option<String>,
}
