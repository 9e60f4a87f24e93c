//! Every kind of bad input gives an error that names the file and the problem; none panics.

use std::io::Write;
use std::path::{Path, PathBuf};

use cold_data::{
    BadFiles, Channels, Cifar10, ClassLabels, Error, FolderOptions, IdxArray, ImageFolder, Loader,
    LoaderConfig, Mnist, Pipeline, Preset, Split, Transform,
};

fn idx_bytes(type_code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, type_code, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The error message names the file and contains `needle`.
fn assert_err(err: Error, path: &Path, needle: &str) {
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name {}: {msg}",
        path.display()
    );
    assert!(msg.contains(needle), "message lacks {needle:?}: {msg}");
}

fn png(path: &Path, w: u32, h: u32, rgb: bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if rgb {
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 200]))
            .save(path)
            .unwrap();
    } else {
        image::GrayImage::from_fn(w, h, |x, y| image::Luma([(x * 7 + y) as u8]))
            .save(path)
            .unwrap();
    }
}

// ---------------------------------------------------------------- IDX

#[test]
fn truncated_idx_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let full = idx_bytes(8, &[3, 2, 2], &[7; 12]);
    let cut = &full[..full.len() - 5];
    let p = write(dir.path(), "cut-idx3-ubyte", cut);
    assert_err(IdxArray::read(&p).unwrap_err(), &p, "truncated");
    let g = write(dir.path(), "cut-idx3-ubyte.gz", &gzip(cut));
    assert_err(IdxArray::read(&g).unwrap_err(), &g, "truncated");
    // A gzip stream cut in the middle.
    let big = idx_bytes(8, &[100, 28, 28], &vec![3u8; 78_400]);
    let gz = gzip(&big);
    let h = write(dir.path(), "half.gz", &gz[..gz.len() / 2]);
    assert_err(IdxArray::read(&h).unwrap_err(), &h, "");
    // Header cut inside the dimensions, and a 2-byte file.
    let hd = write(dir.path(), "head", &full[..9]);
    assert_err(IdxArray::read(&hd).unwrap_err(), &hd, "truncated header");
    let tiny = write(dir.path(), "tiny", &[0, 0]);
    assert_err(
        IdxArray::read(&tiny).unwrap_err(),
        &tiny,
        "truncated header",
    );
    let empty = write(dir.path(), "empty", &[]);
    assert_err(
        IdxArray::read(&empty).unwrap_err(),
        &empty,
        "truncated header",
    );
}

#[test]
fn wrong_magic_and_unsupported_type() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = idx_bytes(8, &[1, 1, 1], &[1]);
    bad[0] = 0x42;
    let p = write(dir.path(), "magic", &bad);
    assert_err(IdxArray::read(&p).unwrap_err(), &p, "wrong magic");
    let f = write(dir.path(), "floats", &idx_bytes(0x0D, &[1], &[0, 0, 0, 0]));
    assert_err(
        IdxArray::read(&f).unwrap_err(),
        &f,
        "unsupported data type 0x0d",
    );
    let z = write(dir.path(), "zerodim", &idx_bytes(8, &[], &[]));
    assert_err(
        IdxArray::read(&z).unwrap_err(),
        &z,
        "number of dimensions 0",
    );
    // A PNG handed to the IDX reader.
    let png_path = dir.path().join("x.png");
    png(&png_path, 2, 2, false);
    assert_err(
        IdxArray::read(&png_path).unwrap_err(),
        &png_path,
        "wrong magic",
    );
}

#[test]
fn trailing_bytes_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "long", &idx_bytes(8, &[2], &[1, 2, 3]));
    assert_err(IdxArray::read(&p).unwrap_err(), &p, "1 trailing bytes");
}

