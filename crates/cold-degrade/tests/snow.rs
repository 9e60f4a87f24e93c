//! Snow against the original code's recorded outputs (`fixtures/snow/golden.safetensors`:
//! recorded noise fields and direction draws in, schedules, kernels, layers and images out), and
//! against numpy's legacy RNG and the original's primitives for what the recordings do not cover
//! (`fixtures/snow/numpy_ref.safetensors`).

mod st_fixture;

use burn::tensor::{Device, Distribution, Tensor};
use cold_degrade::{
    CustomDraw, Degradation, DegradationConfig, Draw, ImageShape, Snow, SnowConfig, SnowDirection,
    SnowDraw, SnowLevel, clipped_zoom, fixed_single_snow_fields, fixed_snow_pattern,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use st_fixture::{Fixture, assert_close, host, keep_rows, max_abs_diff};

fn golden() -> Fixture {
    Fixture::open("snow/golden.safetensors")
}

fn numpy_ref() -> Fixture {
    Fixture::open("snow/numpy_ref.safetensors")
}

fn snow(level: usize, t: usize, fix_brightness: bool) -> Snow {
    Snow::new(SnowConfig {
        time_steps: t,
        snow_level: level,
        random_snow: true,
        fix_brightness,
        ..Default::default()
    })
}

/// The recorded noise field and direction of a golden case as a shared draw.
fn recorded_draw(fx: &Fixture, case: &str, batch: usize) -> Draw {
    let (noise, shape) = fx.f64(&format!("{case}.noise"));
    let (u, _) = fx.f64(&format!("{case}.vertical_u"));
    let draw = SnowDraw::shared(shape[0], noise, SnowDirection::from_uniform(u[0]), batch).unwrap();
    Draw::custom(draw)
}

/// Item `b` of level `k` of an `[L, N, C, H, W]` stack.
fn stack_item(v: &[f32], shape: &[usize], k: usize, b: usize) -> Vec<f32> {
    let per_item: usize = shape[2..].iter().product();
    let start = (k * shape[1] + b) * per_item;
    v[start..start + per_item].to_vec()
}

#[test]
fn schedules_are_the_originals_float32_linspaces() {
    let fx = golden();
    for (case, level) in [("cifar10_32_level3", 3), ("celeba128_level4", 4)] {
        let op = snow(level, 200, true);
        let sched = op.schedule();
        for (name, ours) in [
            ("thr", &sched.thresholds),
            ("mb_sigma", &sched.motion_sigmas),
            ("br_coef", &sched.brightness),
        ] {
            let (want, _) = fx.f64(&format!("{case}.{name}"));
            let ours: Vec<f64> = ours.iter().map(|&v| f64::from(v)).collect();
            assert_eq!(ours, want, "{case}.{name} (bit-exact float32 values)");
        }
        let (want, shape) = fx.f32(&format!("{case}.motion_kernels"));
        assert_eq!(shape, [200, 11]);
        let ours: Vec<f32> = sched.motion_kernels.concat();
        assert_close(
            &format!("{case} motion kernels"),
            &ours,
            &want,
            fx.tol(&format!("{case}.motion_kernels")),
        );
    }
}

#[test]
fn clipped_zoom_is_scipys() {
    let fx = golden();
    for (case, zoom) in [("cifar10_32_level3", 2.5), ("celeba128_level4", 2.5)] {
        let (noise, shape) = fx.f64(&format!("{case}.noise"));
        let (want, _) = fx.f64(&format!("{case}.base"));
        let size = shape[0];
        let mut ours = clipped_zoom(&noise, size, zoom);
        if size == 128 {
            // the fixture keeps rows 0-7 and 120-127 of the 128×128 base
            let rows = fx.usizes(&format!("{case}.rows"));
            ours = rows
                .iter()
                .flat_map(|&r| ours[r * size..(r + 1) * size].to_vec())
                .collect();
        }
        let d = ours
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(d < 1e-14, "{case}: base differs by {d:e}");
        // ... so the float32 base the original thresholds is identical.
        let same = ours.iter().zip(&want).all(|(a, b)| *a as f32 == *b as f32);
        assert!(same, "{case}: float32 base differs");
    }
}

#[test]
fn layers_match_the_original() {
    let fx = golden();
    for (case, level) in [("cifar10_32_level3", 3), ("celeba128_level4", 4)] {
        let op = snow(level, 200, true);
        let draw = recorded_draw(&fx, case, 1);
        let steps = fx.usizes(&format!("{case}.layer_idx"));
        let (want, shape) = fx.f32(&format!("{case}.layers"));
        let per = shape[1] * shape[2];
        let tol = fx.tol(&format!("{case}.layers"));
        for (k, &step) in steps.iter().enumerate() {
            let mut ours = op.layer(&draw, 0, step + 1).unwrap();
            if shape[2] == 128 && shape[1] != 128 {
                ours = keep_rows(&ours, 128, 128, &fx.usizes(&format!("{case}.rows")));
            }
            assert_close(
                &format!("{case} layer {step}"),
                &ours,
                &want[k * per..(k + 1) * per],
                tol,
            );
        }
    }
}

#[test]
fn cifar10_level3_matches_the_original_with_and_without_fixed_brightness() {
    let device = Device::flex();
    let fx = golden();
    let case = "cifar10_32_level3";
    let x0 = fx.tensor4(&format!("{case}.x0"), &device);
    let n = x0.dims()[0];
    let levels = fx.usizes(&format!("{case}.levels"));
    let draw = recorded_draw(&fx, case, n);
    for (fix, key) in [(true, "D"), (false, "D_nofix")] {
        let op = snow(3, 200, fix);
        let (want, shape) = fx.f32(&format!("{case}.{key}"));
        let tol = fx.tol(&format!("{case}.{key}"));
        for (k, &s) in levels.iter().enumerate() {
            let got = host(op.degrade_at(x0.clone(), s, &draw).unwrap());
            let per_level = want.len() / levels.len();
            assert_close(
                &format!("{case} {key} level {s}"),
                &got,
                &want[k * per_level..(k + 1) * per_level],
                tol,
            );
        }
        // per-item levels: item b at levels[b + 2] (100, 199, 200)
        let mixed: Vec<usize> = (0..n).map(|b| levels[b + 2]).collect();
        let got = host(op.degrade(x0.clone(), &mixed, &draw).unwrap());
        let per_item = got.len() / n;
        for b in 0..n {
            assert_close(
                &format!("{case} {key} mixed item {b}"),
                &got[b * per_item..(b + 1) * per_item],
                &stack_item(&want, &shape, b + 2, b),
                tol,
            );
        }
    }
}

#[test]
fn celeba128_level4_matches_the_original() {
    let device = Device::flex();
    let fx = golden();
    let case = "celeba128_level4";
    let op = DegradationConfig::preset("snow-celeba")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(op.steps(), 200);
    let x0 = fx.tensor4(&format!("{case}.x0"), &device);
    let levels = fx.usizes(&format!("{case}.levels"));
    let draw = recorded_draw(&fx, case, 1);
    let rows = fx.usizes(&format!("{case}.rows")); // rows 0-7 and 120-127 are kept
    let (want, _) = fx.f32(&format!("{case}.D"));
    let tol = fx.tol(&format!("{case}.D"));
    let per_level = want.len() / levels.len();
    for (k, &s) in levels.iter().enumerate() {
        let got = host(op.degrade_at(x0.clone(), s, &draw).unwrap());
        let got = keep_rows(&got, 128, 128, &rows);
        assert_close(
            &format!("{case} level {s}"),
            &got,
            &want[k * per_level..(k + 1) * per_level],
            tol,
        );
    }
}

#[test]
fn fixed_pattern_is_numpys_seed_123321() {
    let fx = numpy_ref();
    for (level, size) in [(3, 32), (1, 15)] {
        let lv = SnowLevel::of(level).unwrap();
        let (noise, dir) = fixed_snow_pattern(&lv, size);
        let (want, _) = fx.f64(&format!("fixed.level{level}.{size}.noise"));
        let (u, _) = fx.f64(&format!("fixed.level{level}.{size}.vertical_u"));
        let d = noise
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(d < 1e-14, "level {level} {size}: {d:e}");
        assert_eq!(dir, SnowDirection::from_uniform(u[0]));

        // The operator without random_snow draws exactly this pattern, whatever the RNG.
        let op = Snow::new(SnowConfig {
            snow_level: level,
            fix_brightness: true,
            ..Default::default()
        });
        let device = Device::flex();
        for seed in [1, 2] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let draw = op
                .draw(2, ImageShape::new(3, size, size), &device, &mut rng)
                .unwrap();
            let sd = draw.custom_ref::<SnowDraw>().unwrap();
            assert_eq!(sd.noise(0), noise.as_slice());
            assert!(sd.shares_field(0, 1));
            assert_eq!(sd.direction(1, 0), Some(dir));
        }
    }
    let (want, shape) = fx.f64("fixed_single.level1.15.noise");
    let fields = fixed_single_snow_fields(&SnowLevel::of(1).unwrap(), 15, shape[0]);
    let ours: Vec<f64> = fields.concat();
    let d = ours
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(d < 1e-14, "single fields: {d:e}");
}

