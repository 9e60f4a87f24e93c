//! Batching: augmented, shuffled batches as `Tensor<4>` on any device, prepared by background
//! threads.
//!
//! # Determinism and resume
//! Batch `k` of a loader is a pure function of `(seed, k)` (plus the dataset, pipeline and
//! batch size):
//! - the stream is cut into epochs of [`Loader::batches_per_epoch`] batches; batch `k` belongs
//!   to epoch `k / batches_per_epoch` at position `k % batches_per_epoch`;
//! - each epoch has its own permutation (ChaCha8 keyed by `(seed, epoch)`), or the identity when
//!   shuffling is off;
//! - each sample's augmentation draws come from ChaCha8 keyed by `(seed, epoch, position in the
//!   epoch)`.
//!
//! So the number of worker threads never changes the result, and a trainer resumes exactly by
//! saving [`BatchStream::state`] (a [`LoaderState`]: the seed and the index of the next batch)
//! in its checkpoint and calling [`Loader::stream_from`] with it.
//!
//! # Threads
//! With `workers = W > 0`, worker `w` prepares batches `start + w, start + w + W, ...` and sends
//! them through its own bounded channel (`prefetch` batches deep); the consumer reads the
//! channels round-robin, so batches arrive in order with at most `W * prefetch` prepared ahead.
//! Workers produce host `f32` data; the upload to the device happens on the consumer thread.
//! Dropping the stream stops and joins the workers.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::image::{ImageDataset, ImageShape};
use crate::rng::{Purpose, epoch_permutation, keyed_rng};
use crate::transform::{Pipeline, signed_unit_table};

/// Options of a [`Loader`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoaderConfig {
    /// Images per batch (the original trains with 32 per micro-batch).
    pub batch_size: usize,
    /// Shuffle each epoch with its own seeded permutation (the original: `shuffle=True`).
    pub shuffle: bool,
    /// Drop the last incomplete batch of each epoch (the original: `drop_last=True`).
    pub drop_last: bool,
    /// Seed of the permutations and of the augmentation draws.
    pub seed: u64,
    /// Background worker threads; 0 prepares batches on the consuming thread.
    pub workers: usize,
    /// Batches each worker may prepare ahead (at least 1).
    pub prefetch: usize,
}

impl LoaderConfig {
    /// Training defaults: shuffled, incomplete batches dropped, 2 workers, 2 batches ahead each.
    pub fn train(batch_size: usize, seed: u64) -> Self {
        Self {
            batch_size,
            shuffle: true,
            drop_last: true,
            seed,
            workers: 2,
            prefetch: 2,
        }
    }

    /// Evaluation defaults: dataset order, last incomplete batch kept, 1 worker.
    pub fn eval(batch_size: usize, seed: u64) -> Self {
        Self {
            batch_size,
            shuffle: false,
            drop_last: false,
            seed,
            workers: 1,
            prefetch: 2,
        }
    }
}

/// Where a stream stands: what a trainer checkpoints to resume the data order exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct LoaderState {
    /// The loader seed (checked on resume).
    pub seed: u64,
    /// Index of the next batch the stream will yield.
    pub next_batch: u64,
}

impl std::fmt::Display for LoaderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(seed {}, next batch {})", self.seed, self.next_batch)
    }
}

/// A batch prepared on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostBatch {
    /// Index of the batch in the loader's stream.
    pub index: u64,
    /// Epoch the batch belongs to.
    pub epoch: u64,
    /// `[N, C, H, W]`.
    pub shape: [usize; 4],
    /// `N * C * H * W` values in `[-1, 1]`, NCHW.
    pub images: Vec<f32>,
    /// Dataset index of each image.
    pub indices: Vec<usize>,
    /// Label of each image, when the dataset has labels.
    pub labels: Option<Vec<u32>>,
}

impl HostBatch {
    /// Uploads the images to `device`.
    ///
    /// # Shapes
    /// Returns `[N, C, H, W]`, values in `[-1, 1]`.
    pub fn images_tensor(&self, device: &Device) -> Tensor<4> {
        Tensor::from_data(TensorData::new(self.images.clone(), self.shape), device)
    }

