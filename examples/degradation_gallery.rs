//! Degrade the images bundled in `data/` with every preset (every operator of the paper) at
//! five levels and write one PNG per preset, plus the gallery section of
//! `docs/degradations.md`.
//!
//! ```text
//! cargo run --release --example degradation_gallery              # -> docs/img/degradations/
//! cargo run --release --example degradation_gallery -- /tmp/out  # any directory
//! ```
//!
//! Inputs are chosen by each preset's image size: MNIST test digits (32×32 gray), CIFAR-10 test
//! images (32×32), a 128×128 crop of the scikit-image astronaut (and its 64×64 centre for
//! `decolor-celeba`); animorphosis blends the astronaut into the scikit-image cat. Random
//! operators use a draw seeded with 0, so the pictures are reproducible. New presets appear
//! automatically.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use cold_diffusion::data::{
    ImageBuf, ImageShape as PixelShape, Mnist, Split, center_crop, decode_image_file,
    resize_bilinear, rgb_to_gray,
};
use cold_diffusion::degrade::{Draw, ImageShape, PartnerKind, presets};
use cold_diffusion::sample::{labelled_grid, save_png};
use rand::SeedableRng;

type Error = Box<dyn std::error::Error>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Planar 8-bit images of one shape → `[N, C, H, W]` in [-1, 1] (`x/255·2 − 1`).
fn to_tensor(images: &[ImageBuf], device: &Device) -> Tensor<4> {
    let s = images[0].shape;
    let data: Vec<f32> = images
        .iter()
        .flat_map(|im| im.pixels.iter().map(|&v| v as f32 / 255.0 * 2.0 - 1.0))
        .collect();
    Tensor::from_data(
        TensorData::new(data, [images.len(), s.channels, s.height, s.width]),
        device,
    )
}

fn load(path: &Path) -> Result<ImageBuf, Error> {
    Ok(decode_image_file(path)?)
}

/// The bundled pictures, decoded once.
struct Pictures {
    mnist: Vec<ImageBuf>,
    cifar: Vec<ImageBuf>,
    astronaut: ImageBuf,
    cat: ImageBuf,
}

impl Pictures {
    fn load() -> Result<Self, Error> {
        let data = root().join("data");
        let mnist_set = Mnist::load(data.join("mnist"), Split::Test)?;
        // the original's MNIST test transform: Resize((35, 35)) then CenterCrop(32)
        let mnist = (0..3)
            .map(|i| center_crop(resize_bilinear(mnist_set.image(i), 35, 35).view(), 32, 32))
            .collect();
        let cifar = [
            "00_label3.png",
            "01_label8.png",
            "03_label0.png",
            "06_label1.png",
        ]
        .iter()
        .map(|f| load(&data.join("cifar10").join(f)))
        .collect::<Result<_, _>>()?;
        Ok(Self {
            mnist,
            cifar,
            astronaut: load(&data.join("images").join("astronaut_128.png"))?,
            cat: load(&data.join("images").join("chelsea_128.png"))?,
        })
    }

    /// Inputs for a preset of this size (and the partner images for animorphosis).
    fn inputs(&self, size: usize, channels: usize) -> (Vec<ImageBuf>, Vec<ImageBuf>) {
        let fit = |img: &ImageBuf| -> ImageBuf {
            let side = img.shape.height;
            let img = if size == side {
                img.clone()
            } else if size < side && size * 2 >= side {
                // a centre crop keeps the face (decolor-celeba trains on a 64×64 centre crop)
                center_crop(img.view(), size, size)
            } else {
                resize_bilinear(img.view(), size, size)
            };
            if channels == 1 {
                rgb_to_gray(img.view())
            } else {
                img
            }
        };
        let is = |s: PixelShape| s.height == size && s.channels == channels;
        if is(self.mnist[0].shape) {
            return (
                self.mnist.clone(),
                self.cifar[..3]
                    .iter()
                    .map(|i| rgb_to_gray(i.view()))
                    .collect(),
            );
        }
        if is(self.cifar[0].shape) {
            return (
                self.cifar.clone(),
                self.cifar.iter().rev().cloned().collect(),
            );
        }
        (vec![fit(&self.astronaut)], vec![fit(&self.cat)])
    }
}

/// Up to five distinct levels spread over `0..=T`.
fn levels(t: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..5).map(|i| (i * t + 2) / 4).collect();
    v.dedup();
    v
}

fn main() -> Result<(), Error> {
    let default_out = root().join("docs").join("img").join("degradations");
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| default_out.clone());
    std::fs::create_dir_all(&out)?;
    let device = Device::flex();
    let pictures = Pictures::load()?;
    let mut rows = Vec::new();
    for preset in presets() {
        let op = preset.config.build()?;
        let (size, channels) = preset.config.image_size_and_channels();
        let (size, channels) = (size.unwrap_or(32), channels.unwrap_or(3));
        let (inputs, partners) = pictures.inputs(size, channels);
        let x0 = to_tensor(&inputs, &device);
        let n = inputs.len();
        let draw = if op.partner_kind() == PartnerKind::Images {
            Draw::partner(to_tensor(&partners[..n], &device))
        } else {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
            op.draw(n, ImageShape::of(&x0), &device, &mut rng)?
        };
        let levels = levels(op.steps());
        let columns = levels
            .iter()
            .map(|&s| Ok((format!("s={s}"), op.degrade_at(x0.clone(), s, &draw)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        let columns: Vec<(&str, Tensor<4>)> = columns
            .iter()
            .map(|(l, x)| (l.as_str(), x.clone()))
            .collect();
        let grid = labelled_grid(&columns)?;
        let file = out.join(format!("{}.png", preset.name));
        save_png(&grid, &file)?;
        println!(
            "{:<20} T={:<4} levels {:?} -> {}",
            preset.name,
            op.steps(),
            levels,
            file.display()
        );
        rows.push(format!(
            "### `{}`\n\n{}\n\n`{}`\n\n![{}](img/degradations/{}.png)\n",
            preset.name,
            preset.description,
            preset.config.parameters(),
            preset.name,
            preset.name
        ));
    }
    if out == default_out {
        update_docs(&rows)?;
    }
    Ok(())
}

/// Rewrite the generated part of `docs/degradations.md` (between the gallery markers).
fn update_docs(rows: &[String]) -> Result<(), Error> {
    const START: &str = "<!-- gallery:start (generated by examples/degradation_gallery.rs) -->";
    const END: &str = "<!-- gallery:end -->";
    let path = root().join("docs").join("degradations.md");
    let text = std::fs::read_to_string(&path)?;
    let (Some(a), Some(b)) = (text.find(START), text.find(END)) else {
        return Err(format!("{} has no gallery markers", path.display()).into());
    };
    let new = format!(
        "{}{START}\n\n{}\n{}",
        &text[..a],
        rows.join("\n"),
        &text[b..]
    );
    std::fs::write(&path, new)?;
    println!("updated {}", path.display());
    Ok(())
}