#[test]
fn horizontal_streaks_other_levels_and_odd_sizes() {
    let device = Device::flex();
    let fx = numpy_ref();
    for (name, level, t, vertical) in [
        ("level1_h", 1, 20, false),
        ("level2_h", 2, 30, false),
        ("level4_v", 4, 10, true),
    ] {
        let (noise, shape) = fx.f64(&format!("{name}.noise"));
        let dir = if vertical {
            SnowDirection::Vertical
        } else {
            SnowDirection::Horizontal
        };
        let x0 = fx.tensor4(&format!("{name}.x0"), &device);
        let n = x0.dims()[0];
        let draw = Draw::custom(SnowDraw::shared(shape[0], noise, dir, n).unwrap());
        let levels = fx.usizes(&format!("{name}.levels"));
        let (layers, _) = fx.f32(&format!("{name}.layers"));
        let per = shape[0] * shape[0];
        for fix in [true, false] {
            let op = snow(level, t, fix);
            for (k, &s) in levels.iter().enumerate() {
                assert_close(
                    &format!("{name} layer {s}"),
                    &op.layer(&draw, 0, s).unwrap(),
                    &layers[k * per..(k + 1) * per],
                    fx.tol(&format!("{name}.layers")),
                );
            }
            let key = if fix { "D" } else { "D_nofix" };
            let (want, _) = fx.f32(&format!("{name}.{key}"));
            let per_level = want.len() / levels.len();
            for (k, &s) in levels.iter().enumerate() {
                let got = host(op.degrade_at(x0.clone(), s, &draw).unwrap());
                assert_close(
                    &format!("{name} {key} level {s}"),
                    &got,
                    &want[k * per_level..(k + 1) * per_level],
                    fx.tol(&format!("{name}.{key}")),
                );
            }
        }
    }
}

