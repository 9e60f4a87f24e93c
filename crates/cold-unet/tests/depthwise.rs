//! `depthwise_conv2d` against Burn's grouped `conv2d`: the same outputs and the same gradients
//! (input, weight, bias) on Flex under autodiff, where it runs its own backward step, and the
//! same outputs without autodiff, where it is Burn's call.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use cold_unet::depthwise::{depthwise_conv2d, uses_direct_gradients};

fn max_abs_diff(a: Tensor<4>, b: Tensor<4>) -> (f32, f32) {
    let scale = b.clone().abs().max().into_scalar::<f32>();
    ((a - b).abs().max().into_scalar::<f32>(), scale)
}

fn values(t: Tensor<4>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec()
        .expect("f32 data")
}

#[test]
fn gradients_match_burns_grouped_convolution() {
    let plain = Device::flex();
    let ad = Device::flex().autodiff();
    // (batch, channels, height, width, kernel, padding): the ConvNeXt 7×7 at a non-square size,
    // a 3×3, and a padding smaller than the kernel's half.
    for (b, c, h, w, k, p) in [
        (3, 4, 9, 6, 7, 3),
        (2, 1, 5, 5, 7, 3),
        (2, 3, 6, 7, 3, 1),
        (1, 2, 8, 8, 5, 1),
    ] {
        let x = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &plain);
        let weight = Tensor::<4>::random([c, 1, k, k], Distribution::Normal(0.0, 0.2), &plain);
        let bias = Tensor::<1>::random([c], Distribution::Normal(0.0, 0.2), &plain);
        let upstream_shape = [b, c, h + 2 * p + 1 - k, w + 2 * p + 1 - k];
        let upstream = Tensor::<4>::random(upstream_shape, Distribution::Normal(0.0, 1.0), &plain);
        let track = |t: TensorData| Tensor::<4>::from_data(t, &ad).require_grad();

        let run = |ours: bool| {
            let xa = track(x.to_data());
            let wa = track(weight.to_data());
            let ba = Tensor::<1>::from_data(bias.to_data(), &ad).require_grad();
            assert!(
                uses_direct_gradients(&xa, &wa, p),
                "the direct backward applies"
            );
            let y = if ours {
                depthwise_conv2d(xa.clone(), wa.clone(), Some(ba.clone()), p)
            } else {
                let options = ConvOptions::new([1, 1], [p, p], [1, 1], c);
                conv2d(xa.clone(), wa.clone(), Some(ba.clone()), options)
            };
            let loss = (y.clone() * Tensor::<4>::from_data(upstream.to_data(), &ad)).sum();
            let grads = loss.backward();
            let to_plain = |t: Tensor<4>| Tensor::<4>::from_data(t.to_data(), &plain);
            (
                to_plain(y.inner()),
                to_plain(xa.grad(&grads).expect("input gradient")),
                to_plain(wa.grad(&grads).expect("weight gradient")),
                ba.grad(&grads).expect("bias gradient").to_data(),
            )
        };
        let (y, dx, dw, db) = run(true);
        let (y_ref, dx_ref, dw_ref, db_ref) = run(false);
        for (what, ours, reference) in [
            ("output", y, y_ref),
            ("input gradient", dx, dx_ref),
            ("weight gradient", dw, dw_ref),
        ] {
            let (diff, scale) = max_abs_diff(ours, reference);
            assert!(
                diff <= 1e-5 * scale.max(1.0),
                "{what}, shape {:?} kernel {k} padding {p}: max |diff| {diff} (scale {scale})",
                [b, c, h, w]
            );
        }
        let db = db.convert::<f32>().try_to_vec::<f32>().unwrap();
        let db_ref = db_ref.convert::<f32>().try_to_vec::<f32>().unwrap();
        for (o, r) in db.iter().zip(&db_ref) {
            assert!(
                (o - r).abs() <= 1e-5 * r.abs().max(1.0),
                "bias gradient {o} vs {r}"
            );
        }
    }
}

#[test]
fn without_autodiff_it_is_burns_convolution() {
    let device = Device::flex();
    let x = Tensor::<4>::random([2, 3, 7, 5], Distribution::Normal(0.0, 1.0), &device);
    let weight = Tensor::<4>::random([3, 1, 7, 7], Distribution::Normal(0.0, 0.2), &device);
    let bias = Tensor::<1>::random([3], Distribution::Normal(0.0, 0.2), &device);
    assert!(!uses_direct_gradients(&x, &weight, 3));
    let ours = depthwise_conv2d(x.clone(), weight.clone(), Some(bias.clone()), 3);
    let options = ConvOptions::new([1, 1], [3, 3], [1, 1], 3);
    assert_eq!(values(ours), values(conv2d(x, weight, Some(bias), options)));
}
