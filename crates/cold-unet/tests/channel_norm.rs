//! `cold_unet::channel_norm::channel_layer_norm` against the same formula written with Burn
//! tensor operations (the original `LayerNorm`): the same output without and with autodiff,
//! and the same gradients for the input, the gain and the bias, on Flex where the fused
//! kernels and their backward step run.

use burn::tensor::{Device, Distribution, Tensor};
use cold_unet::channel_norm::{channel_layer_norm, uses_fused_channel_norm};

/// The original's formula, one Burn operation at a time.
fn reference(x: Tensor<4>, gain: Tensor<4>, bias: Tensor<4>, epsilon: f64) -> Tensor<4> {
    let mean = x.clone().mean_dim(1);
    let centred = x - mean;
    let var = centred.clone().square().mean_dim(1);
    centred / (var + epsilon).sqrt() * gain + bias
}

fn assert_close(what: &str, ours: Tensor<4>, reference: Tensor<4>) {
    let scale = reference.clone().abs().max().into_scalar::<f32>();
    let diff = (ours - reference).abs().max().into_scalar::<f32>();
    assert!(
        diff <= 2e-5 * scale.max(1.0),
        "{what}: max |diff| {diff} (scale {scale})"
    );
}

#[test]
fn outputs_and_gradients_match_the_tensor_formula() {
    let plain = Device::flex();
    let ad = Device::flex().autodiff();
    // (batch, channels, height, width, epsilon): the networks' shapes in small, one channel
    // (zero variance: the output is the bias), pixel counts that are not multiples of 8, and
    // inputs far from zero mean.
    for (b, c, h, w, eps, offset) in [
        (3, 5, 4, 6, 1e-5, 0.0),
        (2, 1, 3, 3, 1e-5, 0.0),
        (4, 32, 8, 8, 1e-5, 3.0),
        (1, 7, 5, 3, 1e-2, -10.0),
    ] {
        let case = format!("x [{b}, {c}, {h}, {w}], eps {eps}, offset {offset}");
        let x = Tensor::<4>::random([b, c, h, w], Distribution::Normal(offset, 2.0), &plain);
        let gain = Tensor::<4>::random([1, c, 1, 1], Distribution::Normal(1.0, 0.5), &plain);
        let bias = Tensor::<4>::random([1, c, 1, 1], Distribution::Normal(0.0, 0.5), &plain);
        let upstream = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &plain);

        assert!(uses_fused_channel_norm(&x, &gain, &bias), "{case}");
        assert_close(
            &format!("output, {case}"),
            channel_layer_norm(x.clone(), gain.clone(), bias.clone(), eps),
            reference(x.clone(), gain.clone(), bias.clone(), eps),
        );

        let run = |ours: bool| {
            let tracked = |t: &Tensor<4>| Tensor::<4>::from_data(t.to_data(), &ad).require_grad();
            let (xa, ga, ba) = (tracked(&x), tracked(&gain), tracked(&bias));
            assert!(uses_fused_channel_norm(&xa, &ga, &ba), "{case}");
            let y = if ours {
                channel_layer_norm(xa.clone(), ga.clone(), ba.clone(), eps)
            } else {
                reference(xa.clone(), ga.clone(), ba.clone(), eps)
            };
            let up = Tensor::<4>::from_data(upstream.to_data(), &ad);
            let grads = (y.clone() * up).sum().backward();
            let grad = |t: &Tensor<4>| {
                Tensor::<4>::from_data(t.grad(&grads).expect("gradient").to_data(), &plain)
            };
            (y.inner(), grad(&xa), grad(&ga), grad(&ba))
        };
        let (y, dx, dg, db) = run(true);
        let (y_ref, dx_ref, dg_ref, db_ref) = run(false);
        assert_close(&format!("output under autodiff, {case}"), y, y_ref);
        assert_close(&format!("input gradient, {case}"), dx, dx_ref);
        assert_close(&format!("gain gradient, {case}"), dg, dg_ref);
        assert_close(&format!("bias gradient, {case}"), db, db_ref);
    }
}

#[test]
fn a_transposed_input_and_mismatched_parameters() {
    let device = Device::flex();
    // A non-contiguous view: the kernels read it through a contiguous copy.
    let x =
        Tensor::<4>::random([2, 6, 5, 4], Distribution::Normal(0.0, 1.0), &device).swap_dims(2, 3);
    let gain = Tensor::<4>::random([1, 6, 1, 1], Distribution::Normal(1.0, 0.5), &device);
    let bias = Tensor::<4>::random([1, 6, 1, 1], Distribution::Normal(0.0, 0.5), &device);
    assert_close(
        "transposed input",
        channel_layer_norm(x.clone(), gain.clone(), bias.clone(), 1e-5),
        reference(x.clone(), gain.clone(), bias.clone(), 1e-5),
    );
    // Parameters that are not `[1, C, 1, 1]` take the tensor formula (broadcasting as it does).
    let full_gain = Tensor::<4>::random([2, 6, 4, 5], Distribution::Normal(1.0, 0.5), &device);
    assert!(!uses_fused_channel_norm(&x, &full_gain, &bias));
    assert_close(
        "per-element gain",
        channel_layer_norm(x.clone(), full_gain.clone(), bias.clone(), 1e-5),
        reference(x, full_gain, bias, 1e-5),
    );
}
