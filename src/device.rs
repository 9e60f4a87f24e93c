//! Choosing the compute device at run time: `cpu` / `flex`, `wgpu[:N]`, `cuda[:N]`.
//!
//! Burn 0.22 has one tensor type for every backend; the backend is a property of the
//! [`Device`]. This module turns a user's device string (the `--device` flag of the `cold`
//! command line, or the `BURN_DEVICE` environment variable) into a `Device`, with an error
//! instead of a panic when the string is unknown, when that backend was not compiled in, or
//! when the CUDA driver library is missing.
//!
//! | spec | backend | cargo feature of this crate |
//! |---|---|---|
//! | `cpu`, `flex` | Burn Flex, pure-Rust CPU (SIMD + threads) | `flex` (default) |
//! | `wgpu` | WGPU, the adapter wgpu prefers (`CUBECL_WGPU_DEFAULT_DEVICE` overrides) | `wgpu` |
//! | `wgpu:N` | WGPU, discrete GPU number `N` | `wgpu` |
//! | `cuda`, `cuda:N` | CUDA device `N` (default 0) | `cuda` |
//!
//! `cpu` means the Flex backend here (Burn's own `BURN_DEVICE=cpu` names the CubeCL CPU
//! backend, which this crate does not offer: it cannot be built offline). Names are
//! case-insensitive.
//!
//! ```
//! use cold_diffusion::device::{self, DeviceSpec};
//!
//! assert_eq!(device::parse("cuda:1").unwrap(), DeviceSpec::Cuda(1));
//! assert_eq!(device::parse("CPU").unwrap(), DeviceSpec::Flex);
//! assert!(device::parse("tpu").unwrap_err().to_string().contains("tpu"));
//!
//! let cpu = device::select("flex").unwrap(); // the `flex` feature is on by default
//! let x = burn::tensor::Tensor::<1>::ones([3], &cpu);
//! assert_eq!(x.sum().into_scalar::<f32>(), 3.0);
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use burn::tensor::Device;

/// The environment variable read when no device is given explicitly (Burn's own name).
pub const DEVICE_ENV: &str = "BURN_DEVICE";

/// A parsed device string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceSpec {
    /// The Flex CPU backend (`cpu` or `flex`).
    Flex,
    /// WGPU; `None` is the adapter wgpu prefers, `Some(n)` the `n`-th discrete GPU.
    Wgpu(Option<usize>),
    /// CUDA device `n`.
    Cuda(usize),
}

impl DeviceSpec {
    /// The backend's name, which is also the cargo feature that compiles it in.
    pub fn backend(self) -> &'static str {
        match self {
            DeviceSpec::Flex => "flex",
            DeviceSpec::Wgpu(_) => "wgpu",
            DeviceSpec::Cuda(_) => "cuda",
        }
    }

    /// Whether this build was compiled with the backend's feature.
    pub fn is_compiled(self) -> bool {
        compiled_backends().contains(&self.backend())
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Flex => f.write_str("flex"),
            DeviceSpec::Wgpu(None) => f.write_str("wgpu"),
            DeviceSpec::Wgpu(Some(n)) => write!(f, "wgpu:{n}"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Why a device string could not be turned into a device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The string names no backend this crate knows.
    #[error(
        "unknown device `{spec}`{source_note}: expected cpu, flex, wgpu, wgpu:N, cuda or cuda:N"
    )]
    Unknown {
        /// The string as given.
        spec: String,
        /// Where it came from (empty for `--device`, ` (from BURN_DEVICE)` for the variable).
        source_note: String,
    },
    /// The backend exists but this binary was built without its feature.
    #[error(
        "device `{spec}`{source_note} needs the `{feature}` backend, which this build does not \
         include (compiled backends: {compiled}); rebuild with `--features {feature}`"
    )]
    NotCompiled {
        /// The string as given.
        spec: String,
        /// Where it came from (empty for `--device`, ` (from BURN_DEVICE)` for the variable).
        source_note: String,
        /// The missing cargo feature.
        feature: &'static str,
        /// The backends that are compiled in, comma separated.
        compiled: String,
    },
    /// CUDA was asked for but the NVIDIA driver library cannot be found.
    #[error(
        "device `{spec}`{source_note}: the CUDA driver library (libcuda.so.1) was not found in \
         {searched}; install the NVIDIA driver or choose another device (e.g. --device flex)"
    )]
    CudaDriverMissing {
        /// The string as given.
        spec: String,
        /// Where it came from (empty for `--device`, ` (from BURN_DEVICE)` for the variable).
        source_note: String,
        /// The directories searched, comma separated.
        searched: String,
    },
    /// No backend at all is compiled in.
    #[error("this build includes no backend: enable one of the features flex, wgpu or cuda")]
    NoBackend,
}

