//! Serialisable operator configurations, their validation, and [`DegradationConfig::build`].
//!
//! Field names are the original code's command-line flags (`time_steps`, `blur_size`,
//! `blur_routine`, `kernel_std`, `fade_routine`, ...), and string values are the original
//! strings (`"Constant"`, `"Special_6_routine"`, `"Random_Incremental"`, ...), so a training
//! command of the original translates field by field. Defaults are those of the original
//! scripts. Unknown fields are rejected.

use serde::{Deserialize, Serialize};

use crate::blend::{Animorph, BetaSchedule, Noise};
use crate::blur::Blur;
use crate::decolor::Decolor;
use crate::inpaint::{Inpaint, InpaintGeneration};
use crate::{ConfigError, Degradation};

fn default_time_steps() -> usize {
    50
}

/// A degradation operator and its parameters; `operator` is the tag in JSON / TOML.
///
/// ```
/// use cold_degrade::DegradationConfig;
/// let cfg: DegradationConfig = serde_json::from_str(
///     r#"{"operator": "blur", "time_steps": 20, "blur_size": 11, "blur_std": 7.0,
///         "blur_routine": "Constant"}"#,
/// ).unwrap();
/// cfg.validate().unwrap();
/// assert_eq!(cfg.build().unwrap().steps(), 20);
/// ```
///
/// The super-resolution (`operator = "super_resolution"`) and snow (`operator = "snow"`)
/// variants are added beside these by their operators' modules (`superres.rs`, `snow.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operator", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DegradationConfig {
    /// Cumulative Gaussian blur (`deblurring-diffusion-pytorch`).
    Blur(BlurConfig),
    /// Gaussian-mask inpainting for restoration (`defading-diffusion-pytorch`).
    Inpaint(InpaintConfig),
    /// Inpainting for generation: blend toward a constant colour through a growing Gaussian
    /// mask (`defading-generation-diffusion-pytorch`).
    InpaintGeneration(InpaintGenerationConfig),
    /// Desaturation (`snowification` / `decolor-diffusion`, `Decolorization`).
    Decolor(DecolorConfig),
    /// Animorphosis: cosine-schedule blend with a partner image (`demixing-diffusion-pytorch`).
    Animorph(AnimorphConfig),
    /// The "hot" Gaussian-noise baseline (`denoising-diffusion-pytorch`).
    Noise(NoiseConfig),
    /// Super-resolution / pixelation (`resolution-diffusion-pytorch`).
    SuperResolution(crate::SuperResolutionConfig),
    /// ImageNet-C snow (`snowification`, `Snow`).
    Snow(crate::SnowConfig),
}

/// Blur routine (`--blur_routine`): per-step kernel size, σ and padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum BlurRoutine {
    /// `blur_size`, σ_i = blur_std·(i+1), circular padding (the original's default).
    #[default]
    Incremental,
    /// `blur_size`, σ = blur_std, circular padding.
    Constant,
    /// `blur_size`, σ = blur_std, reflect padding.
    #[serde(rename = "Constant_reflect")]
    ConstantReflect,
    /// `blur_size`, σ_i = exp(blur_std·i), circular padding.
    Exponential,
    /// `blur_size`, σ_i = exp(blur_std·i), reflect padding.
    #[serde(rename = "Exponential_reflect")]
    ExponentialReflect,
    /// Size 11, σ_i = i/100 + 0.35, reflect padding (`blur_size` / `blur_std` ignored).
    #[serde(rename = "Special_6_routine")]
    Special6,
    /// Size 2i+1, σ_i = 2(2i+1), circular padding (`blur_size` / `blur_std` ignored).
    /// Cumulative like the others: see `docs/decisions/` for the original's inconsistency.
    #[serde(rename = "Individual_Incremental")]
    IndividualIncremental,
}

impl BlurRoutine {
    /// The original's string.
    pub fn as_str(self) -> &'static str {
        match self {
            BlurRoutine::Incremental => "Incremental",
            BlurRoutine::Constant => "Constant",
            BlurRoutine::ConstantReflect => "Constant_reflect",
            BlurRoutine::Exponential => "Exponential",
            BlurRoutine::ExponentialReflect => "Exponential_reflect",
            BlurRoutine::Special6 => "Special_6_routine",
            BlurRoutine::IndividualIncremental => "Individual_Incremental",
        }
    }
}

