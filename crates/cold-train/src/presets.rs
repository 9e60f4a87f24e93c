//! Named training configurations: every experiment of the paper (spec §3), small CPU variants
//! on the bundled MNIST, and a tiny one for tests.

use std::path::PathBuf;

use cold_data::{DatasetKind, Experiment, Preset as Augmentation};
use cold_degrade::{BlurConfig, BlurRoutine, DegradationConfig};
use cold_unet::{NetConfig, UnetConfig};

use crate::config::{
    CheckpointConfig, DataConfig, DatasetSource, EmaConfig, Loss, OptimizerConfig, PartnerData,
    SampleConfig, TrainConfig,
};
use crate::error::{Result, TrainError};

/// One named training configuration.
#[derive(Debug, Clone, Copy)]
pub struct TrainPreset {
    /// The name, e.g. `deblur-mnist`.
    pub name: &'static str,
    /// What it is and where it comes from.
    pub description: &'static str,
    build: fn() -> TrainConfig,
}

impl TrainPreset {
    /// The preset's configuration.
    pub fn config(&self) -> TrainConfig {
        (self.build)()
    }
}

/// Where the paper presets expect the datasets (override `data.dataset.path`).
const CIFAR10_DIR: &str = "data/cifar-10-batches-bin";
const CELEBA_DIR: &str = "data/celeba";
const AFHQ_DIR: &str = "data/afhq";

fn mnist() -> DatasetSource {
    DatasetSource::Mnist { path: None }
}
fn cifar10() -> DatasetSource {
    DatasetSource::Cifar10 {
        path: CIFAR10_DIR.into(),
    }
}
fn folder(p: &str) -> DatasetSource {
    DatasetSource::Folder { path: p.into() }
}

fn degradation(name: &str) -> DegradationConfig {
    DegradationConfig::preset(name).expect("cold-degrade preset exists")
}

fn net(name: &str) -> NetConfig {
    NetConfig::preset(name).expect("cold-unet preset exists")
}

/// The paper's recipe for one experiment: batch 32 × accumulation 2, Adam 2e-5, 700k steps, EMA
/// 0.995 / 10 / 2000, L1, checkpoint every 1000 with a kept copy every 100 000, sample grids
/// at every checkpoint.
#[allow(clippy::too_many_arguments)]
fn paper(
    name: &str,
    experiment: Experiment,
    kind: DatasetKind,
    dataset: DatasetSource,
    image_size: usize,
    channels: usize,
    degradation: DegradationConfig,
    network: NetConfig,
) -> TrainConfig {
    TrainConfig {
        data: DataConfig {
            dataset,
            augmentation: Augmentation::for_experiment(experiment, kind, true),
            image_size,
            channels,
            workers: 2,
            partner: None,
        },
        degradation,
        network,
        optimizer: OptimizerConfig::default(),
        ema: EmaConfig::default(),
        loss: Loss::L1,
        steps: 700_000,
        batch_size: 32,
        grad_accumulation: 2,
        seed: 0,
        output_dir: PathBuf::from("runs").join(name),
        checkpoint: CheckpointConfig {
            every: 1000,
            keep_every: 100_000,
        },
        samples: SampleConfig {
            every: 1000,
            images: 16,
        },
        log_every: 100,
    }
}

/// The original's checkpoint cadence of the inpainting trainer: `model.pt` every 10 000 steps.
fn inpaint_cadence(mut c: TrainConfig) -> TrainConfig {
    c.checkpoint = CheckpointConfig {
        every: 10_000,
        keep_every: 0,
    };
    c.samples.every = 10_000;
    c
}

/// The resolution trainer: `model.pt` every 1000 steps, no kept copies.
fn superres_cadence(mut c: TrainConfig) -> TrainConfig {
    c.checkpoint.keep_every = 0;
    c
}

