//! Backend parity: the same computations on a GPU backend and on Flex (the CPU reference) agree
//! within float32 tolerances, from identical host-drawn inputs and identical weights.
//!
//! Compiled only with the `wgpu` or `cuda` feature. The backend under test is
//! `$COLD_PARITY_DEVICE` (any `--device` string: `wgpu`, `wgpu:1`, `cuda:0`), by default `wgpu`
//! (or `cuda` when only that is compiled in). In CI it is WGPU on Mesa's software Vulkan driver
//! (lavapipe); `scripts/gpu-check.sh` runs it on real GPUs.
//!
//! | test | what is compared |
//! |---|---|
//! | `degradations_match_on_every_preset` | `D(x0, s)` and the training input of every preset of [`presets`], at mixed levels per batch, with the operator's own random draw |
//! | `unet_forward_matches` | the output of the ConvNeXt U-Net and the DDPM ResNet U-Net |
//! | `unet_backward_matches` | the loss and every parameter gradient of both networks |
//! | `train_step_matches` | one [`Trainer::step`] (2 micro-batches, Adam) from the same checkpoint: loss and updated weights; the checkpoint written on the device reloads on Flex bit for bit |
//! | `algorithm2_sampling_matches` | Algorithm 2 with a U-Net restorer (blur and random-mask inpainting) |
//!
//! Sizes: by default the presets run at 32×32 (the paper's 128×128 and 64×64 presets are shrunk
//! to 32×32, which keeps every operator's code path) and the networks are the tiny test
//! configurations: this is what CI runs. `COLD_PARITY_FULL=1` runs every preset at its paper size
//! and longer sampling trajectories (`scripts/backend-parity.sh --full`).
//!
//! `COLD_PARITY_REPORT=FILE` appends one tab-separated line per comparison (case, quantity,
//! elements, max |Δ|, max |Δ| / max |reference|, tolerances, note) to `FILE`; `docs/backends.md`'s
//! table is made from it by `scripts/backend-parity.sh`.
//!
//! # Tolerances
//! An element passes when `|x − ref| ≤ atol + rtol·|ref|`. Both backends compute in float32
//! (unit round-off u = 2⁻²⁴ ≈ 6e-8) but sum in different orders (tiled GPU reductions and
//! matrix products against Flex's SIMD kernels), use different `exp`/`erf`/`sqrt`
//! implementations, and fuse element-wise chains differently. A sum of K terms of magnitude ≤ m
//! then differs by at most about 2·K·u·m, typically √K·u·m.
//! - Degradations are linear maps (K ≤ 128 terms, coefficients summing to 1) of images in
//!   [-1, 1] followed by element-wise blends: worst case 2·128·u ≈ 1.5e-5. `atol = 2e-5`.
//!   A wrong level, draw, padding or kernel moves pixels by 1e-3 to 1, 50× above it.
//! - Networks and gradients: deep chains of convolutions (K up to 9·C ≈ 600), GroupNorm /
//!   LayerNorm statistics over ~10³ elements and GELU/SiLU; measured differences are ~1e-6 of
//!   the output scale. Outputs use `atol = 1e-4 · scale` (scale = max |reference|); gradients
//!   are compared per parameter tensor with `atol = 1e-3 · max |reference gradient|`, because
//!   a gradient element is a sum over the whole batch (K ≈ 10⁴) with cancellation. A bug (a
//!   wrong layer, sign, missing term or stale weight) changes them at the 1e-2…1 level.
//!   The rounding error of a gradient element scales with the terms it sums, not with the
//!   (possibly cancelled) result: small gradients (a time-projection bias whose terms cancel
//!   over the batch) miss a purely relative bound, and some gradients are zero in exact
//!   arithmetic and pure rounding noise in float32 (a bias right before a normalisation that
//!   removes it: the ResNet U-Net's `temb_proj` and `conv2` biases before GroupNorm with one
//!   channel per group, the keys' bias before the softmax over positions; scale ~1e-9). So each
//!   tensor's scale is floored at `1e-2 ×` the largest gradient of the whole network
//!   (`atol ≥ 1e-5 · max |g|`), still 10³ below what a bug in a tensor of that size changes.
//! - Training-input quantisation (`discrete` presets) truncates to 8 bits: an element within
//!   rounding of a level boundary may land one level (2/255) apart on the two backends. Such
//!   elements are counted and allowed only as an exact one-level step on at most 0.5 % of
//!   the elements.
//! - Adam's first update is `lr · g / (|g| + ε)`: for |g| near ε (1e-8) it amplifies gradient
//!   rounding, so updated weights are compared with `atol = lr / 10`; a wrong gradient sign
//!   gives |Δ| = 2·lr on that element. Thresholded operators are discussed in the report.
#![cfg(any(feature = "wgpu", feature = "cuda"))]

