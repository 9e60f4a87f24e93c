//! Golden parity: the original networks (random weights, fixed inputs and time steps, outputs
//! recorded by the original PyTorch code in `networks_io.safetensors`) are reproduced within
//! the manifest's tolerance, loading the weights through the `.pt` path and the safetensors
//! path. Configurations are the manifest's `config` objects verbatim (their extra fields
//! `seed`, `weights`, `n_params` must be ignored with a warning).

mod common;

use std::collections::HashMap;
use std::path::Path;

use burn::store::pytorch_reader::PytorchReader;
use burn::tensor::Device;
use cold_unet::{CheckpointEntry, NetConfig, RestorationNet, WeightsFormat};
use common::{fixture, golden_case, max_abs_diff, values};

/// The manifest's config of case `unet_small`.
const UNET_SMALL: &str = r#"{"dim": 16, "dim_mults": [1, 2], "channels": 3, "with_time_emb": true,
    "residual": false, "seed": 1, "weights": ["unet_small.safetensors", "unet_small.pt"],
    "n_params": 271900}"#;
/// The manifest's config of case `unet_paperlike_small`.
const UNET_PAPERLIKE_SMALL: &str = r#"{"dim": 8, "dim_mults": [1, 2, 4, 8], "channels": 1,
    "with_time_emb": true, "residual": false, "seed": 2,
    "weights": ["unet_paperlike_small.safetensors", "unet_paperlike_small.pt"],
    "n_params": 1021940}"#;
/// The manifest's config of case `checkpoint_unet`.
const CHECKPOINT_UNET: &str = r#"{"dim": 8, "dim_mults": [1, 2], "channels": 3,
    "with_time_emb": true, "residual": false, "seed": 4, "n_params": 83868}"#;
/// The manifest's config of case `ddpm_small`.
const DDPM_SMALL: &str = r#"{"ch": 32, "out_ch": 3, "ch_mult": [1, 2], "num_res_blocks": 1,
    "attn_resolutions": [16], "dropout": 0.0, "resolution": 32, "in_channels": 3, "seed": 3,
    "weights": ["ddpm_small.safetensors", "ddpm_small.pt"], "n_params": 702499}"#;

/// Manifest tolerances (`tolerance.atol` of each case's `y`).
const ATOL_UNET_SMALL: f32 = 2e-6;
const ATOL_UNET_PAPERLIKE_SMALL: f32 = 2e-6;
const ATOL_CHECKPOINT_UNET: f32 = 9e-7;
const ATOL_DDPM_SMALL: f32 = 3e-5;

fn config(json: &str, arch: &str, n_params: usize) -> NetConfig {
    let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
    value["arch"] = arch.into();
    let parsed = NetConfig::from_json_value(&value).unwrap();
    for extra in ["seed", "n_params"] {
        assert!(parsed.ignored_fields.contains(&extra.to_string()));
    }
    assert_eq!(parsed.warnings.len(), parsed.ignored_fields.len());
    assert_eq!(parsed.config.num_params(), n_params, "manifest n_params");
    parsed.config
}

fn check_case(net: &RestorationNet, case: &str, atol: f32, device: &Device) -> f32 {
    let golden = golden_case(case, device);
    let y = net.forward(golden.x, golden.t);
    assert_eq!(y.dims(), golden.y_shape);
    let err = max_abs_diff(&values(y), &golden.y);
    assert!(
        err <= atol,
        "{case}: max |ours - original| = {err:e} > atol {atol:e}"
    );
    err
}

/// Re-create a safetensors file from a `.pt` fixture with the raw `safetensors` crate (the
/// keys and values of the `.pt`, as Python's `safetensors.torch.save_file` would store them),
/// independently of this crate's writer. Used for the cases whose Python-written safetensors
/// file is not kept in the fixtures (see tests/fixtures/README.md).
fn pt_to_safetensors(pt: &Path, out: &Path) {
    let reader = PytorchReader::new(pt).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = reader
        .tensors()
        .iter()
        .map(|(k, t)| (k.clone(), t.shape().to_vec(), t.read().unwrap()))
        .collect();
    tensors.sort();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(k, s, b)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .unwrap();
            (k.clone(), view)
        })
        .collect();
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(views, Some(meta), out).unwrap();
}

fn load(config: &NetConfig, file: &Path) -> RestorationNet {
    let (net, report) =
        RestorationNet::from_file(config, file, CheckpointEntry::Ema, &Device::flex()).unwrap();
    assert!(report.ignored.is_empty(), "{:?}", report.ignored);
    assert_eq!(
        report.loaded,
        config.init(&Device::flex()).num_params_tensors()
    );
    net
}

trait TensorCount {
    fn num_params_tensors(&self) -> usize;
}

impl TensorCount for RestorationNet {
    fn num_params_tensors(&self) -> usize {
        use burn::store::ModuleSnapshot;
        self.collect(None, None, false).len()
    }
}

#[test]
fn unet_small_from_pt() {
    let device = Device::flex();
    let cfg = config(UNET_SMALL, "unet", 271_900);
    let net = load(&cfg, &fixture("unet_small.pt"));
    check_case(&net, "unet_small", ATOL_UNET_SMALL, &device);
}

#[test]
fn unet_small_from_python_written_safetensors() {
    let device = Device::flex();
    let cfg = config(UNET_SMALL, "unet", 271_900);
    let (net, report) = RestorationNet::from_file(
        &cfg,
        fixture("unet_small.safetensors"),
        CheckpointEntry::Ema,
        &device,
    )
    .unwrap();
    assert_eq!(report.format, WeightsFormat::Safetensors);
    assert_eq!(report.entry, None);
    assert_eq!(report.loaded, 122);
    check_case(&net, "unet_small", ATOL_UNET_SMALL, &device);
}

