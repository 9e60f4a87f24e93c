//! Golden tests: every operator and preset against outputs of the original PyTorch code
//! (`tests/fixtures/degrade_golden.*`, extracted from the shared golden vectors by
//! `tests/fixtures/extract.py`; tolerances are the manifest's).

mod common;

use std::sync::OnceLock;

use burn::tensor::{Device, Tensor};
use cold_degrade::{
    AnimorphConfig, BetaSchedule, Blur, BlurConfig, Decolor, Degradation, DegradationConfig, Draw,
    ImageShape, Inpaint, MaskOffset, NoiseConfig, blend_schedule,
    schedule::cosine_alphas_cumprod_f32,
};
use common::*;

struct Golden {
    t: std::collections::HashMap<String, Array>,
    meta: serde_json::Value,
}

fn golden() -> &'static Golden {
    static G: OnceLock<Golden> = OnceLock::new();
    G.get_or_init(|| Golden {
        t: load("degrade_golden.safetensors"),
        meta: serde_json::from_str(
            &std::fs::read_to_string(fixture("degrade_golden.json")).expect("fixture json"),
        )
        .expect("json"),
    })
}

fn arr(name: &str) -> &'static Array {
    golden()
        .t
        .get(name)
        .unwrap_or_else(|| panic!("fixture tensor {name} missing"))
}

/// The manifest's atol for `case` (`"blur.mnist"`) and tensor `name` (`"D"`).
fn atol(case: &str, name: &str) -> f32 {
    golden().meta["cases"][case]["tolerance"][name]["atol"]
        .as_f64()
        .unwrap_or_else(|| panic!("no tolerance for {case}.{name}")) as f32
}

fn flip_fraction(case: &str, name: &str) -> f64 {
    golden().meta["cases"][case]["tolerance"][name]["max_fraction_one_bucket_flips"]
        .as_f64()
        .expect("flip fraction")
}

fn dev() -> Device {
    Device::flex()
}

fn build(preset: &str) -> Box<dyn Degradation> {
    DegradationConfig::preset(preset).unwrap().build().unwrap()
}

fn x0_128() -> Tensor<4> {
    arr("x0_128").tensor4(&dev())
}

fn rows_128() -> Vec<usize> {
    arr("blur.celeba128.rows").usizes()
}

/// Check `op` at every recorded level: `D[l]` (layout `[L, N, C, H, W]`) against
/// `op.degrade(x0, s)`; if `rows` is set, the fixture keeps only those rows.
#[allow(clippy::too_many_arguments)]
fn check_levels(
    what: &str,
    op: &dyn Degradation,
    x0: &Tensor<4>,
    levels: &[usize],
    want: &Array,
    draw: &Draw,
    rows: Option<&[usize]>,
    tol: f32,
) {
    let [n, _, h, w] = x0.dims();
    for (l, &s) in levels.iter().enumerate() {
        let got = host(op.degrade(x0.clone(), &vec![s; n], draw).unwrap());
        let got = match rows {
            Some(r) => take_rows(&got, h, w, r),
            None => got,
        };
        assert_close(&format!("{what} level {s}"), &got, &want.index(l).1, tol);
    }
}

fn blur_kernels(case: &str, op: &Blur) {
    let k = arr(&format!("blur.{case}.kernels_1d"));
    let mine: Vec<f32> = op
        .kernels_1d()
        .iter()
        .flatten()
        .map(|&v| v as f32)
        .collect();
    assert_close(
        &format!("{case} kernels_1d"),
        &mine,
        &k.f32,
        atol(&format!("blur.{case}"), "kernels_1d"),
    );
    let sig = arr(&format!("blur.{case}.sigmas"));
    let mine: Vec<f32> = op.schedule().iter().map(|s| s.sigma as f32).collect();
    assert_close(&format!("{case} sigmas"), &mine, &sig.f32, 1e-6);
}

fn blur_op(preset: &str) -> Blur {
    match DegradationConfig::preset(preset).unwrap() {
        DegradationConfig::Blur(c) => Blur::new(c),
        _ => unreachable!(),
    }
}