#[test]
fn absurd_header_dimensions_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    // 4 billion x 4 billion x 4 billion overflows; 60000 x 65535 x 65535 (257 TB) does not.
    for (name, dims) in [
        ("overflow", vec![u32::MAX, u32::MAX, u32::MAX]),
        ("huge", vec![60_000, 65_535, 65_535]),
        ("big-labels", vec![u32::MAX]),
    ] {
        let bytes = idx_bytes(8, &dims, &[1, 2, 3, 4]);
        let p = write(dir.path(), name, &bytes);
        assert_err(IdxArray::read(&p).unwrap_err(), &p, "");
        // gzip: the payload bound comes from the compressed size (deflate expands at most
        // ~1032:1), so a 40-byte file announcing 257 TB is rejected before reading.
        let g = write(dir.path(), &format!("{name}.gz"), &gzip(&bytes));
        let err = IdxArray::read(&g).unwrap_err();
        assert_err(err, &g, "");
    }
    let p = dir.path().join("huge.gz");
    let msg = IdxArray::read(&p).unwrap_err().to_string();
    assert!(msg.contains("cannot decompress to that much"), "{msg}");
}

#[test]
fn mismatched_image_and_label_counts() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "train-images-idx3-ubyte",
        &idx_bytes(8, &[3, 2, 2], &[0; 12]),
    );
    let labels = write(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_bytes(8, &[2], &[0, 1]),
    );
    let err = Mnist::load(dir.path(), Split::Train).unwrap_err();
    assert!(matches!(
        err,
        Error::CountMismatch {
            images: 3,
            labels: 2,
            ..
        }
    ));
    assert_err(err, &labels, "holds 3 images");
}

#[test]
fn images_file_with_wrong_rank_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let im = write(
        dir.path(),
        "t10k-images-idx3-ubyte.gz",
        &gzip(&idx_bytes(8, &[4], &[0; 4])),
    );
    write(
        dir.path(),
        "t10k-labels-idx1-ubyte.gz",
        &gzip(&idx_bytes(8, &[4], &[0; 4])),
    );
    assert_err(
        Mnist::load(dir.path(), Split::Test).unwrap_err(),
        &im,
        "needs 3 dimensions",
    );
    let err = Mnist::load(dir.path(), Split::Train).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("train-images-idx3-ubyte"), "{err}");
    let missing = dir.path().join("nope");
    assert_err(
        Mnist::load(&missing, Split::Train).unwrap_err(),
        &missing,
        "not found",
    );
}

// ---------------------------------------------------------------- CIFAR

#[test]
fn cifar_length_not_a_multiple_of_3073() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "data_batch_1.bin", &vec![1u8; 3073 * 2 + 100]);
    assert_err(
        Cifar10::from_files(&[&p]).unwrap_err(),
        &p,
        "not a multiple of the record size 3073",
    );
    // CIFAR-100 records (3074 bytes) get a hint.
    let c100 = write(dir.path(), "train.bin", &vec![1u8; 3074 * 3]);
    assert_err(
        Cifar10::from_files(&[&c100]).unwrap_err(),
        &c100,
        "CIFAR-100",
    );
    let empty = write(dir.path(), "empty.bin", &[]);
    assert_err(Cifar10::from_files(&[&empty]).unwrap_err(), &empty, "empty");
    // The directory reader reports the bad batch by name too.
    let err = Cifar10::load(dir.path(), Split::Train).unwrap_err();
    assert_err(err, &p, "3073");
}

#[test]
fn cifar_label_out_of_range_and_missing_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut rec = vec![0u8; 3073 * 2];
    rec[3073] = 10;
    let p = write(dir.path(), "test_batch.bin", &rec);
    assert_err(
        Cifar10::load(dir.path(), Split::Test).unwrap_err(),
        &p,
        "record 1",
    );
    let err = Cifar10::load(dir.path(), Split::Train).unwrap_err();
    assert!(err.to_string().contains("data_batch_"), "{err}");
    let none = dir.path().join("missing.bin");
    assert_err(
        Cifar10::load(&none, Split::Test).unwrap_err(),
        &none,
        "not found",
    );
}

// ---------------------------------------------------------------- image folders

#[test]
fn folder_with_no_images() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.txt", b"hello");
    write(dir.path(), "sub/readme.md", b"hi");
    let err = ImageFolder::load(dir.path(), &FolderOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NoImages { .. }));
    assert_err(err, dir.path(), "2 other file(s) ignored");
    let empty = tempfile::tempdir().unwrap();
    let err = ImageFolder::load(empty.path(), &FolderOptions::default()).unwrap_err();
    assert_err(err, empty.path(), "no images found");
    let missing = dir.path().join("does-not-exist");
    assert_err(
        ImageFolder::load(&missing, &FolderOptions::default()).unwrap_err(),
        &missing,
        "cannot read",
    );
}

