//! Burn Flex's fp32 GEMM rate and its 3×3 convolution against an im2col + matmul formulation
//! (docs/performance.md: "FLOP/s of the U-Net forward against the GEMM rate" and "Per-layer cost
//! of Flex's convolution, and the fix that was tried").
//!
//! Not part of the cargo build: a standalone program compiled with `rustc` against the
//! workspace's already-built `cold_diffusion` (used in a sitting where the shared `target/` was
//! locked by another build for an hour). From the repository root, after any release build of
//! the `cold-diffusion` package (pick the newest `libcold_diffusion-*.rlib`):
//!
//! ```text
//! rustc --edition 2024 -C opt-level=3 scripts/flex-op-probe.rs -o /tmp/flex-op-probe \
//!     --extern cold_diffusion=$(ls -t target/release/deps/libcold_diffusion-*.rlib | head -1) \
//!     -L dependency=target/release/deps
//! RAYON_NUM_THREADS=2 /tmp/flex-op-probe 7      # 7 repetitions, medians
//! ```
//!
//! When `rustc` does not resolve the rlib (seen on 2026-11-27: "can't find crate for
//! `cold_diffusion`" with the newest rlib), build it as a temporary example instead (the GEMM
//! rate of docs/performance.md's sitting 4 was measured this way):
//!
//! ```text
//! cp scripts/flex-op-probe.rs examples/zz_flexprobe.rs
//! cargo build --release --locked --example zz_flexprobe && rm examples/zz_flexprobe.rs
//! RAYON_NUM_THREADS=2 target/release/examples/zz_flexprobe 5
//! ```
use cold_diffusion::burn::nn::PaddingConfig2d;
use cold_diffusion::burn::nn::conv::{Conv2d, Conv2dConfig};
use cold_diffusion::burn::tensor::{Device, Distribution, Tensor};

fn conv_im2col(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let weight = conv.weight.val();
    let [co, _, kh, kw] = weight.dims();
    let (ph, pw) = ((kh - 1) / 2, (kw - 1) / 2);
    let xp = x.pad([(0, 0), (0, 0), (ph, ph), (pw, pw)], 0.0);
    let mut cols = Vec::with_capacity(kh * kw);
    for i in 0..kh {
        for j in 0..kw {
            cols.push(xp.clone().slice([0..b, 0..c, i..i + h, j..j + w]));
        }
    }
    let cols = Tensor::stack::<5>(cols, 2).reshape([b, c * kh * kw, h * w]);
    let out = weight
        .reshape([1, co, c * kh * kw])
        .matmul(cols)
        .reshape([b, co, h, w]);
    match &conv.bias {
        Some(bias) => out + bias.val().reshape([1, co, 1, 1]),
        None => out,
    }
}

fn time_it<F: FnMut()>(reps: usize, mut f: F) -> f64 {
    f();
    let times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    median(times)
}
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let device = Device::flex();
    let normal = Distribution::Normal(0.0, 1.0);
    let reps: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(7);
    for n in [1024usize, 2048] {
        let a = Tensor::<2>::random([n, n], normal, &device);
        let b = Tensor::<2>::random([n, n], normal, &device);
        let _ = a.clone().matmul(b.clone()).into_data();
        let times: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                let _ = a.clone().matmul(b.clone()).into_data();
                t.elapsed().as_secs_f64()
            })
            .collect();
        let m = median(times.clone());
        let best = times.iter().cloned().fold(f64::MAX, f64::min);
        let flop = 2.0 * (n * n * n) as f64;
        println!(
            "gemm {n}x{n}x{n}: median {:.1} ms = {:.1} GFLOP/s, best {:.1} ms = {:.1} GFLOP/s",
            m * 1e3,
            flop / m / 1e9,
            best * 1e3,
            flop / best / 1e9
        );
    }
    // Batched, with a 3x3 conv's im2col shape (32 -> 64 channels at 32x32, batch 32).
    let (bt, m, k, cols) = (32usize, 64usize, 288usize, 1024usize);
    let w = Tensor::<3>::random([bt, m, k], normal, &device);
    let x = Tensor::<3>::random([bt, k, cols], normal, &device);
    let _ = w.clone().matmul(x.clone()).into_data();
    let times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            let _ = w.clone().matmul(x.clone()).into_data();
            t.elapsed().as_secs_f64()
        })
        .collect();
    let md = median(times);
    let flop = 2.0 * (bt * m * k * cols) as f64;
    println!(
        "batched gemm {bt}x{m}x{k}x{cols}: median {:.1} ms = {:.1} GFLOP/s",
        md * 1e3,
        flop / md / 1e9
    );

    for (c_in, c_out, size) in [
        (32usize, 64usize, 32usize),
        (64, 32, 32),
        (128, 256, 16),
        (256, 128, 8),
    ] {
        let conv = Conv2dConfig::new([c_in, c_out], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        let x = Tensor::<4>::random([32, c_in, size, size], normal, &device);
        let flop = 2.0 * (32 * c_out * size * size * c_in * 9) as f64;
        let a = conv.forward(x.clone());
        let b = conv_im2col(&conv, x.clone());
        let diff = (a - b).abs().max().into_scalar::<f32>();
        let t_flex = time_it(reps, || {
            let _ = conv.forward(x.clone()).into_data();
        });
        let t_i2c = time_it(reps, || {
            let _ = conv_im2col(&conv, x.clone()).into_data();
        });
        println!(
            "conv3x3 b32 {c_in}->{c_out} {size}x{size}: flex conv2d {:.1} ms ({:.1} GFLOP/s), im2col+matmul {:.1} ms ({:.1} GFLOP/s), max |diff| {diff:.2e}",
            t_flex * 1e3,
            flop / t_flex / 1e9,
            t_i2c * 1e3,
            flop / t_i2c / 1e9
        );
    }
}
