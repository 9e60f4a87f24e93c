//! The batcher: shapes and ranges of every preset, determinism across worker counts, exact
//! resume, epochs that visit every image once.

use std::collections::HashSet;
use std::path::Path;

use burn::tensor::Device;
use cold_data::{
    Cifar10, DatasetKind, Experiment, ImageSet, Loader, LoaderConfig, LoaderState, Mnist, Preset,
    Split,
};

fn mnist_small() -> ImageSet {
    // 200 real digits keep the tests fast.
    Mnist::bundled(Split::Test).unwrap().slice(0..200).unwrap()
}

fn cifar() -> ImageSet {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cifar10");
    Cifar10::load(p.join("test_batch_first20.bin"), Split::Test).unwrap()
}

fn cfg(batch: usize, seed: u64, workers: usize) -> LoaderConfig {
    LoaderConfig {
        workers,
        ..LoaderConfig::train(batch, seed)
    }
}

#[test]
fn every_preset_gives_the_original_shapes_and_range() {
    let device = Device::flex();
    for (set, channels) in [(mnist_small(), 1), (cifar(), 3)] {
        for preset in Preset::ALL {
            let loader =
                Loader::new(set.clone(), preset.pipeline(32).unwrap(), cfg(8, 3, 1)).unwrap();
            let batch = loader.stream(&device).next().unwrap();
            assert_eq!(batch.images.dims(), [8, channels, 32, 32], "{preset}");
            let data = batch.images.into_data().try_into_vec::<f32>().unwrap();
            let (lo, hi) = data
                .iter()
                .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            assert!(lo >= -1.0 && hi <= 1.0, "{preset}: [{lo}, {hi}]");
            // Real images reach both ends of the range (black background, white strokes).
            assert_eq!(lo, -1.0, "{preset}");
            if channels == 1 {
                assert_eq!(hi, 1.0, "{preset}");
            }
            // Every value is an 8-bit level mapped by (v / 255) * 2 - 1.
            for v in data.iter().step_by(97) {
                let level = ((v + 1.0) / 2.0 * 255.0).round();
                assert_eq!(cold_data::to_signed_unit(level as u8), *v);
            }
        }
    }
    // 128 and 64 from a 32-pixel source: upscaling presets still give S x S.
    let loader = Loader::new(
        cifar(),
        Preset::ResizeRandomCropFlip.pipeline(128).unwrap(),
        cfg(2, 0, 0),
    )
    .unwrap();
    assert_eq!(loader.host_batch(0).shape, [2, 3, 128, 128]);
}

#[test]
fn batches_do_not_depend_on_the_number_of_workers() {
    let device = Device::flex();
    let set = mnist_small();
    let pipeline = Preset::ResizeRandomCropFlip.pipeline(32).unwrap();
    let collect = |workers: usize| -> Vec<(Vec<f32>, Vec<usize>)> {
        let loader = Loader::new(set.clone(), pipeline.clone(), cfg(16, 11, workers)).unwrap();
        // 12 batches per epoch: 30 batches cross two epoch boundaries.
        loader
            .stream(&device)
            .take(30)
            .map(|b| {
                (
                    b.images.into_data().try_into_vec::<f32>().unwrap(),
                    b.indices,
                )
            })
            .collect()
    };
    let reference = collect(0);
    for workers in [1, 2, 5] {
        assert!(collect(workers) == reference, "{workers} workers differ");
    }
    // host_batch(k) is the same pure function.
    let loader = Loader::new(set.clone(), pipeline.clone(), cfg(16, 11, 3)).unwrap();
    assert_eq!(loader.host_batch(17).images, reference[17].0);
    // A different seed changes both order and augmentation.
    let other = Loader::new(set, pipeline, cfg(16, 12, 0)).unwrap();
    assert_ne!(other.host_batch(0).indices, reference[0].1);
}

#[test]
fn resuming_from_a_saved_state_continues_exactly() {
    let device = Device::flex();
    let set = mnist_small();
    let pipeline = Preset::ResizeRandomCropFlip.pipeline(32).unwrap();
    let loader = Loader::new(set, pipeline, cfg(32, 5, 2)).unwrap();
    let full: Vec<_> = loader.stream(&device).take(14).map(|b| b.index).collect();
    assert_eq!(full, (0..14).collect::<Vec<_>>());

    let mut first = loader.stream(&device);
    let mut seen = Vec::new();
    for _ in 0..9 {
        seen.push(first.next_host().unwrap());
    }
    let state = first.state();
    assert_eq!(
        state,
        LoaderState {
            seed: 5,
            next_batch: 9
        }
    );
    drop(first);
    // The state survives serialisation (it goes into the checkpoint).
    let json = serde_json::to_string(&state).unwrap();
    let state: LoaderState = serde_json::from_str(&json).unwrap();
    let mut resumed = loader.stream_from(&device, state).unwrap();
    let uninterrupted: Vec<_> = {
        let mut s = loader.stream(&device);
        (0..14).map(|_| s.next_host().unwrap()).collect()
    };
    for expected in &uninterrupted[9..] {
        assert_eq!(&resumed.next_host().unwrap(), expected);
    }
    assert_eq!(&seen[..], &uninterrupted[..9]);
}