#[test]
fn undecodable_image_files_fail_by_default_and_can_be_skipped() {
    let dir = tempfile::tempdir().unwrap();
    png(&dir.path().join("a.png"), 4, 4, false);
    let bad = write(dir.path(), "b.png", b"this is not a png at all");
    let mut truncated = std::fs::read(dir.path().join("a.png")).unwrap();
    truncated.truncate(truncated.len() / 2);
    let cut = write(dir.path(), "c.png", &truncated);
    write(dir.path(), "notes.txt", b"ignored: not an image extension");

    let err = ImageFolder::load(dir.path(), &FolderOptions::default()).unwrap_err();
    assert_err(err, &bad, "cannot decode");

    let opts = FolderOptions {
        bad_files: BadFiles::Skip,
        ..FolderOptions::default()
    };
    let loaded = ImageFolder::load(dir.path(), &opts).unwrap();
    assert_eq!(loaded.images.len(), 1);
    assert_eq!(loaded.paths, vec![dir.path().join("a.png")]);
    let skipped: Vec<&Path> = loaded.skipped.iter().map(|s| s.path.as_path()).collect();
    assert_eq!(skipped, vec![bad.as_path(), cut.as_path()]);

    // Only bad files: an error even when skipping.
    let only_bad = tempfile::tempdir().unwrap();
    write(only_bad.path(), "x.jpg", b"garbage");
    let err = ImageFolder::load(only_bad.path(), &opts).unwrap_err();
    assert_err(err, only_bad.path(), "unreadable and skipped");
}

#[cfg(target_os = "linux")]
#[test]
fn unreadable_files_name_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("locked.png");
    png(&p, 3, 3, true);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&p).is_ok() {
        // Running as root, which ignores permissions: use a file no one can read instead
        // (reading /proc/self/mem at offset 0 fails with EIO).
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink("/proc/self/mem", &p).unwrap();
        assert!(std::fs::read(&p).is_err());
    }
    let err = ImageFolder::load(dir.path(), &FolderOptions::default()).unwrap_err();
    assert_err(err, &p, "cannot read");
    let skip = FolderOptions {
        bad_files: BadFiles::Skip,
        ..FolderOptions::default()
    };
    png(&dir.path().join("ok.png"), 3, 3, true);
    let loaded = ImageFolder::load(dir.path(), &skip).unwrap();
    assert_eq!(loaded.images.len(), 1);
    assert_eq!(loaded.skipped[0].path, p);
}

#[test]
fn mixed_sizes_are_resized_by_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    png(&dir.path().join("a.png"), 40, 30, true);
    png(&dir.path().join("b.png"), 17, 50, true);
    png(&dir.path().join("c.png"), 32, 32, true);
    let folder = ImageFolder::load(dir.path(), &FolderOptions::default()).unwrap();
    assert_eq!(folder.images.uniform_shape(), None);
    let loader = Loader::new(
        folder.images.clone(),
        Preset::ResizeRandomCropFlip.pipeline(16).unwrap(),
        LoaderConfig::eval(3, 1),
    )
    .unwrap();
    let b = loader.host_batch(0);
    assert_eq!(b.shape, [3, 3, 16, 16]);
    assert!(b.images.iter().all(|v| (-1.0..=1.0).contains(v)));
    // A pipeline that leaves sizes different is refused up front, naming the folder.
    let flip_only = Pipeline::new(vec![Transform::HorizontalFlip { p: 0.5 }]).unwrap();
    let err = Loader::new(folder.images.clone(), flip_only, LoaderConfig::eval(3, 1))
        .err()
        .unwrap();
    assert_err(err, dir.path(), "different sizes");
    // A random crop larger than an image is refused up front too.
    let crop = Pipeline::new(vec![Transform::RandomCrop {
        height: 31,
        width: 31,
        padding: 0,
    }])
    .unwrap();
    let err = Loader::new(folder.images, crop, LoaderConfig::eval(3, 1))
        .err()
        .unwrap();
    assert_err(err, dir.path(), "larger than");
}

