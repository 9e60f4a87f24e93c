//! # cold-diffusion
//!
//! Cold Diffusion (Bansal et al., "Inverting Arbitrary Image Transforms Without Noise") on Burn.
//! This facade re-exports the workspace crates; see the README for the tour.

pub use cold_data as data;
pub use cold_degrade as degrade;
pub use cold_metrics as metrics;
pub use cold_sample as sample;
pub use cold_train as train;
pub use cold_unet as unet;
