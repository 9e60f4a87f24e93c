//! Reading inputs (images, safetensors `x0`) and writing outputs (PNGs, grids, tensors).

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use cold_diffusion::data::{
    Channels, ImageBuf, convert_channels, decode_image_file, to_signed_unit,
};
use cold_diffusion::sample::output::to_images;
use cold_diffusion::sample::{image_grid, save_png};
use safetensors::{Dtype, SafeTensors};

use crate::error::{CliError, Result};

/// The name of the input tensor in safetensors files.
pub const INPUT_TENSOR: &str = "x0";

/// What the inputs must look like, and who says so (for the error message).
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// The tensor read from safetensors inputs (default [`INPUT_TENSOR`]).
    pub tensor: Option<String>,
    /// Image channels (images are converted to it; a safetensors `x0` must have it).
    pub channels: Option<usize>,
    /// Exact `(height, width)`.
    pub size: Option<(usize, usize)>,
    /// Height and width must be multiples of this.
    pub divisor: Option<usize>,
    /// Who requires it, e.g. "the checkpoint (data.image_size = 32)".
    pub source: String,
}

/// A batch of inputs and a short name per image (for output file names).
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `[N, C, H, W]`.
    pub x: Tensor<4>,
    /// One name per batch item: the file stem, with `_<i>` for items of a safetensors batch.
    pub names: Vec<String>,
}

fn is_safetensors(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("input")
        .to_string()
}

/// Reads a safetensors file's tensor `name` as 4-D f32 (NCHW). The error names the file, the
/// tensor and what was found.
pub fn read_tensor4(path: &Path, name: &str) -> Result<(Vec<f32>, [usize; 4])> {
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        CliError::new(format!(
            "{}: not a valid safetensors file ({e})",
            path.display()
        ))
    })?;
    let view = st.tensor(name).map_err(|_| {
        let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
        names.sort();
        CliError::new(format!(
            "{}: no tensor `{name}` (it holds: {})",
            path.display(),
            if names.is_empty() {
                "nothing".to_string()
            } else {
                names.join(", ")
            }
        ))
    })?;
    if view.dtype() != Dtype::F32 {
        return Err(CliError::new(format!(
            "{}: tensor `{name}` has dtype {:?}, expected F32",
            path.display(),
            view.dtype()
        )));
    }
    let shape = view.shape();
    let dims: [usize; 4] = shape.try_into().map_err(|_| {
        CliError::new(format!(
            "{}: tensor `{name}` has shape {shape:?}, expected 4 dimensions [N, C, H, W]",
            path.display()
        ))
    })?;
    if dims.contains(&0) {
        return Err(CliError::new(format!(
            "{}: tensor `{name}` has shape {dims:?}, which holds no image",
            path.display()
        )));
    }
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((values, dims))
}

fn check_size(path: &Path, h: usize, w: usize, expect: &Expect) -> Result<()> {
    if let Some((eh, ew)) = expect.size
        && (h, w) != (eh, ew)
    {
        return Err(CliError::new(format!(
            "{}: the image is {w}x{h} pixels, but {} expects {ew}x{eh} images (resize or crop it first)",
            path.display(),
            expect.source
        )));
    }
    if let Some(d) = expect.divisor
        && (!h.is_multiple_of(d) || !w.is_multiple_of(d))
    {
        return Err(CliError::new(format!(
            "{}: the image is {w}x{h} pixels, but {} needs a width and height that are multiples of {d}",
            path.display(),
            expect.source
        )));
    }
    Ok(())
}