use std::io::Write as _;
use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use cold_diffusion::degrade::{
    Degradation, DegradationConfig, Draw, ImageShape, PartnerKind, presets,
};
use cold_diffusion::sample::{Method, Sampler};
use cold_diffusion::train::{Checkpoint, TrainConfig, Trainer};
use cold_diffusion::unet::blocks::canonical_layout;
use cold_diffusion::unet::{NetConfig, ResUnetConfig, RestorationNet, UnetConfig};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------------------------------------
// Devices, sizes, report.

/// The backend under test (`$COLD_PARITY_DEVICE`, default `wgpu`, or `cuda` without wgpu).
fn target() -> Device {
    let spec = target_spec();
    cold_diffusion::device::select(&spec)
        .unwrap_or_else(|e| panic!("COLD_PARITY_DEVICE=`{spec}`: {e}"))
}

fn target_spec() -> String {
    let default = if cfg!(feature = "wgpu") {
        "wgpu"
    } else {
        "cuda"
    };
    std::env::var("COLD_PARITY_DEVICE")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// The CPU reference.
fn reference() -> Device {
    Device::flex()
}

/// Whether to run the full suite (paper sizes, longer sampling).
fn full() -> bool {
    std::env::var("COLD_PARITY_FULL").is_ok_and(|v| v == "1")
}

/// `|x − ref| ≤ abs + rel·|ref|` element-wise.
#[derive(Debug, Clone, Copy)]
struct Tol {
    abs: f32,
    rel: f32,
}

/// The differences between a result and its reference.
#[derive(Debug, Clone, Copy)]
struct Stats {
    n: usize,
    max_abs: f32,
    /// Largest |reference| (the tensor's scale).
    scale: f32,
    /// Elements outside the tolerance.
    outside: usize,
    /// Where the largest violation is (index, value, reference).
    worst: Option<(usize, f32, f32)>,
}

impl Stats {
    fn max_rel(&self) -> f32 {
        if self.scale > 0.0 {
            self.max_abs / self.scale
        } else {
            self.max_abs
        }
    }
}

fn compare(got: &[f32], want: &[f32], tol: Tol) -> Stats {
    assert_eq!(got.len(), want.len(), "lengths differ");
    let mut s = Stats {
        n: got.len(),
        max_abs: 0.0,
        scale: 0.0,
        outside: 0,
        worst: None,
    };
    let mut worst_excess = 0.0f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        // NaN anywhere is a failure, not a silently ignored comparison.
        let d = if d.is_nan() { f32::INFINITY } else { d };
        s.max_abs = s.max_abs.max(d);
        s.scale = s.scale.max(w.abs());
        let excess = d - (tol.abs + tol.rel * w.abs());
        if excess > 0.0 {
            s.outside += 1;
            if excess > worst_excess {
                worst_excess = excess;
                s.worst = Some((i, g, w));
            }
        }
    }
    s
}

static REPORT: Mutex<()> = Mutex::new(());

/// Prints one comparison and appends it to `$COLD_PARITY_REPORT` if set.
fn report(case: &str, quantity: &str, s: &Stats, tol: Tol, note: &str) {
    let line = format!(
        "{case}\t{quantity}\t{}\t{:.3e}\t{:.3e}\t{:.1e}\t{:.1e}\t{note}",
        s.n,
        s.max_abs,
        s.max_rel(),
        tol.abs,
        tol.rel
    );
    let _guard = REPORT.lock().unwrap_or_else(|e| e.into_inner());
    println!("parity[{}] {line}", target_spec());
    if let Ok(path) = std::env::var("COLD_PARITY_REPORT")
        && !path.is_empty()
    {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("COLD_PARITY_REPORT={path}: {e}"));
        writeln!(f, "{}\t{line}", target_spec()).unwrap();
    }
}