/// Snow / decolor: `model.pt` every 5000, `model_<step>.pt` every 50 000.
fn snow_cadence(mut c: TrainConfig) -> TrainConfig {
    c.checkpoint = CheckpointConfig {
        every: 5000,
        keep_every: 50_000,
    };
    c.samples.every = 5000;
    c
}

/// A CPU-budget variant on the bundled MNIST, sized so that one run fits in 30–60 minutes of
/// this project's 2-core reference machine (issue 11): a ConvNeXt U-Net of dim 16 (mults 1, 2, 4,
/// 1.01 M parameters; the `unet-mnist-small` preset at half its width), batch 32 without
/// accumulation, Adam lr 3e-4 after a 50-update linear warm-up, an EMA updated every step from
/// update 200 on (β = 0.995, so it averages over ≈ 200 updates of a run of `steps`), checkpoints
/// every 250 updates with kept copies every 500, sample grids every 500.
///
/// The paper's recipe (lr 2e-5, EMA every 10 updates from update 2000, 700 000 updates) cannot
/// learn anything in a CPU hour; docs/results.md says what this changes.
fn small(
    name: &str,
    experiment: Experiment,
    degradation: DegradationConfig,
    steps: u64,
) -> TrainConfig {
    let mut network = net("unet-mnist-small");
    if let NetConfig::Unet(unet) = &mut network {
        unet.dim = SMALL_DIM;
    }
    let mut c = paper(
        name,
        experiment,
        DatasetKind::Mnist,
        mnist(),
        32,
        1,
        degradation,
        network,
    );
    c.optimizer.lr = 3e-4;
    c.optimizer.warmup_steps = 50;
    c.ema = EmaConfig {
        update_every: 1,
        start_step: 200,
        ..EmaConfig::default()
    };
    c.steps = steps;
    c.grad_accumulation = 1;
    c.checkpoint = CheckpointConfig {
        every: 250,
        keep_every: 500,
    };
    c.samples = SampleConfig {
        every: 500,
        images: 8,
    };
    c.log_every = 10;
    c
}

/// Width of the CPU-budget MNIST presets' U-Net.
const SMALL_DIM: usize = 16;

fn mnist_blurgen() -> DegradationConfig {
    DegradationConfig::Blur(BlurConfig {
        time_steps: 20,
        blur_size: 11,
        blur_std: 7.0,
        blur_routine: BlurRoutine::Constant,
        discrete: true,
        image_size: Some(32),
        channels: Some(1),
    })
}

fn tiny() -> TrainConfig {
    TrainConfig {
        data: DataConfig {
            dataset: mnist(),
            augmentation: Augmentation::ResizeCenterCrop,
            image_size: 16,
            channels: 1,
            workers: 0,
            partner: None,
        },
        degradation: DegradationConfig::Blur(BlurConfig {
            time_steps: 5,
            blur_size: 5,
            blur_std: 1.0,
            blur_routine: BlurRoutine::Constant,
            discrete: false,
            image_size: Some(16),
            channels: Some(1),
        }),
        network: NetConfig::Unet(UnetConfig::tiny(1)),
        optimizer: OptimizerConfig {
            lr: 1e-3,
            ..OptimizerConfig::default()
        },
        ema: EmaConfig {
            decay: 0.9,
            update_every: 2,
            start_step: 6,
        },
        loss: Loss::L1,
        steps: 20,
        batch_size: 8,
        grad_accumulation: 2,
        seed: 0,
        output_dir: PathBuf::from("runs/tiny-test"),
        checkpoint: CheckpointConfig {
            every: 10,
            keep_every: 0,
        },
        samples: SampleConfig {
            every: 0,
            images: 4,
        },
        log_every: 1,
    }
}

