//! Shapes (non-square included), input validation before any tensor work, and the `residual` /
//! `with_time_emb` switches as closed-form invariants.

mod common;

use burn::tensor::{Device, Distribution, Int, Tensor};
use cold_unet::{InputError, NetConfig, ResUnetConfig, RestorationNet, UnetConfig};
use common::{max_abs_diff, values};

fn ints(values: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(
        burn::tensor::TensorData::new(values.to_vec(), [values.len()]),
        device,
    )
}

fn randn(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

#[test]
fn unet_keeps_non_square_shapes() {
    let device = Device::flex();
    // 2 levels: any even H, W.
    let net = UnetConfig::tiny(3).init(&device);
    for [h, w] in [[8, 8], [16, 24], [6, 10], [32, 2]] {
        let y = net.forward(randn([2, 3, h, w], &device), ints(&[0, 7], &device));
        assert_eq!(y.dims(), [2, 3, h, w]);
    }
    // 4 levels (the paper's depth): multiples of 8.
    let net = UnetConfig::new(8).with_channels(1).init(&device);
    let y = net.forward(randn([1, 1, 24, 40], &device), ints(&[3], &device));
    assert_eq!(y.dims(), [1, 1, 24, 40]);
    // out_dim differs from channels.
    let net = UnetConfig::tiny(3).with_out_dim(Some(1)).init(&device);
    let y = net.forward(randn([1, 3, 8, 12], &device), ints(&[3], &device));
    assert_eq!(y.dims(), [1, 1, 8, 12]);
}

#[test]
fn resunet_keeps_non_square_shapes() {
    let device = Device::flex();
    let net = ResUnetConfig::tiny().init(&device);
    for [h, w] in [[32, 32], [16, 48], [8, 2]] {
        let y = net.forward(randn([2, 3, h, w], &device), ints(&[0, 49], &device));
        assert_eq!(y.dims(), [2, 3, h, w]);
    }
    let net = ResUnetConfig::new(32, 1, 1, vec![8], 2, 16)
        .with_ch_mult(vec![1, 1, 2])
        .with_resamp_with_conv(false)
        .init(&device);
    let y = net.forward(randn([1, 2, 12, 20], &device), ints(&[1], &device));
    assert_eq!(y.dims(), [1, 1, 12, 20]);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let device = Device::flex();
    let nets = [
        NetConfig::Unet(UnetConfig::new(8).with_channels(1)).init(&device), // divisor 8
        NetConfig::ResUnet(
            ResUnetConfig::new(32, 1, 1, vec![], 1, 32).with_ch_mult(vec![1, 1, 1, 1]),
        )
        .init(&device),
    ];
    for net in &nets {
        let t2 = || ints(&[0, 1], &device);
        let e = net
            .try_forward(randn([2, 3, 16, 16], &device), t2())
            .unwrap_err();
        assert_eq!(
            e,
            InputError::Channels {
                expected: 1,
                found: 3
            }
        );
        let e = net
            .try_forward(randn([2, 1, 12, 16], &device), t2())
            .unwrap_err();
        assert_eq!(
            e,
            InputError::Size {
                height: 12,
                width: 16,
                levels: 4,
                divisor: 8
            }
        );
        assert!(e.to_string().contains("multiples of 8"), "{e}");
        let e = net
            .try_forward(randn([2, 1, 16, 20], &device), t2())
            .unwrap_err();
        assert!(matches!(e, InputError::Size { width: 20, .. }));
        let e = net
            .try_forward(randn([2, 1, 16, 16], &device), ints(&[4], &device))
            .unwrap_err();
        assert_eq!(
            e,
            InputError::Batch {
                expected: 2,
                found: 1
            }
        );
        assert_eq!(
            net.check_input([0, 1, 8, 8], 0),
            Err(InputError::EmptyBatch)
        );
        assert_eq!(net.check_input([3, 1, 8, 48], 3), Ok(()));
    }
}

#[test]
#[should_panic(expected = "height and width must both be positive multiples of 2")]
fn forward_panics_with_the_input_error_message() {
    let device = Device::flex();
    let net = UnetConfig::tiny(1).init(&device);
    let _ = net.forward(randn([1, 1, 9, 8], &device), ints(&[0], &device));
}

/// Two networks of `a` and `b` configurations that share every weight (the weights of `a` are
/// serialised and loaded into `b`).
fn same_weights(a: UnetConfig, b: UnetConfig, device: &Device) -> (RestorationNet, RestorationNet) {
    let net_a = NetConfig::Unet(a).init(device);
    let bytes = net_a.to_safetensors_bytes().unwrap();
    let (net_b, _) = NetConfig::Unet(b)
        .init(device)
        .load_safetensors_bytes(bytes, "<a>")
        .unwrap();
    (net_a, net_b)
}

#[test]
fn residual_switch_adds_the_input() {
    let device = Device::flex();
    let (plain, residual) = same_weights(
        UnetConfig::tiny(3),
        UnetConfig::tiny(3).with_residual(true),
        &device,
    );
    let x = randn([2, 3, 8, 16], &device);
    let t = ints(&[2, 11], &device);
    let y_plain = plain.forward(x.clone(), t.clone());
    let y_res = residual.forward(x.clone(), t);
    let expected = values(y_plain + x);
    assert!(max_abs_diff(&values(y_res), &expected) < 1e-6);
}

#[test]
fn without_time_embedding_the_output_ignores_t() {
    let device = Device::flex();
    let net = UnetConfig::tiny(1).with_with_time_emb(false).init(&device);
    let x = randn([2, 1, 8, 8], &device);
    let a = values(net.forward(x.clone(), ints(&[0, 0], &device)));
    let b = values(net.forward(x.clone(), ints(&[5, 199], &device)));
    assert_eq!(a, b);
    // ... and with it, t matters.
    let net = UnetConfig::tiny(1).init(&device);
    let a = values(net.forward(x.clone(), ints(&[0, 0], &device)));
    let b = values(net.forward(x, ints(&[5, 199], &device)));
    assert!(max_abs_diff(&a, &b) > 1e-4);
}

#[test]
fn batch_items_are_independent() {
    // The networks have no batch statistics: item i of a batch equals the item run alone.
    let device = Device::flex();
    for config in [
        NetConfig::Unet(UnetConfig::tiny(3)),
        NetConfig::ResUnet(ResUnetConfig::tiny()),
    ] {
        let net = config.init(&device);
        let x = randn([3, 3, 16, 8], &device);
        let t = ints(&[0, 4, 9], &device);
        let all = values(net.forward(x.clone(), t));
        let second = values(net.forward(x.narrow(0, 1, 1), ints(&[4], &device)));
        let n = second.len();
        assert!(max_abs_diff(&all[n..2 * n], &second) < 1e-5, "{config}");
    }
}