#[test]
fn blur_mnist_and_cifar10_presets_match_the_original() {
    for (case, preset) in [("mnist", "blur-mnist"), ("cifar10", "blur-cifar10")] {
        let op = blur_op(preset);
        blur_kernels(case, &op);
        let x0 = arr(&format!("blur.{case}.x0")).tensor4(&dev());
        let levels = arr(&format!("blur.{case}.levels")).usizes();
        check_levels(
            case,
            &op,
            &x0,
            &levels,
            arr(&format!("blur.{case}.D")),
            &Draw::empty(x0.dims()[0]),
            None,
            atol(&format!("blur.{case}"), "D"),
        );
    }
}

#[test]
fn blur_celeba_preset_matches_the_original() {
    let op = blur_op("blur-celeba");
    blur_kernels("celeba128", &op);
    let levels = arr("blur.celeba128.levels").usizes();
    check_levels(
        "celeba128",
        &op,
        &x0_128(),
        &levels,
        arr("blur.celeba128.D"),
        &Draw::empty(1),
        Some(&rows_128()),
        atol("blur.celeba128", "D"),
    );
}

#[test]
fn blur_generation_preset_matches_the_original_including_discrete() {
    let op = blur_op("blur-gen-celeba");
    blur_kernels("gen128", &op);
    let levels = arr("blur.gen128.levels").usizes();
    let x0 = x0_128();
    let rows = rows_128();
    let tol = atol("blur.gen128", "D");
    // The recorded D is the continuous chain (the original's `opt`), so the discrete operator
    // agrees below T; at T it replaces the image by its channel means.
    let continuous = match DegradationConfig::preset("blur-gen-celeba").unwrap() {
        DegradationConfig::Blur(c) => Blur::new(BlurConfig {
            discrete: false,
            ..c
        }),
        _ => unreachable!(),
    };
    let want = arr("blur.gen128.D");
    let below_t: Vec<usize> = levels.iter().copied().filter(|&s| s < 300).collect();
    check_levels(
        "gen128",
        &op,
        &x0,
        &below_t,
        want,
        &Draw::empty(1),
        Some(&rows),
        tol,
    );
    check_levels(
        "gen128 continuous",
        &continuous,
        &x0,
        &levels,
        want,
        &Draw::empty(1),
        Some(&rows),
        tol,
    );
    // D(x0, T) with --discrete = the channel means of the continuous chain (exactly).
    let full = op.degrade_at(x0.clone(), 300, &Draw::empty(1)).unwrap();
    let cont = continuous
        .degrade_at(x0.clone(), 300, &Draw::empty(1))
        .unwrap();
    let means = host(cont.mean_dims(&[2, 3]));
    let full = host(full);
    for c in 0..3 {
        let plane = &full[c * 128 * 128..(c + 1) * 128 * 128];
        assert!(
            plane.iter().all(|&v| v == means[c]),
            "channel {c} is not constant"
        );
    }
    // Circular blur keeps channel means: x_T is the mean of x0.
    let x0_means = host(x0.clone().mean_dims(&[2, 3]));
    assert_close("gen128 x_T = mean(x0)", &means, &x0_means, 1e-5);
    // Training input (q_sample): 8-bit quantised, mean at T.
    let q_levels = arr("blur.gen128.q_levels").usizes();
    let q = arr("blur.gen128.q_sample");
    for (l, &s) in q_levels.iter().enumerate() {
        let got = host(
            op.training_input(x0.clone(), &[s], &Draw::empty(1))
                .unwrap(),
        );
        let got = take_rows(&got, 128, 128, &rows);
        let flips = assert_quantised_close(
            &format!("gen128 q_sample level {s}"),
            &got,
            &q.index(l).1,
            atol("blur.gen128", "q_sample"),
            flip_fraction("blur.gen128", "q_sample"),
        );
        eprintln!(
            "gen128 q_sample level {s}: {flips} one-level flips of {}",
            got.len()
        );
    }
}