const PRESETS: &[TrainPreset] = &[
    TrainPreset {
        name: "deblur-mnist",
        description: "paper: MNIST deblurring (T 20, constant blur k 11 σ 7), ConvNeXt U-Net dim 64",
        build: || {
            paper(
                "deblur-mnist",
                Experiment::Deblur,
                DatasetKind::Mnist,
                mnist(),
                32,
                1,
                degradation("blur-mnist"),
                net("unet-paper-mnist"),
            )
        },
    },
    TrainPreset {
        name: "deblur-cifar10",
        description: "paper: CIFAR-10 deblurring (T 50, Special_6_routine), DDPM ResNet U-Net",
        build: || {
            paper(
                "deblur-cifar10",
                Experiment::Deblur,
                DatasetKind::Cifar10,
                cifar10(),
                32,
                3,
                degradation("blur-cifar10"),
                net("resunet-paper-cifar10"),
            )
        },
    },
    TrainPreset {
        name: "deblur-celeba",
        description: "paper: CelebA-128 deblurring (T 200, Exponential_reflect k 15 std 0.01), ConvNeXt U-Net",
        build: || {
            paper(
                "deblur-celeba",
                Experiment::Deblur,
                DatasetKind::CelebA,
                folder(CELEBA_DIR),
                128,
                3,
                degradation("blur-celeba"),
                net("unet-paper-rgb"),
            )
        },
    },
    TrainPreset {
        name: "blurgen-celeba",
        description: "paper: CelebA-128 blur generation (T 300, Exponential k 27 std 0.01, --discrete), ConvNeXt U-Net",
        build: || {
            paper(
                "blurgen-celeba",
                Experiment::BlurGeneration,
                DatasetKind::CelebA,
                folder(CELEBA_DIR),
                128,
                3,
                degradation("blur-gen-celeba"),
                net("unet-paper-rgb"),
            )
        },
    },
    TrainPreset {
        name: "blurgen-afhq",
        description: "paper: AFHQ-128 blur generation (T 300, Exponential k 27 std 0.01, --discrete), ConvNeXt U-Net",
        build: || {
            paper(
                "blurgen-afhq",
                Experiment::BlurGeneration,
                DatasetKind::Afhq,
                folder(AFHQ_DIR),
                128,
                3,
                degradation("blur-gen-celeba"),
                net("unet-paper-rgb"),
            )
        },
    },
    TrainPreset {
        name: "inpaint-mnist",
        description: "paper: MNIST inpainting (T 50, Random_Incremental, kernel_std 0.1, --discrete), ConvNeXt U-Net, checkpoints every 10 000",
        build: || {
            inpaint_cadence(paper(
                "inpaint-mnist",
                Experiment::Inpaint,
                DatasetKind::Mnist,
                mnist(),
                32,
                1,
                degradation("inpaint-mnist"),
                net("unet-paper-mnist"),
            ))
        },
    },
    TrainPreset {
        name: "inpaint-cifar10",
        description: "paper: CIFAR-10 inpainting (T 50, Random_Incremental, kernel_std 0.1, --discrete), DDPM ResNet U-Net, checkpoints every 10 000",
        build: || {
            inpaint_cadence(paper(
                "inpaint-cifar10",
                Experiment::Inpaint,
                DatasetKind::Cifar10,
                cifar10(),
                32,
                3,
                degradation("inpaint-cifar10"),
                net("resunet-paper-cifar10"),
            ))
        },
    },
    TrainPreset {
        name: "inpaint-celeba",
        description: "paper: CelebA-128 inpainting (T 100, Incremental, kernel_std 0.2, initial_mask 1), batch 100, 350k steps, checkpoints every 10 000",
        build: || {
            let mut c = inpaint_cadence(paper(
                "inpaint-celeba",
                Experiment::Inpaint,
                DatasetKind::CelebA,
                folder(CELEBA_DIR),
                128,
                3,
                degradation("inpaint-celeba"),
                net("unet-paper-rgb"),
            ));
            c.batch_size = 100;
            c.steps = 350_000;
            c
        },
    },
    TrainPreset {
        name: "inpaintgen-celeba",
        description: "paper: CelebA-128 inpainting generation (T 750, --reverse, kernel_std 0.05, initial_mask 1), ConvNeXt U-Net",
        build: || {
            paper(
                "inpaintgen-celeba",
                Experiment::InpaintGeneration,
                DatasetKind::CelebA,
                folder(CELEBA_DIR),
                128,
                3,
                degradation("inpaint-gen-celeba"),
                net("unet-paper-rgb"),
            )
        },
    },
    TrainPreset {
        name: "superres-mnist",
        description: "paper: MNIST super-resolution (T 3, Incremental_factor_2), ConvNeXt U-Net, checkpoint every 1000",
        build: || {
            superres_cadence(paper(
                "superres-mnist",
                Experiment::SuperResolution,
                DatasetKind::Mnist,
                mnist(),
                32,
                1,
                degradation("superres-mnist"),
                net("unet-paper-mnist"),
            ))
        },
    },
    TrainPreset {
        name: "superres-cifar10",
        description: "paper: CIFAR-10 super-resolution (T 3, Incremental_factor_2), DDPM ResNet U-Net, checkpoint every 1000",
        build: || {
            superres_cadence(paper(
                "superres-cifar10",
                Experiment::SuperResolution,
                DatasetKind::Cifar10,
                cifar10(),
                32,
                3,
                degradation("superres-cifar10"),
                net("resunet-paper-cifar10"),
            ))
        },
    },
    TrainPreset {
        name: "superres-celeba",
        description: "paper: CelebA-128 super-resolution (T 4, Incremental_factor_2), ConvNeXt U-Net, checkpoint every 1000",
        build: || {
            superres_cadence(paper(
                "superres-celeba",
                Experiment::SuperResolution,
                DatasetKind::CelebA,
                folder(CELEBA_DIR),
                128,
                3,
                degradation("superres-celeba"),
                net("unet-paper-rgb"),
            ))
        },
    },
    TrainPreset {
        name: "snow-cifar10",
        description: "paper: CIFAR-10 snowification (T 200, snow level 3, random snow, fixed brightness), ConvNeXt U-Net, checkpoints every 5000",
        build: || {
            snow_cadence(paper(
                "snow-cifar10",
                Experiment::Snow,
                DatasetKind::Cifar10,
                cifar10(),
                32,
                3,
                degradation("snow-cifar10"),
                net("unet-paper-rgb"),
            ))
        },
    },
    TrainPreset {
        name: "snow-celeba",
        description: "paper: CelebA-128 snowification (T 200, snow level 4), batch 16 (image side > 64), checkpoints every 5000",
        build: || {
            let mut c = snow_cadence(paper(
                "snow-celeba",
                Experiment::Snow,
                DatasetKind::CelebA,
                folder(CELEBA_DIR),
                128,
                3,
                degradation("snow-celeba"),
                net("unet-paper-rgb"),
            ));
            c.batch_size = 16;
            c
        },
    },
    TrainPreset {
        name: "decolor-cifar10",
        description: "paper: CIFAR-10 decolorization (T 20, Linear, total remove), ConvNeXt U-Net, checkpoints every 5000",
        build: || {
            snow_cadence(paper(
                "decolor-cifar10",
                Experiment::Decolor,
                DatasetKind::Cifar10,
                cifar10(),
                32,
                3,
                degradation("decolor-cifar10"),
                net("unet-paper-rgb"),
            ))
        },
    },
    TrainPreset {
        name: "decolor-celeba",
        description: "paper: CelebA-64 decolorization (centre crop 64 of the 128 images; T 20, Linear, total remove), checkpoints every 5000",
        build: || {
            snow_cadence(paper(
                "decolor-celeba",
                Experiment::Decolor,
                DatasetKind::CelebA,
                folder(CELEBA_DIR),
                64,
                3,
                degradation("decolor-celeba"),
                net("unet-paper-rgb"),
            ))
        },
    },
    TrainPreset {
        name: "animorph-celeba",
        description: "paper: animorphosis CelebA-128 ← AFHQ-128 (T 200, cosine blend with an AFHQ image), ConvNeXt U-Net",
        build: || {
            let mut c = paper(
                "animorph-celeba",
                Experiment::Animorph,
                DatasetKind::CelebA,
                folder(CELEBA_DIR),
                128,
                3,
                degradation("animorph-celeba"),
                net("unet-paper-rgb"),
            );
            c.data.partner = Some(PartnerData {
                dataset: folder(AFHQ_DIR),
                augmentation: Augmentation::for_experiment(
                    Experiment::Animorph,
                    DatasetKind::Afhq,
                    true,
                ),
            });
            c
        },
    },
    TrainPreset {
        name: "hot-celeba",
        description: "paper: hot-diffusion baseline on CelebA-128 (T 200, cosine Gaussian noise, x0-prediction with L1)",
        build: || {
            paper(
                "hot-celeba",
                Experiment::Hot,
                DatasetKind::CelebA,
                folder(CELEBA_DIR),
                128,
                3,
                degradation("noise-celeba"),
                net("unet-paper-rgb"),
            )
        },
    },
    TrainPreset {
        name: "hot-afhq",
        description: "paper: hot-diffusion baseline on AFHQ-128 (T 200, cosine Gaussian noise, x0-prediction with L1)",
        build: || {
            paper(
                "hot-afhq",
                Experiment::Hot,
                DatasetKind::Afhq,
                folder(AFHQ_DIR),
                128,
                3,
                degradation("noise-celeba"),
                net("unet-paper-rgb"),
            )
        },
    },
    TrainPreset {
        name: "mnist-deblur-small",
        description: "CPU (≈ 1 h on one core): bundled MNIST deblurring (blur-mnist), ConvNeXt U-Net dim 16, mults 1,2,4, batch 32, lr 3e-4, 1500 steps",
        build: || {
            small(
                "mnist-deblur-small",
                Experiment::Deblur,
                degradation("blur-mnist"),
                1_500,
            )
        },
    },
    TrainPreset {
        name: "mnist-inpaint-small",
        description: "CPU (≈ 30 min on one core): bundled MNIST inpainting (inpaint-mnist), ConvNeXt U-Net dim 16, batch 32, lr 3e-4, 750 steps",
        build: || {
            small(
                "mnist-inpaint-small",
                Experiment::Inpaint,
                degradation("inpaint-mnist"),
                750,
            )
        },
    },
    TrainPreset {
        name: "mnist-superres-small",
        description: "CPU (≈ 30 min on one core): bundled MNIST super-resolution (superres-mnist), ConvNeXt U-Net dim 16, batch 32, lr 3e-4, 750 steps",
        build: || {
            small(
                "mnist-superres-small",
                Experiment::SuperResolution,
                degradation("superres-mnist"),
                750,
            )
        },
    },
    TrainPreset {
        name: "mnist-blurgen-small",
        description: "CPU (≈ 1 h on one core): bundled MNIST blur generation (the blur-mnist schedule with --discrete: x_T is the image mean), ConvNeXt U-Net dim 16, 1500 steps",
        build: || {
            small(
                "mnist-blurgen-small",
                Experiment::BlurGeneration,
                mnist_blurgen(),
                1_500,
            )
        },
    },
    TrainPreset {
        name: "tiny-test",
        description: "tests: bundled MNIST at 16×16, 5 constant blurs (k 5, σ 1), tiny U-Net (dim 8, mults 1,2), batch 8 × 2, 20 steps",
        build: tiny,
    },
];