/// Gaussian blur, the original's `deblurring-diffusion-pytorch` flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlurConfig {
    /// Number of steps `T` (`--time_steps`, default 50).
    #[serde(default = "default_time_steps")]
    pub time_steps: usize,
    /// Kernel size, odd (`--blur_size`, default 3).
    #[serde(default = "BlurConfig::default_blur_size")]
    pub blur_size: usize,
    /// σ parameter of the routine (`--blur_std`, default 0.1).
    #[serde(default = "BlurConfig::default_blur_std")]
    pub blur_std: f64,
    /// Routine (`--blur_routine`, default `"Incremental"`).
    #[serde(default)]
    pub blur_routine: BlurRoutine,
    /// `--discrete`: the last level is the per-channel mean, training inputs are quantised to
    /// 8 bits (blur generation).
    #[serde(default)]
    pub discrete: bool,
    /// If set, inputs must be `image_size × image_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<usize>,
    /// If set, inputs must have this many channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
}

impl BlurConfig {
    fn default_blur_size() -> usize {
        3
    }
    fn default_blur_std() -> f64 {
        0.1
    }
}

impl Default for BlurConfig {
    fn default() -> Self {
        Self {
            time_steps: default_time_steps(),
            blur_size: Self::default_blur_size(),
            blur_std: Self::default_blur_std(),
            blur_routine: BlurRoutine::default(),
            discrete: false,
            image_size: None,
            channels: None,
        }
    }
}

/// Inpainting mask routine (`--fade_routine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum FadeRoutine {
    /// Centred hole, σ_i = kernel_std·(i + initial_mask) (the original's default).
    #[default]
    Incremental,
    /// Hole at a random centre per image, σ_i = kernel_std·(i + initial_mask).
    #[serde(rename = "Random_Incremental")]
    RandomIncremental,
    /// Centred hole, σ = kernel_std at every step.
    Constant,
}

impl FadeRoutine {
    /// The original's string.
    pub fn as_str(self) -> &'static str {
        match self {
            FadeRoutine::Incremental => "Incremental",
            FadeRoutine::RandomIncremental => "Random_Incremental",
            FadeRoutine::Constant => "Constant",
        }
    }
}

/// Gaussian-mask inpainting for restoration, the original's `defading-diffusion-pytorch` flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InpaintConfig {
    /// Number of steps `T` (`--time_steps`, default 50).
    #[serde(default = "default_time_steps")]
    pub time_steps: usize,
    /// Mask σ scale in pixels (`--kernel_std`, default 0.1).
    #[serde(default = "InpaintConfig::default_kernel_std")]
    pub kernel_std: f64,
    /// Offset of the σ schedule (`--initial_mask`, default 11).
    #[serde(default = "InpaintConfig::default_initial_mask")]
    pub initial_mask: usize,
    /// Routine (`--fade_routine`, default `"Incremental"`).
    #[serde(default)]
    pub fade_routine: FadeRoutine,
    /// `--discrete`: training inputs are quantised to 8 bits.
    #[serde(default)]
    pub discrete: bool,
    /// If set, inputs must be `image_size × image_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<usize>,
    /// If set, inputs must have this many channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
}

impl InpaintConfig {
    fn default_kernel_std() -> f64 {
        0.1
    }
    fn default_initial_mask() -> usize {
        11
    }
}

impl Default for InpaintConfig {
    fn default() -> Self {
        Self {
            time_steps: default_time_steps(),
            kernel_std: Self::default_kernel_std(),
            initial_mask: Self::default_initial_mask(),
            fade_routine: FadeRoutine::default(),
            discrete: false,
            image_size: None,
            channels: None,
        }
    }
}

/// Inpainting for generation, the original's `defading-generation-diffusion-pytorch` flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InpaintGenerationConfig {
    /// Number of steps `T` (`--time_steps`, default 50).
    #[serde(default = "default_time_steps")]
    pub time_steps: usize,
    /// Mask σ scale in pixels (`--kernel_std`, default 0.15).
    #[serde(default = "InpaintGenerationConfig::default_kernel_std")]
    pub kernel_std: f64,
    /// Offset of the σ schedule (`--initial_mask`, default 11).
    #[serde(default = "InpaintGenerationConfig::default_initial_mask")]
    pub initial_mask: usize,
    /// `--reverse`: the colour grows from the border inward and `x_T` is the solid colour.
    #[serde(default)]
    pub reverse: bool,
    /// If set, inputs must be `image_size × image_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<usize>,
    /// If set, inputs must have this many channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
}