/// The backends compiled into this build, in Burn's default priority order (GPUs first).
pub fn compiled_backends() -> &'static [&'static str] {
    &[
        #[cfg(feature = "cuda")]
        "cuda",
        #[cfg(feature = "wgpu")]
        "wgpu",
        #[cfg(feature = "flex")]
        "flex",
    ]
}

/// Parses a device string (`cpu`, `flex`, `wgpu`, `wgpu:N`, `cuda`, `cuda:N`; case-insensitive,
/// surrounding spaces ignored). Does not check that the backend is compiled in.
///
/// # Errors
/// [`DeviceError::Unknown`] naming the string.
pub fn parse(spec: &str) -> Result<DeviceSpec, DeviceError> {
    parse_from(spec, "")
}

fn parse_from(spec: &str, source_note: &str) -> Result<DeviceSpec, DeviceError> {
    let unknown = || DeviceError::Unknown {
        spec: spec.to_string(),
        source_note: source_note.to_string(),
    };
    let s = spec.trim().to_ascii_lowercase();
    let (name, index) = match s.split_once(':') {
        Some((n, i)) => {
            // Digits only: `usize::from_str` would accept a leading `+`.
            if i.is_empty() || !i.bytes().all(|b| b.is_ascii_digit()) {
                return Err(unknown());
            }
            (n, Some(i.parse::<usize>().map_err(|_| unknown())?))
        }
        None => (s.as_str(), None),
    };
    match (name, index) {
        ("cpu" | "flex", None) => Ok(DeviceSpec::Flex),
        ("wgpu", i) => Ok(DeviceSpec::Wgpu(i)),
        ("cuda", i) => Ok(DeviceSpec::Cuda(i.unwrap_or(0))),
        _ => Err(unknown()),
    }
}

/// Parses `spec` and builds its device.
///
/// # Errors
/// An unknown string, a backend that is not compiled in, or (CUDA) a missing driver library.
pub fn select(spec: &str) -> Result<Device, DeviceError> {
    build(&Resolved {
        text: spec.to_string(),
        spec: parse(spec)?,
        from_env: false,
    })
}

/// The device of the command line: `spec` if given, else `$BURN_DEVICE` if set and not empty,
/// else the first compiled backend in Burn's priority order (CUDA when its driver library is
/// present, then WGPU, then Flex).
///
/// # Errors
/// As [`select`]; an error from `BURN_DEVICE` says so.
pub fn select_or_env(spec: Option<&str>) -> Result<Device, DeviceError> {
    let env = std::env::var(DEVICE_ENV).ok();
    select_with(spec, env.as_deref())
}

/// [`select_or_env`] with the environment value passed in (testable without touching the
/// process environment).
///
/// # Errors
/// As [`select_or_env`].
pub fn select_with(spec: Option<&str>, env: Option<&str>) -> Result<Device, DeviceError> {
    build(&resolve(spec, env)?)
}

/// A device string resolved from `--device`, the environment or the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The string (as given, or the default backend's name).
    pub text: String,
    /// Its parsed form.
    pub spec: DeviceSpec,
    /// Whether it came from `BURN_DEVICE`.
    pub from_env: bool,
}

impl Resolved {
    fn source_note(&self) -> String {
        if self.from_env {
            format!(" (from {DEVICE_ENV})")
        } else {
            String::new()
        }
    }
}

/// Which device [`select_with`] would build, without building it.
///
/// # Errors
/// As [`select_with`], except that backends are not checked.
pub fn resolve(spec: Option<&str>, env: Option<&str>) -> Result<Resolved, DeviceError> {
    if let Some(s) = spec {
        return Ok(Resolved {
            text: s.to_string(),
            spec: parse(s)?,
            from_env: false,
        });
    }
    if let Some(e) = env.filter(|e| !e.trim().is_empty()) {
        let note = format!(" (from {DEVICE_ENV})");
        return Ok(Resolved {
            text: e.to_string(),
            spec: parse_from(e, &note)?,
            from_env: true,
        });
    }
    let default = compiled_backends()
        .iter()
        .find(|b| **b != "cuda" || find_cuda_driver().is_ok())
        .ok_or(DeviceError::NoBackend)?;
    Ok(Resolved {
        text: default.to_string(),
        spec: parse(default)?,
        from_env: false,
    })
}

fn not_compiled(r: &Resolved, feature: &'static str) -> DeviceError {
    let compiled = compiled_backends();
    DeviceError::NotCompiled {
        spec: r.text.clone(),
        source_note: r.source_note(),
        feature,
        compiled: if compiled.is_empty() {
            "none".to_string()
        } else {
            compiled.join(", ")
        },
    }
}

