//! In-memory image storage: decoded 8-bit images, planar (CHW), with optional labels.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Number of colour channels of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Channels {
    /// One channel (luma).
    Gray,
    /// Three channels (red, green, blue).
    Rgb,
}

impl Channels {
    /// The channel count: 1 or 3.
    pub fn count(self) -> usize {
        match self {
            Channels::Gray => 1,
            Channels::Rgb => 3,
        }
    }

    /// The variant with `count` channels (1 or 3).
    pub fn from_count(count: usize) -> Result<Self> {
        match count {
            1 => Ok(Channels::Gray),
            3 => Ok(Channels::Rgb),
            n => Err(Error::config(
                "channels",
                n,
                "only 1 (gray) or 3 (RGB) are supported",
            )),
        }
    }
}

/// Shape of one image: channels, height, width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ImageShape {
    /// Number of channels (1 or 3).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl ImageShape {
    /// A new shape.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
        }
    }

    /// Number of bytes of one image with this shape (`channels * height * width`).
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// True when the shape holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.height, self.width)
    }
}

/// A borrowed 8-bit image, planar: channel 0 rows first, then channel 1, ...
///
/// Index `(c, y, x)` is at `pixels[(c * height + y) * width + x]`.
#[derive(Clone, Copy, Debug)]
pub struct ImageView<'a> {
    /// The shape.
    pub shape: ImageShape,
    /// `shape.len()` bytes, planar CHW.
    pub pixels: &'a [u8],
}

/// An owned 8-bit image, planar CHW (see [`ImageView`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageBuf {
    /// The shape.
    pub shape: ImageShape,
    /// `shape.len()` bytes, planar CHW.
    pub pixels: Vec<u8>,
}

impl ImageBuf {
    /// Wraps `pixels` (planar CHW); errors when the length does not match the shape.
    pub fn new(shape: ImageShape, pixels: Vec<u8>) -> Result<Self> {
        if pixels.len() != shape.len() {
            return Err(Error::config(
                "pixels",
                format!("{} bytes", pixels.len()),
                format!("shape {shape} needs {} bytes", shape.len()),
            ));
        }
        Ok(Self { shape, pixels })
    }

    /// A borrowed view.
    pub fn view(&self) -> ImageView<'_> {
        ImageView {
            shape: self.shape,
            pixels: &self.pixels,
        }
    }
}

impl ImageView<'_> {
    /// Copies into an owned image.
    pub fn to_owned(&self) -> ImageBuf {
        ImageBuf {
            shape: self.shape,
            pixels: self.pixels.to_vec(),
        }
    }
}

/// Converts planar RGB to one luma channel exactly as Pillow's `Image.convert("L")`:
/// `L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16` (ITU-R 601-2 luma, 16-bit fixed
/// point).
pub fn rgb_to_gray(view: ImageView<'_>) -> ImageBuf {
    assert_eq!(view.shape.channels, 3, "rgb_to_gray needs 3 channels");
    let plane = view.shape.height * view.shape.width;
    let (r, rest) = view.pixels.split_at(plane);
    let (g, b) = rest.split_at(plane);
    let pixels = r
        .iter()
        .zip(g)
        .zip(b)
        .map(|((&r, &g), &b)| {
            ((r as u32 * 19595 + g as u32 * 38470 + b as u32 * 7471 + 0x8000) >> 16) as u8
        })
        .collect();
    ImageBuf {
        shape: ImageShape::new(1, view.shape.height, view.shape.width),
        pixels,
    }
}

/// Converts one gray channel to RGB by replication (Pillow's `convert("RGB")` of an `L` image).
pub fn gray_to_rgb(view: ImageView<'_>) -> ImageBuf {
    assert_eq!(view.shape.channels, 1, "gray_to_rgb needs 1 channel");
    let mut pixels = Vec::with_capacity(view.pixels.len() * 3);
    for _ in 0..3 {
        pixels.extend_from_slice(view.pixels);
    }
    ImageBuf {
        shape: ImageShape::new(3, view.shape.height, view.shape.width),
        pixels,
    }
}