/// Compares, reports, and returns a failure message (collected so that one run lists every
/// failing case).
fn check(case: &str, quantity: &str, got: &[f32], want: &[f32], tol: Tol) -> Option<String> {
    let s = compare(got, want, tol);
    report(case, quantity, &s, tol, "");
    (s.outside > 0).then(|| {
        format!(
            "{case} / {quantity}: {} of {} elements outside |Δ| ≤ {:e} + {:e}·|ref| (max |Δ| {:e}, \
             scale {:e}, worst at {:?} = (value, reference))",
            s.outside, s.n, tol.abs, tol.rel, s.max_abs, s.scale, s.worst
        )
    })
}

fn fail_if_any(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} parity failure(s) on `{}`:\n{}",
        failures.len(),
        target_spec(),
        failures.join("\n")
    );
}

fn host(x: Tensor<4>) -> Vec<f32> {
    x.into_data()
        .try_into_vec_as::<f32>()
        .expect("a float tensor reads back as f32")
}

fn host_any<const D: usize>(x: Tensor<D>) -> Vec<f32> {
    x.into_data()
        .try_into_vec_as::<f32>()
        .expect("a float tensor reads back as f32")
}

fn upload(values: &[f32], dims: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values.to_vec(), dims), device)
}

/// Smooth-ish random images in [-1, 1] drawn on the host (a 2×2-averaged random field plus a
/// gradient, as in cold-degrade's contract test), so that blurs and masks have structure.
fn images(n: usize, shape: ImageShape, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (c, h, w) = (shape.channels, shape.height, shape.width);
    let raw: Vec<f32> = (0..n * c * h * w)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let mut out = vec![0.0f32; raw.len()];
    for p in 0..n * c {
        for y in 0..h {
            for x in 0..w {
                let at = |yy: usize, xx: usize| raw[p * h * w + (yy % h) * w + (xx % w)];
                let v = 0.25 * (at(y, x) + at(y + 1, x) + at(y, x + 1) + at(y + 1, x + 1));
                let g = (x as f32 / w as f32 - 0.5) * 0.6;
                out[p * h * w + y * w + x] = (0.7 * v + g).clamp(-1.0, 1.0);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Degradations.

/// `config` with its image size set to `size` (where the config fixes one).
fn with_image_size(config: &DegradationConfig, size: usize) -> DegradationConfig {
    let mut c = config.clone();
    match &mut c {
        DegradationConfig::Blur(x) => x.image_size = x.image_size.map(|_| size),
        DegradationConfig::Inpaint(x) => x.image_size = x.image_size.map(|_| size),
        DegradationConfig::InpaintGeneration(x) => x.image_size = x.image_size.map(|_| size),
        DegradationConfig::Decolor(x) => x.image_size = x.image_size.map(|_| size),
        DegradationConfig::Animorph(x) => x.image_size = x.image_size.map(|_| size),
        DegradationConfig::Noise(x) => x.image_size = x.image_size.map(|_| size),
        DegradationConfig::SuperResolution(x) => x.image_size = x.image_size.map(|_| size),
        DegradationConfig::Snow(x) => x.image_size = x.image_size.map(|_| size),
        // `DegradationConfig` is non-exhaustive: a new operator must be added above, not run
        // silently at its configured size.
        _ => panic!("with_image_size: an operator this suite does not know yet; add it"),
    }
    c
}

/// The same draw on `device` for the same seed: host randomness, uploaded.
fn draw_on(op: &dyn Degradation, n: usize, shape: ImageShape, seed: u64, device: &Device) -> Draw {
    if op.partner_kind() == PartnerKind::Images {
        let z = images(n, shape, seed ^ 0xA11CE);
        return Draw::partner(upload(
            &z,
            [n, shape.channels, shape.height, shape.width],
            device,
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    op.draw(n, shape, device, &mut rng)
        .unwrap_or_else(|e| panic!("{}: draw: {e}", op.name()))
}

/// Mixed levels in one batch: 1, about T/3, about 2T/3 and T.
fn levels_of(steps: usize) -> Vec<usize> {
    vec![1, (steps / 3).max(1), (2 * steps / 3).max(1), steps]
}

/// Element-wise float32 tolerance of the degradations (see the module docs).
const DEGRADE_TOL: Tol = Tol {
    abs: 2e-5,
    rel: 0.0,
};

/// Training inputs of `discrete` operators: equal within [`DEGRADE_TOL`], except elements one
/// 8-bit level (2/255) apart, at most 0.5 % of them.
fn check_quantized(case: &str, got: &[f32], want: &[f32]) -> Option<String> {
    let step = 2.0f32 / 255.0;
    let mut one_level = 0usize;
    let mut rest_got = Vec::with_capacity(got.len());
    let mut rest_want = Vec::with_capacity(want.len());
    for (&g, &w) in got.iter().zip(want) {
        if ((g - w).abs() - step).abs() <= DEGRADE_TOL.abs {
            one_level += 1;
        } else {
            rest_got.push(g);
            rest_want.push(w);
        }
    }
    let s = compare(&rest_got, &rest_want, DEGRADE_TOL);
    let note = format!(
        "{one_level} of {} elements one 8-bit level apart",
        got.len()
    );
    report(case, "training_input (8-bit)", &s, DEGRADE_TOL, &note);
    let allowed = got.len() / 200;
    if s.outside > 0 || one_level > allowed {
        Some(format!(
            "{case} / training_input: {} elements outside {:e}, {one_level} one level apart \
             (allowed {allowed}); max |Δ| {:e}",
            s.outside, DEGRADE_TOL.abs, s.max_abs
        ))
    } else {
        None
    }
}

#[test]
fn degradations_match_on_every_preset() {
    let (dev, cpu) = (target(), reference());
    let mut failures = Vec::new();
    let all = presets();
    assert!(all.len() >= 17, "expected the paper's presets");
    for (k, preset) in all.iter().enumerate() {
        let (size, channels) = preset.config.image_size_and_channels();
        let paper = size.unwrap_or(32);
        let side = if full() { paper } else { paper.min(32) };
        let config = with_image_size(&preset.config, side);
        let op = config
            .build()
            .unwrap_or_else(|e| panic!("{} at {side}×{side}: {e}", preset.name));
        let shape = ImageShape::new(channels.unwrap_or(3), side, side);
        let levels = levels_of(op.steps());
        let n = levels.len();
        let dims = [n, shape.channels, side, side];
        let x0 = images(n, shape, 100 + k as u64);
        let seed = 7 + k as u64;
        let case = format!("{} {side}x{side}", preset.name);

        let run = |device: &Device| {
            let draw = draw_on(op.as_ref(), n, shape, seed, device);
            let x = upload(&x0, dims, device);
            let degraded = op
                .degrade(x.clone(), &levels, &draw)
                .unwrap_or_else(|e| panic!("{case}: degrade: {e}"));
            let training = op
                .training_input(x, &levels, &draw)
                .unwrap_or_else(|e| panic!("{case}: training_input: {e}"));
            (host(degraded), host(training))
        };
        let (d_got, t_got) = run(&dev);
        let (d_want, t_want) = run(&cpu);
        failures.extend(check(&case, "D(x0, s)", &d_got, &d_want, DEGRADE_TOL));
        // The training input equals D(x0, s) except for 8-bit `discrete` operators.
        if t_want != d_want {
            failures.extend(check_quantized(&case, &t_got, &t_want));
        }
    }
    fail_if_any(failures);
}

// ---------------------------------------------------------------------------------------------
// Networks.

/// The networks compared: the tiny ConvNeXt U-Net (1 channel) and the tiny DDPM ResNet U-Net
/// (3 channels, attention at 16×16), with their input sizes.
fn nets() -> Vec<(&'static str, NetConfig, [usize; 4])> {
    vec![
        (
            "unet tiny (dim 8, mults 1,2)",
            NetConfig::Unet(UnetConfig::tiny(1)),
            [2, 1, 16, 16],
        ),
        (
            "resunet tiny (ch 32, mults 1,2, attn 16)",
            NetConfig::ResUnet(ResUnetConfig::tiny()),
            [2, 3, 32, 32],
        ),
    ]
}

/// `config` initialised on the reference device (autodiff or not) with a fixed seed.
///
/// Flex's RNG is process-wide and the tests run in parallel threads:
/// [`NetConfig::init_seeded`] seeds and draws every weight under
/// [`cold_diffusion::unet::backend_rng_lock`], as [`Trainer`] does (the lock is not re-entrant,
/// so it is never held here).
fn init_reference(config: &NetConfig, device: &Device, seed: u64) -> RestorationNet {
    config.init_seeded(device, seed)
}

/// Every float parameter as (path, values).
fn params(net: &RestorationNet) -> Vec<(String, Vec<f32>)> {
    #[derive(Default)]
    struct V {
        path: Vec<String>,
        out: Vec<(String, Vec<f32>)>,
    }
    impl ModuleVisitor for V {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.into());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.out
                .push((self.path.join("."), host_any(p.val().inner())));
        }
    }
    let mut v = V::default();
    net.visit(&mut v);
    v.out
}

/// Every parameter gradient as (path, values); a parameter without a gradient is an error.
fn gradients(net: &RestorationNet, grads: &GradientsParams) -> Vec<(String, Vec<f32>)> {
    struct V<'a> {
        grads: &'a GradientsParams,
        path: Vec<String>,
        out: Vec<(String, Vec<f32>)>,
    }
    impl ModuleVisitor for V<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.into());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let path = self.path.join(".");
            let g = self
                .grads
                .get::<D>(p.id)
                .unwrap_or_else(|| panic!("no gradient for {path}"));
            self.out.push((path, host_any(g)));
        }
    }
    let mut v = V {
        grads,
        path: Vec::new(),
        out: Vec::new(),
    };
    net.visit(&mut v);
    v.out
}

fn time_indices(t: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(t.to_vec(), [t.len()]), device)
}

