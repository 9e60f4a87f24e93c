//! The MNIST copy bundled in `data/mnist/` loads completely and matches the verified files.
//!
//! Expected values were computed independently of this crate, with numpy from the raw bytes
//! (run from the repository root):
//!
//! ```text
//! python3 -c "import gzip, numpy as np
//! for s in ['train', 't10k']:
//!     im = np.frombuffer(gzip.open(f'data/mnist/{s}-images-idx3-ubyte.gz').read(), np.uint8, offset=16)
//!     lb = np.frombuffer(gzip.open(f'data/mnist/{s}-labels-idx1-ubyte.gz').read(), np.uint8, offset=8)
//!     print(s, im.size // 784, int(im.astype(np.uint64).sum()), np.bincount(lb).tolist())"
//! ```
//!
//! The label counts and uncompressed sha256s are also those of `data/README.md` (from the
//! shared data set's README, which checked them against the canonical MNIST files).

use std::time::Instant;

use cold_data::{IdxArray, Mnist, Split, images_from_idx, read_idx_bytes};
use sha2::{Digest, Sha256};

struct Expected {
    split: Split,
    prefix: &'static str,
    count: usize,
    pixel_sum: u64,
    first_image_sum: u64,
    label_counts: [usize; 10],
    first_labels: [u32; 10],
    images_sha256: &'static str,
    labels_sha256: &'static str,
}

const EXPECTED: [Expected; 2] = [
    Expected {
        split: Split::Train,
        prefix: "train",
        count: 60_000,
        pixel_sum: 1_567_298_545,
        first_image_sum: 27_525,
        label_counts: [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        first_labels: [5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
        images_sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        labels_sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    Expected {
        split: Split::Test,
        prefix: "t10k",
        count: 10_000,
        pixel_sum: 264_923_200,
        first_image_sum: 18_454,
        label_counts: [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
        first_labels: [7, 2, 1, 0, 4, 1, 4, 9, 5, 9],
        images_sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        labels_sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn bundled_mnist_matches_the_verified_files() {
    let dir = Mnist::bundled_dir().unwrap();
    for e in &EXPECTED {
        // Decompression and parsing timed separately.
        let images_path = dir.join(format!("{}-images-idx3-ubyte.gz", e.prefix));
        let labels_path = dir.join(format!("{}-labels-idx1-ubyte.gz", e.prefix));
        let t0 = Instant::now();
        let image_bytes = read_idx_bytes(&images_path).unwrap();
        let label_bytes = read_idx_bytes(&labels_path).unwrap();
        let t_decompress = t0.elapsed();
        assert_eq!(hex(&Sha256::digest(&image_bytes)), e.images_sha256);
        assert_eq!(hex(&Sha256::digest(&label_bytes)), e.labels_sha256);
        let t1 = Instant::now();
        let images = IdxArray::parse(image_bytes, &images_path).unwrap();
        let labels = IdxArray::parse(label_bytes, &labels_path).unwrap();
        let set = images_from_idx(images, &images_path, Some((labels, &labels_path))).unwrap();
        let t_parse = t1.elapsed();
        println!(
            "MNIST {}: decompress {:.0} ms, parse + build {:.1} ms",
            e.prefix,
            t_decompress.as_secs_f64() * 1e3,
            t_parse.as_secs_f64() * 1e3
        );
        // Acceptance: loading after decompression takes under a second.
        assert!(t_parse.as_secs_f64() < 1.0, "{t_parse:?}");

        let set2 = Mnist::bundled(e.split).unwrap();
        assert_eq!(set2.pixels(), set.pixels());
        for s in [&set, &set2] {
            assert_eq!(s.len(), e.count);
            assert_eq!(s.uniform_shape().unwrap().to_string(), "1x28x28");
            let sum: u64 = s.pixels().iter().map(|&p| p as u64).sum();
            assert_eq!(sum, e.pixel_sum);
            let first: u64 = s.image(0).pixels.iter().map(|&p| p as u64).sum();
            assert_eq!(first, e.first_image_sum);
            assert_eq!(s.label_counts(), e.label_counts.to_vec());
            assert_eq!(&s.labels().unwrap()[..10], &e.first_labels);
        }
        assert_eq!(set2.class_names().unwrap()[7], "7");
    }
}

#[test]
fn fashion_mnist_layout_is_read_by_the_same_reader() {
    // Fashion-MNIST has MNIST's file names and format; a 3-image copy made in a temp dir from
    // MNIST test images checks the class names and the plain (uncompressed) path.
    let dir = tempfile::tempdir().unwrap();
    let test = Mnist::bundled(Split::Test).unwrap();
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28];
    images.extend_from_slice(&test.pixels()[..3 * 784]);
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(
        dir.path().join("t10k-labels-idx1-ubyte"),
        [0, 0, 8, 1, 0, 0, 0, 3, 9, 0, 5],
    )
    .unwrap();
    let f = cold_data::FashionMnist::load(dir.path(), Split::Test).unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(f.image(2).pixels, test.image(2).pixels);
    let names = f.class_names().unwrap();
    let labels: Vec<&str> = f
        .labels()
        .unwrap()
        .iter()
        .map(|&l| names[l as usize].as_str())
        .collect();
    assert_eq!(labels, ["Ankle boot", "T-shirt/top", "Sandal"]);
}
