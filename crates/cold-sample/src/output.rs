//! Image grids (PNG) and trajectory animations (GIF).
//!
//! Tensors follow the library's convention: NCHW batches with values in `[-1, 1]`, one or three
//! channels. They are mapped to 8 bits as the original code saved its grids
//! (`torchvision.utils.save_image` of `(x + 1) / 2`): `⌊clamp(255·(x + 1)/2 + 0.5, 0, 255)⌋`.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use burn::tensor::Tensor;
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, Rgb, RgbImage, Rgba, RgbaImage};

use crate::error::SampleError;
use crate::font;

/// Spacing between grid cells and around the grid, in pixels (as torchvision's `make_grid`).
pub const GRID_PADDING: u32 = 2;

const BACKGROUND: Rgb<u8> = Rgb([0, 0, 0]);
const LABEL_COLOUR: Rgb<u8> = Rgb([255, 255, 255]);

/// One `[-1, 1]` value as an 8-bit level (torchvision `save_image` rounding).
pub fn to_u8(v: f32) -> u8 {
    (255.0 * (v + 1.0) / 2.0 + 0.5).clamp(0.0, 255.0) as u8
}

/// A batch on the host: `[N, C, H, W]` and its values.
struct HostBatch {
    dims: [usize; 4],
    values: Vec<f32>,
}

impl HostBatch {
    fn read(what: &str, x: &Tensor<4>) -> Result<Self, SampleError> {
        let dims = x.dims();
        if dims[1] != 1 && dims[1] != 3 {
            return Err(SampleError::Input {
                what: what.into(),
                problem: format!(
                    "has {} channels (shape {dims:?}); images need 1 or 3",
                    dims[1]
                ),
            });
        }
        if dims[2] == 0 || dims[3] == 0 {
            return Err(SampleError::Input {
                what: what.into(),
                problem: format!("has an empty image (shape {dims:?})"),
            });
        }
        let values = x
            .to_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| SampleError::Input {
                what: what.into(),
                problem: format!("cannot be read as f32: {e:?}"),
            })?;
        Ok(Self { dims, values })
    }

    /// RGB colour of pixel (`y`, `x`) of item `n` (grey images are replicated).
    fn pixel(&self, n: usize, y: usize, x: usize) -> Rgb<u8> {
        let [_, c, h, w] = self.dims;
        let at = |ch: usize| to_u8(self.values[((n * c + ch) * h + y) * w + x]);
        if c == 1 {
            let g = at(0);
            Rgb([g, g, g])
        } else {
            Rgb([at(0), at(1), at(2)])
        }
    }

    fn blit(&self, n: usize, img: &mut RgbImage, left: u32, top: u32) {
        for y in 0..self.dims[2] {
            for x in 0..self.dims[3] {
                img.put_pixel(left + x as u32, top + y as u32, self.pixel(n, y, x));
            }
        }
    }
}

/// Converts a batch to one RGB image per item.
///
/// # Shapes
/// - `x`: `[N, C, H, W]` with `C ∈ {1, 3}`, values in `[-1, 1]` (clamped)
pub fn to_images(x: &Tensor<4>) -> Result<Vec<RgbImage>, SampleError> {
    let b = HostBatch::read("images", x)?;
    let [n, _, h, w] = b.dims;
    Ok((0..n)
        .map(|i| {
            let mut img = RgbImage::new(w as u32, h as u32);
            b.blit(i, &mut img, 0, 0);
            img
        })
        .collect())
}

/// Lays a batch out in rows of `ncols` images (as torchvision's `make_grid`, padding
/// [`GRID_PADDING`], black background).
///
/// # Shapes
/// - `x`: `[N, C, H, W]` with `C ∈ {1, 3}`, values in `[-1, 1]`
pub fn image_grid(x: &Tensor<4>, ncols: usize) -> Result<RgbImage, SampleError> {
    if ncols == 0 {
        return Err(SampleError::Config {
            field: "ncols".into(),
            value: "0".into(),
            expected: "at least 1".into(),
        });
    }
    let b = HostBatch::read("images", x)?;
    let [n, _, h, w] = b.dims;
    let cols = ncols.min(n.max(1));
    let rows = n.div_ceil(cols).max(1);
    let p = GRID_PADDING;
    let (cw, ch) = (w as u32 + p, h as u32 + p);
    let mut img = RgbImage::from_pixel(cols as u32 * cw + p, rows as u32 * ch + p, BACKGROUND);
    for i in 0..n {
        let (r, c) = ((i / cols) as u32, (i % cols) as u32);
        b.blit(i, &mut img, p + c * cw, p + r * ch);
    }
    Ok(img)
}

