//! Super-resolution / pixelation against the original code's recorded outputs
//! (`fixtures/superres/golden.safetensors`) and against PyTorch's `F.interpolate` for the
//! routines the recordings do not cover (`fixtures/superres/torch_ref.safetensors`).

mod st_fixture;

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use cold_degrade::{
    Degradation, DegradationConfig, Draw, ResizeMode, ResolutionRoutine, SuperResolution,
    SuperResolutionConfig, resize_matrix,
};
use st_fixture::{Fixture, assert_close, host, keep_rows, max_abs_diff};

fn golden() -> Fixture {
    Fixture::open("superres/golden.safetensors")
}

/// `[L, N, C, H, W]` stack → level `l` (1-based), item `b`.
fn stack_item(v: &[f32], shape: &[usize], level: usize, item: usize) -> Vec<f32> {
    let per_item: usize = shape[2..].iter().product();
    let per_level = shape[1] * per_item;
    let start = (level - 1) * per_level + item * per_item;
    v[start..start + per_item].to_vec()
}

fn preset(name: &str) -> Box<dyn Degradation> {
    DegradationConfig::preset(name).unwrap().build().unwrap()
}

#[test]
fn presets_match_the_original_at_every_level() {
    let device = Device::flex();
    let fx = golden();
    for (case, preset_name) in [
        ("mnist32", "superres-mnist"),
        ("cifar10_32", "superres-cifar10"),
    ] {
        let op = preset(preset_name);
        assert_eq!(op.steps(), 3);
        let x0 = fx.tensor4(&format!("{case}.x0"), &device);
        let n = x0.dims()[0];
        let (want, shape) = fx.f32(&format!("{case}.D"));
        let tol = fx.tol(&format!("{case}.D"));
        for s in 1..=3 {
            let got = host(op.degrade_at(x0.clone(), s, &Draw::empty(n)).unwrap());
            let per_level = want.len() / 3;
            assert_close(
                &format!("{case} level {s}"),
                &got,
                &want[(s - 1) * per_level..s * per_level],
                tol,
            );
        }
        // one level per batch item: item b at level b + 1
        let got = host(op.degrade(x0, &[1, 2, 3], &Draw::empty(n)).unwrap());
        let per_item = got.len() / n;
        for b in 0..n {
            assert_close(
                &format!("{case} mixed levels, item {b}"),
                &got[b * per_item..(b + 1) * per_item],
                &stack_item(&want, &shape, b + 1, b),
                tol,
            );
        }
    }
}

#[test]
fn celeba_128_levels_1_and_4() {
    let device = Device::flex();
    let fx = golden();
    let op = preset("superres-celeba");
    assert_eq!(op.steps(), 4);
    let x0 = fx.tensor4("celeba128.x0", &device);
    let levels = fx.usizes("celeba128.D_levels");
    let rows = fx.usizes("celeba128.rows"); // the fixture keeps rows 0-7 and 120-127
    let (want, shape) = fx.f32("celeba128.D");
    let tol = fx.tol("celeba128.D");
    for (k, &s) in levels.iter().enumerate() {
        let got = host(op.degrade_at(x0.clone(), s, &Draw::empty(1)).unwrap());
        let got = keep_rows(&got, 128, 128, &rows);
        assert_close(
            &format!("celeba128 level {s}"),
            &got,
            &stack_item(&want, &shape, k + 1, 0),
            tol,
        );
    }
    // The original overshoots [-1, 1] (nothing clamps): so do we.
    let top = host(op.degrade_at(x0, 1, &Draw::empty(1)).unwrap());
    assert!(top.iter().any(|&v| v.abs() > 1.0));
}