#[test]
fn single_snow_uses_per_image_fields_and_per_step_directions() {
    let device = Device::flex();
    let fx = numpy_ref();
    let (noise, shape) = fx.f64("single.noise");
    let (vert, vshape) = fx.u8("single.vertical"); // [T, N]
    let (n, size, t) = (shape[0], shape[1], vshape[0]);
    let images = (0..n)
        .map(|b| {
            let field = noise[b * size * size..(b + 1) * size * size].to_vec();
            let dirs = (0..t)
                .map(|i| {
                    if vert[i * n + b] == 1 {
                        SnowDirection::Vertical
                    } else {
                        SnowDirection::Horizontal
                    }
                })
                .collect();
            (field, dirs)
        })
        .collect();
    let draw = Draw::custom(SnowDraw::per_image(size, images).unwrap());
    let op = Snow::new(SnowConfig {
        time_steps: t,
        snow_level: 3,
        random_snow: true,
        single_snow: true,
        fix_brightness: true,
        ..Default::default()
    });
    let x0 = fx.tensor4("single.x0", &device);
    let levels = fx.usizes("single.levels");
    let (layers, _) = fx.f32("single.layers"); // [K, N, H, W]
    let (want, dshape) = fx.f32("single.D");
    for (k, &s) in levels.iter().enumerate() {
        for b in 0..n {
            let start = (k * n + b) * size * size;
            assert_close(
                &format!("single layer level {s} image {b}"),
                &op.layer(&draw, b, s).unwrap(),
                &layers[start..start + size * size],
                fx.tol("single.layers"),
            );
        }
        let got = host(op.degrade_at(x0.clone(), s, &draw).unwrap());
        let per_level = want.len() / dshape[0];
        assert_close(
            &format!("single D level {s}"),
            &got,
            &want[k * per_level..(k + 1) * per_level],
            fx.tol("single.D"),
        );
    }
}