/// Relative output tolerance of the networks: `atol = NET_REL · max |reference|`.
const NET_REL: f32 = 1e-4;
/// Per-parameter gradient tolerance: `atol = GRAD_REL · max |reference gradient|`.
const GRAD_REL: f32 = 1e-3;
/// Floor of a gradient tensor's scale, relative to the largest gradient of the network (for
/// gradients that are zero in exact arithmetic; see the module docs).
const GRAD_SCALE_FLOOR: f32 = 1e-2;

#[test]
fn unet_forward_matches() {
    let (dev, cpu) = (target(), reference());
    let mut failures = Vec::new();
    for (i, (name, config, dims)) in nets().into_iter().enumerate() {
        let net_cpu = init_reference(&config, &cpu, 11 + i as u64);
        let net_dev = net_cpu.clone().to_device(&dev);
        let shape = ImageShape::of_dims(dims);
        let x = images(dims[0], shape, 21 + i as u64);
        let t = [0i64, 9];
        let y_cpu = host(net_cpu.forward(upload(&x, dims, &cpu), time_indices(&t, &cpu)));
        let y_dev = host(net_dev.forward(upload(&x, dims, &dev), time_indices(&t, &dev)));
        let scale = y_cpu.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let tol = Tol {
            abs: NET_REL * scale,
            rel: 0.0,
        };
        failures.extend(check(name, "forward", &y_dev, &y_cpu, tol));
    }
    fail_if_any(failures);
}