#[test]
fn single_steps_match_the_original() {
    // step_single[i] = f_i(x0): step i applied once to the clean image (32 → 16, 32 → 8 and
    // 32 → 4 with 4× and 8× bicubic reductions without antialiasing).
    let fx = golden();
    let op = SuperResolution::new(SuperResolutionConfig {
        time_steps: 3,
        resolution_routine: ResolutionRoutine::IncrementalFactor2,
        ..Default::default()
    });
    let (x0, xs) = fx.f32("cifar10_32.x0");
    let (want, shape) = fx.f32("cifar10_32.step_single");
    let tol = fx.tol("cifar10_32.step_single");
    let n = 32;
    let planes = xs[0] * xs[1];
    for i in 0..3 {
        let m = op.step_matrix(n, i);
        let mut got = Vec::with_capacity(x0.len());
        for p in 0..planes {
            let x = &x0[p * n * n..(p + 1) * n * n];
            // M X Mᵀ in f64
            let mut mx = vec![0.0f64; n * n];
            for r in 0..n {
                for k in 0..n {
                    let a = m[r * n + k];
                    if a != 0.0 {
                        for c in 0..n {
                            mx[r * n + c] += a * f64::from(x[k * n + c]);
                        }
                    }
                }
            }
            for r in 0..n {
                for c in 0..n {
                    got.push((0..n).map(|k| mx[r * n + k] * m[c * n + k]).sum::<f64>() as f32);
                }
            }
        }
        let per_level = want.len() / shape[0];
        assert_close(
            &format!("cifar10_32 single step {i}"),
            &got,
            &want[i * per_level..(i + 1) * per_level],
            tol,
        );
    }
}

#[test]
fn every_routine_matches_pytorch_interpolate() {
    let device = Device::flex();
    let fx = Fixture::open("superres/torch_ref.safetensors");
    let cases = [
        ("Incremental", 16, 6),
        ("Incremental_bilinear", 16, 6),
        ("Incremental_area", 16, 6),
        ("Incremental_bicubic_with_blur", 16, 4),
        ("Incremental_bilinear_with_blur", 16, 4),
        ("Incremental_area_with_blur", 16, 4),
        ("Incremental_factor_2", 24, 3),
        ("Incremental_factor_2", 12, 3),
        ("Incremental_bilinear_factor_2", 16, 3),
        ("Incremental_area_factor_2", 16, 3),
    ];
    for (routine, size, steps) in cases {
        let name = format!("{routine}.{size}");
        let cfg: SuperResolutionConfig = serde_json::from_str(fx.meta(&format!("config.{name}")))
            .expect("the fixture's config parses as ours");
        assert_eq!(cfg.resolution_routine.as_str(), routine);
        assert_eq!((cfg.time_steps, cfg.image_size), (steps, Some(size)));
        let op = DegradationConfig::SuperResolution(cfg).build().unwrap();
        let x0 = fx.tensor4(&format!("{name}.x0"), &device);
        let n = x0.dims()[0];
        let (want, _) = fx.f32(&format!("{name}.D"));
        let tol = fx.tol(&format!("{name}.D"));
        let per_level = want.len() / steps;
        for s in 1..=steps {
            let got = host(op.degrade_at(x0.clone(), s, &Draw::empty(n)).unwrap());
            assert_close(
                &format!("{name} level {s}"),
                &got,
                &want[(s - 1) * per_level..s * per_level],
                tol,
            );
        }
    }
}

#[test]
fn resampling_weights_are_pytorchs() {
    let fx = Fixture::open("superres/torch_ref.safetensors");
    type Sizes = &'static [(usize, usize)];
    let cases: [(ResizeMode, &str, Sizes); 4] = [
        (
            ResizeMode::Bicubic,
            "bicubic",
            &[(16, 8), (16, 15), (32, 4), (16, 5), (7, 3), (12, 1)],
        ),
        (
            ResizeMode::Bilinear,
            "bilinear",
            &[(16, 8), (16, 15), (16, 5)],
        ),
        (ResizeMode::Area, "area", &[(16, 8), (16, 15), (16, 5)]),
        (
            ResizeMode::NearestExact,
            "nearest-exact",
            &[(8, 16), (15, 16), (3, 12), (5, 16)],
        ),
    ];
    for (mode, key, pairs) in cases {
        for &(i, o) in pairs {
            let (want, shape) = fx.f32(&format!("weights.{key}.{i}.{o}"));
            assert_eq!(shape, [o, i]);
            let got: Vec<f32> = resize_matrix(mode, i, o)
                .iter()
                .map(|&v| v as f32)
                .collect();
            if mode == ResizeMode::Area {
                // 1/len in f64 against PyTorch's float32 division of the window sum
                assert_close(&format!("{key} {i}→{o} weights"), &got, &want, 6e-8);
            } else {
                assert_eq!(got, want, "{key} {i}→{o} weights are not PyTorch's bits");
            }
        }
    }
}