/// Random access to the images of a dataset: the small trait the [`Loader`](crate::Loader)
/// needs.
///
/// Implemented by [`ImageSet`]; implement it for your own storage (e.g. a memory-mapped file)
/// to use the loader with it. Implementations must be cheap to call from several threads.
pub trait ImageDataset: Send + Sync {
    /// Number of images.
    fn len(&self) -> usize;
    /// True when the dataset holds no image.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Image `index` (`index < len()`; may panic otherwise).
    fn image(&self, index: usize) -> ImageView<'_>;
    /// The label of image `index`, when the dataset has labels.
    fn label(&self, index: usize) -> Option<u32>;
    /// The shape of image `index` (default: `image(index).shape`).
    fn shape(&self, index: usize) -> ImageShape {
        self.image(index).shape
    }
    /// The common shape of all images, when they all have the same shape.
    fn uniform_shape(&self) -> Option<ImageShape>;
    /// A human-readable description of where the data came from (used in error messages).
    fn source(&self) -> &Path;
}

#[derive(Clone, Debug)]
enum Layout {
    /// Every image has the same shape; image `i` starts at `i * shape.len()`.
    Uniform { shape: ImageShape, count: usize },
    /// Images of different heights/widths (same channel count); image `i` is
    /// `pixels[offsets[i]..offsets[i + 1]]` with shape `shapes[i]`.
    Ragged {
        shapes: Vec<ImageShape>,
        offsets: Vec<usize>,
    },
}

/// A dataset held in memory as decoded 8-bit images (one byte per pixel and channel, planar
/// CHW), with optional integer labels and class names.
///
/// MNIST train takes 47 MB, CIFAR-10 train 154 MB. All images have the same channel count;
/// heights and widths may differ (an image folder of mixed sizes), in which case the
/// augmentation pipeline resizes/crops them to a common size.
#[derive(Clone, Debug)]
pub struct ImageSet {
    pixels: Vec<u8>,
    layout: Layout,
    channels: Channels,
    labels: Option<Vec<u32>>,
    class_names: Option<Vec<String>>,
    source: PathBuf,
}

impl ImageSet {
    /// A dataset of `count` images of one `shape` stored back to back in `pixels` (planar CHW
    /// per image).
    pub fn from_uniform(
        source: impl Into<PathBuf>,
        shape: ImageShape,
        pixels: Vec<u8>,
        labels: Option<Vec<u32>>,
    ) -> Result<Self> {
        let source = source.into();
        let channels = Channels::from_count(shape.channels)?;
        if shape.is_empty() {
            return Err(Error::config("shape", shape, "images must not be empty"));
        }
        if !pixels.len().is_multiple_of(shape.len()) {
            return Err(Error::config(
                "pixels",
                format!("{} bytes", pixels.len()),
                format!(
                    "not a multiple of the image size {shape} = {} bytes",
                    shape.len()
                ),
            ));
        }
        let count = pixels.len() / shape.len();
        check_labels(&source, count, labels.as_deref())?;
        Ok(Self {
            pixels,
            layout: Layout::Uniform { shape, count },
            channels,
            labels,
            class_names: None,
            source,
        })
    }

    /// A dataset from individual images, which must all have the same channel count (1 or 3)
    /// but may differ in height and width.
    pub fn from_images(
        source: impl Into<PathBuf>,
        images: Vec<ImageBuf>,
        labels: Option<Vec<u32>>,
    ) -> Result<Self> {
        let source = source.into();
        let first = images.first().ok_or_else(|| Error::NoImages {
            path: source.clone(),
            detail: "the image list is empty".into(),
        })?;
        let channels = Channels::from_count(first.shape.channels)?;
        check_labels(&source, images.len(), labels.as_deref())?;
        let uniform = images.iter().all(|im| im.shape == first.shape);
        let total: usize = images.iter().map(|im| im.pixels.len()).sum();
        let mut pixels = Vec::with_capacity(total);
        let mut shapes = Vec::with_capacity(images.len());
        let mut offsets = Vec::with_capacity(images.len() + 1);
        for (i, im) in images.iter().enumerate() {
            if im.shape.channels != channels.count() {
                return Err(Error::config(
                    "images",
                    format!("image {i} with shape {}", im.shape),
                    format!(
                        "all images must have {} channel(s) like image 0; convert first",
                        channels.count()
                    ),
                ));
            }
            if im.shape.is_empty() || im.pixels.len() != im.shape.len() {
                return Err(Error::config(
                    "images",
                    format!("image {i} with shape {}", im.shape),
                    format!("empty image or wrong byte count {}", im.pixels.len()),
                ));
            }
            offsets.push(pixels.len());
            shapes.push(im.shape);
            pixels.extend_from_slice(&im.pixels);
        }
        offsets.push(pixels.len());
        let layout = if uniform {
            Layout::Uniform {
                shape: first.shape,
                count: images.len(),
            }
        } else {
            Layout::Ragged { shapes, offsets }
        };
        Ok(Self {
            pixels,
            layout,
            channels,
            labels,
            class_names: None,
            source,
        })
    }