/// Burn 0.22.1's fusion defect (see `canonical_layout` and docs/backends.md): an element-wise
/// chain of a channels-last `[n, 1, h, w]` tensor (what a 1-output-channel convolution returns)
/// and a row-major one, fused into a reduction, reads the wrong elements on WGPU/CUDA. This
/// checks the workaround the networks apply, and reports (without asserting, so that an
/// upstream fix does not fail the suite) what the raw chain gives.
#[test]
fn size_one_axis_layouts_reduce_correctly() {
    let (dev, cpu) = (target(), reference());
    let dims = [2, 1, 16, 16];
    let shape = ImageShape::of_dims(dims);
    let (a, b) = (images(2, shape, 71), images(2, shape, 72));
    // `a` with the memory order of a channels-last convolution output: strides [256, 1, 16, 1].
    let channels_last = |d: &Device| {
        upload(&a, dims, d)
            .reshape([2, 16, 16, 1])
            .permute([0, 3, 1, 2])
    };
    let raw = |d: &Device| host_any((channels_last(d) + upload(&b, dims, d)).square().mean());
    let fixed = |d: &Device| {
        host_any(
            (canonical_layout(channels_last(d)) + upload(&b, dims, d))
                .square()
                .mean(),
        )
    };
    let want = raw(&cpu);
    let tol = Tol {
        abs: 0.0,
        rel: 1e-5,
    };
    let raw_dev = raw(&dev);
    let s = compare(&raw_dev, &want, tol);
    report(
        "mean((a_channels_last + b)^2), [2,1,16,16]",
        "without canonical_layout (not asserted)",
        &s,
        tol,
        &format!("device {raw_dev:?}, flex {want:?}: Burn 0.22.1 fusion defect when differing"),
    );
    let got = fixed(&dev);
    let failures: Vec<String> = check(
        "mean((canonical_layout(a_channels_last) + b)^2), [2,1,16,16]",
        "with canonical_layout",
        &got,
        &want,
        tol,
    )
    .into_iter()
    .collect();
    fail_if_any(failures);
}

