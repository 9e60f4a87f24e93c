//! Weight files: our safetensors round trip (bit-identical), the original key layout of what we
//! write, and every error path (wrong architecture, missing / unexpected / mis-shaped keys,
//! missing checkpoint entry, unreadable files).

mod common;

use std::path::Path;

use burn::store::ModuleSnapshot;
use burn::store::pytorch_reader::PytorchReader;
use burn::tensor::{Device, Distribution, Int, Tensor};
use cold_unet::{
    CheckpointEntry, NetConfig, ResUnetConfig, RestorationNet, UnetConfig, UnetError,
    read_safetensors_config,
};
use common::{fixture, values};
use safetensors::SafeTensors;

/// Every parameter as (Burn path, raw bytes).
fn params(net: &RestorationNet) -> Vec<(String, Vec<u8>)> {
    net.collect(None, None, false)
        .into_iter()
        .map(|t| (t.name.clone(), t.to_bytes().unwrap().to_vec()))
        .collect()
}

fn unet_small() -> NetConfig {
    NetConfig::Unet(UnetConfig::new(16).with_dim_mults(vec![1, 2]))
}

#[test]
fn safetensors_round_trip_is_bit_identical() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    for config in [
        unet_small(),
        NetConfig::Unet(UnetConfig::tiny(1).with_with_time_emb(false)),
        NetConfig::ResUnet(ResUnetConfig::tiny()),
    ] {
        let net = config.init(&device);
        let path = dir.path().join(format!("{}.safetensors", config.arch()));
        net.save_safetensors(&path).unwrap();
        assert!(
            !dir.path()
                .join(format!(".{}.safetensors.tmp", config.arch()))
                .exists()
        );
        assert_eq!(
            read_safetensors_config(&path).unwrap(),
            Some(config.clone())
        );

        // A freshly initialised network has other weights; loading restores them exactly.
        let fresh = config.init(&device);
        assert_ne!(params(&fresh), params(&net));
        let (loaded, report) = fresh.load_file(&path, CheckpointEntry::Ema).unwrap();
        assert_eq!(params(&loaded), params(&net), "{config}");
        assert_eq!(report.loaded, params(&net).len());

        let x = Tensor::<4>::random(
            [1, config.in_channels(), 8, 8],
            Distribution::Default,
            &device,
        );
        let t = Tensor::<1, Int>::from_ints([3], &device);
        assert_eq!(
            values(loaded.forward(x.clone(), t.clone())),
            values(net.forward(x, t))
        );

        // The in-memory form holds the same bytes as the file.
        let bytes = net.to_safetensors_bytes().unwrap();
        assert_eq!(bytes, std::fs::read(&path).unwrap());
        let (from_bytes, _) = config
            .init(&device)
            .load_safetensors_bytes(bytes, "<bytes>")
            .unwrap();
        assert_eq!(params(&from_bytes), params(&net));
    }
}

#[test]
fn saved_files_use_the_original_keys_and_layouts() {
    // Our file for the unet_small configuration has exactly the keys and shapes of the
    // original state dict in unet_small.pt (so the original code can load it).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.safetensors");
    unet_small()
        .init(&Device::flex())
        .save_safetensors(&path)
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let ours = SafeTensors::deserialize(&bytes).unwrap();
    let mut ours: Vec<(String, Vec<usize>)> = ours
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, v.shape().to_vec()))
        .collect();
    ours.sort();
    let reader = PytorchReader::new(fixture("unet_small.pt")).unwrap();
    let mut original: Vec<(String, Vec<usize>)> = reader
        .tensors()
        .iter()
        .map(|(k, t)| (k.clone(), t.shape().to_vec()))
        .collect();
    original.sort();
    assert_eq!(ours, original);

    // The same holds for the DDPM network against ddpm_small.pt.
    let path = dir.path().join("ddpm.safetensors");
    NetConfig::ResUnet(ResUnetConfig::tiny())
        .init(&Device::flex())
        .save_safetensors(&path)
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut ours: Vec<(String, Vec<usize>)> = SafeTensors::deserialize(&bytes)
        .unwrap()
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, v.shape().to_vec()))
        .collect();
    ours.sort();
    let reader = PytorchReader::new(fixture("ddpm_small.pt")).unwrap();
    let mut original: Vec<(String, Vec<usize>)> = reader
        .tensors()
        .iter()
        .map(|(k, t)| (k.clone(), t.shape().to_vec()))
        .collect();
    original.sort();
    assert_eq!(ours, original);
}

