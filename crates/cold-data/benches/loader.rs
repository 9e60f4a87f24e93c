//! Loader throughput: batches of 32 MNIST images with the deblurring training preset
//! (`resize-random-crop-flip`, S = 32), and MNIST file loading (decompression and parsing
//! separately). Compare with one training step of the small MNIST preset (~0.9 s in the PyTorch
//! reference, `bench/README.md`): the loader must be orders of magnitude faster.
//!
//! `cargo bench -p cold-data --bench loader` (add `-- --quick` for a smoke run).

use std::hint::black_box;
use std::sync::Arc;

use burn::tensor::Device;
use cold_data::{
    IdxArray, ImageSet, Loader, LoaderConfig, Mnist, Preset, Split, images_from_idx, read_idx_bytes,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn loader(train: &Arc<ImageSet>, workers: usize) -> Loader<ImageSet> {
    let config = LoaderConfig {
        workers,
        ..LoaderConfig::train(32, 0)
    };
    Loader::new(
        train.clone(),
        Preset::ResizeRandomCropFlip.pipeline(32).unwrap(),
        config,
    )
    .unwrap()
}

fn bench_loader(c: &mut Criterion) {
    let train = Arc::new(Mnist::bundled(Split::Train).expect("bundled MNIST in data/mnist"));
    let device = Device::flex();

    // One batch prepared on the calling thread (augmentation + f32 conversion, no upload).
    let l0 = loader(&train, 0);
    let mut k = 0u64;
    c.bench_function(
        "loader/mnist-resize-random-crop-flip-b32/host-1-thread",
        |b| {
            b.iter(|| {
                k += 1;
                black_box(l0.host_batch(k))
            })
        },
    );

    // The stream a trainer uses: 2 background workers, upload to a flex tensor.
    for workers in [0, 2] {
        let l = loader(&train, workers);
        let mut stream = l.stream(&device);
        c.bench_function(
            &format!("loader/mnist-resize-random-crop-flip-b32-w{workers}/flex"),
            |b| b.iter(|| black_box(stream.next().unwrap().images)),
        );
    }

    let dir = Mnist::bundled_dir().unwrap();
    let images = dir.join("train-images-idx3-ubyte.gz");
    let labels = dir.join("train-labels-idx1-ubyte.gz");
    let mut group = c.benchmark_group("mnist-load");
    group.sample_size(10);
    group.bench_function("train-decompress/host", |b| {
        b.iter(|| {
            black_box((
                read_idx_bytes(&images).unwrap(),
                read_idx_bytes(&labels).unwrap(),
            ))
        })
    });
    let raw_images = read_idx_bytes(&images).unwrap();
    let raw_labels = read_idx_bytes(&labels).unwrap();
    group.bench_function("train-parse/host", |b| {
        b.iter_batched(
            || (raw_images.clone(), raw_labels.clone()),
            |(im, lb)| {
                let im = IdxArray::parse(im, &images).unwrap();
                let lb = IdxArray::parse(lb, &labels).unwrap();
                black_box(images_from_idx(im, &images, Some((lb, &labels))).unwrap())
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_loader);
criterion_main!(benches);
