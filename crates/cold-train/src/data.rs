//! Building the training data streams of a [`TrainConfig`](crate::TrainConfig).

use std::sync::Arc;

use cold_data::{
    Channels, Cifar10, FashionMnist, FolderOptions, ImageFolder, ImageSet, Loader, LoaderConfig,
    Mnist, Preset, Split,
};

use crate::config::DatasetSource;
use crate::error::Result;

/// Read the training split of `source`, converted to `channels` channels.
///
/// # Errors
/// The dataset reader's error (it names the file).
pub fn load_dataset(source: &DatasetSource, channels: usize) -> Result<ImageSet> {
    let target = Channels::from_count(channels)?;
    let set = match source {
        DatasetSource::Mnist { path: None } => Mnist::bundled(Split::Train)?,
        DatasetSource::Mnist { path: Some(p) } => Mnist::load(p, Split::Train)?,
        DatasetSource::FashionMnist { path } => FashionMnist::load(path, Split::Train)?,
        DatasetSource::Cifar10 { path } => Cifar10::load(path, Split::Train)?,
        DatasetSource::Folder { path } => {
            let options = FolderOptions {
                channels: Some(target),
                ..FolderOptions::default()
            };
            ImageFolder::load(path, &options)?.images
        }
    };
    Ok(set.to_channels(target))
}

/// A training loader: shuffled, incomplete batches dropped (the original's `DataLoader`), with
/// the augmentation `preset` at side `size`.
///
/// # Errors
/// If the pipeline does not fit the images (the message names the dataset and the preset).
pub(crate) fn train_loader(
    set: Arc<ImageSet>,
    preset: Preset,
    size: usize,
    batch_size: usize,
    seed: u64,
    workers: usize,
) -> Result<Loader<ImageSet>> {
    let pipeline = preset.pipeline(size)?;
    let config = LoaderConfig {
        workers,
        ..LoaderConfig::train(batch_size, seed)
    };
    Ok(Loader::new(set, pipeline, config)?)
}

/// A fixed, unshuffled loader of `count` images (the rows of the sample grids).
pub(crate) fn grid_loader(
    set: Arc<ImageSet>,
    preset: Preset,
    size: usize,
    count: usize,
    seed: u64,
) -> Result<Loader<ImageSet>> {
    let pipeline = preset.pipeline(size)?;
    let config = LoaderConfig {
        workers: 0,
        ..LoaderConfig::eval(count, seed)
    };
    Ok(Loader::new(set, pipeline, config)?)
}
