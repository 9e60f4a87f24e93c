//! Image folders: every PNG / JPEG / WebP file under a directory, decoded into memory.
//!
//! - The walk is recursive and sorted by path, so the order (and a seeded loader's batches) is
//!   the same on every machine. Hidden entries (names starting with `.`) are skipped, symbolic
//!   links to files are followed, links to directories are not (no cycles).
//! - Files are recognised by extension (`png`, `jpg`, `jpeg`, `webp`, any case); other files are
//!   ignored. A file with an image extension that cannot be read or decoded is an **error** by
//!   default ([`BadFiles::Fail`]); with [`BadFiles::Skip`] it is skipped, a warning line is
//!   written to stderr and the file is listed in [`ImageFolder::skipped`].
//! - Colour: images are converted to one channel layout, [`FolderOptions::channels`] or, when
//!   that is `None`, gray if every image is gray and RGB otherwise. Conversions follow Pillow
//!   (`convert("L")` luma weights, gray replicated to RGB); alpha is dropped and 16-bit images
//!   are reduced to 8 bits.
//! - Sizes may differ between images; they are kept as they are and the augmentation pipeline
//!   resizes/crops them (as the original `Dataset` classes did per item).
//! - Labels: with class sub-folders (`root/<class>/**/*.png`, like torchvision's `ImageFolder`
//!   and the original `create_data.py` layout) each image gets the index of its top-level
//!   sub-folder in sorted order.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::image::{Channels, ImageBuf, ImageSet, ImageShape, convert_channels};

/// File extensions read as images (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "webp"];

/// How labels are assigned to the images of a folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClassLabels {
    /// From the top-level sub-folders when every image lies in one, otherwise no labels.
    #[default]
    Auto,
    /// No labels.
    None,
    /// From the top-level sub-folders; an image directly in the root folder is an error.
    Subfolders,
}

/// What to do with a file that has an image extension but cannot be read or decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BadFiles {
    /// Stop with an error naming the file (default).
    #[default]
    Fail,
    /// Skip it: warn on stderr and list it in [`ImageFolder::skipped`].
    Skip,
}

/// Options of [`ImageFolder::load`].
#[derive(Clone, Debug, Default)]
pub struct FolderOptions {
    /// Target channels; `None` infers them (gray if every image is gray, else RGB).
    pub channels: Option<Channels>,
    /// How labels are assigned.
    pub labels: ClassLabels,
    /// What to do with unreadable or undecodable image files.
    pub bad_files: BadFiles,
    /// Decoder threads; 0 uses all available cores.
    pub threads: usize,
}

/// A file that was skipped while loading a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
}

/// The result of loading an image folder.
#[derive(Clone, Debug)]
pub struct ImageFolder {
    /// The decoded images (labels and class names when the folder has class sub-folders).
    pub images: ImageSet,
    /// The file of each image, same order as `images`.
    pub paths: Vec<PathBuf>,
    /// Files with an image extension that were skipped ([`BadFiles::Skip`] only).
    pub skipped: Vec<Skipped>,
}

impl ImageFolder {
    /// Loads every image under `root` (or the single image file `root`).
    pub fn load(root: impl AsRef<Path>, options: &FolderOptions) -> Result<ImageFolder> {
        let root = root.as_ref();
        let meta = std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
        let mut ignored = Vec::new();
        let files = if meta.is_file() {
            if !has_image_extension(root) {
                return Err(Error::NoImages {
                    path: root.to_path_buf(),
                    detail: format!(
                        "the file's extension is not one of {}",
                        IMAGE_EXTENSIONS.join(", ")
                    ),
                });
            }
            vec![root.to_path_buf()]
        } else {
            let mut files = Vec::new();
            walk(root, &mut files, &mut ignored)?;
            files.sort();
            files
        };
        if files.is_empty() {
            let example = ignored
                .first()
                .map(|p: &PathBuf| format!(", e.g. {}", p.display()))
                .unwrap_or_default();
            return Err(Error::NoImages {
                path: root.to_path_buf(),
                detail: format!(
                    "no file with extension {} below it; {} other file(s) ignored{example}",
                    IMAGE_EXTENSIONS.join("/"),
                    ignored.len()
                ),
            });
        }

        let decoded = decode_all(&files, options.threads);
        let mut images = Vec::with_capacity(files.len());
        let mut paths = Vec::with_capacity(files.len());
        let mut skipped = Vec::new();
        for (path, result) in files.into_iter().zip(decoded) {
            match result {
                Ok(img) => {
                    images.push(img);
                    paths.push(path);
                }
                Err(err) if options.bad_files == BadFiles::Skip => {
                    eprintln!("warning: skipping {err}");
                    skipped.push(Skipped {
                        path,
                        reason: err.to_string(),
                    });
                }
                Err(err) => return Err(err),
            }
        }
        if images.is_empty() {
            return Err(Error::NoImages {
                path: root.to_path_buf(),
                detail: format!(
                    "all {} image file(s) were unreadable and skipped, e.g. {}",
                    skipped.len(),
                    skipped[0].reason
                ),
            });
        }

        let target = options.channels.unwrap_or_else(|| {
            if images.iter().all(|im| im.shape.channels == 1) {
                Channels::Gray
            } else {
                Channels::Rgb
            }
        });
        let images: Vec<ImageBuf> = images
            .into_iter()
            .map(|im| {
                if im.shape.channels == target.count() {
                    im
                } else {
                    convert_channels(im.view(), target)
                }
            })
            .collect();

        let (labels, class_names) = assign_labels(root, &paths, options.labels, meta.is_file())?;
        let mut set = ImageSet::from_images(root, images, labels)?;
        if let Some(names) = class_names {
            set = set.with_class_names(names);
        }
        Ok(ImageFolder {
            images: set,
            paths,
            skipped,
        })
    }
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, ignored: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if is_hidden(&path) {
            continue;
        }
        let file_type = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if file_type.is_dir() {
            walk(&path, files, ignored)?;
        } else if file_type.is_file() || (file_type.is_symlink() && path.is_file()) {
            if has_image_extension(&path) {
                files.push(path);
            } else {
                ignored.push(path);
            }
        }
    }
    Ok(())
}