#[test]
fn inpaint_celeba_preset_matches_the_original() {
    let op = build("inpaint-celeba");
    let levels = arr("inpaint.celeba128_incremental.levels").usizes();
    let rows = arr("inpaint.celeba128_incremental.rows").usizes();
    check_levels(
        "inpaint celeba",
        op.as_ref(),
        &x0_128(),
        &levels,
        arr("inpaint.celeba128_incremental.D"),
        &Draw::empty(1),
        Some(&rows),
        atol("inpaint.celeba128_incremental", "D"),
    );
    let inpaint = match DegradationConfig::preset("inpaint-celeba").unwrap() {
        DegradationConfig::Inpaint(c) => Inpaint::new(c),
        _ => unreachable!(),
    };
    let cum = arr("inpaint.celeba128_incremental.cum_mask");
    for (l, &s) in levels.iter().enumerate() {
        let got = take_rows(&inpaint.cumulative_mask(128, 128, s, None), 128, 128, &rows);
        assert_close(
            &format!("inpaint celeba cum_mask level {s}"),
            &got,
            &cum.index(l).1,
            atol("inpaint.celeba128_incremental", "cum_mask"),
        );
    }
}

#[test]
fn inpaint_random_centre_presets_match_the_original() {
    for (case, preset) in [
        ("mnist_random", "inpaint-mnist"),
        ("cifar10_random", "inpaint-cifar10"),
    ] {
        let key = format!("inpaint.{case}");
        let op = build(preset);
        let x0 = arr(&format!("{key}.x0")).tensor4(&dev());
        let [n, c, h, w] = x0.dims();
        let offsets: Vec<MaskOffset> = arr(&format!("{key}.rand_x"))
            .usizes()
            .into_iter()
            .zip(arr(&format!("{key}.rand_y")).usizes())
            .map(|(row, col)| MaskOffset { row, col })
            .collect();
        let draw = Draw::mask_offsets(offsets.clone());
        let levels = arr(&format!("{key}.levels")).usizes();
        check_levels(
            case,
            op.as_ref(),
            &x0,
            &levels,
            arr(&format!("{key}.D")),
            &draw,
            None,
            atol(&key, "D"),
        );
        // --discrete training input, with the original's float32 quantisation quirk.
        let dq = arr(&format!("{key}.Dq"));
        for (l, &s) in levels.iter().enumerate() {
            let got = host(op.training_input(x0.clone(), &vec![s; n], &draw).unwrap());
            let flips = assert_quantised_close(
                &format!("{case} Dq level {s}"),
                &got,
                &dq.index(l).1,
                atol(&key, "Dq"),
                flip_fraction(&key, "Dq"),
            );
            // stricter than the manifest: the step-wise float32 product reproduces the
            // original's quantised values exactly
            assert_eq!(flips, 0, "{case} Dq level {s}: {flips} one-level flips");
        }
        // cumulative masks per image ([L, N, H, W])
        let inpaint = match DegradationConfig::preset(preset).unwrap() {
            DegradationConfig::Inpaint(c) => Inpaint::new(c),
            _ => unreachable!(),
        };
        let cum = arr(&format!("{key}.cum_mask"));
        for (l, &s) in levels.iter().enumerate() {
            let got: Vec<f32> = offsets
                .iter()
                .flat_map(|&o| inpaint.cumulative_mask(h, w, s, Some(o)))
                .collect();
            assert_close(
                &format!("{case} cum_mask level {s}"),
                &got,
                &cum.index(l).1,
                atol(&key, "cum_mask"),
            );
        }
        assert_eq!(c, if case == "mnist_random" { 1 } else { 3 });
    }
}