/// Forward, mean-square loss against a host-drawn target, backward: the loss and every
/// parameter's gradient.
fn loss_and_gradients(
    net: &RestorationNet,
    x: &[f32],
    target: &[f32],
    dims: [usize; 4],
    t: &[i64],
    device: &Device,
) -> (f32, Vec<(String, Vec<f32>)>) {
    let y = net.forward(upload(x, dims, device), time_indices(t, device));
    let loss = (y - upload(target, dims, device)).square().mean();
    let value = loss.clone().into_scalar::<f32>();
    let grads = GradientsParams::from_grads(loss.backward(), net);
    (value, gradients(net, &grads))
}

#[test]
fn unet_backward_matches() {
    let (dev, cpu) = (target().autodiff(), reference().autodiff());
    let mut failures = Vec::new();
    for (i, (name, config, dims)) in nets().into_iter().enumerate() {
        let net_cpu = init_reference(&config, &cpu, 31 + i as u64);
        let net_dev = net_cpu.clone().fork(&dev);
        let shape = ImageShape::of_dims(dims);
        let x = images(dims[0], shape, 41 + i as u64);
        let target = images(dims[0], shape, 51 + i as u64);
        let t = [3i64, 0];
        let (l_cpu, g_cpu) = loss_and_gradients(&net_cpu, &x, &target, dims, &t, &cpu);
        let (l_dev, g_dev) = loss_and_gradients(&net_dev, &x, &target, dims, &t, &dev);
        let loss_tol = Tol {
            abs: 0.0,
            rel: 1e-5,
        };
        failures.extend(check(name, "loss", &[l_dev], &[l_cpu], loss_tol));
        assert_eq!(g_cpu.len(), g_dev.len());
        // One line per parameter tensor would flood the report: aggregate, but check each
        // tensor against its own scale.
        let mut worst: Option<(String, Stats)> = None;
        let mut total = 0usize;
        let net_scale = g_cpu
            .iter()
            .flat_map(|(_, g)| g.iter())
            .fold(0.0f32, |m, v| m.max(v.abs()));
        for ((path, want), (path_dev, got)) in g_cpu.iter().zip(&g_dev) {
            assert_eq!(path, path_dev);
            let own_scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(own_scale > 0.0, "{name}: gradient of {path} is zero");
            let scale = own_scale.max(GRAD_SCALE_FLOOR * net_scale);
            let tol = Tol {
                abs: GRAD_REL * scale,
                rel: 0.0,
            };
            let mut s = compare(got, want, tol);
            // Relative errors (report, worst tensor) against the floored scale.
            s.scale = scale;
            total += s.n;
            if s.outside > 0 {
                failures.push(format!(
                    "{name} / gradient of {path}: {} of {} outside {:e} (max |Δ| {:e}, scale {:e})",
                    s.outside, s.n, tol.abs, s.max_abs, scale
                ));
            }
            if worst
                .as_ref()
                .is_none_or(|(_, w)| s.max_rel() > w.max_rel())
            {
                worst = Some((path.clone(), s));
            }
        }
        let (path, s) = worst.expect("the networks have parameters");
        let summary = Stats { n: total, ..s };
        report(
            name,
            "gradients (worst tensor)",
            &summary,
            Tol {
                abs: GRAD_REL,
                rel: 0.0,
            },
            &format!(
                "{} tensors; worst `{path}`; atol relative to each tensor's max |g| (floored at 1e-2 of the network's, {net_scale:.3e})",
                g_cpu.len()
            ),
        );
    }
    fail_if_any(failures);
}

// ---------------------------------------------------------------------------------------------
// Training and sampling.