#[test]
fn draws_follow_the_flags() {
    let device = Device::flex();
    let shape = ImageShape::new(3, 16, 16);
    // random_snow: one pattern per batch from the RNG; same seed, same draw.
    let op = snow(3, 20, true);
    let draw_with = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        op.draw(4, shape, &device, &mut rng).unwrap()
    };
    let (a, b, c) = (draw_with(5), draw_with(5), draw_with(6));
    let (a, b, c) = (
        a.custom_ref::<SnowDraw>().unwrap(),
        b.custom_ref::<SnowDraw>().unwrap(),
        c.custom_ref::<SnowDraw>().unwrap(),
    );
    assert_eq!(a.noise(0), b.noise(0));
    assert_ne!(a.noise(0), c.noise(0));
    assert!((0..4).all(|i| a.shares_field(0, i)));
    let mean = a.noise(0).iter().sum::<f64>() / 256.0;
    assert!((mean - 0.55).abs() < 0.1, "N(0.55, 0.3) field mean {mean}");
    // select keeps the pattern of the kept items
    let sel = Draw::custom(a.clone()).select(&[2, 0]).unwrap();
    assert_eq!(sel.batch(), 2);
    assert_eq!(sel.custom_ref::<SnowDraw>().unwrap().noise(0), a.noise(2));

    // single_snow: a field per image; at every step exactly ⌊N/2⌋ images streak vertically.
    let single = Snow::new(SnowConfig {
        time_steps: 30,
        snow_level: 2,
        random_snow: true,
        single_snow: true,
        fix_brightness: true,
        ..Default::default()
    });
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let d = single.draw(5, shape, &device, &mut rng).unwrap();
    let sd = d.custom_ref::<SnowDraw>().unwrap();
    assert_eq!(sd.batch(), 5);
    assert!(!sd.shares_field(0, 1));
    let mut per_image = [0usize; 5];
    for step in 0..30 {
        let v: Vec<usize> = (0..5)
            .filter(|&b| sd.direction(b, step) == Some(SnowDirection::Vertical))
            .collect();
        assert_eq!(v.len(), 2, "step {step}");
        for b in v {
            per_image[b] += 1;
        }
    }
    assert!(per_image.iter().all(|&k| k > 0 && k < 30), "{per_image:?}");
}

#[test]
fn level_zero_identity_and_snow_mass_grows_with_the_level() {
    let device = Device::flex();
    let op = DegradationConfig::preset("snow-cifar10")
        .unwrap()
        .build()
        .unwrap();
    let x0 = Tensor::<4>::random([2, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), &device);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let draw = op.draw(2, ImageShape::of(&x0), &device, &mut rng).unwrap();
    let y = host(op.degrade(x0.clone(), &[0, 150], &draw).unwrap());
    let x = host(x0.clone());
    assert_eq!(&y[..3 * 32 * 32], &x[..3 * 32 * 32]);
    assert!(max_abs_diff(&y[3 * 32 * 32..], &x[3 * 32 * 32..]) > 0.1);

    let concrete = snow(3, 200, true);
    let mut last = 0.0;
    for s in 0..=200 {
        let m = concrete.snow_mass(&draw, 0, s).unwrap();
        assert!(m >= last, "level {s}: mass {m} < {last}");
        last = m;
    }
    assert!(last > 10.0);
}