#[test]
fn an_epoch_visits_every_image_once_and_labels_follow_indices() {
    let device = Device::flex();
    let set = mnist_small();
    let labels = set.labels().unwrap().to_vec();
    // 200 images, batch 32, drop_last: 6 batches, 192 distinct images per epoch.
    let loader = Loader::new(
        set.clone(),
        Preset::ResizeCenterCrop.pipeline(32).unwrap(),
        cfg(32, 9, 2),
    )
    .unwrap();
    assert_eq!(loader.batches_per_epoch(), 6);
    for epoch in 0..2 {
        let mut seen = HashSet::new();
        let mut count = 0;
        for b in loader.epoch(&device, epoch) {
            assert_eq!(b.epoch, epoch);
            let l = b.labels.unwrap();
            for (i, idx) in b.indices.iter().enumerate() {
                assert!(seen.insert(*idx));
                assert_eq!(l[i], labels[*idx]);
            }
            count += 1;
        }
        assert_eq!((count, seen.len()), (6, 192));
    }
    let e0: Vec<_> = loader.epoch(&device, 0).flat_map(|b| b.indices).collect();
    let e1: Vec<_> = loader.epoch(&device, 1).flat_map(|b| b.indices).collect();
    assert_ne!(e0, e1, "each epoch is reshuffled");

    // Evaluation order: dataset order, last batch partial.
    let eval = Loader::new(
        set,
        Preset::ResizeCenterCrop.pipeline(32).unwrap(),
        LoaderConfig::eval(64, 0),
    )
    .unwrap();
    let batches: Vec<_> = eval.epoch(&device, 0).collect();
    assert_eq!(batches.len(), 4);
    assert_eq!(batches[3].images.dims(), [8, 1, 32, 32]);
    let order: Vec<usize> = batches.into_iter().flat_map(|b| b.indices).collect();
    assert_eq!(order, (0..200).collect::<Vec<_>>());
}

#[test]
fn random_presets_vary_with_the_epoch_and_deterministic_ones_do_not() {
    let set = mnist_small().slice(0..4).unwrap();
    let no_shuffle = |preset: Preset| {
        let c = LoaderConfig {
            shuffle: false,
            ..cfg(4, 1, 0)
        };
        Loader::new(set.clone(), preset.pipeline(32).unwrap(), c).unwrap()
    };
    // Same images in the same order in batch 0 (epoch 0) and batch 1 (epoch 1).
    let random = no_shuffle(Preset::ResizeRandomCropFlip);
    assert_ne!(random.host_batch(0).images, random.host_batch(1).images);
    let fixed = no_shuffle(Preset::ResizeCenterCrop);
    assert_eq!(fixed.host_batch(0).images, fixed.host_batch(1).images);
}

#[test]
fn random_crop_and_flip_cover_their_range() {
    // Over many draws of one image, the 4 x 4 crop offsets and both flip states all occur:
    // compare each output with the 16 x 2 candidates computed by the building blocks.
    let set = mnist_small().slice(0..1).unwrap();
    let c = LoaderConfig {
        shuffle: false,
        ..cfg(1, 2, 0)
    };
    let loader = Loader::new(
        set.clone(),
        Preset::ResizeRandomCropFlip.pipeline(32).unwrap(),
        c,
    )
    .unwrap();
    let resized = cold_data::resize_bilinear(set.image(0), 35, 35);
    let mut candidates = Vec::new();
    for top in 0..4 {
        for left in 0..4 {
            let c = cold_data::crop(resized.view(), top, left, 32, 32);
            candidates.push(((top, left, false), c.pixels.clone()));
            let f = cold_data::flip_horizontal(c.view());
            candidates.push(((top, left, true), f.pixels));
        }
    }
    let mut hits = HashSet::new();
    let mut flips = 0;
    for k in 0..400 {
        let b = loader.host_batch(k);
        let bytes: Vec<u8> = b
            .images
            .iter()
            .map(|v| ((v + 1.0) / 2.0 * 255.0).round() as u8)
            .collect();
        let (key, _) = candidates
            .iter()
            .find(|(_, c)| *c == bytes)
            .expect("every output is one of the crop/flip candidates");
        hits.insert((key.0, key.1));
        flips += key.2 as usize;
    }
    assert_eq!(hits.len(), 16);
    // 400 fair coin flips: 200 +- 60 (6 sd).
    assert!((140..=260).contains(&flips), "{flips}");
}

#[test]
fn experiment_table_matches_the_original_loaders() {
    use DatasetKind as D;
    use Experiment as E;
    let p = Preset::for_experiment;
    assert_eq!(p(E::Deblur, D::Mnist, true), Preset::ResizeRandomCropFlip);
    assert_eq!(p(E::Deblur, D::Mnist, false), Preset::ResizeCenterCrop);
    assert_eq!(
        p(E::SuperResolution, D::Mnist, true),
        Preset::ResizeCenterCrop
    );
    assert_eq!(
        p(E::SuperResolution, D::Cifar10, true),
        Preset::ResizeRandomCropFlip
    );
    assert_eq!(
        p(E::Inpaint, D::Mnist, true),
        Preset::ResizeShorterCenterCrop
    );
    assert_eq!(p(E::Inpaint, D::Cifar10, true), Preset::Pad4RandomCropFlip);
    assert_eq!(
        p(E::Inpaint, D::Cifar10, false),
        Preset::ResizeShorterCenterCrop
    );
    assert_eq!(p(E::Snow, D::Cifar10, true), Preset::CenterCrop);
    assert_eq!(p(E::Decolor, D::CelebA, false), Preset::CenterCrop);
    assert_eq!(p(E::Hot, D::Afhq, true), Preset::ResizeRandomCropFlip);
}