    /// Moves the images to `device`, consuming the batch.
    pub fn into_batch(self, device: &Device) -> Batch {
        let images = Tensor::from_data(TensorData::new(self.images, self.shape), device);
        Batch {
            images,
            index: self.index,
            epoch: self.epoch,
            indices: self.indices,
            labels: self.labels,
        }
    }
}

/// A batch on a device.
#[derive(Clone, Debug)]
pub struct Batch {
    /// `[N, C, H, W]` images in `[-1, 1]`.
    pub images: Tensor<4>,
    /// Index of the batch in the loader's stream.
    pub index: u64,
    /// Epoch the batch belongs to.
    pub epoch: u64,
    /// Dataset index of each image.
    pub indices: Vec<usize>,
    /// Label of each image, when the dataset has labels.
    pub labels: Option<Vec<u32>>,
}

/// The shared, immutable part of a loader (what the workers need).
struct Core<D> {
    dataset: Arc<D>,
    pipeline: Pipeline,
    config: LoaderConfig,
    output: ImageShape,
    batches_per_epoch: u64,
    table: [f32; 256],
    /// Permutation of the last epoch [`Loader::host_batch`] touched (streams keep their own).
    perm_cache: Mutex<Option<(u64, Arc<Vec<u32>>)>>,
}

impl<D: ImageDataset> Core<D> {
    /// The dataset indices of batch `k`, with its epoch and the positions in the epoch.
    fn plan(&self, k: u64, perm: &mut Option<(u64, Arc<Vec<u32>>)>) -> (u64, u64, Vec<usize>) {
        let n = self.dataset.len();
        let b = self.config.batch_size;
        let epoch = k / self.batches_per_epoch;
        let pos = (k % self.batches_per_epoch) as usize;
        let start = pos * b;
        let end = (start + b).min(n);
        let indices = if self.config.shuffle {
            let cached = match perm {
                Some((e, p)) if *e == epoch => p.clone(),
                _ => {
                    let p = Arc::new(epoch_permutation(self.config.seed, epoch, n));
                    *perm = Some((epoch, p.clone()));
                    p
                }
            };
            cached[start..end].iter().map(|&i| i as usize).collect()
        } else {
            (start..end).collect()
        };
        (epoch, start as u64, indices)
    }

    fn host_batch(&self, k: u64, perm: &mut Option<(u64, Arc<Vec<u32>>)>) -> HostBatch {
        let (epoch, first_pos, indices) = self.plan(k, perm);
        let per_image = self.output.len();
        let mut images = Vec::with_capacity(indices.len() * per_image);
        for (j, &i) in indices.iter().enumerate() {
            let mut rng = keyed_rng(
                self.config.seed,
                Purpose::Augment,
                epoch,
                first_pos + j as u64,
            );
            let out = self.pipeline.apply(self.dataset.image(i), &mut rng);
            debug_assert_eq!(out.shape, self.output);
            images.extend(out.pixels.iter().map(|&v| self.table[v as usize]));
        }
        let labels = indices
            .iter()
            .map(|&i| self.dataset.label(i))
            .collect::<Option<Vec<u32>>>();
        HostBatch {
            index: k,
            epoch,
            shape: [
                indices.len(),
                self.output.channels,
                self.output.height,
                self.output.width,
            ],
            images,
            indices,
            labels,
        }
    }
}

/// Turns a dataset and an augmentation pipeline into a deterministic stream of batches.
///
/// ```no_run
/// use cold_data::{Loader, LoaderConfig, Mnist, Preset, Split};
/// use burn::tensor::Device;
///
/// let train = Mnist::bundled(Split::Train)?;
/// let pipeline = Preset::ResizeRandomCropFlip.pipeline(32)?;
/// let loader = Loader::new(train, pipeline, LoaderConfig::train(32, 0))?;
/// let device = Device::flex();
/// let mut stream = loader.stream(&device);
/// let batch = stream.next().unwrap(); // batch.images: [32, 1, 32, 32] in [-1, 1]
/// let resume_point = stream.state(); // save in the checkpoint; loader.stream_from(..) resumes
/// # Ok::<(), cold_data::Error>(())
/// ```
pub struct Loader<D> {
    core: Arc<Core<D>>,
}

