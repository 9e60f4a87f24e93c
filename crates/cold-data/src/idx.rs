//! IDX files (LeCun's MNIST format), plain or gzip-compressed, and the MNIST / Fashion-MNIST
//! datasets built from them.
//!
//! Format: a big-endian header `00 00 TYPE NDIM`, then `NDIM` big-endian `u32` sizes, then the
//! data row-major. Only `TYPE = 0x08` (unsigned byte) is supported, which is what every MNIST-like
//! dataset uses. Images are `[N, H, W]` (idx3), labels `[N]` (idx1).
//!
//! Robustness: the header is validated against the real amount of data **before** the payload
//! is allocated (the file length for plain files; for gzip files the payload is read with a
//! bound, so a lying header never causes a large allocation). Every error names the file.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};
use crate::image::{ImageSet, ImageShape};

/// Largest number of dimensions accepted in an IDX header.
pub const MAX_DIMS: usize = 8;
/// The IDX type code of unsigned bytes.
const TYPE_U8: u8 = 0x08;
/// The two bytes that start every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Deflate cannot expand data by more than about 1032:1, which bounds the decompressed size
/// of a gzip file from its compressed size.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// A parsed IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// The sizes, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The payload, row-major, `dims.iter().product()` bytes.
    pub data: Vec<u8>,
}

/// The header of an IDX file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Header {
    dims: Vec<usize>,
    /// Header length in bytes (`4 + 4 * ndim`).
    len: usize,
    /// Payload length in bytes (product of `dims`).
    payload: usize,
}

/// Parses an IDX header from the first bytes of a file; `bytes` may be longer than the header.
/// Returns `Ok(None)` when more bytes are needed to finish the header.
fn parse_header(bytes: &[u8]) -> std::result::Result<Option<Header>, String> {
    if bytes.len() < 4 {
        return Ok(None);
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "wrong magic number: first bytes are {:02x} {:02x}, an IDX file starts with 00 00",
            bytes[0], bytes[1]
        ));
    }
    if bytes[2] != TYPE_U8 {
        let name = match bytes[2] {
            0x09 => "signed byte",
            0x0B => "i16",
            0x0C => "i32",
            0x0D => "f32",
            0x0E => "f64",
            _ => "unknown",
        };
        return Err(format!(
            "unsupported data type 0x{:02x} ({name}); only 0x08 (unsigned byte) is supported",
            bytes[2]
        ));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 || ndim > MAX_DIMS {
        return Err(format!(
            "invalid number of dimensions {ndim} (expected 1..={MAX_DIMS})"
        ));
    }
    let len = 4 + 4 * ndim;
    if bytes.len() < len {
        return Ok(None);
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            let b = &bytes[4 + 4 * i..8 + 4 * i];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    let payload = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("dimensions {dims:?} overflow the address space"))?;
    Ok(Some(Header { dims, len, payload }))
}

impl IdxArray {
    /// Parses a complete IDX file held in memory (already decompressed). `path` only names the
    /// file in errors.
    ///
    /// The header must describe exactly the bytes that follow it: a shorter file is "truncated",
    /// a longer one has "trailing bytes".
    pub fn parse(mut bytes: Vec<u8>, path: &Path) -> Result<IdxArray> {
        let header = match parse_header(&bytes) {
            Ok(Some(h)) => h,
            Ok(None) => {
                return Err(Error::idx(
                    path,
                    format!("truncated header: the file has only {} bytes", bytes.len()),
                ));
            }
            Err(reason) => return Err(Error::idx(path, reason)),
        };
        check_payload_len(path, &header, (bytes.len() - header.len) as u64)?;
        bytes.drain(..header.len);
        Ok(IdxArray {
            dims: header.dims,
            data: bytes,
        })
    }