    /// Attaches class names (index = label).
    pub fn with_class_names(mut self, names: Vec<String>) -> Self {
        self.class_names = Some(names);
        self
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        match &self.layout {
            Layout::Uniform { count, .. } => *count,
            Layout::Ragged { shapes, .. } => shapes.len(),
        }
    }

    /// True when the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The channel layout shared by every image.
    pub fn channels(&self) -> Channels {
        self.channels
    }

    /// Image `index`. Panics if `index >= len()`.
    pub fn image(&self, index: usize) -> ImageView<'_> {
        match &self.layout {
            Layout::Uniform { shape, count } => {
                assert!(
                    index < *count,
                    "image index {index} out of range 0..{count}"
                );
                let n = shape.len();
                ImageView {
                    shape: *shape,
                    pixels: &self.pixels[index * n..(index + 1) * n],
                }
            }
            Layout::Ragged { shapes, offsets } => ImageView {
                shape: shapes[index],
                pixels: &self.pixels[offsets[index]..offsets[index + 1]],
            },
        }
    }

    /// The shape of image `index`.
    pub fn shape(&self, index: usize) -> ImageShape {
        match &self.layout {
            Layout::Uniform { shape, .. } => *shape,
            Layout::Ragged { shapes, .. } => shapes[index],
        }
    }

    /// The common shape, when every image has the same one.
    pub fn uniform_shape(&self) -> Option<ImageShape> {
        match &self.layout {
            Layout::Uniform { shape, .. } => Some(*shape),
            Layout::Ragged { .. } => None,
        }
    }

    /// All labels, when the dataset has labels.
    pub fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }

    /// The label of image `index`.
    pub fn label(&self, index: usize) -> Option<u32> {
        self.labels.as_ref().map(|l| l[index])
    }

    /// Class names (index = label), when known.
    pub fn class_names(&self) -> Option<&[String]> {
        self.class_names.as_deref()
    }

    /// Number of images per label `0..=max label` (empty when unlabelled).
    pub fn label_counts(&self) -> Vec<usize> {
        let Some(labels) = &self.labels else {
            return Vec::new();
        };
        let n = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
        let mut counts = vec![0; n];
        for &l in labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// All pixel bytes, image after image (planar CHW per image).
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Where the data came from (a file or directory).
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The images `range` as a new set (copied), keeping labels and class names.
    ///
    /// Use it to split a folder into train/test the way the original split CelebA (first 90 %
    /// train, last 10 % test).
    pub fn slice(&self, range: Range<usize>) -> Result<ImageSet> {
        if range.start > range.end || range.end > self.len() {
            return Err(Error::config(
                "range",
                format!("{range:?}"),
                format!("out of bounds for {} images", self.len()),
            ));
        }
        self.select(&range.collect::<Vec<_>>())
    }

    /// The images at `indices` (in that order) as a new set, keeping labels and class names.
    pub fn select(&self, indices: &[usize]) -> Result<ImageSet> {
        if indices.is_empty() {
            return Err(Error::config(
                "indices",
                "[]",
                "a selection must keep at least one image",
            ));
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::config(
                "indices",
                bad,
                format!("out of bounds for {} images", self.len()),
            ));
        }
        let images = indices.iter().map(|&i| self.image(i).to_owned()).collect();
        let labels = self
            .labels
            .as_ref()
            .map(|l| indices.iter().map(|&i| l[i]).collect());
        let mut set = ImageSet::from_images(self.source.clone(), images, labels)?;
        set.class_names = self.class_names.clone();
        Ok(set)
    }

    /// Converts every image to `target` channels, as Pillow's `convert("L")` / `convert("RGB")`
    /// (see [`rgb_to_gray`], [`gray_to_rgb`]). A no-op when the channels already match.
    pub fn to_channels(self, target: Channels) -> ImageSet {
        if self.channels == target {
            return self;
        }
        let images: Vec<ImageBuf> = (0..self.len())
            .map(|i| convert_channels(self.image(i), target))
            .collect();
        let mut set = ImageSet::from_images(self.source.clone(), images, self.labels.clone())
            .expect("conversion keeps counts and shapes consistent");
        set.class_names = self.class_names;
        set
    }
}

