//! `cold degrade`: outputs against the original PyTorch code's golden vectors (cold-degrade's
//! fixtures), file outputs, and every bad-input case.

mod common;

use common::{
    fails_with, fixture, max_abs_diff, ok, read_tensor, run_in, s, tensor_names, tmp, write_png,
    write_tensors,
};

/// Feeds the golden `x0` of `case` to `cold degrade --preset` and compares every level with the
/// original code's `D(x0, s)` (`[L, N, C, H, W]`) within the manifest's tolerance.
fn golden_case(case: &str, preset: &str, atol: f32) {
    let golden = fixture("cold-degrade", "degrade_golden.safetensors");
    let (x_shape, x0) = read_tensor(&golden, &format!("{case}.x0"));
    let (d_shape, d) = read_tensor(&golden, &format!("{case}.D"));
    let (_, levels) = read_tensor(&golden, &format!("{case}.levels"));
    let levels: Vec<usize> = levels.iter().map(|l| *l as usize).collect();
    let dir = tmp();
    let input = dir.path().join("x.safetensors");
    write_tensors(&input, &[("x0", x_shape.clone(), x0)]);
    let list = levels
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let out = dir.path().join("out");
    let tensors = dir.path().join("levels.safetensors");
    let o = run_in(
        dir.path(),
        &[
            "degrade",
            "--preset",
            preset,
            "--input",
            s(&input),
            "--levels",
            &list,
            "--out",
            s(&out),
            "--save-tensors",
            s(&tensors),
        ],
    );
    ok(&o);
    let per_level: usize = d_shape[1..].iter().product();
    for (i, level) in levels.iter().enumerate() {
        let (shape, ours) = read_tensor(&tensors, &format!("level_{level}"));
        assert_eq!(shape, x_shape, "{case} level {level}");
        let err = max_abs_diff(&ours, &d[i * per_level..(i + 1) * per_level]);
        assert!(
            err <= atol,
            "{case} level {level}: max |ours - original| = {err:e} > {atol:e}"
        );
    }
    // One PNG per image and level, plus the grid.
    let n = x_shape[0];
    let pngs = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert_eq!(pngs, n * levels.len() + 1);
}

#[test]
fn blur_mnist_matches_the_original_code() {
    // Manifest tolerance of blur.mnist `D`: atol 2e-5.
    golden_case("blur.mnist", "blur-mnist", 2e-5);
}

#[test]
fn blur_cifar10_reflect_matches_the_original_code() {
    // Manifest tolerance of blur.cifar10 `D`: atol 5e-6.
    golden_case("blur.cifar10", "blur-cifar10", 5e-6);
}

#[test]
fn png_inputs_level_zero_is_the_input_and_t_is_the_last_level() {
    let dir = tmp();
    let a = dir.path().join("a.png");
    let b = dir.path().join("b.png");
    write_png(&a, 32, 32, 1);
    write_png(&b, 32, 32, 2);
    let tensors = dir.path().join("t.safetensors");
    let o = run_in(
        dir.path(),
        &[
            "degrade",
            "--preset",
            "superres-mnist",
            "--input",
            "a.png",
            "b.png",
            "--levels",
            "0,1,T",
            "--out",
            "out",
            "--save-tensors",
            s(&tensors),
        ],
    );
    let text = ok(&o);
    assert!(text.contains("levels.png"), "{text}");
    assert_eq!(
        tensor_names(&tensors),
        vec!["level_0", "level_1", "level_3"]
    );
    // Level 0 is the input itself: the PNG's bytes mapped to [-1, 1] as (v / 255) * 2 - 1.
    let (shape, l0) = read_tensor(&tensors, "level_0");
    assert_eq!(shape, vec![2, 1, 32, 32]);
    let png = image::open(&a).unwrap().to_luma8();
    let expected: Vec<f32> = png
        .pixels()
        .map(|p| (p.0[0] as f32 / 255.0) * 2.0 - 1.0)
        .collect();
    assert_eq!(&l0[..1024], expected.as_slice());
    // Super-resolution to level 3 leaves a 4x4 grid (32 / 2^3) of 8x8-pixel blocks of one value.
    let (_, l3) = read_tensor(&tensors, "level_3");
    for y in 0..32 {
        for x in 0..32 {
            assert_eq!(
                l3[y * 32 + x],
                l3[(y / 8) * 8 * 32 + (x / 8) * 8],
                "({y}, {x})"
            );
        }
    }
    for f in [
        "a_level_0.png",
        "a_level_1.png",
        "a_level_3.png",
        "b_level_3.png",
        "levels.png",
    ] {
        assert!(dir.path().join("out").join(f).is_file(), "{f}");
    }
}

