//! One module per subcommand, and what they share.

pub mod data;
pub mod degrade;
pub mod demo;
pub mod eval;
pub mod generate;
pub mod presets;
pub mod restore;
pub mod sample;
pub mod train;

use std::panic::AssertUnwindSafe;

use burn::tensor::{Device, Tensor};
use cold_diffusion::degrade::{Degradation, DegradationConfig};
use cold_diffusion::sample::Method;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::cli::SamplerArg;
use crate::error::{CliError, Result};

/// The device of `--device` (else `$BURN_DEVICE`, else the first compiled backend), checked
/// with a one-element computation so that a backend that cannot start fails here, with its
/// name, instead of in the middle of the work.
pub fn device(spec: Option<&str>) -> Result<Device> {
    use cold_diffusion::device::{DEVICE_ENV, resolve, select_with};
    let env = std::env::var(DEVICE_ENV).ok();
    let text = resolve(spec, env.as_deref())?.text;
    let device = select_with(spec, env.as_deref())?;
    let probe = device.clone();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(move || {
        Tensor::<1>::ones([1], &probe).sum().into_scalar::<f32>()
    }));
    match outcome {
        Ok(1.0) => Ok(device),
        Ok(v) => Err(CliError::new(format!(
            "device `{text}` computed 1 as {v}: the backend does not work on this machine"
        ))),
        Err(_) => Err(CliError::new(format!(
            "device `{text}` cannot be used: {}",
            crate::take_panic_message().unwrap_or_else(|| "the backend failed to start".into())
        ))),
    }
}

/// The seeded host RNG of the command line (the same seed gives the same draws on every
/// backend).
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The library's sampling method for `--sampler`.
pub fn method(s: SamplerArg) -> Method {
    match s {
        SamplerArg::Alg2 => Method::Algorithm2,
        SamplerArg::Alg1 => Method::Algorithm1,
        SamplerArg::Direct => Method::Direct,
    }
}

/// Builds the operator of a (validated) configuration.
pub fn build_op(cfg: &DegradationConfig) -> Result<Box<dyn Degradation>> {
    Ok(cfg.build()?)
}

/// Parses `--levels`: comma-separated integers or the literal `T`, each in `0..=T`.
///
/// # Errors
/// A value that is not a level, or a level above `T` (the message names it and `T`).
pub fn parse_levels(text: &str, steps: usize, operator: &str) -> Result<Vec<usize>> {
    let mut levels = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(CliError::new(format!(
                "--levels `{text}`: empty entry; give comma-separated levels such as 0,5,T"
            )));
        }
        let level = if part.eq_ignore_ascii_case("t") {
            steps
        } else {
            part.parse::<usize>().map_err(|_| {
                CliError::new(format!(
                    "--levels: `{part}` is not a level (a non-negative integer or T)"
                ))
            })?
        };
        if level > steps {
            return Err(CliError::new(format!(
                "--levels: level {level} is above T = {steps} of operator `{operator}` (levels are 0..={steps})"
            )));
        }
        if !levels.contains(&level) {
            levels.push(level);
        }
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_accept_t_and_reject_above_t() {
        assert_eq!(parse_levels("0,5,T", 20, "blur").unwrap(), vec![0, 5, 20]);
        assert_eq!(parse_levels(" t , 3,3", 4, "blur").unwrap(), vec![4, 3]);
        let e = parse_levels("0,21", 20, "blur").unwrap_err().to_string();
        assert!(e.contains("level 21") && e.contains("T = 20"), "{e}");
        assert!(
            parse_levels("a", 20, "blur")
                .unwrap_err()
                .to_string()
                .contains("`a`")
        );
        assert!(parse_levels("1,,2", 20, "blur").is_err());
        assert!(parse_levels("-1", 20, "blur").is_err());
    }
}