/// Reads every input into one batch: images are decoded, converted to the expected channels
/// (else gray stays gray and colour becomes RGB) and mapped to [-1, 1] as `ToTensor()·2 − 1`;
/// safetensors files contribute their `x0` batch. All must have the same shape.
pub fn load_inputs(paths: &[PathBuf], expect: &Expect, device: &Device) -> Result<Inputs> {
    let mut values: Vec<f32> = Vec::new();
    let mut names = Vec::new();
    let mut shape: Option<([usize; 3], PathBuf)> = None;
    let mut count = 0usize;
    for path in paths {
        if !path.exists() {
            return Err(CliError::new(format!(
                "{}: no such file (input)",
                path.display()
            )));
        }
        let (item_values, dims) = if is_safetensors(path) {
            let tensor = expect.tensor.as_deref().unwrap_or(INPUT_TENSOR);
            let (v, dims) = read_tensor4(path, tensor)?;
            if let Some(c) = expect.channels
                && dims[1] != c
            {
                return Err(CliError::new(format!(
                    "{}: tensor `{tensor}` has {} channel(s) (shape {dims:?}), but {} expects {c}",
                    path.display(),
                    dims[1],
                    expect.source
                )));
            }
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(CliError::new(format!(
                    "{}: tensor `{tensor}` holds a non-finite value at index {i}",
                    path.display()
                )));
            }
            check_size(path, dims[2], dims[3], expect)?;
            let base = stem(path);
            for i in 0..dims[0] {
                names.push(if dims[0] == 1 {
                    base.clone()
                } else {
                    format!("{base}_{i}")
                });
            }
            (v, dims)
        } else {
            let img = decode_image_file(path)?;
            let img = match expect.channels {
                Some(c) => convert_channels(img.view(), Channels::from_count(c)?),
                None => img,
            };
            let ImageBuf { shape: s, pixels } = img;
            check_size(path, s.height, s.width, expect)?;
            names.push(stem(path));
            (
                pixels.into_iter().map(to_signed_unit).collect(),
                [1, s.channels, s.height, s.width],
            )
        };
        let item = [dims[1], dims[2], dims[3]];
        match &shape {
            None => shape = Some((item, path.clone())),
            Some((s, first)) if *s != item => {
                return Err(CliError::new(format!(
                    "{}: shape [C, H, W] = {item:?} differs from {} ({s:?}); all inputs must have one shape",
                    path.display(),
                    first.display()
                )));
            }
            Some(_) => {}
        }
        count += dims[0];
        values.extend(item_values);
    }
    let ([c, h, w], _) = shape.ok_or_else(|| CliError::new("no input given (--input)"))?;
    // Unique names: two inputs called `a.png` in different folders must not overwrite each other.
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for name in &mut names {
        let k = seen.entry(name.clone()).or_insert(0);
        if *k > 0 {
            *name = format!("{name}_{k}");
        }
        *k += 1;
    }
    let x = Tensor::from_data(TensorData::new(values, [count, c, h, w]), device);
    Ok(Inputs { x, names })
}

/// A tensor's values on the host.
pub fn host(x: &Tensor<4>) -> Result<Vec<f32>> {
    x.to_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| CliError::new(format!("reading a tensor from the device: {e:?}")))
}

/// Writes named NCHW tensors (f32) to a safetensors file, creating its directory.
pub fn save_tensors(path: &Path, tensors: &[(String, Tensor<4>)]) -> Result<()> {
    let host_tensors = tensors
        .iter()
        .map(|(name, t)| {
            let bytes: Vec<u8> = host(t)?.iter().flat_map(|v| v.to_le_bytes()).collect();
            Ok((name.clone(), t.dims().to_vec(), bytes))
        })
        .collect::<Result<Vec<_>>>()?;
    let views = host_tensors
        .iter()
        .map(|(name, shape, bytes)| {
            safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| CliError::new(format!("tensor `{name}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    ensure_parent(path)?;
    safetensors::serialize_to_file(views, None, path)
        .map_err(|e| CliError::new(format!("{}: cannot write ({e})", path.display())))
}

/// Creates `dir` (and its parents).
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))
}

fn ensure_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => ensure_dir(p),
        _ => Ok(()),
    }
}

/// Writes each image of `x` (`[-1, 1]`) as `dir/<name><suffix>.png`; returns the paths.
pub fn save_each(
    x: &Tensor<4>,
    names: &[String],
    suffix: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let images = to_images(x)?;
    images
        .iter()
        .zip(names)
        .map(|(img, name)| {
            let path = dir.join(format!("{name}{suffix}.png"));
            save_png(img, &path)?;
            Ok(path)
        })
        .collect()
}

/// Writes `x` as one grid of `ncols` columns.
pub fn save_grid(x: &Tensor<4>, ncols: usize, path: &Path) -> Result<()> {
    ensure_parent(path)?;
    save_png(&image_grid(x, ncols)?, path)?;
    Ok(())
}

/// Reads a degradation config file: `.toml` as TOML, anything else as JSON.
pub fn read_degradation_config(path: &Path) -> Result<cold_diffusion::degrade::DegradationConfig> {
    use cold_diffusion::degrade::DegradationConfig;
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
    let toml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let cfg = if toml {
        DegradationConfig::from_toml(&text)
    } else {
        DegradationConfig::from_json(&text)
    };
    cfg.map_err(|e| CliError::from(e).context(path.display()))
}

/// Prints `what: path` on stdout (the list of files a command wrote).
pub fn report(what: &str, path: &Path) {
    println!("{what:<22} {}", path.display());
}
