//! The readers on valid input: CIFAR-10 batches against the independent PNG copies, image
//! folders with PNG / JPEG / WebP files, class sub-folders, hidden and foreign files.

use std::path::{Path, PathBuf};

use cold_data::{Channels, Cifar10, FolderOptions, ImageFolder, Split, decode_image_file};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn cifar_records_equal_the_independent_png_copies() {
    let fx = fixtures().join("cifar10");
    // A directory holding only test_batch_first20.bin is not a CIFAR directory (no
    // test_batch.bin); the file itself is read whatever the split.
    let set = Cifar10::load(fx.join("test_batch_first20.bin"), Split::Train).unwrap();
    assert_eq!(set.len(), 20);
    assert_eq!(
        set.labels().unwrap(),
        &[3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]
    );
    assert_eq!(set.class_names().unwrap()[3], "cat");
    for (i, name) in [(0, "00_label3.png"), (1, "01_label8.png")] {
        let png = decode_image_file(&fx.join("png").join(name)).unwrap();
        assert_eq!(png.shape.to_string(), "3x32x32");
        assert_eq!(set.image(i).pixels, &png.pixels[..], "image {i}");
    }
    // The directory layout: test_batch.bin / data_batch_N.bin, numeric order, and the
    // cifar-10-batches-bin sub-folder; class names from batches.meta.txt.
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&nested).unwrap();
    let bytes = std::fs::read(fx.join("test_batch_first20.bin")).unwrap();
    std::fs::write(nested.join("test_batch.bin"), &bytes).unwrap();
    std::fs::write(nested.join("data_batch_10.bin"), &bytes[..3073]).unwrap();
    std::fs::write(nested.join("data_batch_2.bin"), &bytes[3073..3 * 3073]).unwrap();
    std::fs::write(
        nested.join("batches.meta.txt"),
        "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n",
    )
    .unwrap();
    let test = Cifar10::load(dir.path(), Split::Test).unwrap();
    assert_eq!(test.pixels(), set.pixels());
    assert_eq!(test.class_names().unwrap()[9], "j");
    let train = Cifar10::load(dir.path(), Split::Train).unwrap();
    // data_batch_2 (records 1, 2) comes before data_batch_10 (record 0).
    assert_eq!(train.labels().unwrap(), &[8, 8, 3]);
    assert_eq!(train.image(2).pixels, set.image(0).pixels);
}

#[test]
fn folders_read_png_jpeg_and_webp_recursively_in_sorted_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let img = image::RgbImage::from_fn(20, 10, |x, y| {
        image::Rgb([(x * 12) as u8, (y * 25) as u8, 128])
    });
    std::fs::create_dir_all(root.join("b/deeper")).unwrap();
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::create_dir_all(root.join(".hidden")).unwrap();
    img.save(root.join("b/deeper/z.png")).unwrap();
    img.save(root.join("a/y.JPG")).unwrap(); // extension case is ignored
    img.save_with_format(root.join("a/x.webp"), image::ImageFormat::WebP)
        .unwrap();
    img.save(root.join(".hidden/skip.png")).unwrap();
    img.save(root.join("a/.skip.png")).unwrap();
    std::fs::write(root.join("a/notes.txt"), "not an image").unwrap();

    let f = ImageFolder::load(root, &FolderOptions::default()).unwrap();
    let names: Vec<_> = f
        .paths
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a/x.webp", "a/y.JPG", "b/deeper/z.png"]);
    assert_eq!(f.images.channels(), Channels::Rgb);
    assert_eq!(f.images.uniform_shape().unwrap().to_string(), "3x10x20");
    assert_eq!(f.images.labels(), Some(&[0, 0, 1][..]));
    // Lossless formats round-trip exactly; JPEG is close.
    let png = f.images.image(2);
    let webp = f.images.image(0);
    assert_eq!(png.pixels, webp.pixels);
    assert_eq!(png.pixels[20 * 10 + 3 * 20 + 4], 75); // green plane, y = 3, x = 4
    let jpeg = f.images.image(1);
    let max_err = png
        .pixels
        .iter()
        .zip(jpeg.pixels)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(max_err < 40, "{max_err}");
    // A single file works too.
    let one = ImageFolder::load(root.join("b/deeper/z.png"), &FolderOptions::default()).unwrap();
    assert_eq!(one.images.len(), 1);
    assert_eq!(one.images.labels(), None);
}

#[test]
fn gray_png_stays_one_channel_and_threads_do_not_change_the_result() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..23u32 {
        image::GrayImage::from_fn(5 + i % 3, 7, |x, y| {
            image::Luma([(x * 31 + y * 3 + i) as u8])
        })
        .save(dir.path().join(format!("{i:03}.png")))
        .unwrap();
    }
    let one = ImageFolder::load(
        dir.path(),
        &FolderOptions {
            threads: 1,
            ..FolderOptions::default()
        },
    )
    .unwrap();
    let many = ImageFolder::load(
        dir.path(),
        &FolderOptions {
            threads: 4,
            ..FolderOptions::default()
        },
    )
    .unwrap();
    assert_eq!(one.images.channels(), Channels::Gray);
    assert_eq!(one.images.pixels(), many.images.pixels());
    assert_eq!(one.paths, many.paths);
    assert_eq!(one.images.shape(4).to_string(), "1x7x6");
    assert_eq!(one.images.image(4).pixels[7], 31 + 3 + 4); // y = 1, x = 1
}
