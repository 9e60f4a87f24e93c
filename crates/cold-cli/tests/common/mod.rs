//! Helpers of the command-line tests: running the `cold` binary, checking its one-line errors,
//! writing small inputs, and one tiny trained checkpoint shared by the tests of a binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use safetensors::{Dtype, SafeTensors};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// A file of another crate's test fixtures (reused, not copied).
pub fn fixture(krate: &str, name: &str) -> PathBuf {
    repo()
        .join("crates")
        .join(krate)
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// `cold` with a clean environment for device selection and panic reports.
pub fn cold() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cold"));
    c.env_remove("BURN_DEVICE")
        .env_remove("COLD_DEBUG_PANICS")
        .env_remove("COLD_INCEPTION_WEIGHTS");
    c
}

/// Runs `cold args...` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    cold()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the cold binary runs")
}

/// Runs `cold args...` in the repository root.
pub fn run(args: &[&str]) -> Output {
    run_in(&repo(), args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "cold failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Asserts the command-line error contract: a non-zero exit code, no panic report, and exactly
/// one line `error: ...` (the last one on stderr) containing every `needle`. Returns the line.
pub fn fails_with(o: &Output, needles: &[&str]) -> String {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected a failure, got success\nstdout:\n{}\nstderr:\n{err}",
        stdout(o)
    );
    assert_ne!(
        o.status.code(),
        Some(101),
        "exit code 101 is a panic:\n{err}"
    );
    assert!(!err.contains("panicked"), "panic report on stderr:\n{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "expected one `error:` line, got:\n{err}");
    assert_eq!(
        err.lines().last(),
        Some(errors[0]),
        "the error line must come last:\n{err}"
    );
    for n in needles {
        assert!(errors[0].contains(n), "`{n}` missing from: {}", errors[0]);
    }
    errors[0].to_string()
}

/// Writes a gray `size`x`size` PNG with a bright disc (a stand-in for a digit).
pub fn write_png(path: &Path, width: u32, height: u32, seed: u32) {
    let img = image::GrayImage::from_fn(width, height, |x, y| {
        let (cx, cy) = ((width / 2 + seed % 5) as f32, (height / 2) as f32);
        let r = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
        image::Luma([if r < width as f32 / 4.0 {
            230
        } else {
            (seed * 13 % 40) as u8
        }])
    });
    img.save(path).unwrap();
}

/// Writes `tensors` (name, shape, f32 values) to a safetensors file.
pub fn write_tensors(path: &Path, tensors: &[(&str, Vec<usize>, Vec<f32>)]) {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.to_string(),
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

/// One tensor of a safetensors file as (shape, f32 values); i64 tensors are converted.
pub fn read_tensor(path: &Path, name: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let view = st
        .tensor(name)
        .unwrap_or_else(|e| panic!("{}: {name}: {e}", path.display()));
    let values = match view.dtype() {
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        Dtype::I64 => view
            .data()
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f32)
            .collect(),
        Dtype::F64 => view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()) as f32)
            .collect(),
        other => panic!("{name}: dtype {other:?}"),
    };
    (view.shape().to_vec(), values)
}

/// Names of the tensors of a safetensors file.
pub fn tensor_names(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    names
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A tiny model trained for two steps with the `tiny-test` preset (bundled MNIST at 16x16,
/// T = 5 constant blurs, U-Net dim 8), built once per test binary. Returns the run directory.
pub fn tiny_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let run = dir.join("tiny");
        let o = run_in(
            &dir,
            &[
                "train",
                "--preset",
                "tiny-test",
                "--steps",
                "2",
                "--out",
                run.to_str().unwrap(),
            ],
        );
        ok(&o);
        assert!(run.join("checkpoints/latest.safetensors").is_file());
        run
    })
}

/// `tiny_run()`'s checkpoint file.
pub fn tiny_checkpoint() -> PathBuf {
    tiny_run().join("checkpoints").join("latest.safetensors")
}

/// A temporary directory that lives as long as the returned guard.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
