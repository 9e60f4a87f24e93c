//! The deterministic transforms against Pillow 13 / torchvision 0.29 output
//! (`tests/fixtures/make_reference.py`): exact equality, pixel for pixel.

use std::path::{Path, PathBuf};

use cold_data::{
    Channels, Cifar10, ImageBuf, Loader, LoaderConfig, Mnist, Pipeline, Preset, Split, Transform,
    convert_channels, decode_image_file, to_signed_unit,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn parse_hw(s: &str) -> (usize, usize) {
    let (h, w) = s.split_once('x').unwrap();
    (h.parse().unwrap(), w.parse().unwrap())
}

/// Applies a spec of the fixture script (`resize:HxW`, `shorter:S`, `center:HxW`, `gray`).
fn apply_spec(img: ImageBuf, spec: &str) -> ImageBuf {
    let mut img = img;
    let mut rng = rand_free_rng();
    for part in spec.split(',') {
        let (kind, arg) = part.split_once(':').unwrap_or((part, ""));
        img = match kind {
            "gray" => convert_channels(img.view(), Channels::Gray),
            "resize" => {
                let (height, width) = parse_hw(arg);
                Transform::Resize { height, width }.apply(img.view(), &mut rng)
            }
            "shorter" => Transform::ResizeShorter {
                size: arg.parse().unwrap(),
            }
            .apply(img.view(), &mut rng),
            "center" => {
                let (height, width) = parse_hw(arg);
                Transform::CenterCrop { height, width }.apply(img.view(), &mut rng)
            }
            other => panic!("unknown spec {other}"),
        };
    }
    img
}

/// The deterministic transforms never draw; any generator will do.
fn rand_free_rng() -> impl rand::Rng {
    struct Never;
    impl rand::TryRng for Never {
        type Error = std::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            panic!("a deterministic transform drew a random number")
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            panic!("a deterministic transform drew a random number")
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
            panic!("a deterministic transform drew a random number")
        }
    }
    Never
}

#[test]
fn deterministic_transforms_match_pillow_and_torchvision_exactly() {
    let fx = fixtures();
    let mnist = Mnist::bundled(Split::Test).unwrap();
    let cifar = Cifar10::from_files(&[fx.join("cifar10/test_batch_first20.bin")]).unwrap();
    let cases = std::fs::read_to_string(fx.join("reference/cases.tsv")).unwrap();
    let mut checked = 0;
    for line in cases.lines().filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [name, spec, file, _mode, size] = cols[..] else {
            panic!("bad line {line}")
        };
        let input = match name {
            "mnist_test0" => mnist.image(0).to_owned(),
            "mnist_test1" => mnist.image(1).to_owned(),
            "mnist_test7" => mnist.image(7).to_owned(),
            "cifar0" => cifar.image(0).to_owned(),
            "cifar1" => cifar.image(1).to_owned(),
            other => decode_image_file(&fx.join("images").join(format!("{other}.png"))).unwrap(),
        };
        let ours = apply_spec(input, spec);
        let expected = decode_image_file(&fx.join("reference").join(file)).unwrap();
        assert_eq!(
            (ours.shape.height, ours.shape.width),
            parse_hw(size),
            "{line}"
        );
        assert_eq!(ours.shape, expected.shape, "{line}");
        let diff = ours
            .pixels
            .iter()
            .zip(&expected.pixels)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            diff,
            0,
            "{line}: {diff} of {} values differ",
            ours.pixels.len()
        );
        checked += 1;
    }
    assert_eq!(checked, 19);
}

#[test]
fn scaling_to_signed_unit_matches_totensor_then_2x_minus_1() {
    let expected = read_f32(&fixtures().join("reference/signed_unit.f32"));
    assert_eq!(expected.len(), 256);
    for (v, e) in expected.iter().enumerate() {
        assert_eq!(to_signed_unit(v as u8).to_bits(), e.to_bits(), "value {v}");
    }
}

#[test]
fn loader_output_equals_the_original_test_transform_end_to_end() {
    // Dataset (deblurring): Resize((35, 35)), CenterCrop(32), ToTensor(), t * 2 - 1.
    let expected = read_f32(&fixtures().join("reference/mnist_test0_resize_center.f32"));
    let test = Mnist::bundled(Split::Test).unwrap();
    let first = test.select(&[0, 1]).unwrap();
    let loader = Loader::new(
        first,
        Preset::ResizeCenterCrop.pipeline(32).unwrap(),
        LoaderConfig::eval(2, 0),
    )
    .unwrap();
    let batch = loader.host_batch(0);
    assert_eq!(batch.shape, [2, 1, 32, 32]);
    assert_eq!(batch.images[..1024].len(), expected.len());
    for (i, (a, b)) in batch.images.iter().zip(&expected).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "pixel {i}: {a} vs {b}");
    }
    assert!(
        Preset::ResizeCenterCrop
            .pipeline(32)
            .unwrap()
            .is_deterministic()
    );
    assert!(
        !Preset::ResizeRandomCropFlip
            .pipeline(32)
            .unwrap()
            .is_deterministic()
    );
    let _ = Pipeline::identity();
}
