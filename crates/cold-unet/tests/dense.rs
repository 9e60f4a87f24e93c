//! `dense_conv2d` against Burn's `Conv2d::forward`: the same outputs with and without autodiff,
//! and the same gradients (input, weight, bias) under autodiff on Flex, where it runs the
//! shifted-GEMM kernels and its own backward step; convolutions it does not handle (strided,
//! grouped, `Same` padding, small images) are Burn's call, bit for bit.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use cold_unet::dense::{dense_conv2d, uses_shift_gemm};

fn max_abs_diff(a: Tensor<4>, b: Tensor<4>) -> (f32, f32) {
    let scale = b.clone().abs().max().into_scalar::<f32>();
    ((a - b).abs().max().into_scalar::<f32>(), scale)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec()
        .expect("f32 data")
}

fn assert_close(what: &str, ours: Tensor<4>, reference: Tensor<4>, case: &str) {
    let (diff, scale) = max_abs_diff(ours, reference);
    assert!(
        diff <= 1e-5 * scale.max(1.0),
        "{what}, {case}: max |diff| {diff} (scale {scale})"
    );
}

/// A convolution with the given geometry, its weights drawn on `device`.
fn conv(c_in: usize, c_out: usize, k: [usize; 2], padding: [usize; 2], device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], k)
        .with_padding(PaddingConfig2d::Explicit(
            padding[0], padding[1], padding[0], padding[1],
        ))
        .init(device)
}

#[test]
fn outputs_and_gradients_match_burns_convolution() {
    let plain = Device::flex();
    let ad = Device::flex().autodiff();
    // (batch, c_in, c_out, height, width, kernel, padding): the U-Nets' 3×3, 1×1 and 7×7
    // convolutions at the smallest sizes the kernels take and non-square ones, an even kernel,
    // a padding below k / 2, a batch that the kernels split into several groups.
    for (b, c_in, c_out, h, w, k, p) in [
        (3, 4, 6, 17, 16, [3, 3], [1, 1]),
        (2, 5, 3, 16, 16, [1, 1], [0, 0]),
        (2, 1, 4, 27, 26, [7, 7], [3, 3]),
        (2, 3, 2, 16, 24, [2, 4], [1, 3]),
        (9, 3, 4, 16, 16, [3, 3], [1, 1]),
        (1, 2, 2, 20, 16, [5, 3], [0, 1]),
    ] {
        let case = format!("x [{b}, {c_in}, {h}, {w}], kernel {k:?}, padding {p:?}, {c_out} out");
        // Parameters created on the autodiff device are tracked; `valid()` is the same layer
        // without autodiff.
        let tracked = conv(c_in, c_out, k, p, &ad);
        let layer = tracked.valid();
        let x = Tensor::<4>::random([b, c_in, h, w], Distribution::Normal(0.0, 1.0), &plain);
        let (oh, ow) = (h + 2 * p[0] + 1 - k[0], w + 2 * p[1] + 1 - k[1]);
        let upstream =
            Tensor::<4>::random([b, c_out, oh, ow], Distribution::Normal(0.0, 1.0), &plain);

        // Without autodiff.
        assert!(uses_shift_gemm(&layer, &x), "the kernels apply ({case})");
        assert_close(
            "output (no autodiff)",
            dense_conv2d(&layer, x.clone()),
            layer.forward(x.clone()),
            &case,
        );

        // Under autodiff.
        let run = |ours: bool| {
            let xa = Tensor::<4>::from_data(x.to_data(), &ad).require_grad();
            assert!(uses_shift_gemm(&tracked, &xa), "the kernels apply ({case})");
            let y = if ours {
                dense_conv2d(&tracked, xa.clone())
            } else {
                tracked.forward(xa.clone())
            };
            let loss = (y.clone() * Tensor::<4>::from_data(upstream.to_data(), &ad)).sum();
            let grads = loss.backward();
            let to_plain = |t: TensorData| Tensor::<4>::from_data(t, &plain);
            let bias = tracked.bias.as_ref().expect("bias");
            (
                to_plain(y.inner().to_data()),
                to_plain(xa.grad(&grads).expect("input gradient").to_data()),
                to_plain(
                    tracked
                        .weight
                        .grad(&grads)
                        .expect("weight gradient")
                        .to_data(),
                ),
                values(bias.grad(&grads).expect("bias gradient")),
            )
        };
        let (y, dx, dw, db) = run(true);
        let (y_ref, dx_ref, dw_ref, db_ref) = run(false);
        assert_close("output", y, y_ref, &case);
        assert_close("input gradient", dx, dx_ref, &case);
        assert_close("weight gradient", dw, dw_ref, &case);
        for (o, r) in db.iter().zip(&db_ref) {
            assert!(
                (o - r).abs() <= 1e-5 * r.abs().max(1.0),
                "bias gradient {o} vs {r} ({case})"
            );
        }
    }
}

#[test]
fn other_convolutions_are_burns_call() {
    let device = Device::flex();
    let x = Tensor::<4>::random([2, 4, 16, 16], Distribution::Normal(0.0, 1.0), &device);
    let small = Tensor::<4>::random([2, 4, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let strided = Conv2dConfig::new([4, 3], [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&device);
    let grouped = Conv2dConfig::new([4, 4], [3, 3])
        .with_groups(2)
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&device);
    let same = Conv2dConfig::new([4, 3], [3, 3])
        .with_padding(PaddingConfig2d::Same)
        .init(&device);
    let asymmetric = Conv2dConfig::new([4, 3], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 0, 1))
        .init(&device);
    let too_wide = conv(4, 3, [3, 3], [3, 3], &device);
    let wasteful = conv(4, 3, [7, 7], [3, 3], &device);
    let plain = conv(4, 3, [3, 3], [1, 1], &device);
    assert!(
        uses_shift_gemm(&plain, &x),
        "a 3×3 convolution of 16×16 images"
    );
    for (name, layer, x) in [
        ("strided", strided, &x),
        ("grouped", grouped, &x),
        ("same", same, &x),
        ("asymmetric", asymmetric, &x),
        ("padding ≥ kernel", too_wide, &x),
        ("7×7 padding 3 on 16×16 (38 % padding)", wasteful, &x),
        ("8×8 images", plain, &small),
    ] {
        assert!(!uses_shift_gemm(&layer, x), "{name}: Burn's path");
        assert_eq!(
            values(dense_conv2d(&layer, x.clone())),
            values(layer.forward(x.clone())),
            "{name}"
        );
    }
}