impl InpaintGenerationConfig {
    fn default_kernel_std() -> f64 {
        0.15
    }
    fn default_initial_mask() -> usize {
        11
    }
}

impl Default for InpaintGenerationConfig {
    fn default() -> Self {
        Self {
            time_steps: default_time_steps(),
            kernel_std: Self::default_kernel_std(),
            initial_mask: Self::default_initial_mask(),
            reverse: false,
            image_size: None,
            channels: None,
        }
    }
}

/// Desaturation routine (`--decolor_routine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DecolorRoutine {
    /// Chroma scaled by `decolor_ema_factor` at every step (the original's default).
    #[default]
    Constant,
    /// Remaining chroma after `s` steps is `1 − s/T`.
    Linear,
}

impl DecolorRoutine {
    /// The original's string.
    pub fn as_str(self) -> &'static str {
        match self {
            DecolorRoutine::Constant => "Constant",
            DecolorRoutine::Linear => "Linear",
        }
    }
}

/// Desaturation, the original's `snowification/train.py` flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecolorConfig {
    /// Number of steps `T` (`--time_steps`, default 50).
    #[serde(default = "default_time_steps")]
    pub time_steps: usize,
    /// Routine (`--decolor_routine`, default `"Constant"`).
    #[serde(default)]
    pub decolor_routine: DecolorRoutine,
    /// Per-step chroma factor of `Constant` (`--decolor_ema_factor`, default 0.9).
    #[serde(default = "DecolorConfig::default_ema")]
    pub decolor_ema_factor: f64,
    /// `--decolor_total_remove`: the last step removes all colour.
    #[serde(default)]
    pub decolor_total_remove: bool,
    /// If set, inputs must be `image_size × image_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<usize>,
    /// If set, inputs must have this many channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
}

impl DecolorConfig {
    fn default_ema() -> f64 {
        0.9
    }
}

impl Default for DecolorConfig {
    fn default() -> Self {
        Self {
            time_steps: default_time_steps(),
            decolor_routine: DecolorRoutine::default(),
            decolor_ema_factor: Self::default_ema(),
            decolor_total_remove: false,
            image_size: None,
            channels: None,
        }
    }
}

/// Animorphosis, the original's `demixing-diffusion-pytorch` flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnimorphConfig {
    /// Number of steps `T` (`--time_steps`, default 50).
    #[serde(default = "default_time_steps")]
    pub time_steps: usize,
    /// If set, inputs must be `image_size × image_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<usize>,
    /// If set, inputs must have this many channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
}

impl Default for AnimorphConfig {
    fn default() -> Self {
        Self {
            time_steps: default_time_steps(),
            image_size: None,
            channels: None,
        }
    }
}

/// Gaussian-noise ("hot") baseline, the original's `denoising-diffusion-pytorch` flags plus
/// the β schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseConfig {
    /// Number of steps `T` (`--time_steps`, default 50).
    #[serde(default = "default_time_steps")]
    pub time_steps: usize,
    /// β schedule: `"cosine"` (the original's, default) or `"linear"` (DDPM).
    #[serde(default)]
    pub beta_schedule: BetaSchedule,
    /// If set, inputs must be `image_size × image_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<usize>,
    /// If set, inputs must have this many channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        Self {
            time_steps: default_time_steps(),
            beta_schedule: BetaSchedule::default(),
            image_size: None,
            channels: None,
        }
    }
}

fn check_steps(operator: &'static str, t: usize) -> Result<(), ConfigError> {
    if t == 0 {
        return Err(ConfigError::invalid(
            operator,
            "time_steps",
            t,
            "must be at least 1",
        ));
    }
    Ok(())
}

fn check_size(
    operator: &'static str,
    image_size: Option<usize>,
    channels: Option<usize>,
) -> Result<(), ConfigError> {
    if image_size == Some(0) {
        return Err(ConfigError::invalid(
            operator,
            "image_size",
            0,
            "must be at least 1 (or left out)",
        ));
    }
    if channels == Some(0) {
        return Err(ConfigError::invalid(
            operator,
            "channels",
            0,
            "must be at least 1 (or left out)",
        ));
    }
    Ok(())
}

fn check_positive(operator: &'static str, field: &'static str, v: f64) -> Result<(), ConfigError> {
    if !(v.is_finite() && v > 0.0) {
        return Err(ConfigError::invalid(
            operator,
            field,
            v,
            "must be a finite number > 0",
        ));
    }
    Ok(())
}

