//! Data sets named on the command line (`--data`) and batches of them as tensors.

use std::path::Path;
use std::sync::Arc;

use burn::tensor::{Device, Tensor};
use cold_diffusion::data::{
    Channels, Cifar10, DatasetKind, Experiment, FolderOptions, ImageFolder, ImageSet, Loader,
    LoaderConfig, Mnist, Preset, Split,
};
use cold_diffusion::degrade::DegradationConfig;
use cold_diffusion::train::DatasetSource;

use crate::error::{CliError, Result};

/// A data set read for evaluation or for fitting a prior.
#[derive(Debug, Clone)]
pub struct Named {
    /// The images.
    pub set: ImageSet,
    /// Which of the paper's data sets it is (for the original test loader).
    pub kind: DatasetKind,
    /// For messages.
    pub description: String,
}

fn has_file_starting(dir: &Path, prefixes: &[&str]) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(|e| e.ok()).any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            prefixes.iter().any(|p| name.starts_with(p))
        })
    })
}

/// Reads `split` of `spec`: `mnist` (the bundled copy), an MNIST directory (IDX files), a
/// CIFAR-10 directory (binary batches), or an image folder (every image below it).
///
/// # Errors
/// A path that does not exist, or the reader's error (it names the file).
pub fn load(spec: &str, split: Split, channels: usize) -> Result<Named> {
    let target = Channels::from_count(channels)?;
    if spec.eq_ignore_ascii_case("mnist") {
        return Ok(Named {
            set: Mnist::bundled(split)?.to_channels(target),
            kind: DatasetKind::Mnist,
            description: "bundled MNIST".into(),
        });
    }
    let path = Path::new(spec);
    if !path.exists() {
        return Err(CliError::new(format!(
            "{spec}: no such file or directory (data: give `mnist`, an MNIST or CIFAR-10 directory, an image folder or a .safetensors file)"
        )));
    }
    let (set, kind, what) =
        if path.is_dir() && has_file_starting(path, &["t10k-images", "train-images"]) {
            (Mnist::load(path, split)?, DatasetKind::Mnist, "MNIST")
        } else if path.is_dir()
            && (path.join("cifar-10-batches-bin").is_dir()
                || has_file_starting(path, &["test_batch", "data_batch_"]))
        {
            (
                Cifar10::load(path, split)?,
                DatasetKind::Cifar10,
                "CIFAR-10",
            )
        } else {
            let options = FolderOptions {
                channels: Some(target),
                ..FolderOptions::default()
            };
            (
                ImageFolder::load(path, &options)?.images,
                DatasetKind::Other,
                "image folder",
            )
        };
    Ok(Named {
        set: set.to_channels(target),
        kind,
        description: format!("{what} {}", path.display()),
    })
}

/// Reads the training split of a training configuration's data source.
///
/// # Errors
/// As [`load`].
pub fn load_source(source: &DatasetSource, channels: usize) -> Result<Named> {
    let kind = match source {
        DatasetSource::Mnist { .. } => DatasetKind::Mnist,
        DatasetSource::Cifar10 { .. } => DatasetKind::Cifar10,
        _ => DatasetKind::Other,
    };
    let set = cold_diffusion::train::load_dataset(source, channels)?;
    Ok(Named {
        set,
        kind,
        description: source.describe(),
    })
}

/// The experiment of the paper an operator configuration belongs to, if any.
pub fn experiment(cfg: &DegradationConfig) -> Option<Experiment> {
    Some(match cfg {
        DegradationConfig::Blur(b) if b.discrete => Experiment::BlurGeneration,
        DegradationConfig::Blur(_) => Experiment::Deblur,
        DegradationConfig::Inpaint(_) => Experiment::Inpaint,
        DegradationConfig::InpaintGeneration(_) => Experiment::InpaintGeneration,
        DegradationConfig::Decolor(_) => Experiment::Decolor,
        DegradationConfig::Animorph(_) => Experiment::Animorph,
        DegradationConfig::Noise(_) => Experiment::Hot,
        DegradationConfig::SuperResolution(_) => Experiment::SuperResolution,
        DegradationConfig::Snow(_) => Experiment::Snow,
        _ => return None,
    })
}

/// The first `n` images of `set` (in order, or shuffled by `seed`) through `preset` at side
/// `size`, in batches of at most `batch` on `device`.
///
/// # Errors
/// If the pipeline does not fit the images.
pub fn batches(
    set: ImageSet,
    preset: Preset,
    size: usize,
    n: usize,
    batch: usize,
    shuffle: Option<u64>,
    device: &Device,
) -> Result<Vec<Tensor<4>>> {
    let n = n.min(set.len());
    if n == 0 {
        return Err(CliError::new(format!(
            "{}: no image to use",
            set.source().display()
        )));
    }
    let config = LoaderConfig {
        shuffle: shuffle.is_some(),
        workers: 0,
        ..LoaderConfig::eval(batch.max(1), shuffle.unwrap_or(0))
    };
    let loader = Loader::<ImageSet>::new(Arc::new(set), preset.pipeline(size)?, config)?;
    let mut out = Vec::new();
    let mut taken = 0;
    let mut k = 0;
    while taken < n {
        let hb = loader.host_batch(k);
        let x = hb.images_tensor(device);
        let m = x.dims()[0].min(n - taken);
        out.push(if m < x.dims()[0] { x.slice(0..m) } else { x });
        taken += m;
        k += 1;
    }
    Ok(out)
}