#[test]
fn the_same_seed_gives_the_same_random_masks() {
    let dir = tmp();
    write_png(&dir.path().join("a.png"), 32, 32, 3);
    let go = |seed: &str, file: &str| {
        ok(&run_in(
            dir.path(),
            &[
                "degrade",
                "--preset",
                "inpaint-mnist",
                "--input",
                "a.png",
                "--levels",
                "T",
                "--seed",
                seed,
                "--out",
                "out",
                "--save-tensors",
                file,
            ],
        ));
        read_tensor(&dir.path().join(file), "level_50").1
    };
    let (a, b, c) = (
        go("1", "a.safetensors"),
        go("1", "b.safetensors"),
        go("2", "c.safetensors"),
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn a_config_file_works_like_a_preset() {
    let dir = tmp();
    write_png(&dir.path().join("a.png"), 32, 32, 0);
    std::fs::write(
        dir.path().join("blur.toml"),
        "operator = \"blur\"\ntime_steps = 20\nblur_size = 11\nblur_std = 7.0\nblur_routine = \"Constant\"\n",
    )
    .unwrap();
    for (flag, value, file) in [
        ("--config", "blur.toml", "c.safetensors"),
        ("--preset", "blur-mnist", "p.safetensors"),
    ] {
        ok(&run_in(
            dir.path(),
            &[
                "degrade",
                flag,
                value,
                "--input",
                "a.png",
                "--levels",
                "7",
                "--out",
                "o",
                "--save-tensors",
                file,
            ],
        ));
    }
    assert_eq!(
        read_tensor(&dir.path().join("c.safetensors"), "level_7"),
        read_tensor(&dir.path().join("p.safetensors"), "level_7")
    );
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let dir = tmp();
    write_png(&dir.path().join("a.png"), 32, 32, 0);
    write_png(&dir.path().join("small.png"), 28, 28, 0);
    let d = dir.path();
    // Level above T.
    fails_with(
        &run_in(
            d,
            &[
                "degrade",
                "--preset",
                "blur-mnist",
                "--input",
                "a.png",
                "--levels",
                "0,21",
                "--out",
                "o",
            ],
        ),
        &["21", "T = 20"],
    );
    fails_with(
        &run_in(
            d,
            &[
                "degrade",
                "--preset",
                "blur-mnist",
                "--input",
                "a.png",
                "--levels",
                "x",
                "--out",
                "o",
            ],
        ),
        &["`x`"],
    );
    // Missing file.
    fails_with(
        &run_in(
            d,
            &[
                "degrade",
                "--preset",
                "blur-mnist",
                "--input",
                "missing.png",
                "--out",
                "o",
            ],
        ),
        &["missing.png"],
    );
    // Image of the wrong size.
    fails_with(
        &run_in(
            d,
            &[
                "degrade",
                "--preset",
                "blur-mnist",
                "--input",
                "small.png",
                "--out",
                "o",
            ],
        ),
        &["small.png", "28x28", "32x32"],
    );
    // Unknown preset.
    fails_with(
        &run_in(
            d,
            &[
                "degrade",
                "--preset",
                "blur-nope",
                "--input",
                "a.png",
                "--out",
                "o",
            ],
        ),
        &["blur-nope", "blur-mnist"],
    );
    // Wrong config field, and a wrong value.
    std::fs::write(
        d.join("bad.toml"),
        "operator = \"blur\"\ntime_steps = 20\nblur_sigma = 3.0\n",
    )
    .unwrap();
    fails_with(
        &run_in(
            d,
            &[
                "degrade", "--config", "bad.toml", "--input", "a.png", "--out", "o",
            ],
        ),
        &["bad.toml", "blur_sigma"],
    );
    std::fs::write(
        d.join("zero.json"),
        r#"{"operator": "blur", "time_steps": 0}"#,
    )
    .unwrap();
    fails_with(
        &run_in(
            d,
            &[
                "degrade",
                "--config",
                "zero.json",
                "--input",
                "a.png",
                "--out",
                "o",
            ],
        ),
        &["zero.json", "time_steps", "0"],
    );
    // A safetensors input without `x0`, and one of the wrong shape.
    write_tensors(
        &d.join("y.safetensors"),
        &[("y", vec![1, 1, 32, 32], vec![0.0; 1024])],
    );
    fails_with(
        &run_in(
            d,
            &[
                "degrade",
                "--preset",
                "blur-mnist",
                "--input",
                "y.safetensors",
                "--out",
                "o",
            ],
        ),
        &["y.safetensors", "x0", "y"],
    );
    write_tensors(
        &d.join("rgb.safetensors"),
        &[("x0", vec![1, 3, 32, 32], vec![0.0; 3072])],
    );
    fails_with(
        &run_in(
            d,
            &[
                "degrade",
                "--preset",
                "blur-mnist",
                "--input",
                "rgb.safetensors",
                "--out",
                "o",
            ],
        ),
        &["rgb.safetensors", "3 channel"],
    );
    // Wrong device.
    fails_with(
        &run_in(
            d,
            &[
                "degrade",
                "--preset",
                "blur-mnist",
                "--input",
                "a.png",
                "--out",
                "o",
                "--device",
                "tpu",
            ],
        ),
        &["tpu"],
    );
    // Partner images are needed by animorphosis.
    fails_with(
        &run_in(
            d,
            &[
                "degrade",
                "--preset",
                "animorph-celeba",
                "--input",
                "a.png",
                "--out",
                "o",
            ],
        ),
        &["--partner"],
    );
    // A usage error of clap is one line too.
    fails_with(
        &run_in(d, &["degrade", "--preset", "blur-mnist", "--out", "o"]),
        &["--input"],
    );
}

/// Without `--out`, the PNGs go to `runs/degrade/` of the working directory; the tensors go
/// where `--save-tensors` says, one `level_<s>` per level (with `T` spelled out).
#[test]
fn default_output_directory_and_tensor_names() {
    let dir = tmp();
    let d = dir.path();
    write_tensors(
        &d.join("x.safetensors"),
        &[("x0", vec![2, 1, 32, 32], vec![0.25; 2 * 32 * 32])],
    );
    let text = ok(&run_in(
        d,
        &[
            "degrade",
            "--preset",
            "blur-mnist",
            "--input",
            "x.safetensors",
            "--levels",
            "0,5,T",
            "--save-tensors",
            "y.safetensors",
        ],
    ));
    assert!(text.contains("runs/degrade"), "{text}");
    assert!(d.join("runs/degrade/levels.png").is_file());
    assert_eq!(
        tensor_names(&d.join("y.safetensors")),
        vec!["level_0", "level_20", "level_5"]
    );
    // A constant image stays constant under blur (the kernel sums to one; the padding is
    // reflect or circular), at every level.
    for name in ["level_0", "level_5", "level_20"] {
        let (shape, v) = read_tensor(&d.join("y.safetensors"), name);
        assert_eq!(shape, vec![2, 1, 32, 32]);
        assert!(max_abs_diff(&v, &vec![0.25; v.len()]) < 1e-5, "{name}");
    }
}
