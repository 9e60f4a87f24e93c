//! The paper's configurations as named presets (`cold presets` prints them).

use crate::config::{
    AnimorphConfig, BlurConfig, BlurRoutine, DecolorConfig, DecolorRoutine, FadeRoutine,
    InpaintConfig, InpaintGenerationConfig, NoiseConfig,
};
use crate::{BetaSchedule, ConfigError, DegradationConfig};

/// A named configuration of the paper.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Fixed name, e.g. `"blur-mnist"`.
    pub name: &'static str,
    /// One line saying what it is and where it comes from.
    pub description: &'static str,
    /// The configuration.
    pub config: DegradationConfig,
}

fn blur(
    time_steps: usize,
    routine: BlurRoutine,
    blur_size: usize,
    blur_std: f64,
    discrete: bool,
    size: usize,
    channels: usize,
) -> DegradationConfig {
    DegradationConfig::Blur(BlurConfig {
        time_steps,
        blur_size,
        blur_std,
        blur_routine: routine,
        discrete,
        image_size: Some(size),
        channels: Some(channels),
    })
}

fn inpaint(
    time_steps: usize,
    routine: FadeRoutine,
    kernel_std: f64,
    initial_mask: usize,
    discrete: bool,
    size: usize,
    channels: usize,
) -> DegradationConfig {
    DegradationConfig::Inpaint(InpaintConfig {
        time_steps,
        kernel_std,
        initial_mask,
        fade_routine: routine,
        discrete,
        image_size: Some(size),
        channels: Some(channels),
    })
}

fn decolor(size: usize) -> DegradationConfig {
    DegradationConfig::Decolor(DecolorConfig {
        time_steps: 20,
        decolor_routine: DecolorRoutine::Linear,
        decolor_total_remove: true,
        image_size: Some(size),
        channels: Some(3),
        ..DecolorConfig::default()
    })
}

/// Every preset, in a fixed order (one entry per line of the list: add new operators' presets
/// here).
pub fn presets() -> Vec<Preset> {
    use BlurRoutine as B;
    use FadeRoutine as F;
    vec![
        Preset {
            name: "blur-mnist",
            description: "MNIST 32×32 deblurring: 20 constant circular blurs, k 11, σ 7",
            config: blur(20, B::Constant, 11, 7.0, false, 32, 1),
        },
        Preset {
            name: "blur-cifar10",
            description: "CIFAR-10 32×32 deblurring: 50 reflect blurs, k 11, σ_i = i/100 + 0.35",
            config: blur(50, B::Special6, 3, 0.1, false, 32, 3),
        },
        Preset {
            name: "blur-celeba",
            description: "CelebA 128×128 deblurring: 200 reflect blurs, k 15, σ_i = exp(0.01 i)",
            config: blur(200, B::ExponentialReflect, 15, 0.01, false, 128, 3),
        },
        Preset {
            name: "blur-gen-celeba",
            description: "CelebA/AFHQ 128×128 blur generation: 300 circular blurs, k 27, σ_i = exp(0.01 i), x_T = channel mean, 8-bit training inputs",
            config: blur(300, B::Exponential, 27, 0.01, true, 128, 3),
        },
        Preset {
            name: "inpaint-mnist",
            description: "MNIST 32×32 inpainting: 50 Gaussian masks at a random centre, σ_i = 0.1 (i + 11), 8-bit training inputs",
            config: inpaint(50, F::RandomIncremental, 0.1, 11, true, 32, 1),
        },
        Preset {
            name: "inpaint-cifar10",
            description: "CIFAR-10 32×32 inpainting: 50 Gaussian masks at a random centre, σ_i = 0.1 (i + 11), 8-bit training inputs",
            config: inpaint(50, F::RandomIncremental, 0.1, 11, true, 32, 3),
        },
        Preset {
            name: "inpaint-celeba",
            description: "CelebA 128×128 inpainting: 100 centred Gaussian masks, σ_i = 0.2 (i + 1)",
            config: inpaint(100, F::Incremental, 0.2, 1, false, 128, 3),
        },
        Preset {
            name: "inpaint-gen-celeba",
            description: "CelebA 128×128 inpainting generation (--reverse): a constant colour grows inward over 750 steps, σ_i = 0.05 (i + 1)",
            config: DegradationConfig::InpaintGeneration(InpaintGenerationConfig {
                time_steps: 750,
                kernel_std: 0.05,
                initial_mask: 1,
                reverse: true,
                image_size: Some(128),
                channels: Some(3),
            }),
        },
        Preset {
            name: "decolor-cifar10",
            description: "CIFAR-10 32×32 desaturation: 20 steps, chroma 1 − s/T, last step removes all colour",
            config: decolor(32),
        },
        Preset {
            name: "decolor-celeba",
            description: "CelebA 64×64 (centre crop) desaturation: 20 steps, chroma 1 − s/T, last step removes all colour",
            config: decolor(64),
        },
        Preset {
            name: "animorph-celeba",
            description: "CelebA 128×128 animorphosis: cosine-schedule blend into an AFHQ animal image over 200 steps",
            config: DegradationConfig::Animorph(AnimorphConfig {
                time_steps: 200,
                image_size: Some(128),
                channels: Some(3),
            }),
        },
        Preset {
            name: "noise-celeba",
            description: "CelebA 128×128 hot-diffusion baseline: cosine-schedule Gaussian noise over 200 steps",
            config: DegradationConfig::Noise(NoiseConfig {
                time_steps: 200,
                beta_schedule: BetaSchedule::Cosine,
                image_size: Some(128),
                channels: Some(3),
            }),
        },
    ]
    .into_iter()
    .chain(crate::superres::presets())
    .chain(crate::snow::presets())
    .collect()
}

impl DegradationConfig {
    /// The configuration of the preset `name`.
    ///
    /// # Errors
    /// [`ConfigError::UnknownPreset`], listing the known names.
    pub fn preset(name: &str) -> Result<Self, ConfigError> {
        let all = presets();
        match all.iter().find(|p| p.name == name) {
            Some(p) => Ok(p.config.clone()),
            None => Err(ConfigError::UnknownPreset {
                name: name.to_string(),
                known: all.iter().map(|p| p.name).collect::<Vec<_>>().join(", "),
            }),
        }
    }
}