    /// Reads and parses an IDX file, plain or gzip-compressed (detected from the content, not
    /// the file name).
    pub fn read(path: impl AsRef<Path>) -> Result<IdxArray> {
        let path = path.as_ref();
        let bytes = read_idx_bytes(path)?;
        IdxArray::parse(bytes, path)
    }
}

fn check_payload_len(path: &Path, header: &Header, actual: u64) -> Result<()> {
    let expected = header.payload as u64;
    if actual < expected {
        Err(Error::idx(
            path,
            format!(
                "truncated: header dimensions {:?} need {expected} data bytes but only {actual} follow the header",
                header.dims
            ),
        ))
    } else if actual > expected {
        Err(Error::idx(
            path,
            format!(
                "{} trailing bytes: header dimensions {:?} need {expected} data bytes but {actual} follow the header",
                actual - expected,
                header.dims
            ),
        ))
    } else {
        Ok(())
    }
}

/// Reads the complete (decompressed) bytes of an IDX file, header included, validating the header
/// before the payload is allocated.
///
/// This is the decompression half of [`IdxArray::read`]; [`IdxArray::parse`] is the other half.
pub fn read_idx_bytes(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut magic = [0u8; 2];
    let got = read_up_to(&mut reader, &mut magic).map_err(|e| Error::io(path, e))?;
    let prefix = &magic[..got];
    if prefix == GZIP_MAGIC {
        let chained = std::io::Cursor::new(magic).chain(reader);
        let decoder = MultiGzDecoder::new(chained);
        read_with_header_bound(decoder, path, Source::Gzip(file_len))
    } else {
        let chained = std::io::Cursor::new(prefix.to_vec()).chain(reader);
        read_with_header_bound(chained, path, Source::Plain(file_len))
    }
}

/// What the bytes are read from, with its length on disk.
#[derive(Clone, Copy)]
enum Source {
    Plain(u64),
    Gzip(u64),
}