#[test]
fn grayscale_mixed_with_rgb() {
    let dir = tempfile::tempdir().unwrap();
    png(&dir.path().join("cats/1.png"), 8, 8, true);
    png(&dir.path().join("cats/2.png"), 8, 8, false);
    png(&dir.path().join("dogs/x/3.png"), 8, 8, false);
    // Inferred: any colour image makes the set RGB; gray images are replicated.
    let f = ImageFolder::load(dir.path(), &FolderOptions::default()).unwrap();
    assert_eq!(f.images.channels(), Channels::Rgb);
    let gray_as_rgb = f.images.image(1);
    let plane = 64;
    assert_eq!(
        gray_as_rgb.pixels[..plane],
        gray_as_rgb.pixels[plane..2 * plane]
    );
    assert_eq!(f.images.labels(), Some(&[0, 0, 1][..]));
    assert_eq!(
        f.images.class_names().unwrap(),
        &["cats".to_string(), "dogs".to_string()]
    );
    // Explicit gray: colour images go through Pillow's luma formula.
    let g = ImageFolder::load(
        dir.path(),
        &FolderOptions {
            channels: Some(Channels::Gray),
            labels: ClassLabels::None,
            ..FolderOptions::default()
        },
    )
    .unwrap();
    assert_eq!(g.images.channels(), Channels::Gray);
    assert_eq!(g.images.labels(), None);
    // Pixel (x=3, y=5) of the colour image is (3, 5, 200).
    let expected = ((3 * 19595 + 5 * 38470 + 200 * 7471 + 0x8000) >> 16) as u8;
    assert_eq!(g.images.image(0).pixels[5 * 8 + 3], expected);
}

#[test]
fn images_directly_in_root_with_forced_subfolder_labels() {
    let dir = tempfile::tempdir().unwrap();
    png(&dir.path().join("root.png"), 4, 4, false);
    png(&dir.path().join("a/1.png"), 4, 4, false);
    let auto = ImageFolder::load(dir.path(), &FolderOptions::default()).unwrap();
    assert_eq!(auto.images.labels(), None);
    let err = ImageFolder::load(
        dir.path(),
        &FolderOptions {
            labels: ClassLabels::Subfolders,
            ..FolderOptions::default()
        },
    )
    .unwrap_err();
    assert_err(
        err,
        &dir.path().join("root.png"),
        "not in a class sub-folder",
    );
}

// ---------------------------------------------------------------- loader configuration

#[test]
fn loader_configuration_errors() {
    let dir = tempfile::tempdir().unwrap();
    png(&dir.path().join("a.png"), 8, 8, false);
    let set = ImageFolder::load(dir.path(), &FolderOptions::default())
        .unwrap()
        .images;
    let pipeline = Pipeline::identity();
    let err = Loader::new(set.clone(), pipeline.clone(), LoaderConfig::train(0, 1))
        .err()
        .unwrap();
    assert!(err.to_string().contains("batch_size = 0"), "{err}");
    let err = Loader::new(set.clone(), pipeline.clone(), LoaderConfig::train(2, 1))
        .err()
        .unwrap();
    assert_err(err, dir.path(), "no batch");
    let loader = Loader::new(set, pipeline, LoaderConfig::train(1, 1)).unwrap();
    let state = cold_data::LoaderState {
        seed: 2,
        next_batch: 0,
    };
    let err = loader
        .stream_from(&burn::tensor::Device::flex(), state)
        .err()
        .unwrap();
    assert!(err.to_string().contains("seed 2"), "{err}");
    assert!(Pipeline::new(vec![Transform::HorizontalFlip { p: 1.5 }]).is_err());
    assert!(
        Pipeline::new(vec![Transform::Resize {
            height: 0,
            width: 3
        }])
        .is_err()
    );
    assert!(
        Preset::from_name("zoom")
            .unwrap_err()
            .to_string()
            .contains("center-crop")
    );
}
