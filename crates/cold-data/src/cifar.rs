//! CIFAR-10 in its binary format (`cifar-10-batches-bin`).
//!
//! Each record is 3073 bytes: one label byte (0-9), then the 32x32 red plane, the green plane
//! and the blue plane, row-major, exactly as in `data_batch_1.bin` ... `data_batch_5.bin` and
//! `test_batch.bin`. The planes are stored as they are: they already are our planar CHW layout.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::idx::Split;
use crate::image::{ImageSet, ImageShape};

/// Side of a CIFAR-10 image.
pub const SIDE: usize = 32;
/// Bytes of one image (3 planes of 32x32).
pub const IMAGE_BYTES: usize = 3 * SIDE * SIDE;
/// Bytes of one record: the label byte and the image.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Number of CIFAR-10 classes.
pub const NUM_CLASSES: usize = 10;

/// CIFAR-10 (Krizhevsky, 2009): 50 000 train + 10 000 test 32x32 RGB images in 10 classes.
///
/// Nothing is downloaded: point [`Cifar10::load`] at the extracted `cifar-10-batches-bin`
/// directory (or its parent), or [`Cifar10::from_files`] at one or more batch files.
pub struct Cifar10;

impl Cifar10 {
    /// The class names, index = label (also in `batches.meta.txt`).
    pub const CLASSES: [&'static str; 10] = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];

    /// Loads `split` from `path`.
    ///
    /// - a file: that one batch file, whatever the split;
    /// - a directory (or one holding `cifar-10-batches-bin/`): `data_batch_*.bin` in numeric
    ///   order for [`Split::Train`], `test_batch.bin` for [`Split::Test`].
    ///
    /// Class names come from `batches.meta.txt` when it is beside the batches, otherwise the
    /// standard ten names.
    pub fn load(path: impl AsRef<Path>, split: Split) -> Result<ImageSet> {
        let path = path.as_ref();
        if path.is_file() {
            return Cifar10::from_files(&[path]);
        }
        if !path.is_dir() {
            return Err(Error::NotFound {
                what: "CIFAR-10 batch file or directory".into(),
                tried: vec![path.to_path_buf()],
            });
        }
        let nested = path.join("cifar-10-batches-bin");
        let dir = if nested.is_dir() {
            nested
        } else {
            path.to_path_buf()
        };
        let files = match split {
            Split::Train => train_batches(&dir)?,
            Split::Test => {
                let f = dir.join("test_batch.bin");
                if !f.is_file() {
                    return Err(Error::NotFound {
                        what: "CIFAR-10 test batch".into(),
                        tried: vec![f],
                    });
                }
                vec![f]
            }
        };
        let set = Cifar10::from_files(&files)?;
        match read_meta(&dir.join("batches.meta.txt")) {
            Some(names) => Ok(set.with_class_names(names)),
            None => Ok(set),
        }
    }

    /// Loads and concatenates the records of `files`, in order.
    pub fn from_files<P: AsRef<Path>>(files: &[P]) -> Result<ImageSet> {
        let Some(first) = files.first() else {
            return Err(Error::config(
                "files",
                "[]",
                "give at least one CIFAR-10 batch file",
            ));
        };
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for f in files {
            let f = f.as_ref();
            let bytes = std::fs::read(f).map_err(|e| Error::io(f, e))?;
            let n = check_records(&bytes, f)?;
            pixels.reserve(n * IMAGE_BYTES);
            labels.reserve(n);
            parse_records_into(&bytes, &mut pixels, &mut labels);
        }
        let source = if files.len() == 1 {
            first.as_ref().to_path_buf()
        } else {
            first
                .as_ref()
                .parent()
                .map_or_else(|| first.as_ref().to_path_buf(), Path::to_path_buf)
        };
        let names = Cifar10::CLASSES.iter().map(|s| s.to_string()).collect();
        Ok(
            ImageSet::from_uniform(source, ImageShape::new(3, SIDE, SIDE), pixels, Some(labels))?
                .with_class_names(names),
        )
    }

    /// Parses one batch file held in memory. `path` only names the file in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<ImageSet> {
        let n = check_records(bytes, path)?;
        let mut pixels = Vec::with_capacity(n * IMAGE_BYTES);
        let mut labels = Vec::with_capacity(n);
        parse_records_into(bytes, &mut pixels, &mut labels);
        let names = Cifar10::CLASSES.iter().map(|s| s.to_string()).collect();
        Ok(
            ImageSet::from_uniform(path, ImageShape::new(3, SIDE, SIDE), pixels, Some(labels))?
                .with_class_names(names),
        )
    }
}

/// Validates the length and the labels of a batch; returns the record count.
fn check_records(bytes: &[u8], path: &Path) -> Result<usize> {
    if bytes.is_empty() {
        return Err(Error::cifar(path, "the file is empty"));
    }
    if !bytes.len().is_multiple_of(RECORD_BYTES) {
        let hint = if bytes.len().is_multiple_of(RECORD_BYTES + 1) {
            " (its length is a multiple of 3074: this looks like CIFAR-100, which has two label bytes per record and is not supported)"
        } else {
            ""
        };
        return Err(Error::cifar(
            path,
            format!(
                "length {} is not a multiple of the record size {RECORD_BYTES} (1 label byte + 3072 pixel bytes): {} whole records and {} bytes left over{hint}",
                bytes.len(),
                bytes.len() / RECORD_BYTES,
                bytes.len() % RECORD_BYTES
            ),
        ));
    }
    let n = bytes.len() / RECORD_BYTES;
    for (i, rec) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        if rec[0] as usize >= NUM_CLASSES {
            return Err(Error::cifar(
                path,
                format!(
                    "record {i} (byte offset {}) has label {}, CIFAR-10 labels are 0..=9",
                    i * RECORD_BYTES,
                    rec[0]
                ),
            ));
        }
    }
    Ok(n)
}

fn parse_records_into(bytes: &[u8], pixels: &mut Vec<u8>, labels: &mut Vec<u32>) {
    for rec in bytes.chunks_exact(RECORD_BYTES) {
        labels.push(rec[0] as u32);
        pixels.extend_from_slice(&rec[1..]);
    }
}

/// `data_batch_<n>.bin` files of `dir`, sorted by `n`.
fn train_batches(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(num) = name
            .strip_prefix("data_batch_")
            .and_then(|r| r.strip_suffix(".bin"))
            .and_then(|n| n.parse::<u32>().ok())
        {
            found.push((num, entry.path()));
        }
    }
    if found.is_empty() {
        return Err(Error::NotFound {
            what: "CIFAR-10 training batches (data_batch_*.bin)".into(),
            tried: vec![dir.to_path_buf()],
        });
    }
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// Ten non-empty lines of `batches.meta.txt`, when the file exists and has them.
fn read_meta(path: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    (names.len() == NUM_CLASSES).then_some(names)
}