/// Reads the header, then exactly the payload it announces (plus one byte to detect trailing
/// data). The file length bounds what the source can possibly deliver, so a header that
/// announces more is rejected before anything is allocated.
fn read_with_header_bound(mut src: impl Read, path: &Path, source: Source) -> Result<Vec<u8>> {
    let read_err = |e: std::io::Error| match source {
        Source::Gzip(_) => Error::idx(path, format!("corrupt or truncated gzip stream: {e}")),
        Source::Plain(_) => Error::io(path, e),
    };
    let mut head = vec![0u8; 4];
    let got = read_up_to(&mut src, &mut head).map_err(read_err)?;
    head.truncate(got);
    let header = loop {
        match parse_header(&head) {
            Ok(Some(h)) => break h,
            Ok(None) if head.len() < 4 => {
                return Err(Error::idx(
                    path,
                    format!("truncated header: the file has only {} bytes", head.len()),
                ));
            }
            Ok(None) => {
                let need = 4 + 4 * head[3] as usize;
                let have = head.len();
                head.resize(need, 0);
                let got = read_up_to(&mut src, &mut head[have..]).map_err(read_err)?;
                if got < need - have {
                    return Err(Error::idx(
                        path,
                        format!(
                            "truncated header: {} dimensions need {need} header bytes, the file has {}",
                            head[3],
                            have + got
                        ),
                    ));
                }
            }
            Err(reason) => return Err(Error::idx(path, reason)),
        }
    };
    let total = header.len as u64 + header.payload as u64;
    let (max_total, what) = match source {
        Source::Plain(len) => (len, format!("the file has only {len} bytes")),
        Source::Gzip(len) => (
            len.saturating_mul(MAX_DEFLATE_RATIO),
            format!("a gzip file of {len} bytes cannot decompress to that much"),
        ),
    };
    if total > max_total {
        return Err(Error::idx(
            path,
            format!(
                "truncated: header dimensions {:?} need {total} bytes in all; {what}",
                header.dims
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(header.len + header.payload + 1);
    bytes.extend_from_slice(&head);
    src.take(header.payload as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    check_payload_len(path, &header, (bytes.len() - header.len) as u64)?;
    Ok(bytes)
}

/// `read` until `buf` is full or the source ends; returns the number of bytes read.
fn read_up_to(src: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Builds an [`ImageSet`] from an images array (`[N, H, W]`) and an optional labels array
/// (`[N]`), naming the two files in errors.
pub fn images_from_idx(
    images: IdxArray,
    images_path: &Path,
    labels: Option<(IdxArray, &Path)>,
) -> Result<ImageSet> {
    let [n, h, w] = images.dims[..] else {
        return Err(Error::idx(
            images_path,
            format!(
                "an image file needs 3 dimensions [N, H, W], this one has {:?}",
                images.dims
            ),
        ));
    };
    if n == 0 || h == 0 || w == 0 {
        return Err(Error::idx(
            images_path,
            format!("empty image array {:?}", images.dims),
        ));
    }
    let labels = match labels {
        None => None,
        Some((labels, labels_path)) => {
            let [m] = labels.dims[..] else {
                return Err(Error::idx(
                    labels_path,
                    format!(
                        "a label file needs 1 dimension [N], this one has {:?}",
                        labels.dims
                    ),
                ));
            };
            if m != n {
                return Err(Error::CountMismatch {
                    images_path: images_path.to_path_buf(),
                    images: n,
                    labels_path: labels_path.to_path_buf(),
                    labels: m,
                });
            }
            Some(labels.data.iter().map(|&l| l as u32).collect())
        }
    };
    ImageSet::from_uniform(images_path, ImageShape::new(1, h, w), images.data, labels)
}

/// Which half of a dataset to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Split {
    /// The training set.
    Train,
    /// The test set.
    Test,
}

impl Split {
    fn idx_prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// Finds `<prefix>-<kind>-idx<d>-ubyte` in `dir`, accepting the common spellings (`.gz` or not,
/// `-idx` or `.idx`).
fn find_idx_file(dir: &Path, prefix: &str, kind: &str, d: u8) -> Result<PathBuf> {
    let mut tried = Vec::new();
    for sep in ['-', '.'] {
        for ext in [".gz", ""] {
            let p = dir.join(format!("{prefix}-{kind}{sep}idx{d}-ubyte{ext}"));
            if p.is_file() {
                return Ok(p);
            }
            tried.push(p);
        }
    }
    Err(Error::NotFound {
        what: format!("{prefix} {kind} IDX file"),
        tried,
    })
}

/// Loads the images and labels of `split` from an MNIST-style directory.
fn load_mnist_like(dir: &Path, split: Split) -> Result<ImageSet> {
    if !dir.is_dir() {
        return Err(Error::NotFound {
            what: "MNIST-style dataset directory".into(),
            tried: vec![dir.to_path_buf()],
        });
    }
    let images_path = find_idx_file(dir, split.idx_prefix(), "images", 3)?;
    let labels_path = find_idx_file(dir, split.idx_prefix(), "labels", 1)?;
    let images = IdxArray::read(&images_path)?;
    let labels = IdxArray::read(&labels_path)?;
    images_from_idx(images, &images_path, Some((labels, &labels_path)))
}

/// MNIST handwritten digits (LeCun, Cortes, Burges): 60 000 train + 10 000 test 28x28 gray
/// images, labels 0-9.
///
/// Point it at a directory holding the four IDX files (`train-images-idx3-ubyte`,
/// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each
/// optionally `.gz`; the `train-images.idx3-ubyte` spelling works too). Nothing is downloaded.
pub struct Mnist;

/// Environment variable naming a data directory that holds `mnist/` (checked first by
/// [`Mnist::bundled_dir`]).
pub const DATA_DIR_ENV: &str = "COLD_DIFFUSION_DATA";

impl Mnist {
    /// Loads `split` from `dir`.
    pub fn load(dir: impl AsRef<Path>, split: Split) -> Result<ImageSet> {
        let names = (0..10).map(|d| d.to_string()).collect();
        Ok(load_mnist_like(dir.as_ref(), split)?.with_class_names(names))
    }

    /// Loads `split` of the copy of MNIST bundled in the repository's `data/mnist/`.
    ///
    /// See [`Mnist::bundled_dir`] for where it is looked for.
    pub fn bundled(split: Split) -> Result<ImageSet> {
        Mnist::load(Mnist::bundled_dir()?, split)
    }

    /// Finds the bundled MNIST directory. In order: `$COLD_DIFFUSION_DATA/mnist`, then
    /// `data/mnist` in the current directory and each of its ancestors, then `data/mnist` of the
    /// workspace this crate was built in. The error lists every place tried.
    pub fn bundled_dir() -> Result<PathBuf> {
        let mut tried = Vec::new();
        let mut candidates = Vec::new();
        if let Some(dir) = std::env::var_os(DATA_DIR_ENV) {
            candidates.push(PathBuf::from(dir).join("mnist"));
        }
        if let Ok(cwd) = std::env::current_dir() {
            candidates.extend(cwd.ancestors().map(|a| a.join("data").join("mnist")));
        }
        candidates.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("..")
                .join("data")
                .join("mnist"),
        );
        for dir in candidates {
            if find_idx_file(&dir, "train", "images", 3).is_ok() {
                return Ok(dir);
            }
            tried.push(dir);
        }
        Err(Error::NotFound {
            what: format!(
                "the bundled MNIST (data/mnist with train-images-idx3-ubyte.gz ...); run from the \
                 repository or set {DATA_DIR_ENV} to the directory that contains mnist/"
            ),
            tried,
        })
    }
}

/// Fashion-MNIST (Zalando): 60 000 train + 10 000 test 28x28 gray images of clothes, labels
/// 0-9, in the same IDX layout and file names as MNIST.
pub struct FashionMnist;

impl FashionMnist {
    /// The class names, index = label.
    pub const CLASSES: [&'static str; 10] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ];

    /// Loads `split` from `dir` (same file names as MNIST).
    pub fn load(dir: impl AsRef<Path>, split: Split) -> Result<ImageSet> {
        let names = Self::CLASSES.iter().map(|s| s.to_string()).collect();
        Ok(load_mnist_like(dir.as_ref(), split)?.with_class_names(names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn parses_a_small_array() {
        let bytes = idx_bytes(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let a = IdxArray::parse(bytes, Path::new("a")).unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn rejects_wrong_magic_type_and_lengths() {
        let p = Path::new("f.idx");
        let mut bad = idx_bytes(&[1], &[0]);
        bad[1] = 3;
        assert!(
            IdxArray::parse(bad, p)
                .unwrap_err()
                .to_string()
                .contains("wrong magic")
        );
        let mut f32s = idx_bytes(&[1], &[0, 0, 0, 0]);
        f32s[2] = 0x0D;
        assert!(
            IdxArray::parse(f32s, p)
                .unwrap_err()
                .to_string()
                .contains("0x0d")
        );
        let short = idx_bytes(&[4], &[1, 2]);
        assert!(
            IdxArray::parse(short, p)
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
        let long = idx_bytes(&[1], &[1, 2]);
        assert!(
            IdxArray::parse(long, p)
                .unwrap_err()
                .to_string()
                .contains("trailing")
        );
        let head = vec![0, 0, 8, 3, 0, 0];
        assert!(
            IdxArray::parse(head, p)
                .unwrap_err()
                .to_string()
                .contains("truncated header")
        );
    }

    #[test]
    fn overflowing_dimensions_are_rejected() {
        let bytes = idx_bytes(&[u32::MAX, u32::MAX, u32::MAX], &[]);
        let err = IdxArray::parse(bytes, Path::new("big")).unwrap_err();
        assert!(err.to_string().contains("big"), "{err}");
    }
}