impl BlurConfig {
    /// Check every field; the error names the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        const OP: &str = "blur";
        check_steps(OP, self.time_steps)?;
        check_size(OP, self.image_size, self.channels)?;
        let uses_size = !matches!(
            self.blur_routine,
            BlurRoutine::Special6 | BlurRoutine::IndividualIncremental
        );
        if uses_size && (self.blur_size == 0 || self.blur_size.is_multiple_of(2)) {
            return Err(ConfigError::invalid(
                OP,
                "blur_size",
                self.blur_size,
                "the kernel size must be odd (1, 3, 5, ...)",
            ));
        }
        match self.blur_routine {
            BlurRoutine::Incremental | BlurRoutine::Constant | BlurRoutine::ConstantReflect => {
                check_positive(OP, "blur_std", self.blur_std)?
            }
            BlurRoutine::Exponential | BlurRoutine::ExponentialReflect => {
                let last = (self.blur_std * (self.time_steps as f64 - 1.0)).exp();
                if !(self.blur_std.is_finite() && last.is_finite() && last > 0.0) {
                    return Err(ConfigError::invalid(
                        OP,
                        "blur_std",
                        self.blur_std,
                        format!(
                            "σ_i = exp(blur_std·i) must stay finite and > 0 for i < time_steps = {}",
                            self.time_steps
                        ),
                    ));
                }
            }
            BlurRoutine::Special6 | BlurRoutine::IndividualIncremental => {}
        }
        Ok(())
    }
}

impl InpaintConfig {
    /// Check every field; the error names the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        const OP: &str = "inpaint";
        check_steps(OP, self.time_steps)?;
        check_size(OP, self.image_size, self.channels)?;
        check_positive(OP, "kernel_std", self.kernel_std)?;
        if self.fade_routine != FadeRoutine::Constant && self.initial_mask == 0 {
            return Err(ConfigError::invalid(
                OP,
                "initial_mask",
                0,
                "σ_0 = kernel_std·initial_mask would be 0: use 1 or more",
            ));
        }
        if self.fade_routine != FadeRoutine::RandomIncremental
            && let Some(s) = self.image_size
            && s % 2 == 1
        {
            return Err(ConfigError::invalid(
                OP,
                "image_size",
                s,
                "centred masks are built on an (S+1)×(S+1) Gaussian grid, which must be odd: S must be even",
            ));
        }
        Ok(())
    }
}

impl InpaintGenerationConfig {
    /// Check every field; the error names the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        const OP: &str = "inpaint_generation";
        check_steps(OP, self.time_steps)?;
        check_size(OP, self.image_size, self.channels)?;
        check_positive(OP, "kernel_std", self.kernel_std)?;
        if self.initial_mask == 0 {
            return Err(ConfigError::invalid(
                OP,
                "initial_mask",
                0,
                "σ_0 = kernel_std·initial_mask would be 0: use 1 or more",
            ));
        }
        if let Some(s) = self.image_size
            && s % 2 == 1
        {
            return Err(ConfigError::invalid(
                OP,
                "image_size",
                s,
                "masks are built on an (S+1)×(S+1) Gaussian grid, which must be odd: S must be even",
            ));
        }
        Ok(())
    }
}

impl DecolorConfig {
    /// Check every field; the error names the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        const OP: &str = "decolor";
        check_steps(OP, self.time_steps)?;
        check_size(OP, self.image_size, self.channels)?;
        if self.decolor_routine == DecolorRoutine::Constant
            && !(self.decolor_ema_factor.is_finite()
                && (0.0..=1.0).contains(&self.decolor_ema_factor))
        {
            return Err(ConfigError::invalid(
                OP,
                "decolor_ema_factor",
                self.decolor_ema_factor,
                "the per-step chroma factor must lie in [0, 1]",
            ));
        }
        Ok(())
    }
}

impl AnimorphConfig {
    /// Check every field; the error names the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_steps("animorph", self.time_steps)?;
        check_size("animorph", self.image_size, self.channels)
    }
}

impl NoiseConfig {
    /// Check every field; the error names the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_steps("noise", self.time_steps)?;
        check_size("noise", self.image_size, self.channels)?;
        if self.beta_schedule == BetaSchedule::Linear && self.time_steps < 20 {
            // DDPM's linear schedule scaled to T: β_T = 0.02·1000/T must stay below 1.
            return Err(ConfigError::invalid(
                "noise",
                "time_steps",
                self.time_steps,
                "the linear β schedule (β from 1e-4·1000/T to 0.02·1000/T) needs T ≥ 20",
            ));
        }
        Ok(())
    }
}