/// A comparison grid: one column per batch, one row per item, and a label above each column
/// (e.g. `original | degraded | direct | Alg. 1 | Alg. 2`). Labels use a built-in 5×7 font
/// (letters are drawn upper-case); an empty label leaves the band blank, and when every label
/// is empty there is no band.
///
/// # Shapes
/// - every `columns[j].1`: `[N, C_j, H, W]` (same `N`, `H`, `W`; `C_j ∈ {1, 3}`), values in `[-1, 1]`
pub fn labelled_grid(columns: &[(&str, Tensor<4>)]) -> Result<RgbImage, SampleError> {
    if columns.is_empty() {
        return Err(SampleError::Input {
            what: "columns".into(),
            problem: "no column given".into(),
        });
    }
    let batches = columns
        .iter()
        .map(|(label, x)| HostBatch::read(&format!("column '{label}'"), x))
        .collect::<Result<Vec<_>, _>>()?;
    let [n, _, h, w] = batches[0].dims;
    for ((label, _), b) in columns.iter().zip(&batches) {
        if b.dims[0] != n || b.dims[2] != h || b.dims[3] != w {
            return Err(SampleError::Input {
                what: format!("column '{label}'"),
                problem: format!(
                    "has shape {:?}; every column needs {n} images of {h}x{w} like column '{}'",
                    b.dims, columns[0].0
                ),
            });
        }
    }
    let p = GRID_PADDING;
    let scale = if w >= 64 { 2 } else { 1 };
    let band = if columns.iter().all(|(l, _)| l.is_empty()) {
        0
    } else {
        font::GLYPH_H * scale + 2 * p
    };
    let (cw, ch) = (w as u32 + p, h as u32 + p);
    let mut img = RgbImage::from_pixel(
        columns.len() as u32 * cw + p,
        band + n as u32 * ch + p,
        BACKGROUND,
    );
    for (j, ((label, _), b)) in columns.iter().zip(&batches).enumerate() {
        let left = p + j as u32 * cw;
        // Centre the label over its column; clip what does not fit.
        let tw = font::text_width(label, scale);
        let offset = (w as u32).saturating_sub(tw) / 2;
        font::draw_text(label, scale, |x, y| {
            let x = offset + x;
            if x < w as u32 {
                img.put_pixel(left + x, p + y, LABEL_COLOUR);
            }
        });
        for i in 0..n {
            b.blit(i, &mut img, left, band + p + i as u32 * ch);
        }
    }
    Ok(img)
}

