//! Writes a contact sheet of one augmented batch, to eyeball a preset.
//!
//! ```sh
//! cargo run --release -p cold-data --example preview -- [PRESET] [SIZE] [OUT.png] [DATA]
//! # e.g. resize-random-crop-flip 32 /tmp/preview.png          (bundled MNIST train)
//! #      pad4-random-crop-flip 32 /tmp/c.png path/to/cifar-10-batches-bin
//! #      center-crop 64 /tmp/f.png path/to/image/folder
//! ```
//!
//! DATA is a CIFAR-10 batch file or directory, an MNIST-style directory, or an image folder;
//! without it the bundled MNIST is used. 64 images, 8 per row, seed 0.

use std::path::Path;

use cold_data::{
    Cifar10, FolderOptions, ImageFolder, ImageSet, Loader, LoaderConfig, Mnist, Preset, Split,
};

fn load(data: Option<&str>) -> cold_data::Result<ImageSet> {
    let Some(data) = data else {
        return Mnist::bundled(Split::Train);
    };
    let p = Path::new(data);
    let looks_cifar = p.extension().is_some_and(|e| e == "bin")
        || p.join("test_batch.bin").is_file()
        || p.join("cifar-10-batches-bin").is_dir()
        || p.join("data_batch_1.bin").is_file();
    if looks_cifar {
        Cifar10::load(p, Split::Train).or_else(|_| Cifar10::load(p, Split::Test))
    } else if let Ok(set) = Mnist::load(p, Split::Train) {
        Ok(set)
    } else {
        Ok(ImageFolder::load(p, &FolderOptions::default())?.images)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let preset = Preset::from_name(
        args.first()
            .map_or("resize-random-crop-flip", String::as_str),
    )?;
    let size: usize = args.get(1).map_or(Ok(32), |s| s.parse())?;
    let out = args.get(2).map_or("preview.png", String::as_str);
    let set = load(args.get(3).map(String::as_str))?;
    let n = set.len().min(64);
    let loader = Loader::new(
        set,
        preset.pipeline(size)?,
        LoaderConfig {
            drop_last: false,
            ..LoaderConfig::train(n, 0)
        },
    )?;
    let batch = loader.host_batch(0);
    let [n, c, h, w] = batch.shape;
    let cols = 8.min(n);
    let rows = n.div_ceil(cols);
    let (gw, gh) = ((cols * (w + 2)) as u32, (rows * (h + 2)) as u32);
    let mut sheet = image::RgbImage::new(gw, gh);
    let level = |v: f32| ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8;
    for i in 0..n {
        let (ox, oy) = ((i % cols) * (w + 2) + 1, (i / cols) * (h + 2) + 1);
        for y in 0..h {
            for x in 0..w {
                let px = |ch: usize| level(batch.images[((i * c + ch) * h + y) * w + x]);
                let rgb = if c == 3 {
                    [px(0), px(1), px(2)]
                } else {
                    [px(0); 3]
                };
                sheet.put_pixel((ox + x) as u32, (oy + y) as u32, image::Rgb(rgb));
            }
        }
    }
    sheet.save(out)?;
    println!(
        "{preset} ({}) at {size}: {n} images {c}x{h}x{w} -> {out}",
        preset.original()
    );
    Ok(())
}