#[test]
fn train_step_matches() {
    let (dev, cpu) = (target(), reference());
    let root = tempfile::tempdir().unwrap();
    // The tiny test preset: bundled MNIST at 16×16, blur T = 5, tiny U-Net, batch 8 × 2
    // micro-batches, Adam lr 1e-3.
    let mut config = TrainConfig::preset("tiny-test").unwrap();
    config.output_dir = root.path().join("start");
    config.data.workers = 0;
    config.samples.every = 0;
    let lr = config.optimizer.lr as f32;
    // `Trainer::new` initialises the network with `NetConfig::init_seeded` (under the backend
    // RNG lock), so the other tests' initialisations cannot interleave with it.
    let start = {
        let mut t = Trainer::new(config, std::slice::from_ref(&cpu)).unwrap();
        t.set_progress_bar(false);
        t.save_checkpoint().unwrap()
    };
    // The same weights, Adam state, data position and random stream on both devices.
    let resume = |device: &Device, dir: &str| {
        let dir = root.path().join(dir);
        let mut t =
            Trainer::resume_with(&start, std::slice::from_ref(device), |c| c.output_dir = dir)
                .unwrap_or_else(|e| panic!("resume on {device:?}: {e}"));
        t.set_progress_bar(false);
        t
    };
    let mut t_cpu = resume(&cpu, "cpu");
    let mut t_dev = resume(&dev, "dev");
    let before = params(t_cpu.model());
    let r_cpu = t_cpu.step().unwrap();
    let r_dev = t_dev.step().unwrap();

    let mut failures = Vec::new();
    let case = "train step (tiny-test: unet tiny, blur T=5, 2×8 images, Adam)";
    failures.extend(check(
        case,
        "loss",
        &[r_dev.loss],
        &[r_cpu.loss],
        Tol {
            abs: 0.0,
            rel: 1e-5,
        },
    ));
    let p_cpu = params(t_cpu.model());
    let p_dev = params(t_dev.model());
    let flat =
        |p: &[(String, Vec<f32>)]| p.iter().flat_map(|(_, v)| v.clone()).collect::<Vec<f32>>();
    let (w_cpu, w_dev, w0) = (flat(&p_cpu), flat(&p_dev), flat(&before));
    // The update really moved the weights (else the comparison proves nothing).
    let moved = w_cpu.iter().zip(&w0).filter(|(a, b)| a != b).count();
    assert!(
        moved > w0.len() / 2,
        "only {moved} of {} weights moved",
        w0.len()
    );
    let weight_tol = Tol {
        abs: lr / 10.0,
        rel: 0.0,
    };
    // Adam's first step is `lr · g / (|g| + ε)`: `±lr` by the sign of the gradient once
    // |g| ≫ ε = 1e-8, anything in (−lr, lr) for |g| ≲ 10 ε. A gradient that small is below the
    // float32 rounding noise of the network's gradients (max |g| ~ 0.4 here, rounding ~1e-7 of
    // it), and so is the sign of a gradient that is zero in exact arithmetic (biases before a
    // normalisation; see the module docs): there the two devices' steps are noise. An element
    // whose steps differ by more than the tolerance is "noise-level" when either step is below
    // 0.9·lr in magnitude or the two have opposite signs; such elements are allowed on at most
    // 0.1 % of the weights and listed by tensor. Any other difference, or more of them, fails.
    let step_cpu: Vec<f32> = w_cpu.iter().zip(&w0).map(|(a, b)| a - b).collect();
    let step_dev: Vec<f32> = w_dev.iter().zip(&w0).map(|(a, b)| a - b).collect();
    let is_flip = |got: f32, want: f32| {
        (got - want).abs() > weight_tol.abs
            && (got.abs() < 0.9 * lr || want.abs() < 0.9 * lr || got.signum() != want.signum())
    };
    let mut flips = Vec::new();
    let (mut kept_cpu, mut kept_dev, mut kept_w_cpu, mut kept_w_dev) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut offset = 0;
    for (path, values) in &p_cpu {
        for i in offset..offset + values.len() {
            if is_flip(step_dev[i], step_cpu[i]) {
                flips.push(path.clone());
            } else {
                kept_cpu.push(step_cpu[i]);
                kept_dev.push(step_dev[i]);
                kept_w_cpu.push(w_cpu[i]);
                kept_w_dev.push(w_dev[i]);
            }
        }
        offset += values.len();
    }
    let flipped = flips.len();
    flips.dedup();
    let allowed = w0.len() / 1000;
    report(
        case,
        "noise-level Adam steps",
        &Stats {
            n: w0.len(),
            outside: flipped.saturating_sub(allowed),
            ..compare(&[], &[], weight_tol)
        },
        weight_tol,
        &format!(
            "{flipped} of {} weights with noise-level gradients stepped differently (allowed {allowed}); in {flips:?}",
            w0.len()
        ),
    );
    if flipped > allowed {
        failures.push(format!(
            "{case}: {flipped} weights with noise-level gradients stepped differently (allowed {allowed}), in {flips:?}"
        ));
    }
    failures.extend(check(
        case,
        "updated weights (noise-level excluded)",
        &kept_w_dev,
        &kept_w_cpu,
        weight_tol,
    ));
    // The update itself, relative to its size (lr per element on Adam's first step).
    failures.extend(check(
        case,
        "weight update (noise-level excluded)",
        &kept_dev,
        &kept_cpu,
        weight_tol,
    ));

    // The checkpoint written from the device reloads on Flex bit for bit.
    let saved = t_dev.save_checkpoint().unwrap();
    let back = Checkpoint::load(&saved, &cpu).unwrap();
    let p_back = params(&back.model);
    assert_eq!(
        flat(&p_back)
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>(),
        w_dev.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        "a checkpoint written from {} does not reload bit for bit",
        target_spec()
    );
    fail_if_any(failures);
}