/// Writes an image as PNG.
pub fn save_png(img: &RgbImage, path: impl AsRef<Path>) -> Result<(), SampleError> {
    let path = path.as_ref();
    img.save_with_format(path, image::ImageFormat::Png)
        .map_err(|source| SampleError::Image {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes frames as an endlessly looping animated GIF with `delay_ms` per frame (GIF stores
/// hundredths of a second). Every frame must have the size of the first.
pub fn save_gif(
    frames: &[RgbImage],
    delay_ms: u32,
    path: impl AsRef<Path>,
) -> Result<(), SampleError> {
    let path = path.as_ref();
    let Some(first) = frames.first() else {
        return Err(SampleError::Input {
            what: "frames".into(),
            problem: "no frame to write".into(),
        });
    };
    if let Some(i) = frames
        .iter()
        .position(|f| f.dimensions() != first.dimensions())
    {
        return Err(SampleError::Input {
            what: "frames".into(),
            problem: format!(
                "frame {i} is {:?}, frame 0 is {:?}",
                frames[i].dimensions(),
                first.dimensions()
            ),
        });
    }
    let image_err = |source| SampleError::Image {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(|source| SampleError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut enc = GifEncoder::new_with_speed(BufWriter::new(file), 10);
    enc.set_repeat(Repeat::Infinite).map_err(image_err)?;
    for f in frames {
        let rgba = RgbaImage::from_fn(f.width(), f.height(), |x, y| {
            let Rgb([r, g, b]) = *f.get_pixel(x, y);
            Rgba([r, g, b, 255])
        });
        enc.encode_frame(Frame::from_parts(
            rgba,
            0,
            0,
            Delay::from_numer_denom_ms(delay_ms, 1),
        ))
        .map_err(image_err)?;
    }
    Ok(())
}

/// Animates a sampling trajectory: frame `k` is the grid ([`image_grid`], `ncols` per row) of
/// `states[k]`, e.g. the states `x_T, …, x_0` of [`crate::Trajectory::states`].
///
/// # Shapes
/// - every `states[k]`: `[N, C, H, W]` (one shape for all), values in `[-1, 1]`
pub fn save_trajectory_gif(
    states: &[Tensor<4>],
    ncols: usize,
    delay_ms: u32,
    path: impl AsRef<Path>,
) -> Result<(), SampleError> {
    let frames = states
        .iter()
        .map(|x| image_grid(x, ncols))
        .collect::<Result<Vec<_>, _>>()?;
    save_gif(&frames, delay_ms, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn batch(values: Vec<f32>, dims: [usize; 4]) -> Tensor<4> {
        Tensor::from_data(TensorData::new(values, dims), &Device::flex())
    }

    #[test]
    fn values_map_like_torchvision_save_image() {
        assert_eq!(to_u8(-1.0), 0);
        assert_eq!(to_u8(1.0), 255);
        assert_eq!(to_u8(0.0), 128); // 127.5 + 0.5
        assert_eq!(to_u8(-3.0), 0);
        assert_eq!(to_u8(7.0), 255);
        assert_eq!(to_u8(2.0 * 100.0 / 255.0 - 1.0), 100);
    }

    #[test]
    fn grid_places_each_item_in_its_cell() {
        // 3 grey 2x2 images with distinct values, 2 per row.
        let x = batch(
            vec![-1.0; 4]
                .into_iter()
                .chain(vec![0.0; 4])
                .chain(vec![1.0; 4])
                .collect(),
            [3, 1, 2, 2],
        );
        let g = image_grid(&x, 2).unwrap();
        let p = GRID_PADDING;
        assert_eq!(g.dimensions(), (2 * (2 + p) + p, 2 * (2 + p) + p));
        assert_eq!(*g.get_pixel(p, p), Rgb([0, 0, 0]));
        assert_eq!(*g.get_pixel(2 * p + 2 + 1, p + 1), Rgb([128, 128, 128]));
        assert_eq!(*g.get_pixel(p, 2 * p + 2), Rgb([255, 255, 255]));
        // The unused fourth cell stays background.
        assert_eq!(*g.get_pixel(2 * p + 2, 2 * p + 2), BACKGROUND);
    }

    #[test]
    fn colour_channels_land_in_rgb() {
        let x = batch(vec![1.0, -1.0, 0.0], [1, 3, 1, 1]);
        let imgs = to_images(&x).unwrap();
        assert_eq!(*imgs[0].get_pixel(0, 0), Rgb([255, 0, 128]));
    }

    #[test]
    fn labelled_grid_has_a_label_band_and_rejects_mismatched_columns() {
        let a = batch(vec![1.0; 2 * 3 * 8 * 8], [2, 3, 8, 8]);
        let b = batch(vec![-1.0; 2 * 8 * 8], [2, 1, 8, 8]);
        let g = labelled_grid(&[("A", a.clone()), ("B", b.clone())]).unwrap();
        let p = GRID_PADDING;
        let band = font::GLYPH_H + 2 * p;
        assert_eq!(g.dimensions(), (2 * (8 + p) + p, band + 2 * (8 + p) + p));
        // Some label pixels are white, and the first image starts below the band.
        let band_white = (0..g.width())
            .flat_map(|x| (0..band).map(move |y| (x, y)))
            .filter(|&(x, y)| g.get_pixel(x, y).0 == [255; 3])
            .count();
        assert!(band_white > 5);
        assert_eq!(*g.get_pixel(p, band + p), Rgb([255, 255, 255]));
        assert_eq!(*g.get_pixel(2 * p + 8, band + p), Rgb([0, 0, 0]));
        let unlabelled = labelled_grid(&[("", a.clone())]).unwrap();
        assert_eq!(unlabelled.height(), 2 * (8 + p) + p);
        let small = batch(vec![0.0; 2 * 4 * 4], [2, 1, 4, 4]);
        let e = labelled_grid(&[("x0", a), ("small", small)]).unwrap_err();
        assert!(e.to_string().contains("column 'small'"), "{e}");
        let e = image_grid(&batch(vec![0.0; 2 * 4], [1, 2, 2, 2]), 1).unwrap_err();
        assert!(e.to_string().contains("2 channels"), "{e}");
    }

    #[test]
    fn png_and_gif_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let states: Vec<Tensor<4>> = (0..3)
            .map(|k| batch(vec![k as f32 - 1.0; 2 * 3 * 4 * 4], [2, 3, 4, 4]))
            .collect();
        let png = dir.path().join("grid.png");
        save_png(&image_grid(&states[2], 2).unwrap(), &png).unwrap();
        let back = image::open(&png).unwrap().to_rgb8();
        assert_eq!(
            *back.get_pixel(GRID_PADDING, GRID_PADDING),
            Rgb([255, 255, 255])
        );

        let gif = dir.path().join("traj.gif");
        save_trajectory_gif(&states, 2, 80, &gif).unwrap();
        use image::AnimationDecoder;
        let dec =
            image::codecs::gif::GifDecoder::new(std::io::BufReader::new(File::open(&gif).unwrap()))
                .unwrap();
        let frames = dec.into_frames().collect_frames().unwrap();
        assert_eq!(frames.len(), 3);
        let px = |k: usize| frames[k].buffer().get_pixel(GRID_PADDING, GRID_PADDING).0[0];
        assert!(
            px(0) < 10 && (120..=136).contains(&px(1)) && px(2) > 245,
            "{} {} {}",
            px(0),
            px(1),
            px(2)
        );
        assert_eq!(frames[1].delay().numer_denom_ms(), (80, 1));

        let e = save_gif(&[], 80, dir.path().join("none.gif")).unwrap_err();
        assert!(e.to_string().contains("no frame"), "{e}");
        let e = save_png(
            &image_grid(&states[0], 1).unwrap(),
            dir.path().join("missing/dir/x.png"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("missing/dir/x.png"), "{e}");
    }
}
