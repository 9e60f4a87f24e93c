//! The per-image random draw of an operator ("randomness is data").

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

use burn::tensor::{Int, Tensor, TensorData};

use crate::DegradeError;

/// The size of the images an operator works on (one batch item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageShape {
    /// Number of channels `C`.
    pub channels: usize,
    /// Height `H` in pixels.
    pub height: usize,
    /// Width `W` in pixels.
    pub width: usize,
}

impl ImageShape {
    /// An image shape `C × H × W`.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
        }
    }

    /// The image shape of an NCHW tensor's dims (the batch size is dropped).
    pub fn of_dims(dims: [usize; 4]) -> Self {
        Self::new(dims[1], dims[2], dims[3])
    }

    /// The image shape of an NCHW tensor.
    pub fn of(x: &Tensor<4>) -> Self {
        Self::of_dims(x.dims())
    }
}

/// Where the random hole of one image sits: the top-left corner of the `H × W` window cut out
/// of the `2H × 2W` mask grid of random-centre inpainting (`Random_Incremental`).
///
/// `row` is the original's `rand_x` (it slices rows / H), `col` its `rand_y` (columns / W); both
/// lie in `0..=H` resp. `0..=W`. The hole centre is at pixel `(H - 1 - row, W - 1 - col)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaskOffset {
    /// Row offset of the window (`rand_x` of the original), `0..=H`.
    pub row: usize,
    /// Column offset of the window (`rand_y` of the original), `0..=W`.
    pub col: usize,
}

/// A draw whose contents are defined by an operator outside this module (for example the snow
/// field and direction of the snow operator).
///
/// Implement it for the operator's own draw type and wrap that in [`Draw::custom`]; the
/// operator gets its type back with [`Draw::custom_ref`].
pub trait CustomDraw: Any + Debug + Send + Sync {
    /// Number of images the draw is for.
    fn batch(&self) -> usize;
    /// The draw restricted to the given items, in that order (indices are checked by the
    /// caller: every index is `< self.batch()`).
    fn select(&self, indices: &[usize]) -> Arc<dyn CustomDraw>;
    /// `self` as [`Any`], to downcast to the concrete type.
    fn as_any(&self) -> &dyn Any;
}

/// The random draw of one batch: one draw per image, made once on the host from a seeded RNG
/// (or built from recorded values) and reused for every level of that image's trajectory.
///
/// Algorithm 2 needs `D(x̂0, s)` and `D(x̂0, s − 1)` under the same draw: pass the same `Draw`
/// to both calls. A deterministic operator uses [`Draw::empty`]. Because the draw is data, the
/// same seed gives the same degradation on every backend.
// One draw per batch: the size of the tensor variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Draw {
    /// No randomness (deterministic operators: blur, centred inpainting, desaturation).
    Empty {
        /// Number of images.
        batch: usize,
    },
    /// One mask offset per image (random-centre inpainting).
    MaskOffsets(Vec<MaskOffset>),
    /// One constant colour per image, `values[b * channels + c]`, in [-1, 1] units
    /// (inpainting generation: the colour the hole is filled with).
    Colours {
        /// Number of channels per colour.
        channels: usize,
        /// Row-major `[batch, channels]` values.
        values: Vec<f32>,
    },
    /// One partner image `z` per image, `[N, C, H, W]`, blended with `x0`: the animal image of
    /// animorphosis, the Gaussian noise of the hot baseline, or a re-estimated `ẑ` of a DDIM-style
    /// sampler.
    Partner(Tensor<4>),
    /// A draw defined by another operator (see [`CustomDraw`]).
    Custom(Arc<dyn CustomDraw>),
}

impl Draw {
    /// The draw of a deterministic operator for `batch` images.
    pub fn empty(batch: usize) -> Self {
        Draw::Empty { batch }
    }

    /// A draw of recorded mask offsets, one per image.
    pub fn mask_offsets(offsets: Vec<MaskOffset>) -> Self {
        Draw::MaskOffsets(offsets)
    }

    /// A draw of recorded constant colours: `values` is row-major `[batch, channels]`.
    ///
    /// # Errors
    /// If `channels` is 0 or `values.len()` is not a multiple of it.
    pub fn colours(channels: usize, values: Vec<f32>) -> Result<Self, DegradeError> {
        if channels == 0 || !values.len().is_multiple_of(channels) {
            return Err(DegradeError::DrawMismatch {
                operator: "draw".into(),
                reason: format!(
                    "{} colour values cannot be split into colours of {channels} channels",
                    values.len()
                ),
            });
        }
        Ok(Draw::Colours { channels, values })
    }

    /// A draw of partner images `z` (`[N, C, H, W]`).
    pub fn partner(z: Tensor<4>) -> Self {
        Draw::Partner(z)
    }

    /// Wrap an operator-defined draw.
    pub fn custom(draw: impl CustomDraw) -> Self {
        Draw::Custom(Arc::new(draw))
    }

    /// The operator-defined draw as its concrete type, if it is one.
    pub fn custom_ref<T: CustomDraw>(&self) -> Option<&T> {
        match self {
            Draw::Custom(d) => d.as_any().downcast_ref::<T>(),
            _ => None,
        }
    }

    /// Number of images the draw is for.
    pub fn batch(&self) -> usize {
        match self {
            Draw::Empty { batch } => *batch,
            Draw::MaskOffsets(o) => o.len(),
            Draw::Colours { channels, values } => values.len() / channels,
            Draw::Partner(z) => z.dims()[0],
            Draw::Custom(d) => d.batch(),
        }
    }

    /// A short name of the kind of draw, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Draw::Empty { .. } => "empty",
            Draw::MaskOffsets(_) => "mask offsets",
            Draw::Colours { .. } => "constant colours",
            Draw::Partner(_) => "partner images",
            Draw::Custom(_) => "operator-defined",
        }
    }

    /// The draw of the items `indices` (in that order; repeats allowed), e.g. to restore a
    /// subset of a batch with the draws its images were degraded with.
    ///
    /// # Errors
    /// [`DegradeError::SelectOutOfRange`] if an index is `>= self.batch()`.
    pub fn select(&self, indices: &[usize]) -> Result<Self, DegradeError> {
        let batch = self.batch();
        if let Some(&index) = indices.iter().find(|&&i| i >= batch) {
            return Err(DegradeError::SelectOutOfRange { index, batch });
        }
        Ok(match self {
            Draw::Empty { .. } => Draw::Empty {
                batch: indices.len(),
            },
            Draw::MaskOffsets(o) => Draw::MaskOffsets(indices.iter().map(|&i| o[i]).collect()),
            Draw::Colours { channels, values } => Draw::Colours {
                channels: *channels,
                values: indices
                    .iter()
                    .flat_map(|&i| values[i * channels..(i + 1) * channels].iter().copied())
                    .collect(),
            },
            Draw::Partner(z) => {
                let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
                let idx =
                    Tensor::<1, Int>::from_data(TensorData::new(idx, [indices.len()]), &z.device());
                Draw::Partner(z.clone().select(0, idx))
            }
            Draw::Custom(d) => Draw::Custom(d.select(indices)),
        })
    }

    /// Check that the draw holds `batch` images.
    pub(crate) fn check_batch(&self, batch: usize) -> Result<(), DegradeError> {
        if self.batch() != batch {
            return Err(DegradeError::DrawBatch {
                draw: self.batch(),
                batch,
            });
        }
        Ok(())
    }
}