#[test]
fn closed_form_equals_step_by_step_on_the_device() {
    // D(x, s) = A_s X A_sᵀ (one pair of products) equals applying the s single steps
    // M_{s-1}(...M_0 X M_0ᵀ...)M_{s-1}ᵀ one after the other, for every routine.
    let device = Device::flex();
    let n = 16;
    let x0 = Tensor::<4>::random([2, 3, n, n], Distribution::Uniform(-1.0, 1.0), &device);
    for routine in ResolutionRoutine::ALL {
        let t = if routine.factor_2() { 4 } else { 5 };
        let op = SuperResolution::new(SuperResolutionConfig {
            time_steps: t,
            resolution_routine: routine,
            ..Default::default()
        });
        let mut x = x0.clone();
        for s in 1..=t {
            let m: Vec<f32> = op.step_matrix(n, s - 1).iter().map(|&v| v as f32).collect();
            let m = Tensor::<4>::from_data(TensorData::new(m, [1, 1, n, n]), &device);
            x = m.clone().matmul(x).matmul(m.swap_dims(2, 3));
            let closed = op.degrade_at(x0.clone(), s, &Draw::empty(2)).unwrap();
            let d = max_abs_diff(&host(closed), &host(x.clone()));
            assert!(d < 2e-6, "{} level {s}: {d:e}", routine.as_str());
        }
    }
}

#[test]
fn level_zero_is_exactly_the_identity_and_items_are_independent() {
    let device = Device::flex();
    let op = preset("superres-cifar10");
    let x0 = Tensor::<4>::random([3, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), &device);
    let all = host(op.degrade(x0.clone(), &[0, 2, 0], &Draw::empty(3)).unwrap());
    let x = host(x0.clone());
    let per = x.len() / 3;
    assert_eq!(&all[..per], &x[..per]);
    assert_eq!(&all[2 * per..], &x[2 * per..]);
    let alone = host(
        op.degrade_at(x0.narrow(0, 1, 1), 2, &Draw::empty(1))
            .unwrap(),
    );
    assert!(max_abs_diff(&all[per..2 * per], &alone) < 1e-6);
}

#[test]
fn bad_inputs_are_errors_naming_the_value() {
    let device = Device::flex();
    let op = preset("superres-cifar10");
    let x = Tensor::<4>::zeros([1, 3, 32, 32], &device);
    let e = op
        .degrade_at(x.clone(), 4, &Draw::empty(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("level 4") && e.contains("T = 3"), "{e}");
    let e = op
        .degrade_at(
            Tensor::<4>::zeros([1, 3, 32, 16], &device),
            1,
            &Draw::empty(1),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("32×16") || e.contains("[1, 3, 32, 16]"), "{e}");
    // Factor 2 with T = 3 needs at least 8×8 images.
    let free = SuperResolution::new(SuperResolutionConfig {
        time_steps: 3,
        resolution_routine: ResolutionRoutine::IncrementalFactor2,
        ..Default::default()
    });
    let e = free
        .degrade_at(
            Tensor::<4>::zeros([1, 3, 4, 4], &device),
            1,
            &Draw::empty(1),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("4×4") && e.contains("T = 3"), "{e}");
    let e = free
        .degrade_at(x.clone(), 1, &Draw::colours(3, vec![0.0; 3]).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty draw"), "{e}");
    let e = DegradationConfig::from_json(
        r#"{"operator": "super_resolution", "time_steps": 6, "resolution_routine": "Incremental_factor_2", "image_size": 32}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("`image_size` = 32"), "{e}");
    let e = DegradationConfig::from_json(
        r#"{"operator": "super_resolution", "resolution_routine": "Incremental_factor_3"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("Incremental_factor_3"), "{e}");
}