/// Converts one image to `target` channels (identity when they already match).
pub fn convert_channels(view: ImageView<'_>, target: Channels) -> ImageBuf {
    match (view.shape.channels, target) {
        (3, Channels::Gray) => rgb_to_gray(view),
        (1, Channels::Rgb) => gray_to_rgb(view),
        _ => view.to_owned(),
    }
}

fn check_labels(source: &Path, count: usize, labels: Option<&[u32]>) -> Result<()> {
    if let Some(labels) = labels
        && labels.len() != count
    {
        return Err(Error::CountMismatch {
            images_path: source.to_path_buf(),
            images: count,
            labels_path: source.to_path_buf(),
            labels: labels.len(),
        });
    }
    Ok(())
}

impl ImageDataset for ImageSet {
    fn len(&self) -> usize {
        ImageSet::len(self)
    }
    fn image(&self, index: usize) -> ImageView<'_> {
        ImageSet::image(self, index)
    }
    fn label(&self, index: usize) -> Option<u32> {
        ImageSet::label(self, index)
    }
    fn shape(&self, index: usize) -> ImageShape {
        ImageSet::shape(self, index)
    }
    fn uniform_shape(&self) -> Option<ImageShape> {
        ImageSet::uniform_shape(self)
    }
    fn source(&self) -> &Path {
        ImageSet::source(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_and_ragged_layouts_index_correctly() {
        let a = ImageBuf::new(ImageShape::new(1, 2, 2), vec![1, 2, 3, 4]).unwrap();
        let b = ImageBuf::new(ImageShape::new(1, 1, 3), vec![5, 6, 7]).unwrap();
        let set =
            ImageSet::from_images("mem", vec![a.clone(), b.clone()], Some(vec![0, 1])).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.uniform_shape(), None);
        assert_eq!(set.image(0).pixels, &a.pixels[..]);
        assert_eq!(set.image(1).pixels, &b.pixels[..]);
        assert_eq!(set.image(1).shape, b.shape);
        let u = ImageSet::from_uniform("mem", ImageShape::new(1, 1, 2), vec![1, 2, 3, 4], None)
            .unwrap();
        assert_eq!(u.len(), 2);
        assert_eq!(u.image(1).pixels, &[3, 4]);
    }

    #[test]
    fn label_count_mismatch_is_an_error() {
        let err =
            ImageSet::from_uniform("x.idx", ImageShape::new(1, 1, 1), vec![1, 2], Some(vec![0]))
                .unwrap_err();
        assert!(
            matches!(
                err,
                Error::CountMismatch {
                    images: 2,
                    labels: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn gray_rgb_round_trip_is_exact() {
        let g = ImageBuf::new(ImageShape::new(1, 1, 4), vec![0, 1, 128, 255]).unwrap();
        let rgb = gray_to_rgb(g.view());
        assert_eq!(
            rgb.pixels,
            vec![0, 1, 128, 255, 0, 1, 128, 255, 0, 1, 128, 255]
        );
        // The luma weights sum to 65536, so gray -> RGB -> gray is the identity.
        assert_eq!(rgb_to_gray(rgb.view()), g);
    }
}
