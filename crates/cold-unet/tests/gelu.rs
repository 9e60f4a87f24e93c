//! `cold_unet::gelu::gelu` against Burn's `activation::gelu` (libm `erff`, one element at a
//! time) on Flex: the same values and, under autodiff, the same gradients, on shapes that
//! leave partial blocks, span several parallel chunks, or arrive non-contiguous.

use burn::tensor::activation;
use burn::tensor::{Device, Distribution, Tensor};
use cold_unet::gelu::{gelu, uses_fast_gelu};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec()
        .expect("f32 data")
}

/// Both implementations are within ~1.2 · 10⁻⁷ · max(1, |x|) of the exact GELU (derivative:
/// ours 2.3 · 10⁻⁷ · max(1, |x|)), so they agree within `tolerance · max(1, |x|) ·
/// max(1, |dy|)`, `dy` = 1 for the values.
fn assert_close(what: &str, ours: Vec<f32>, burn: Vec<f32>, x: &[f32], dy: &[f32], tolerance: f32) {
    assert_eq!(ours.len(), burn.len(), "{what}: lengths");
    for (i, (((a, b), x), dy)) in ours.iter().zip(&burn).zip(x).zip(dy).enumerate() {
        let bound = tolerance * x.abs().max(1.0) * dy.abs().max(1.0);
        assert!(
            (a - b).abs() <= bound,
            "{what}[{i}] (x = {x}, dy = {dy}): ours {a}, Burn {b}, |diff| {} > {bound}",
            (a - b).abs()
        );
    }
}

#[test]
fn values_match_burns_gelu() {
    let device = Device::flex();
    // 2·3·5·7 = 210 values (a partial block of 2), then 3·40 000 (several rayon chunks), wide
    // enough to reach both tails.
    let small = Tensor::<4>::random([2, 3, 5, 7], Distribution::Normal(0.0, 3.0), &device);
    assert!(uses_fast_gelu(&small));
    assert_close(
        "gelu [2, 3, 5, 7]",
        values(gelu(small.clone())),
        values(activation::gelu(small.clone())),
        &values(small),
        &[1.0; 210],
        3e-7,
    );
    let large = Tensor::<2>::random([3, 40_000], Distribution::Uniform(-12.0, 12.0), &device);
    assert_close(
        "gelu [3, 40000]",
        values(gelu(large.clone())),
        values(activation::gelu(large.clone())),
        &values(large),
        &[1.0; 120_000],
        3e-7,
    );
    // A transposed (non-contiguous) view.
    let x =
        Tensor::<3>::random([4, 9, 11], Distribution::Normal(0.0, 2.0), &device).swap_dims(1, 2);
    assert_close(
        "gelu of a transposed view",
        values(gelu(x.clone())),
        values(activation::gelu(x.clone())),
        &values(x),
        &[1.0; 396],
        3e-7,
    );
}

#[test]
fn gradients_match_burns_gelu() {
    let plain = Device::flex();
    let ad = Device::flex().autodiff();
    for shape in [[2, 3, 5, 7], [4, 16, 32, 33]] {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 3.0), &plain);
        let upstream = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &plain);
        let run = |ours: bool| {
            let xa = Tensor::<4>::from_data(x.to_data(), &ad).require_grad();
            assert!(uses_fast_gelu(&xa), "the kernels apply under autodiff");
            // The activation is used twice, so the backward sums two paths into x.
            let y = if ours {
                gelu(xa.clone())
            } else {
                activation::gelu(xa.clone())
            };
            let up = Tensor::<4>::from_data(upstream.to_data(), &ad);
            let loss = (y.clone() * up).sum() + y.sum() * 0.5;
            let grads = loss.backward();
            values(xa.grad(&grads).expect("x has a gradient"))
        };
        // The gradient is dy · gelu'(x), dy = upstream + 0.5.
        assert_close(
            &format!("input gradient {shape:?}"),
            run(true),
            run(false),
            &values(x.clone()),
            &values(upstream.clone() + 0.5),
            4e-7,
        );
    }
}