#[test]
fn unet_paperlike_small_from_pt_and_safetensors() {
    let device = Device::flex();
    let cfg = config(UNET_PAPERLIKE_SMALL, "unet", 1_021_940);
    let pt = fixture("unet_paperlike_small.pt");
    check_case(
        &load(&cfg, &pt),
        "unet_paperlike_small",
        ATOL_UNET_PAPERLIKE_SMALL,
        &device,
    );

    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("unet_paperlike_small.safetensors");
    pt_to_safetensors(&pt, &st);
    check_case(
        &load(&cfg, &st),
        "unet_paperlike_small",
        ATOL_UNET_PAPERLIKE_SMALL,
        &device,
    );
}

#[test]
fn ddpm_small_from_pt_and_safetensors() {
    let device = Device::flex();
    let cfg = config(DDPM_SMALL, "resunet", 702_499);
    let pt = fixture("ddpm_small.pt");
    check_case(&load(&cfg, &pt), "ddpm_small", ATOL_DDPM_SMALL, &device);

    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("ddpm_small.safetensors");
    pt_to_safetensors(&pt, &st);
    check_case(&load(&cfg, &st), "ddpm_small", ATOL_DDPM_SMALL, &device);
}

#[test]
fn original_trainer_checkpoint_model_and_ema() {
    let device = Device::flex();
    let cfg = config(CHECKPOINT_UNET, "unet", 83_868);
    for entry in [CheckpointEntry::Ema, CheckpointEntry::Model] {
        let (net, report) = RestorationNet::from_file(
            &cfg,
            fixture("checkpoint_like_blur_cifar10.pt"),
            entry,
            &device,
        )
        .unwrap();
        assert_eq!(report.format, WeightsFormat::Pytorch);
        assert_eq!(report.entry, Some(entry));
        assert_eq!(report.prefix, "module.denoise_fn.");
        assert_eq!(report.loaded, 172 - 50);
        // The 50 blur kernels of GaussianDiffusion (T = 50) are not network weights.
        assert_eq!(report.ignored.len(), 50);
        assert!(
            report
                .ignored
                .iter()
                .all(|k| k.starts_with("module.gaussian_kernels."))
        );
        check_case(&net, "checkpoint_unet", ATOL_CHECKPOINT_UNET, &device);
    }
}

#[test]
fn checkpoint_state_dict_as_safetensors_with_prefixes() {
    // The checkpoint's `model` state dict (keys `module.denoise_fn.*` plus the wrapper's
    // `module.gaussian_kernels.*`) written as safetensors: prefixes are stripped and the
    // wrapper tensors ignored on the safetensors path too.
    let device = Device::flex();
    let cfg = config(CHECKPOINT_UNET, "unet", 83_868);
    let reader =
        PytorchReader::with_top_level_key(fixture("checkpoint_like_blur_cifar10.pt"), "model")
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for prefix_kept in ["module.", ""] {
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = reader
            .tensors()
            .iter()
            .map(|(k, t)| {
                let key = if prefix_kept.is_empty() {
                    k.trim_start_matches("module.").to_string()
                } else {
                    k.clone()
                };
                (key, t.shape().to_vec(), t.read().unwrap())
            })
            .collect();
        tensors.sort();
        let views: Vec<_> = tensors
            .iter()
            .map(|(k, s, b)| {
                let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap();
                (k.clone(), v)
            })
            .collect();
        let path = dir
            .path()
            .join(format!("ck{}.safetensors", prefix_kept.len()));
        safetensors::serialize_to_file(views, None, &path).unwrap();
        let (net, report) =
            RestorationNet::from_file(&cfg, &path, CheckpointEntry::Ema, &device).unwrap();
        assert_eq!(report.prefix, format!("{prefix_kept}denoise_fn."));
        assert_eq!(report.ignored.len(), 50);
        check_case(&net, "checkpoint_unet", ATOL_CHECKPOINT_UNET, &device);
    }
}

#[test]
fn legacy_format_trainer_checkpoint_picks_the_requested_entry() {
    // trainer_ckpt_legacy.pt: the checkpoint weights in PyTorch's legacy (non-zip) format, with
    // `ema` = `model` except final_conv.1.bias + 1 (see make_fixtures.py). The output is
    // final_conv.1(h) + bias, so the EMA network must output exactly the model's output + 1.
    let device = Device::flex();
    let cfg = config(CHECKPOINT_UNET, "unet", 83_868);
    let path = fixture("trainer_ckpt_legacy.pt");
    let (model, report) =
        RestorationNet::from_file(&cfg, &path, CheckpointEntry::Model, &device).unwrap();
    assert_eq!(report.entry, Some(CheckpointEntry::Model));
    assert_eq!(report.other_entries, vec!["ema".to_string()]);
    check_case(&model, "checkpoint_unet", ATOL_CHECKPOINT_UNET, &device);

    let (ema, report) =
        RestorationNet::from_file(&cfg, &path, CheckpointEntry::Ema, &device).unwrap();
    assert_eq!(report.entry, Some(CheckpointEntry::Ema));
    let golden = golden_case("checkpoint_unet", &device);
    let y_model = values(model.forward(golden.x.clone(), golden.t.clone()));
    let y_ema = values(ema.forward(golden.x, golden.t));
    let shifted: Vec<f32> = y_model.iter().map(|v| v + 1.0).collect();
    assert!(max_abs_diff(&y_ema, &shifted) < 1e-6);
    assert!(max_abs_diff(&y_ema, &y_model) > 0.99);
}