/// Decodes one file into a planar 8-bit image with 1 (gray) or 3 (colour) channels.
pub fn decode_image_file(path: &Path) -> Result<ImageBuf> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_image_bytes(&bytes, path)
}

/// Decodes an encoded image held in memory (format guessed from the content). `path` only names
/// the file in errors.
pub fn decode_image_bytes(bytes: &[u8], path: &Path) -> Result<ImageBuf> {
    let decode_err = |e: image::ImageError| Error::Decode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    if reader.format().is_none() {
        return Err(Error::Decode {
            path: path.to_path_buf(),
            reason: "not a PNG, JPEG or WebP file (unrecognised content)".into(),
        });
    }
    let img = reader.decode().map_err(decode_err)?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return Err(Error::Decode {
            path: path.to_path_buf(),
            reason: format!("empty image {w}x{h}"),
        });
    }
    if img.color().has_color() {
        let rgb = img.to_rgb8();
        let hwc = rgb.as_raw();
        let plane = h * w;
        let mut pixels = vec![0u8; 3 * plane];
        for (i, px) in hwc.chunks_exact(3).enumerate() {
            pixels[i] = px[0];
            pixels[plane + i] = px[1];
            pixels[2 * plane + i] = px[2];
        }
        Ok(ImageBuf {
            shape: ImageShape::new(3, h, w),
            pixels,
        })
    } else {
        Ok(ImageBuf {
            shape: ImageShape::new(1, h, w),
            pixels: img.to_luma8().into_raw(),
        })
    }
}

/// Decodes `files` on `threads` threads (0 = all cores), keeping the order.
fn decode_all(files: &[PathBuf], threads: usize) -> Vec<Result<ImageBuf>> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
    .clamp(1, files.len().max(1));
    if threads == 1 {
        return files.iter().map(|f| decode_image_file(f)).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<ImageBuf>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= files.len() {
                        break;
                    }
                    let r = decode_image_file(&files[i]);
                    results.lock().expect("decoder thread panicked")[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("decoder thread panicked")
        .into_iter()
        .map(|r| r.expect("every file is decoded once"))
        .collect()
}

type Labels = (Option<Vec<u32>>, Option<Vec<String>>);

fn assign_labels(
    root: &Path,
    paths: &[PathBuf],
    mode: ClassLabels,
    root_is_file: bool,
) -> Result<Labels> {
    if mode == ClassLabels::None || root_is_file {
        return Ok((None, None));
    }
    // Top-level folder of each image, or None for an image directly in the root.
    let classes: Vec<Option<String>> = paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap_or(p);
            let mut comps = rel.components();
            let first = comps.next()?;
            comps.next()?; // an image directly in root has a single component
            Some(first.as_os_str().to_string_lossy().into_owned())
        })
        .collect();
    if let Some(pos) = classes.iter().position(Option::is_none) {
        return match mode {
            ClassLabels::Subfolders => Err(Error::config(
                "labels",
                "Subfolders",
                format!(
                    "{} lies directly in the root folder {}, not in a class sub-folder",
                    paths[pos].display(),
                    root.display()
                ),
            )),
            _ => Ok((None, None)),
        };
    }
    let mut names: Vec<String> = classes.iter().flatten().cloned().collect();
    names.sort();
    names.dedup();
    let labels = classes
        .iter()
        .map(|c| {
            let c = c.as_ref().expect("checked above");
            names.binary_search(c).expect("name was collected") as u32
        })
        .collect();
    Ok((Some(labels), Some(names)))
}