#[test]
fn inpaint_generation_reverse_preset_matches_the_original() {
    let key = "inpaint.gen128_reverse";
    let op = build("inpaint-gen-celeba");
    let colour = arr(&format!("{key}.colour"));
    let draw = Draw::colours(3, colour.f32.clone()).unwrap();
    let rows = arr(&format!("{key}.rows")).usizes();
    let d_levels = arr(&format!("{key}.D_levels")).usizes();
    check_levels(
        "inpaint generation",
        op.as_ref(),
        &x0_128(),
        &d_levels,
        arr(&format!("{key}.D")),
        &draw,
        Some(&rows),
        atol(key, "D"),
    );
    let alpha = arr(&format!("{key}.alpha"));
    for (l, &s) in arr(&format!("{key}.levels")).usizes().iter().enumerate() {
        let blend = op
            .blend(&[s], ImageShape::new(3, 128, 128), &dev())
            .unwrap()
            .expect("a blending operator");
        let got = take_rows(&host(blend.a), 128, 128, &rows);
        assert_close(
            &format!("alpha level {s}"),
            &got,
            &alpha.index(l).1,
            atol(key, "alpha"),
        );
    }
}

#[test]
fn decolor_preset_matches_the_original() {
    let key = "decolor.cifar10_32_linear_total_remove";
    let op = build("decolor-cifar10");
    let x0 = arr(&format!("{key}.x0")).tensor4(&dev());
    let levels = arr(&format!("{key}.levels")).usizes();
    let draw = Draw::empty(3);
    check_levels(
        "decolor",
        op.as_ref(),
        &x0,
        &levels,
        arr(&format!("{key}.D")),
        &draw,
        None,
        atol(key, "D"),
    );
    let decolor = match DegradationConfig::preset("decolor-cifar10").unwrap() {
        DegradationConfig::Decolor(c) => Decolor::new(c),
        _ => unreachable!(),
    };
    let w: Vec<f32> = (0..20)
        .flat_map(|i| decolor.step_weight(3, i))
        .map(|v| v as f32)
        .collect();
    assert_close(
        "decolor W",
        &w,
        &arr(&format!("{key}.W")).f32,
        atol(key, "W"),
    );
}

#[test]
fn cosine_schedule_matches_the_original_float32_values() {
    let abar = cosine_alphas_cumprod_f32(200);
    assert_close(
        "abar",
        &abar,
        &arr("mix.schedule.abar").f32,
        atol("mix.schedule", "abar"),
    );
    let (a, b) = blend_schedule(BetaSchedule::Cosine, 200);
    assert_close(
        "sqrt_abar",
        &a,
        &arr("mix.schedule.sqrt_abar").f32,
        atol("mix.schedule", "sqrt_abar"),
    );
    assert_close(
        "sqrt_one_minus_abar",
        &b,
        &arr("mix.schedule.sqrt_one_minus_abar").f32,
        atol("mix.schedule", "sqrt_one_minus_abar"),
    );
}

#[test]
fn animorph_and_noise_match_the_original() {
    for (case, cfg) in [
        (
            "animorph32",
            DegradationConfig::Animorph(AnimorphConfig {
                time_steps: 200,
                ..AnimorphConfig::default()
            }),
        ),
        (
            "hot32",
            DegradationConfig::Noise(NoiseConfig {
                time_steps: 200,
                ..NoiseConfig::default()
            }),
        ),
    ] {
        let key = format!("mix.{case}");
        let op = cfg.build().unwrap();
        let x0 = arr(&format!("{key}.x0")).tensor4(&dev());
        let z = arr(&format!("{key}.z")).tensor4(&dev());
        let draw = Draw::partner(z);
        let levels = arr(&format!("{key}.levels")).usizes();
        check_levels(
            case,
            op.as_ref(),
            &x0,
            &levels,
            arr(&format!("{key}.D")),
            &draw,
            None,
            atol(&key, "D"),
        );
        if case == "animorph32" {
            // the re-estimated partner of Algorithm 2 (get_x2_bar_from_xt fed with the true x0)
            let zhat = arr(&format!("{key}.zhat"));
            for (l, &s) in levels.iter().enumerate() {
                let xs = op.degrade_at(x0.clone(), s, &draw).unwrap();
                let blend = op
                    .blend(&[s; 3], ImageShape::of(&x0), &dev())
                    .unwrap()
                    .unwrap();
                let got = host(blend.estimate_partner(xs, x0.clone()));
                assert_close(
                    &format!("zhat level {s}"),
                    &got,
                    &zhat.index(l).1,
                    atol(&key, "zhat"),
                );
            }
        }
    }
}