impl DegradationConfig {
    /// The `operator` tag of this config.
    pub fn operator(&self) -> &'static str {
        match self {
            DegradationConfig::Blur(_) => "blur",
            DegradationConfig::Inpaint(_) => "inpaint",
            DegradationConfig::InpaintGeneration(_) => "inpaint_generation",
            DegradationConfig::Decolor(_) => "decolor",
            DegradationConfig::Animorph(_) => "animorph",
            DegradationConfig::Noise(_) => "noise",
            DegradationConfig::SuperResolution(_) => "super_resolution",
            DegradationConfig::Snow(_) => "snow",
        }
    }

    /// Number of steps `T`.
    pub fn steps(&self) -> usize {
        match self {
            DegradationConfig::Blur(c) => c.time_steps,
            DegradationConfig::Inpaint(c) => c.time_steps,
            DegradationConfig::InpaintGeneration(c) => c.time_steps,
            DegradationConfig::Decolor(c) => c.time_steps,
            DegradationConfig::Animorph(c) => c.time_steps,
            DegradationConfig::Noise(c) => c.time_steps,
            DegradationConfig::SuperResolution(c) => c.time_steps,
            DegradationConfig::Snow(c) => c.time_steps,
        }
    }

    /// The required `(image_size, channels)`, where the config sets them.
    pub fn image_size_and_channels(&self) -> (Option<usize>, Option<usize>) {
        match self {
            DegradationConfig::Blur(c) => (c.image_size, c.channels),
            DegradationConfig::Inpaint(c) => (c.image_size, c.channels),
            DegradationConfig::InpaintGeneration(c) => (c.image_size, c.channels),
            DegradationConfig::Decolor(c) => (c.image_size, c.channels),
            DegradationConfig::Animorph(c) => (c.image_size, c.channels),
            DegradationConfig::Noise(c) => (c.image_size, c.channels),
            DegradationConfig::SuperResolution(c) => (c.image_size, c.channels),
            DegradationConfig::Snow(c) => (c.image_size, c.channels),
        }
    }

    /// Check every field; the error names the operator, the field and its value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            DegradationConfig::Blur(c) => c.validate(),
            DegradationConfig::Inpaint(c) => c.validate(),
            DegradationConfig::InpaintGeneration(c) => c.validate(),
            DegradationConfig::Decolor(c) => c.validate(),
            DegradationConfig::Animorph(c) => c.validate(),
            DegradationConfig::Noise(c) => c.validate(),
            DegradationConfig::SuperResolution(c) => c.validate(),
            DegradationConfig::Snow(c) => c.validate(),
        }
    }

    /// Validate, then build the operator.
    pub fn build(&self) -> Result<Box<dyn Degradation>, ConfigError> {
        self.validate()?;
        Ok(match self {
            DegradationConfig::Blur(c) => Box::new(Blur::new(c.clone())),
            DegradationConfig::Inpaint(c) => Box::new(Inpaint::new(c.clone())),
            DegradationConfig::InpaintGeneration(c) => Box::new(InpaintGeneration::new(c.clone())),
            DegradationConfig::Decolor(c) => Box::new(Decolor::new(c.clone())),
            DegradationConfig::Animorph(c) => Box::new(Animorph::new(c.clone())),
            DegradationConfig::Noise(c) => Box::new(Noise::new(c.clone())),
            DegradationConfig::SuperResolution(c) => {
                Box::new(crate::SuperResolution::new(c.clone()))
            }
            DegradationConfig::Snow(c) => Box::new(crate::Snow::new(c.clone())),
        })
    }

    /// Parse a JSON config (unknown operators, fields and routine strings are errors that name
    /// them), then validate it.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| ConfigError::Parse {
            format: "JSON",
            message: e.to_string(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parse a TOML config, then validate it (see [`DegradationConfig::from_json`]).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            format: "TOML",
            message: e.to_string(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The config as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a degradation config always serialises")
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a degradation config always serialises")
    }

    /// The parameters on one line, `operator=blur time_steps=20 blur_size=11 ...`, in the order
    /// of the config's fields (used by `cold presets`).
    pub fn parameters(&self) -> String {
        self.to_toml()
            .lines()
            .filter_map(|line| line.split_once(" = "))
            .map(|(k, v)| format!("{}={}", k.trim(), v.trim().trim_matches('"')))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