#[test]
fn wrong_architecture_is_named() {
    let device = Device::flex();
    let err = RestorationNet::from_file(
        &unet_small(),
        fixture("ddpm_small.pt"),
        CheckpointEntry::Ema,
        &device,
    )
    .unwrap_err();
    assert!(
        matches!(err, UnetError::ArchitectureMismatch { .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("ddpm_small.pt") && msg.contains("DDPM ResNet U-Net"),
        "{msg}"
    );

    let err = RestorationNet::from_file(
        &NetConfig::ResUnet(ResUnetConfig::tiny()),
        fixture("unet_small.pt"),
        CheckpointEntry::Ema,
        &device,
    )
    .unwrap_err();
    assert!(
        matches!(err, UnetError::ArchitectureMismatch { .. }),
        "{err}"
    );
}

/// Write `tensors` (key, shape, f32 values) as a safetensors file.
fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<u8>)]) {
    let views: Vec<_> = tensors
        .iter()
        .map(|(k, s, b)| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .unwrap();
            (k.clone(), v)
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn unet_small_tensors() -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let reader = PytorchReader::new(fixture("unet_small.pt")).unwrap();
    let mut tensors: Vec<_> = reader
        .tensors()
        .iter()
        .map(|(k, t)| (k.clone(), t.shape().to_vec(), t.read().unwrap()))
        .collect();
    tensors.sort();
    tensors
}

#[test]
fn missing_unexpected_and_mis_shaped_keys_are_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.safetensors");
    let mut tensors = unet_small_tensors();
    // missing: drop one tensor
    tensors.retain(|(k, _, _)| k != "mid_attn.fn.norm.g");
    // unexpected: add one
    tensors.push(("downs.0.4.weight".into(), vec![2], vec![0; 8]));
    // mis-shaped: truncate the time MLP's first bias from 64 to 63 values
    let bias = tensors
        .iter_mut()
        .find(|(k, _, _)| k == "time_mlp.1.bias")
        .unwrap();
    bias.1 = vec![63];
    bias.2.truncate(63 * 4);
    write_safetensors(&path, &tensors);

    let err =
        RestorationNet::from_file(&unet_small(), &path, CheckpointEntry::Ema, &Device::flex())
            .unwrap_err();
    let UnetError::StateDictMismatch {
        missing,
        unexpected,
        mis_shaped,
        ..
    } = &err
    else {
        panic!("expected StateDictMismatch, got {err}");
    };
    assert_eq!(
        missing,
        &vec![("mid_attn.fn.norm.g".to_string(), vec![1, 32, 1, 1])]
    );
    assert_eq!(unexpected, &vec![("downs.0.4.weight".to_string(), vec![2])]);
    assert_eq!(mis_shaped.len(), 1);
    assert_eq!(mis_shaped[0].key, "time_mlp.1.bias");
    assert_eq!(
        (mis_shaped[0].expected.clone(), mis_shaped[0].found.clone()),
        (vec![64], vec![63])
    );
    let msg = err.to_string();
    for needle in [
        "corrupt.safetensors",
        "1 missing, 1 unexpected, 1 mis-shaped",
        "mid_attn.fn.norm.g",
        "downs.0.4.weight",
        "time_mlp.1.bias expected [64], found [63]",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in:\n{msg}");
    }
}

#[test]
fn a_config_that_does_not_match_the_weights_lists_every_difference() {
    // unet_small.pt was trained with dim 16; a dim-8 configuration mis-shapes nearly everything
    // and misses nothing.
    let config = NetConfig::Unet(UnetConfig::new(8).with_dim_mults(vec![1, 2]));
    let err = RestorationNet::from_file(
        &config,
        fixture("unet_small.pt"),
        CheckpointEntry::Ema,
        &Device::flex(),
    )
    .unwrap_err();
    let UnetError::StateDictMismatch {
        missing,
        unexpected,
        mis_shaped,
        ..
    } = &err
    else {
        panic!("expected StateDictMismatch, got {err}");
    };
    assert!(missing.is_empty() && unexpected.is_empty());
    assert!(mis_shaped.len() > 100, "{}", mis_shaped.len());

    // A deeper configuration misses the third level.
    let config = NetConfig::Unet(UnetConfig::new(16).with_dim_mults(vec![1, 2, 4]));
    let err = RestorationNet::from_file(
        &config,
        fixture("unet_small.pt"),
        CheckpointEntry::Ema,
        &Device::flex(),
    )
    .unwrap_err();
    let UnetError::StateDictMismatch { missing, .. } = &err else {
        panic!("expected StateDictMismatch, got {err}");
    };
    assert!(missing.iter().any(|(k, _)| k.starts_with("downs.2.")));
}

#[test]
fn missing_checkpoint_entry_is_named() {
    // A trainer-style state dict with only a `model` entry, asked for `ema`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model_only.safetensors");
    let tensors: Vec<_> = unet_small_tensors()
        .into_iter()
        .map(|(k, s, b)| (format!("model.module.denoise_fn.{k}"), s, b))
        .collect();
    write_safetensors(&path, &tensors);
    let err =
        RestorationNet::from_file(&unet_small(), &path, CheckpointEntry::Ema, &Device::flex())
            .unwrap_err();
    assert!(matches!(err, UnetError::MissingEntry { .. }), "{err}");
    assert!(err.to_string().contains("no \"ema\" entry"), "{err}");
    let (_, report) = RestorationNet::from_file(
        &unet_small(),
        &path,
        CheckpointEntry::Model,
        &Device::flex(),
    )
    .unwrap();
    assert_eq!(report.prefix, "module.denoise_fn.");
}

#[test]
fn unreadable_files_are_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pt");
    let err = RestorationNet::from_file(
        &unet_small(),
        &missing,
        CheckpointEntry::Ema,
        &Device::flex(),
    )
    .unwrap_err();
    assert!(
        matches!(err, UnetError::Io { .. }) && err.to_string().contains("nope.pt"),
        "{err}"
    );

    let garbage = dir.path().join("garbage.pt");
    std::fs::write(&garbage, b"this is not a checkpoint at all").unwrap();
    let err = RestorationNet::from_file(
        &unet_small(),
        &garbage,
        CheckpointEntry::Ema,
        &Device::flex(),
    )
    .unwrap_err();
    assert!(
        matches!(err, UnetError::Format { .. }) && err.to_string().contains("garbage.pt"),
        "{err}"
    );

    // Not one of our files: no configuration in the metadata.
    assert_eq!(
        read_safetensors_config(fixture("unet_small.safetensors")).unwrap(),
        None
    );
}
