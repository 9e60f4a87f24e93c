//! Parameter counts of the paper's networks (spec §2.1, §2.2 and the golden manifest's
//! `paper_config_parameter_counts`, computed there from the original module definitions), on
//! the built Burn modules, and the analytic counter against the built modules.

use burn::module::Module;
use burn::tensor::Device;
use cold_unet::{NetConfig, ResUnetConfig, UnetConfig};

fn built(config: impl Into<NetConfig>) -> usize {
    config.into().init(&Device::flex()).num_params()
}

#[test]
fn paper_convnext_unet_counts() {
    assert_eq!(built(UnetConfig::paper(3)), 56_615_708);
    assert_eq!(built(UnetConfig::paper(1)), 56_612_916);
    assert_eq!(
        built(UnetConfig::paper(3).with_with_time_emb(false)),
        56_278_745
    );
    assert_eq!(
        built(UnetConfig::paper(1).with_with_time_emb(false)),
        56_276_083
    );
}

#[test]
fn paper_ddpm_resunet_count() {
    assert_eq!(built(ResUnetConfig::paper_cifar10()), 35_746_307);
}

#[test]
fn analytic_count_matches_the_built_modules() {
    let configs: Vec<NetConfig> = vec![
        UnetConfig::paper(3).into(),
        UnetConfig::mnist_small().into(),
        UnetConfig::tiny(1).into(),
        UnetConfig::new(12).with_dim_mults(vec![1]).into(),
        UnetConfig::new(6)
            .with_dim_mults(vec![1, 3, 2])
            .with_channels(2)
            .with_out_dim(Some(5))
            .into(),
        UnetConfig::new(5)
            .with_dim_mults(vec![1, 2])
            .with_with_time_emb(false)
            .into(),
        ResUnetConfig::paper_cifar10().into(),
        ResUnetConfig::tiny().into(),
        ResUnetConfig::new(64, 1, 3, vec![4, 8], 2, 16)
            .with_ch_mult(vec![1, 2, 3])
            .with_resamp_with_conv(false)
            .into(),
        // resolution not divisible by 2^(levels-1): attention placement differs between the
        // encoder (30, 15, 7) and the decoder (7, 14, 28), as in the original.
        ResUnetConfig::new(32, 3, 1, vec![15, 28], 3, 30)
            .with_ch_mult(vec![1, 1, 1])
            .into(),
    ];
    for config in configs {
        assert_eq!(config.num_params(), built(config.clone()), "{config}");
    }
}

#[test]
fn presets_are_valid_and_unique() {
    let presets = NetConfig::presets();
    for (i, p) in presets.iter().enumerate() {
        p.config().validate().unwrap();
        assert!(presets[i + 1..].iter().all(|q| q.name != p.name));
        assert_eq!(NetConfig::preset(p.name), Some(p.config()));
    }
    assert_eq!(
        NetConfig::preset("unet-mnist-small"),
        Some(NetConfig::Unet(UnetConfig::mnist_small()))
    );
    assert_eq!(NetConfig::preset("no-such-preset"), None);
    assert_eq!(
        NetConfig::preset("unet-paper-mnist").unwrap().num_params(),
        56_612_916
    );
}