impl TrainConfig {
    /// Every named preset: the paper's experiments first, then the CPU variants and the test
    /// preset.
    pub fn presets() -> &'static [TrainPreset] {
        PRESETS
    }

    /// The preset called `name`.
    ///
    /// # Errors
    /// [`TrainError::UnknownPreset`] listing the known names.
    pub fn preset(name: &str) -> Result<TrainConfig> {
        PRESETS
            .iter()
            .find(|p| p.name == name)
            .map(TrainPreset::config)
            .ok_or_else(|| TrainError::UnknownPreset {
                name: name.to_string(),
                known: PRESETS
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cold_unet::ResUnetConfig;

    #[test]
    fn every_preset_is_valid_and_named_uniquely() {
        let mut names = std::collections::HashSet::new();
        for p in TrainConfig::presets() {
            assert!(names.insert(p.name), "duplicate preset {}", p.name);
            let c = p.config();
            c.validate().unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(c.output_dir.ends_with(p.name) || p.name == "tiny-test");
        }
        assert!(
            TrainConfig::preset("nope")
                .unwrap_err()
                .to_string()
                .contains("deblur-mnist")
        );
    }

    #[test]
    fn paper_presets_follow_the_spec_table() {
        let p = |n: &str| TrainConfig::preset(n).unwrap();
        // (preset, T, network arch, image side, batch, steps, checkpoint every)
        let table = [
            ("deblur-mnist", 20, "unet", 32, 32, 700_000, 1000),
            ("deblur-cifar10", 50, "resunet", 32, 32, 700_000, 1000),
            ("deblur-celeba", 200, "unet", 128, 32, 700_000, 1000),
            ("blurgen-celeba", 300, "unet", 128, 32, 700_000, 1000),
            ("blurgen-afhq", 300, "unet", 128, 32, 700_000, 1000),
            ("inpaint-mnist", 50, "unet", 32, 32, 700_000, 10_000),
            ("inpaint-cifar10", 50, "resunet", 32, 32, 700_000, 10_000),
            ("inpaint-celeba", 100, "unet", 128, 100, 350_000, 10_000),
            ("inpaintgen-celeba", 750, "unet", 128, 32, 700_000, 1000),
            ("superres-mnist", 3, "unet", 32, 32, 700_000, 1000),
            ("superres-cifar10", 3, "resunet", 32, 32, 700_000, 1000),
            ("superres-celeba", 4, "unet", 128, 32, 700_000, 1000),
            ("snow-cifar10", 200, "unet", 32, 32, 700_000, 5000),
            ("snow-celeba", 200, "unet", 128, 16, 700_000, 5000),
            ("decolor-cifar10", 20, "unet", 32, 32, 700_000, 5000),
            ("decolor-celeba", 20, "unet", 64, 32, 700_000, 5000),
            ("animorph-celeba", 200, "unet", 128, 32, 700_000, 1000),
            ("hot-celeba", 200, "unet", 128, 32, 700_000, 1000),
            ("hot-afhq", 200, "unet", 128, 32, 700_000, 1000),
        ];
        for (name, t, arch, size, batch, steps, every) in table {
            let c = p(name);
            assert_eq!(c.degradation.steps(), t, "{name}");
            assert_eq!(c.network.arch(), arch, "{name}");
            assert_eq!(c.data.image_size, size, "{name}");
            assert_eq!(c.batch_size, batch, "{name}");
            assert_eq!(c.steps, steps, "{name}");
            assert_eq!(c.checkpoint.every, every, "{name}");
            assert_eq!(c.grad_accumulation, 2, "{name}");
            assert_eq!(c.optimizer, OptimizerConfig::default(), "{name}");
            assert_eq!(c.ema, EmaConfig::default(), "{name}");
        }
        assert_eq!(
            p("deblur-mnist").data.augmentation,
            Augmentation::ResizeRandomCropFlip
        );
        assert_eq!(
            p("superres-mnist").data.augmentation,
            Augmentation::ResizeCenterCrop
        );
        assert_eq!(
            p("inpaint-mnist").data.augmentation,
            Augmentation::ResizeShorterCenterCrop
        );
        assert_eq!(
            p("inpaint-cifar10").data.augmentation,
            Augmentation::Pad4RandomCropFlip
        );
        assert_eq!(p("snow-celeba").data.augmentation, Augmentation::CenterCrop);
        assert!(p("animorph-celeba").data.partner.is_some());
        assert_eq!(
            p("deblur-cifar10").network,
            NetConfig::ResUnet(ResUnetConfig::paper_cifar10())
        );
    }
}