#[test]
fn bad_inputs_are_errors_naming_the_value() {
    let device = Device::flex();
    let op = DegradationConfig::preset("snow-cifar10")
        .unwrap()
        .build()
        .unwrap();
    let x = Tensor::<4>::zeros([1, 3, 32, 32], &device);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let draw = op.draw(1, ImageShape::of(&x), &device, &mut rng).unwrap();
    let e = op
        .degrade_at(x.clone(), 201, &draw)
        .unwrap_err()
        .to_string();
    assert!(e.contains("level 201") && e.contains("T = 200"), "{e}");
    let e = op
        .degrade_at(x.clone(), 1, &Draw::empty(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("snow draw"), "{e}");
    let small = Tensor::<4>::zeros([1, 3, 16, 16], &device);
    let e = op.degrade_at(small, 1, &draw).unwrap_err().to_string();
    assert!(e.contains("16×16") || e.contains("[1, 3, 16, 16]"), "{e}");
    let free = snow(3, 10, false);
    let gray = Tensor::<4>::zeros([1, 1, 8, 8], &device);
    let d = free
        .draw(1, ImageShape::of(&gray), &device, &mut rng)
        .unwrap();
    let e = free.degrade_at(gray, 1, &d).unwrap_err().to_string();
    assert!(e.contains("3-channel"), "{e}");
    let e = free
        .draw(1, ImageShape::new(3, 8, 6), &device, &mut rng)
        .unwrap_err()
        .to_string();
    assert!(e.contains("8×6"), "{e}");
    let e = DegradationConfig::from_json(r#"{"operator": "snow", "snow_level": 7}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`snow_level` = 7"), "{e}");
    // a per-step draw made for another T
    let d = Draw::custom(
        SnowDraw::per_image(8, vec![(vec![0.5; 64], vec![SnowDirection::Vertical; 4])]).unwrap(),
    );
    let e = free
        .degrade_at(Tensor::<4>::zeros([1, 3, 8, 8], &device), 1, &d)
        .unwrap_err()
        .to_string();
    assert!(e.contains("4 steps") && e.contains("T = 10"), "{e}");
}

#[test]
fn single_snow_meets_the_contract() {
    // The shared contract (tests/contract.rs) minus its output-severity scan, which the
    // per-step direction re-draw of `single_snow` defeats; severity here is the snow mass.
    let device = Device::flex();
    let op = Snow::new(SnowConfig {
        time_steps: 20,
        snow_level: 2,
        random_snow: true,
        single_snow: true,
        fix_brightness: true,
        ..Default::default()
    });
    let shape = ImageShape::new(3, 24, 24);
    let x0 = Tensor::<4>::random([3, 3, 24, 24], Distribution::Uniform(-1.0, 1.0), &device);
    let draw_of = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        op.draw(3, shape, &device, &mut rng).unwrap()
    };
    let d = draw_of(4);
    let levels = [20, 1, 10];
    let y = op.degrade(x0.clone(), &levels, &d).unwrap();
    assert_eq!(y.dims(), x0.dims());
    let y = host(y);
    assert_eq!(
        host(op.degrade(x0.clone(), &[0; 3], &d).unwrap()),
        host(x0.clone())
    );
    assert_eq!(
        host(op.degrade(x0.clone(), &levels, &draw_of(4)).unwrap()),
        y
    );
    assert_ne!(
        host(op.degrade(x0.clone(), &levels, &draw_of(5)).unwrap()),
        y
    );
    let per = y.len() / 3;
    for (i, &s) in levels.iter().enumerate() {
        let alone = host(
            op.degrade(x0.clone().narrow(0, i, 1), &[s], &d.select(&[i]).unwrap())
                .unwrap(),
        );
        assert_eq!(alone, &y[i * per..(i + 1) * per], "item {i}");
    }
    for b in 0..3 {
        let mut last = 0.0;
        for s in 0..=20 {
            let m = op.snow_mass(&d, b, s).unwrap();
            assert!(m >= last, "image {b} level {s}: {m} < {last}");
            last = m;
        }
        assert!(last > 0.0);
    }
    let e = op.degrade(x0, &[0, 21, 0], &d).unwrap_err().to_string();
    assert!(e.contains("level 21") && e.contains("T = 20"), "{e}");
}