fn build(r: &Resolved) -> Result<Device, DeviceError> {
    match r.spec {
        DeviceSpec::Flex => {
            #[cfg(feature = "flex")]
            return Ok(Device::flex());
            #[allow(unreachable_code)]
            Err(not_compiled(r, "flex"))
        }
        DeviceSpec::Wgpu(index) => {
            #[cfg(feature = "wgpu")]
            {
                use burn::tensor::DeviceKind;
                let kind = match index {
                    None => DeviceKind::DefaultDevice,
                    Some(n) => DeviceKind::DiscreteGpu(n),
                };
                return Ok(Device::wgpu(kind));
            }
            #[allow(unreachable_code)]
            {
                let _ = index;
                Err(not_compiled(r, "wgpu"))
            }
        }
        DeviceSpec::Cuda(index) => {
            #[cfg(feature = "cuda")]
            {
                // cudarc loads the driver lazily and panics (in a device thread) when it is
                // missing: look for it first.
                find_cuda_driver().map_err(|searched| DeviceError::CudaDriverMissing {
                    spec: r.text.clone(),
                    source_note: r.source_note(),
                    searched,
                })?;
                return Ok(Device::cuda(index));
            }
            #[allow(unreachable_code)]
            {
                let _ = index;
                Err(not_compiled(r, "cuda"))
            }
        }
    }
}

/// The file names the CUDA driver library goes by (cudarc tries the same).
const CUDA_DRIVER_NAMES: [&str; 2] = ["libcuda.so.1", "libcuda.so"];

/// Directories where the dynamic loader finds libraries on common Linux systems, besides
/// `LD_LIBRARY_PATH` and `/etc/ld.so.conf`.
const STANDARD_LIB_DIRS: [&str; 9] = [
    "/lib",
    "/usr/lib",
    "/lib64",
    "/usr/lib64",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/local/cuda/lib64",
    "/usr/lib/wsl/lib",
];

/// Looks for the CUDA driver library (`libcuda.so.1` or `libcuda.so`) where the dynamic
/// loader would: `LD_LIBRARY_PATH`, the directories of `/etc/ld.so.conf` (with its
/// `include`s), and the standard library directories.
///
/// # Errors
/// The directories searched, comma separated, when it is in none of them.
pub fn find_cuda_driver() -> Result<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(paths) = std::env::var_os("LD_LIBRARY_PATH") {
        dirs.extend(std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs.extend(ld_so_conf_dirs(Path::new("/etc/ld.so.conf"), 0));
    dirs.extend(STANDARD_LIB_DIRS.iter().map(PathBuf::from));
    find_library_in(&CUDA_DRIVER_NAMES, &dirs)
}

/// The first file of `names` found in `dirs`, or the list of directories searched.
fn find_library_in(names: &[&str], dirs: &[PathBuf]) -> Result<PathBuf, String> {
    let mut searched: Vec<String> = Vec::new();
    for dir in dirs {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        let shown = dir.display().to_string();
        if !searched.contains(&shown) {
            searched.push(shown);
        }
    }
    Err(searched.join(", "))
}

/// The directories listed in an `ld.so.conf` file, following `include` lines (with `*`
/// patterns in the last path component) up to a small depth.
fn ld_so_conf_dirs(file: &Path, depth: usize) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    if depth > 4 {
        return Vec::new();
    }
    let mut dirs = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(pattern) = line.strip_prefix("include") {
            for included in expand_glob(pattern.trim(), file.parent()) {
                dirs.extend(ld_so_conf_dirs(&included, depth + 1));
            }
        } else {
            dirs.push(PathBuf::from(line));
        }
    }
    dirs
}

