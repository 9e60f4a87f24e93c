//! Exact resume: N updates + checkpoint + resume + M updates gives bit-identical live weights,
//! EMA weights, optimizer state, RNG and data positions to N + M uninterrupted updates (CPU).

mod common;

use burn::tensor::Device;
use cold_degrade::{DegradationConfig, FadeRoutine, InpaintConfig};
use cold_train::{Checkpoint, TrainConfig, Trainer};
use cold_unet::{NetConfig, ResUnetConfig};

/// Run `n + m` updates straight, and `n` + save + resume + `m`; compare everything.
fn check_exact_resume(config: TrainConfig, n: u64, m: u64) {
    let root = config.output_dir.clone();
    let device = Device::flex();

    let mut straight_cfg = config.clone();
    straight_cfg.output_dir = root.join("straight");
    let mut straight = Trainer::new(straight_cfg, std::slice::from_ref(&device)).unwrap();
    for _ in 0..n + m {
        straight.step().unwrap();
    }

    let mut first_cfg = config.clone();
    first_cfg.output_dir = root.join("interrupted");
    let mut first = Trainer::new(first_cfg, std::slice::from_ref(&device)).unwrap();
    for _ in 0..n {
        first.step().unwrap();
    }
    let ckpt = first.save_checkpoint().unwrap();
    drop(first);
    let mut resumed = Trainer::resume(&ckpt, std::slice::from_ref(&device)).unwrap();
    assert_eq!(resumed.step_count(), n);
    for _ in 0..m {
        resumed.step().unwrap();
    }

    assert_eq!(resumed.step_count(), straight.step_count());
    assert_eq!(
        resumed.last_loss().map(f32::to_bits),
        straight.last_loss().map(f32::to_bits)
    );
    let (a, b) = (
        common::param_bits(straight.model()),
        common::param_bits(resumed.model()),
    );
    assert_eq!(a.len(), b.len());
    for ((pa, va), (pb, vb)) in a.iter().zip(&b) {
        assert_eq!(pa, pb);
        assert!(va == vb, "live weight {pa} differs after resume");
    }
    let (a, b) = (
        common::param_bits(straight.ema()),
        common::param_bits(resumed.ema()),
    );
    for ((pa, va), (_, vb)) in a.iter().zip(&b) {
        assert!(va == vb, "EMA weight {pa} differs after resume");
    }
    // Optimizer state (Adam moments and step counts), RNG and data positions: compare what a
    // checkpoint of each holds.
    let sa = straight.save_checkpoint().unwrap();
    let sb = resumed.save_checkpoint().unwrap();
    let ca = Checkpoint::load(&sa, &device.clone().autodiff()).unwrap();
    let cb = Checkpoint::load(&sb, &device.clone().autodiff()).unwrap();
    let mut state_a = ca.state.clone();
    let mut state_b = cb.state.clone();
    state_a.elapsed_s = 0.0;
    state_b.elapsed_s = 0.0;
    assert_eq!(state_a, state_b, "step, RNG and data positions");
    let bytes = |p: &std::path::Path| {
        let b = std::fs::read(p).unwrap();
        let st = safetensors::SafeTensors::deserialize(&b).unwrap();
        let mut v: Vec<(String, Vec<u8>)> = st
            .iter()
            .filter(|(k, _)| k.starts_with("optim."))
            .map(|(k, t)| (k.to_string(), t.data().to_vec()))
            .collect();
        v.sort();
        let (_, meta) = safetensors::SafeTensors::read_metadata(&b).unwrap();
        let scalars = meta.metadata().as_ref().unwrap()["cold_diffusion.optimizer_scalars"].clone();
        (v, scalars)
    };
    let (ta, sca) = bytes(&sa);
    let (tb, scb) = bytes(&sb);
    assert!(!ta.is_empty());
    assert_eq!(ta.len(), tb.len());
    assert!(ta == tb, "Adam moments differ after resume");
    assert_eq!(sca, scb, "Adam step counts differ after resume");
    assert!(
        sca.contains("\"momentum.time\":{\"UInt\":"),
        "{}",
        &sca[..200.min(sca.len())]
    );
}

#[test]
fn blur_convnext_resume_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = common::tiny(dir.path());
    // EMA resets at updates 1, 3, 5 and averages at 7 and 9: both sides of the checkpoint.
    c.steps = 100;
    c.checkpoint.every = 1000;
    check_exact_resume(c, 4, 6);
}

#[test]
fn random_inpainting_resnet_with_dropout_resume_is_bit_exact() {
    // Host-side operator draws (random mask centres), 8-bit training inputs, and a network with
    // dropout (backend RNG, re-seeded per micro-batch from the run seed and the step).
    let dir = tempfile::tempdir().unwrap();
    let mut c = common::tiny(dir.path());
    c.degradation = DegradationConfig::Inpaint(InpaintConfig {
        time_steps: 6,
        kernel_std: 0.5,
        initial_mask: 1,
        fade_routine: FadeRoutine::RandomIncremental,
        discrete: true,
        image_size: Some(16),
        channels: Some(1),
    });
    c.network = NetConfig::ResUnet(
        ResUnetConfig::new(32, 1, 1, vec![8], 1, 16)
            .with_ch_mult(vec![1, 2])
            .with_dropout(0.1),
    );
    c.batch_size = 4;
    c.steps = 100;
    c.checkpoint.every = 1000;
    check_exact_resume(c, 3, 4);
}