/// Algorithm 2 with a tiny U-Net restorer (same weights on both devices): blur (deterministic)
/// and random-centre inpainting (a host-drawn mask per image), from `x_T`.
#[test]
fn algorithm2_sampling_matches() {
    let (dev, cpu) = (target(), reference());
    let mut failures = Vec::new();
    let cases: Vec<(&str, DegradationConfig)> = vec![
        (
            "blur-mnist",
            DegradationConfig::preset("blur-mnist").unwrap(),
        ),
        (
            "inpaint-mnist",
            DegradationConfig::preset("inpaint-mnist").unwrap(),
        ),
    ];
    let net_cpu = init_reference(&NetConfig::Unet(UnetConfig::tiny(1)), &cpu, 61);
    let net_dev = net_cpu.clone().to_device(&dev);
    for (i, (name, mut config)) in cases.into_iter().enumerate() {
        // Short trajectories by default (T = 10), the preset's T with COLD_PARITY_FULL=1.
        if !full() {
            match &mut config {
                DegradationConfig::Blur(c) => c.time_steps = 10,
                DegradationConfig::Inpaint(c) => c.time_steps = 10,
                _ => unreachable!("only blur and inpainting are listed"),
            }
        }
        let op = config.build().unwrap();
        let t = op.steps();
        let n = 2;
        let shape = ImageShape::new(1, 32, 32);
        let dims = [n, 1, 32, 32];
        let x0 = images(n, shape, 71 + i as u64);
        let run = |net: &RestorationNet, device: &Device| {
            let draw = draw_on(op.as_ref(), n, shape, 81 + i as u64, device);
            let x_t = op.degrade_at(upload(&x0, dims, device), t, &draw).unwrap();
            let restorer = cold_diffusion::unet_restorer(net);
            let out = Sampler::new(op.as_ref(), Method::Algorithm2)
                .run(&restorer, x_t, &vec![t; n], &draw)
                .unwrap();
            (host(out.x0), host(out.direct))
        };
        let (x_dev, direct_dev) = run(&net_dev, &dev);
        let (x_cpu, direct_cpu) = run(&net_cpu, &cpu);
        let case = format!("algorithm 2, {name} T={t}, unet tiny");
        let tol = |v: &[f32]| Tol {
            // T network calls and T degradation pairs, each within its own tolerance.
            abs: t as f32
                * (NET_REL * v.iter().fold(0.0f32, |m, x| m.max(x.abs())) + DEGRADE_TOL.abs),
            rel: 0.0,
        };
        failures.extend(check(
            &case,
            "direct R(x_T)",
            &direct_dev,
            &direct_cpu,
            tol(&direct_cpu),
        ));
        failures.extend(check(
            &case,
            "x0 after T steps",
            &x_dev,
            &x_cpu,
            tol(&x_cpu),
        ));
    }
    fail_if_any(failures);
}