/// Expands a path whose file name may contain one `*` (as `include /etc/ld.so.conf.d/*.conf`).
fn expand_glob(pattern: &str, base: Option<&Path>) -> Vec<PathBuf> {
    let path = Path::new(pattern);
    let path = match base {
        Some(b) if path.is_relative() => b.join(path),
        _ => path.to_path_buf(),
    };
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let Some((prefix, suffix)) = name.split_once('*') else {
        return vec![path.clone()];
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(prefix)
                    && n.ends_with(suffix)
                    && n.len() >= prefix.len() + suffix.len()
            })
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_accepted_form() {
        let ok = [
            ("cpu", DeviceSpec::Flex),
            ("flex", DeviceSpec::Flex),
            (" FLEX ", DeviceSpec::Flex),
            ("Cpu", DeviceSpec::Flex),
            ("wgpu", DeviceSpec::Wgpu(None)),
            ("wgpu:0", DeviceSpec::Wgpu(Some(0))),
            ("WGPU:2", DeviceSpec::Wgpu(Some(2))),
            ("cuda", DeviceSpec::Cuda(0)),
            ("cuda:0", DeviceSpec::Cuda(0)),
            ("cuda:7", DeviceSpec::Cuda(7)),
            ("CUDA:12", DeviceSpec::Cuda(12)),
        ];
        for (text, expected) in ok {
            assert_eq!(parse(text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        for spec in [
            DeviceSpec::Flex,
            DeviceSpec::Wgpu(None),
            DeviceSpec::Wgpu(Some(3)),
            DeviceSpec::Cuda(1),
        ] {
            assert_eq!(parse(&spec.to_string()).unwrap(), spec);
        }
    }

    #[test]
    fn rejects_unknown_strings_naming_them() {
        for bad in [
            "",
            "tpu",
            "gpu",
            "cuda:",
            "cuda:x",
            "cuda:-1",
            "cuda:+1",
            "cuda:1:2",
            "cpu:0",
            "flex:1",
            "vulkan",
            "metal",
            "ndarray",
            ":0",
            "cuda:99999999999999999999999",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, DeviceError::Unknown { .. }), "{bad}: {err:?}");
            let msg = err.to_string();
            assert!(msg.contains(&format!("`{bad}`")), "{msg}");
            assert!(msg.contains("cuda:N"), "{msg}");
        }
    }

    #[test]
    fn explicit_spec_wins_over_the_environment() {
        let r = resolve(Some("cuda:1"), Some("wgpu")).unwrap();
        assert_eq!(
            (r.text.as_str(), r.spec, r.from_env),
            ("cuda:1", DeviceSpec::Cuda(1), false)
        );
        let r = resolve(None, Some("wgpu:1")).unwrap();
        assert_eq!(
            (r.text.as_str(), r.spec, r.from_env),
            ("wgpu:1", DeviceSpec::Wgpu(Some(1)), true)
        );
        // An empty variable counts as unset.
        let r = resolve(None, Some("  ")).unwrap();
        assert!(!r.from_env);
        assert_eq!(
            r.spec.backend(),
            compiled_backends().first().copied().unwrap_or("flex")
        );
    }

    #[test]
    fn environment_errors_say_where_the_value_came_from() {
        let msg = resolve(None, Some("tpu")).unwrap_err().to_string();
        assert!(msg.contains("`tpu` (from BURN_DEVICE)"), "{msg}");
        let msg = select_with(None, Some("nonsense:1"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("BURN_DEVICE"), "{msg}");
    }

    #[cfg(feature = "flex")]
    #[test]
    fn flex_builds_and_computes() {
        let device = select("cpu").unwrap();
        let x = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0], &device);
        assert_eq!(x.sum().into_scalar::<f32>(), 3.0);
        assert!(select_with(None, Some("flex")).is_ok());
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn a_backend_that_is_not_compiled_in_is_a_clear_error() {
        let err = select("wgpu:1").unwrap_err();
        assert!(
            matches!(
                err,
                DeviceError::NotCompiled {
                    feature: "wgpu",
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("`wgpu:1`") && msg.contains("--features wgpu"),
            "{msg}"
        );
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_a_clear_error() {
        let msg = select_with(None, Some("cuda")).unwrap_err().to_string();
        assert!(
            msg.contains("`cuda` (from BURN_DEVICE)") && msg.contains("--features cuda"),
            "{msg}"
        );
        let msg = select("cuda:0").unwrap_err().to_string();
        assert!(msg.starts_with("device `cuda:0` needs"), "{msg}");
        assert!(!compiled_backends().contains(&"cuda"));
    }

    #[test]
    fn finds_a_library_only_where_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let empty = tempfile::tempdir().unwrap();
        let dirs = vec![empty.path().to_path_buf(), dir.path().to_path_buf()];
        let searched = find_library_in(&CUDA_DRIVER_NAMES, &dirs).unwrap_err();
        assert!(
            searched.contains(&dir.path().display().to_string()),
            "{searched}"
        );
        std::fs::write(dir.path().join("libcuda.so.1"), b"").unwrap();
        assert_eq!(
            find_library_in(&CUDA_DRIVER_NAMES, &dirs).unwrap(),
            dir.path().join("libcuda.so.1")
        );
    }

    #[test]
    fn follows_ld_so_conf_includes() {
        let root = tempfile::tempdir().unwrap();
        let confd = root.path().join("ld.so.conf.d");
        std::fs::create_dir(&confd).unwrap();
        std::fs::write(confd.join("a.conf"), "/opt/a/lib\n# comment\n").unwrap();
        std::fs::write(confd.join("b.conf"), "/opt/b/lib # trailing\n").unwrap();
        std::fs::write(confd.join("ignored.txt"), "/opt/c/lib\n").unwrap();
        let main = root.path().join("ld.so.conf");
        std::fs::write(&main, "include ld.so.conf.d/*.conf\n/usr/local/lib\n").unwrap();
        assert_eq!(
            ld_so_conf_dirs(&main, 0),
            vec![
                PathBuf::from("/opt/a/lib"),
                PathBuf::from("/opt/b/lib"),
                PathBuf::from("/usr/local/lib")
            ]
        );
    }
}
