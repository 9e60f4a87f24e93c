//! Datasets for Cold Diffusion: MNIST / Fashion-MNIST (IDX), CIFAR-10 (binary batches) and
//! image folders, the augmentation pipelines of the original code, and a threaded, seeded
//! batcher that produces `Tensor<4>` batches in `[-1, 1]` on any Burn `Device`.
//!
//! Nothing is ever downloaded: every reader takes a path. Full MNIST ships with the repository
//! in `data/mnist/` ([`Mnist::bundled`]).
//!
//! ```no_run
//! use burn::tensor::Device;
//! use cold_data::{Loader, LoaderConfig, Mnist, Preset, Split};
//!
//! let train = Mnist::bundled(Split::Train)?; // 60 000 x 1 x 28 x 28, u8, in memory
//! let pipeline = Preset::ResizeRandomCropFlip.pipeline(32)?; // the original Dataset_Aug1
//! let loader = Loader::new(train, pipeline, LoaderConfig::train(32, 42))?;
//! for batch in loader.stream(&Device::flex()).take(3) {
//!     assert_eq!(batch.images.dims(), [32, 1, 32, 32]);
//! }
//! # Ok::<(), cold_data::Error>(())
//! ```
//!
//! # Readers
//! | reader | input | result |
//! |---|---|---|
//! | [`Mnist::load`], [`FashionMnist::load`] | directory with the 4 IDX files (plain or `.gz`) | `1 x 28 x 28`, labels 0-9 |
//! | [`Cifar10::load`], [`Cifar10::from_files`] | `cifar-10-batches-bin/` or batch files | `3 x 32 x 32`, labels 0-9 |
//! | [`ImageFolder::load`] | directory (recursive) of PNG / JPEG / WebP | gray or RGB, any sizes, labels from class sub-folders |
//! | [`IdxArray::read`] | any unsigned-byte IDX file | dims + bytes |
//!
//! All of them return an [`ImageSet`]: decoded 8-bit images in memory (planar CHW), optional
//! labels and class names. The [`ImageDataset`] trait is what the loader needs; implement it
//! for other storage.
//!
//! # Augmentation presets (spec §3)
//! Each [`Preset`] reproduces a dataset class of the original code, bit-exactly for the
//! deterministic steps (Pillow's antialiased bilinear resize, torchvision's crop rounding), with
//! host-seeded draws for the random ones. `S` is the output side; `⌊1.12·S⌋` is 35 for 32, 143
//! for 128.
//!
//! | preset | steps | original class | used for (train / test) |
//! |---|---|---|---|
//! | `resize-random-crop-flip` | Resize ⌊1.12S⌋², RandomCrop S, flip | `Dataset_Aug1`, `DatasetCelebA` | deblur MNIST/CIFAR/CelebA/AFHQ train, SR CIFAR/CelebA train, SR CelebA test, inpaint CelebA (`--dataset celebA`) train+test, blur generation train, inpaint generation / animorph / hot train+test |
//! | `resize-center-crop` | Resize ⌊1.12S⌋², CenterCrop S | `Dataset` (deblurring, resolution, ...), `DatasetCelebATest` | deblur test, SR MNIST train, SR MNIST/CIFAR test, blur generation test |
//! | `resize-shorter-center-crop` | Resize S (shorter side), CenterCrop S | `Dataset` (defading) | inpaint MNIST train+test, inpaint CIFAR test |
//! | `pad4-random-crop-flip` | pad 4 + RandomCrop S, Resize S, flip | `DatasetCifar10` (defading) | inpaint CIFAR train |
//! | `center-crop` | CenterCrop S | snowification `get_transform` / `Dataset.get_transform` | snow, decolor (train and test) |
//!
//! [`Preset::for_experiment`] encodes this table.
//!
//! # Batching
//! [`Loader`] (see the [`loader`] module) yields [`Batch`]es whose content is a pure function of
//! `(seed, batch index)`: independent of the number of worker threads, and resumable from a
//! [`LoaderState`].
//!
//! # Errors
//! One [`Error`] enum; every error names the file (or the configuration field) and the problem.
//! Corrupt files never panic and never cause allocations larger than the file can justify.

mod cifar;
mod error;
mod folder;
mod idx;
mod image;
pub mod loader;
mod rng;
mod transform;

pub use cifar::Cifar10;
pub use error::{Error, Result};
pub use folder::{
    BadFiles, ClassLabels, FolderOptions, IMAGE_EXTENSIONS, ImageFolder, Skipped,
    decode_image_bytes, decode_image_file,
};
pub use idx::{
    DATA_DIR_ENV, FashionMnist, IdxArray, MAX_DIMS, Mnist, Split, images_from_idx, read_idx_bytes,
};
pub use image::{
    Channels, ImageBuf, ImageDataset, ImageSet, ImageShape, ImageView, convert_channels,
    gray_to_rgb, rgb_to_gray,
};
pub use loader::{Batch, BatchStream, HostBatch, Loader, LoaderConfig, LoaderState};
pub use rng::{uniform_below, uniform_unit};
pub use transform::{
    DatasetKind, Experiment, Pipeline, Preset, Transform, center_crop, crop, flip_horizontal, pad,
    resize_bilinear, to_signed_unit,
};

/// CIFAR-10 record layout constants.
pub mod cifar10 {
    pub use crate::cifar::{IMAGE_BYTES, NUM_CLASSES, RECORD_BYTES, SIDE};
}