impl<D> Clone for Loader<D> {
    fn clone(&self) -> Self {
        Self {
            core: self.core.clone(),
        }
    }
}

impl<D: ImageDataset + 'static> Loader<D> {
    /// A loader over `dataset`.
    ///
    /// Checks up front that every image fits the pipeline and that all outputs have one shape
    /// (for a folder of mixed sizes the pipeline must resize or crop to a fixed size), so a
    /// running stream cannot fail.
    pub fn new(
        dataset: impl Into<Arc<D>>,
        pipeline: Pipeline,
        config: LoaderConfig,
    ) -> Result<Self> {
        let dataset = dataset.into();
        let source: PathBuf = dataset.source().to_path_buf();
        if config.batch_size == 0 {
            return Err(Error::config("batch_size", 0, "must be at least 1"));
        }
        if config.prefetch == 0 {
            return Err(Error::config("prefetch", 0, "must be at least 1"));
        }
        let n = dataset.len();
        if n == 0 {
            return Err(Error::NoImages {
                path: source,
                detail: "the dataset is empty".into(),
            });
        }
        if n > u32::MAX as usize {
            return Err(Error::config(
                "dataset length",
                n,
                "at most 2^32 - 1 images are supported",
            ));
        }
        let batches_per_epoch = if config.drop_last {
            n / config.batch_size
        } else {
            n.div_ceil(config.batch_size)
        } as u64;
        if batches_per_epoch == 0 {
            return Err(Error::config(
                "batch_size",
                config.batch_size,
                format!(
                    "larger than the {n} images of {} with drop_last: an epoch would have no batch",
                    source.display()
                ),
            ));
        }
        let output = match dataset.uniform_shape() {
            Some(shape) => pipeline
                .output_shape(shape)
                .map_err(|e| Error::config("pipeline", format!("{pipeline:?}"), e))?,
            None => {
                let mut output = None;
                for i in 0..n {
                    let shape = dataset.shape(i);
                    let out = pipeline.output_shape(shape).map_err(|e| {
                        Error::config(
                            "pipeline",
                            format!("{pipeline:?}"),
                            format!("image {i} of {} ({shape}): {e}", source.display()),
                        )
                    })?;
                    match output {
                        None => output = Some(out),
                        Some(first) if first != out => {
                            return Err(Error::config(
                                "pipeline",
                                format!("{pipeline:?}"),
                                format!(
                                    "images of {} have different sizes and the pipeline does not bring them to one: image 0 becomes {first}, image {i} ({shape}) becomes {out}; add a Resize or crop",
                                    source.display()
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                }
                output.expect("n > 0")
            }
        };
        Ok(Self {
            core: Arc::new(Core {
                dataset,
                pipeline,
                config,
                output,
                batches_per_epoch,
                table: signed_unit_table(),
                perm_cache: Mutex::new(None),
            }),
        })
    }

    /// The dataset.
    pub fn dataset(&self) -> &Arc<D> {
        &self.core.dataset
    }

    /// The configuration.
    pub fn config(&self) -> &LoaderConfig {
        &self.core.config
    }

    /// The shape of every output image.
    pub fn image_shape(&self) -> ImageShape {
        self.core.output
    }

    /// Batches in one epoch.
    pub fn batches_per_epoch(&self) -> u64 {
        self.core.batches_per_epoch
    }

    /// Batch `k` of the stream, prepared on this thread (the same data any stream yields as
    /// its batch `k`).
    pub fn host_batch(&self, k: u64) -> HostBatch {
        let mut cache = self
            .core
            .perm_cache
            .lock()
            .map(|c| c.clone())
            .unwrap_or(None);
        let batch = self.core.host_batch(k, &mut cache);
        if let Ok(mut c) = self.core.perm_cache.lock() {
            *c = cache;
        }
        batch
    }

    /// An endless stream from batch 0 (epochs follow each other, reshuffled).
    pub fn stream(&self, device: &Device) -> BatchStream<D> {
        self.spawn(device, 0, None)
    }

    /// An endless stream resuming at `state` (from [`BatchStream::state`]).
    pub fn stream_from(&self, device: &Device, state: LoaderState) -> Result<BatchStream<D>> {
        if state.seed != self.core.config.seed {
            return Err(Error::State {
                state: state.to_string(),
                reason: format!(
                    "it was saved by a loader with seed {}, this loader has seed {}",
                    state.seed, self.core.config.seed
                ),
            });
        }
        Ok(self.spawn(device, state.next_batch, None))
    }

    /// The batches of one epoch, then the end.
    pub fn epoch(&self, device: &Device, epoch: u64) -> BatchStream<D> {
        let bpe = self.core.batches_per_epoch;
        self.spawn(device, epoch * bpe, Some((epoch + 1) * bpe))
    }

    fn spawn(&self, device: &Device, start: u64, end: Option<u64>) -> BatchStream<D> {
        let workers = self.core.config.workers;
        let mut receivers = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers as u64 {
            let (tx, rx) = sync_channel(self.core.config.prefetch);
            let core = self.core.clone();
            let step = workers as u64;
            let handle = std::thread::Builder::new()
                .name(format!("cold-data-worker-{w}"))
                .spawn(move || worker(core, tx, start + w, step, end))
                .expect("cannot spawn a data loader thread");
            receivers.push(rx);
            handles.push(handle);
        }
        BatchStream {
            core: self.core.clone(),
            device: device.clone(),
            start,
            next: start,
            end,
            receivers,
            handles,
            perm: None,
        }
    }
}

fn worker<D: ImageDataset>(
    core: Arc<Core<D>>,
    tx: SyncSender<HostBatch>,
    first: u64,
    step: u64,
    end: Option<u64>,
) {
    let mut perm = None;
    let mut k = first;
    while end.is_none_or(|e| k < e) {
        let batch = core.host_batch(k, &mut perm);
        if tx.send(batch).is_err() {
            return; // the stream was dropped
        }
        k += step;
    }
}

/// An iterator of [`Batch`]es in stream order (see the [module docs](self)).
pub struct BatchStream<D> {
    core: Arc<Core<D>>,
    device: Device,
    start: u64,
    next: u64,
    end: Option<u64>,
    receivers: Vec<Receiver<HostBatch>>,
    handles: Vec<JoinHandle<()>>,
    perm: Option<(u64, Arc<Vec<u32>>)>,
}

impl<D: ImageDataset> BatchStream<D> {
    /// Where the stream stands: resuming from this state yields the batches this stream has not
    /// yielded yet.
    pub fn state(&self) -> LoaderState {
        LoaderState {
            seed: self.core.config.seed,
            next_batch: self.next,
        }
    }

    /// The next batch on the host, without uploading it.
    pub fn next_host(&mut self) -> Option<HostBatch> {
        if self.end.is_some_and(|e| self.next >= e) {
            return None;
        }
        let k = self.next;
        let batch = if self.receivers.is_empty() {
            self.core.host_batch(k, &mut self.perm)
        } else {
            // Worker w prepares batches start + w, start + w + W, ...
            let w = ((k - self.start) % self.receivers.len() as u64) as usize;
            match self.receivers[w].recv() {
                Ok(b) => b,
                Err(_) => panic!("data loader worker {w} stopped unexpectedly (it panicked)"),
            }
        };
        debug_assert_eq!(batch.index, k);
        self.next += 1;
        Some(batch)
    }
}

impl<D: ImageDataset> Iterator for BatchStream<D> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let device = self.device.clone();
        self.next_host().map(|b| b.into_batch(&device))
    }
}

impl<D> Drop for BatchStream<D> {
    fn drop(&mut self) {
        // Closing the channels makes every blocked `send` fail, so the workers exit.
        self.receivers.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}
