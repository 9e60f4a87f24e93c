//! Oracle tests over every degradation preset: with a restorer that returns the true `x0`,
//! Algorithm 2 (and Algorithm 1) must walk back to `x0` from any start level, because every
//! state is then exactly `D(x0, s)` (paper §3.3).

use burn::tensor::{Device, Tensor, TensorData};
use cold_degrade::{Degradation, DegradationConfig, Draw, ImageShape, PartnerKind, presets};
use cold_sample::{Method, Oracle, PartnerMode, Record, Sampler};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Presets at 128×128 run at 32×32 here (the operators are defined for any size); the 32×32
/// ones keep their size.
const SMALL: usize = 32;

fn shrink(config: &DegradationConfig) -> DegradationConfig {
    let mut c = config.clone();
    match &mut c {
        DegradationConfig::Blur(b) => b.image_size = b.image_size.map(|s| s.min(SMALL)),
        DegradationConfig::Inpaint(b) => b.image_size = b.image_size.map(|s| s.min(SMALL)),
        DegradationConfig::InpaintGeneration(b) => {
            b.image_size = b.image_size.map(|s| s.min(SMALL))
        }
        DegradationConfig::Decolor(b) => b.image_size = b.image_size.map(|s| s.min(SMALL)),
        DegradationConfig::Animorph(b) => b.image_size = b.image_size.map(|s| s.min(SMALL)),
        DegradationConfig::Noise(b) => b.image_size = b.image_size.map(|s| s.min(SMALL)),
        DegradationConfig::SuperResolution(b) => b.image_size = b.image_size.map(|s| s.min(SMALL)),
        DegradationConfig::Snow(b) => b.image_size = b.image_size.map(|s| s.min(SMALL)),
        // Operators whose configs cannot be shrunk here run at their own size.
        #[allow(unreachable_patterns)]
        _ => {}
    }
    c
}

fn random_images(n: usize, shape: ImageShape, rng: &mut ChaCha8Rng, device: &Device) -> Tensor<4> {
    let dims = [n, shape.channels, shape.height, shape.width];
    let v: Vec<f32> = (0..dims.iter().product())
        .map(|_| rng.random::<f32>() * 2.0 - 1.0)
        .collect();
    Tensor::from_data(TensorData::new(v, dims), device)
}

fn max_abs_diff(a: &Tensor<4>, b: &Tensor<4>) -> f32 {
    (a.clone() - b.clone()).abs().max().into_scalar::<f32>()
}

struct Case {
    name: &'static str,
    op: Box<dyn Degradation>,
    shape: ImageShape,
}

fn cases() -> Vec<Case> {
    presets()
        .into_iter()
        .map(|p| {
            let config = shrink(&p.config);
            let (size, channels) = config.image_size_and_channels();
            let size = size.unwrap_or(SMALL);
            let op = config
                .build()
                .unwrap_or_else(|e| panic!("preset {}: {e}", p.name));
            Case {
                name: p.name,
                op,
                shape: ImageShape::new(channels.unwrap_or(3), size, size),
            }
        })
        .collect()
}

/// The operator's draw for `n` images (partner images for animorphosis).
fn draw_for(
    op: &dyn Degradation,
    n: usize,
    shape: ImageShape,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Draw {
    match op.partner_kind() {
        PartnerKind::Images => Draw::partner(random_images(n, shape, rng, device)),
        _ => op.draw(n, shape, device, rng).unwrap(),
    }
}

#[test]
fn oracle_algorithms_recover_x0_for_every_preset_and_start_level() {
    let device = Device::flex();
    let all = cases();
    assert!(
        all.len() >= 17,
        "expected every preset of the paper, got {}",
        all.len()
    );
    for case in all {
        let started = std::time::Instant::now();
        let op = case.op.as_ref();
        let t = op.steps();
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let n = 4;
        let x0 = random_images(n, case.shape, &mut rng, &device);
        let draw = draw_for(op, n, case.shape, &mut rng, &device);
        let oracle = Oracle::new(x0.clone());
        // Per-item start levels: T, an interior level, 1 and 0.
        let levels = [t, t.div_ceil(2), 1, 0];
        let x_s = op.degrade(x0.clone(), &levels, &draw).unwrap();
        for method in [Method::Algorithm2, Method::Algorithm1] {
            let out = Sampler::new(op, method)
                .run(&oracle, x_s.clone(), &levels, &draw)
                .unwrap();
            let err = max_abs_diff(&out.x0, &x0);
            assert!(
                err <= 1e-5,
                "{} {method:?}: max |x0_hat - x0| = {err}",
                case.name
            );
            // The direct reconstruction of an oracle is x0 too (level-0 items keep their input,
            // which is x0).
            assert!(
                max_abs_diff(&out.direct, &x0) <= 1e-6,
                "{} {method:?} direct",
                case.name
            );
        }
        // A uniform start from T with a full trajectory: every state is D(x0, s).
        let x_t = op.degrade_at(x0.clone(), t, &draw).unwrap();
        let out = Sampler::new(op, Method::Algorithm2)
            .record(Record::Levels(vec![t, t.div_ceil(2), 1]))
            .run(&oracle, x_t, &vec![t; n], &draw)
            .unwrap();
        for step in &out.trajectory.as_ref().unwrap().steps {
            let expected = op.degrade_at(x0.clone(), step.level, &draw).unwrap();
            let err = max_abs_diff(&step.state, &expected);
            assert!(
                err <= 1e-5,
                "{}: state at level {} off by {err}",
                case.name,
                step.level
            );
        }
        let expected_first = op.degrade_at(x0.clone(), t - 1, &draw).unwrap();
        assert!(
            max_abs_diff(&out.first_update, &expected_first) <= 1e-5,
            "{}: x_(T-1)",
            case.name
        );
        assert!(
            max_abs_diff(&out.x0, &x0) <= 1e-5,
            "{}: uniform start",
            case.name
        );
        eprintln!(
            "{} (T = {t}, {:?}): {:.2?}",
            case.name,
            case.shape,
            started.elapsed()
        );
    }
}

#[test]
fn oracle_with_reestimated_partner_recovers_x0_for_blending_presets() {
    let device = Device::flex();
    let mut blending = 0;
    for case in cases() {
        let op = case.op.as_ref();
        if op.blend(&[1], case.shape, &device).unwrap().is_none() {
            continue;
        }
        blending += 1;
        let t = op.steps();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 3;
        let x0 = random_images(n, case.shape, &mut rng, &device);
        let draw = draw_for(op, n, case.shape, &mut rng, &device);
        let levels = [t, t / 3, 1];
        let x_s = op.degrade(x0.clone(), &levels, &draw).unwrap();
        for method in [Method::Algorithm2, Method::Algorithm1] {
            let out = Sampler::new(op, method)
                .partner(PartnerMode::Reestimated)
                .run(&Oracle::new(x0.clone()), x_s.clone(), &levels, &draw)
                .unwrap();
            // ẑ = (x_s − a·x0)/b is exact up to float error amplified by 1/b.
            let err = max_abs_diff(&out.x0, &x0);
            assert!(err <= 1e-3, "{} {method:?} re-estimated: {err}", case.name);
        }
    }
    assert!(
        blending >= 3,
        "animorphosis, noise and inpainting generation blend; found {blending}"
    );
}
