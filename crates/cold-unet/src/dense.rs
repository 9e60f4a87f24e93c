//! Dense 2-D convolutions (groups = 1, stride 1) with shifted-GEMM kernels on Burn Flex.
//!
//! [`dense_conv2d`] computes exactly what `Conv2d::forward` computes. For a stride-1, dilation-1,
//! ungrouped convolution with symmetric zero padding on f32 Burn Flex tensors (the CPU backend)
//! it uses this module's kernels for the forward pass and, under autodiff, registers its own
//! backward step; every other convolution (other backends, strided or grouped convolutions,
//! gradient checkpointing) is Burn's `Conv2d::forward`.
//!
//! **Why.** Burn 0.22.1's Flex convolution builds an im2col tile per 512 output pixels, converts
//! the input to NHWC in a single-threaded loop, zero-fills fresh buffers per tile and scatters
//! the GEMM result into the output with a channel-strided loop; at 32×32 with 32–64 channels
//! (most of the MNIST networks' FLOPs) it ran at about 60 % of the rate of a GEMM of the same
//! shape, and its input gradient is a transposed convolution of the same kind
//! (docs/performance.md, "Quiet sitting 3: shifted-GEMM dense convolutions").
//!
//! **How.** The input planes of a group of images are copied once into a zero-padded grid, one
//! row per channel: every image row is stored as `p_w` zeros and its `W` values (the zeros that
//! start a row also pad the end of the row before), every image as `p_h` zero rows and its `H`
//! rows. On that grid a filter tap `(i, j)` is a plain column shift by `i·(W + p_w) + j`, so the
//! convolution is `kh·kw` matrix products `out[c_out, grid] += W[:, :, i, j] · grid[c_in, shift +
//! grid]` accumulated in place (faer's GEMM; the filter re-laid out once per call as one
//! `c_out × c_in` matrix per tap); the output rows are then copied out of the grid (its padding
//! positions are computed and dropped: 6.6 % extra work at 32×32, 13 % at 16×16; smaller images
//! and convolutions that waste more than 25 % take Burn's path).
//! Gradients reuse the same scheme:
//!
//! - input gradient: the convolution of the output gradient, padded by `k − 1 − p`, with the
//!   flipped, transposed filter (again only strides on the weight);
//! - weight gradient: for each tap, `dW[:, :, i, j] += dY_grid · grid[shift + ·]ᵀ` with the
//!   output gradient placed on the same grid (zeros in the dropped columns).
//!
//! Groups of images run in parallel on rayon's pool; each GEMM is single-threaded.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

/// Applies `conv` to `x`: the same function as `conv.forward(x)`, computed by this module's
/// shifted-GEMM kernels when [`uses_shift_gemm`] says so (see the [module documentation](self)).
///
/// # Shapes
/// - `x`: `[batch, channels_in, height, width]`
/// - output: `[batch, channels_out, height_out, width_out]`, as `Conv2d::forward`
pub fn dense_conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if let Some(padding) = shift_gemm_padding(conv, &x)
        && let Some(y) = flex::conv2d(&x, conv, padding)
    {
        return y;
    }
    conv.forward(x)
}

/// Whether [`dense_conv2d`] computes `conv` applied to `x` (and, under autodiff, its gradients)
/// with this module's kernels: `x` and the weight are f32 Burn Flex tensors, both without
/// autodiff or both under autodiff without gradient checkpointing; `conv` has stride 1,
/// dilation 1, one group and a symmetric padding of at most `kernel − 1` per side; and the
/// image has at least 256 pixels with the padding adding at most 25 % to it
/// (`(H + p_h)(W + p_w) ≤ 1.25 · H · W`), below which Burn's convolution was measured faster.
pub fn uses_shift_gemm(conv: &Conv2d, x: &Tensor<4>) -> bool {
    #[cfg(feature = "flex")]
    return shift_gemm_padding(conv, x)
        .is_some_and(|_| flex::operands(x, &conv.weight.val()).is_some());
    #[cfg(not(feature = "flex"))]
    {
        let _ = (conv, x);
        false
    }
}

/// Images smaller than this (in pixels) take Burn's path: measured slower with the shifted
/// GEMMs at 8×8 (docs/performance.md, "Quiet sitting 3: shifted-GEMM dense convolutions").
const MIN_PIXELS: usize = 256;

/// The `[p_h, p_w]` padding of `conv` on `x` when the shifted-GEMM scheme computes it: stride
/// 1, dilation 1, one group, the same padding on both sides of each axis, at most `k − 1`
/// (the input gradient's padding `k − 1 − p` must not be negative), a non-empty output, at
/// least [`MIN_PIXELS`] pixels, and at most 25 % of the grid spent on padding
/// (`(H + p_h)(W + p_w) ≤ 1.25 · H · W`).
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
fn shift_gemm_padding(conv: &Conv2d, x: &Tensor<4>) -> Option<[usize; 2]> {
    let [batch, channels, height, width] = x.dims();
    let [filters, per_group, kh, kw] = conv.weight.dims();
    if conv.stride != [1, 1]
        || conv.dilation != [1, 1]
        || conv.groups != 1
        || per_group != channels
        || batch * channels * height * width * filters * kh * kw == 0
    {
        return None;
    }
    // `Same` padding (computed from the input size by Burn) takes Burn's path.
    let (top, left, bottom, right) = match conv.padding {
        PaddingConfig2d::Valid => (0, 0, 0, 0),
        PaddingConfig2d::Explicit(top, left, bottom, right) => (top, left, bottom, right),
        PaddingConfig2d::Same => return None,
    };
    (top == bottom
        && left == right
        && top < kh
        && left < kw
        && height + 2 * top >= kh
        && width + 2 * left >= kw
        && height * width >= MIN_PIXELS
        && (height + top) * (width + left) * 4 <= height * width * 5)
        .then_some([top, left])
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops};
    use burn::backend::flex::FlexTensor;
    use burn::backend::{Flex, TensorMetadata};
    use burn::nn::conv::Conv2d;
    use burn::tensor::{DType, Tensor};

    use super::kernels::{self, Geometry};
    pub(super) use crate::flex_data::operands;
    use crate::flex_data::{Operands, autodiff_step, f32_values, from_f32};

    fn geometry(x: &FlexTensor, weight: &FlexTensor, padding: [usize; 2]) -> Geometry {
        let [batch, c_in, height, width] = x.shape().dims();
        let [c_out, _, kh, kw] = weight.shape().dims();
        Geometry {
            batch,
            c_in,
            c_out,
            height,
            width,
            kh,
            kw,
            ph: padding[0],
            pw: padding[1],
        }
    }

    /// `conv` applied to `x` by the shifted-GEMM kernels; `None` when the operands are not
    /// eligible (the caller uses `Conv2d::forward`).
    pub(super) fn conv2d(x: &Tensor<4>, conv: &Conv2d, padding: [usize; 2]) -> Option<Tensor<4>> {
        let bias = conv.bias.as_ref().map(|b| b.val());
        match operands(x, &conv.weight.val())? {
            Operands::Plain(x, weight) => {
                let bias = match bias {
                    Some(b) => Some(b.try_into_primitive::<Flex>().ok()?),
                    None => None,
                };
                if bias.as_ref().is_some_and(|b| b.dtype() != DType::F32) {
                    return None;
                }
                let g = geometry(&x, &weight, padding);
                let y = kernels::forward(
                    &g,
                    f32_values(&x).as_ref(),
                    f32_values(&weight).as_ref(),
                    bias.as_ref().map(f32_values).as_ref().map(|b| b.as_ref()),
                );
                let shape = [g.batch, g.c_out, g.out_height(), g.out_width()];
                Some(Tensor::from_primitive::<Flex>(from_f32(y, shape)))
            }
            Operands::Tracked(x, weight) => {
                let g = geometry(x.primitive(), weight.primitive(), padding);
                let y = autodiff_step(DenseConvBackward, x, weight, g, |x, weight| {
                    let y = kernels::forward(
                        &g,
                        f32_values(x).as_ref(),
                        f32_values(weight).as_ref(),
                        None,
                    );
                    from_f32(y, [g.batch, g.c_out, g.out_height(), g.out_width()])
                });
                Some(match bias {
                    Some(b) => y + b.reshape([1, g.c_out, 1, 1]),
                    None => y,
                })
            }
        }
    }

    /// The backward step of the dense convolution; state: the input, the weight, the sizes.
    #[derive(Debug)]
    struct DenseConvBackward;

    impl Backward<Flex, 2> for DenseConvBackward {
        type State = (FlexTensor, FlexTensor, Geometry);

        fn backward(
            self,
            ops: Ops<Self::State, 2>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [x_node, weight_node] = ops.parents;
            let grad = grads.consume::<Flex>(&ops.node);
            let (x, weight, g) = ops.state;
            let dy = f32_values(&grad);
            if let Some(node) = x_node {
                let dx = kernels::input_grad(&g, f32_values(&weight).as_ref(), dy.as_ref());
                let shape = [g.batch, g.c_in, g.height, g.width];
                grads.register::<Flex>(node.id, from_f32(dx, shape));
            }
            if let Some(node) = weight_node {
                let dw = kernels::weight_grad(&g, f32_values(&x).as_ref(), dy.as_ref());
                grads.register::<Flex>(node.id, from_f32(dw, [g.c_out, g.c_in, g.kh, g.kw]));
            }
        }
    }
}

/// The shifted-GEMM kernels, on row-major f32 slices (faer's matrix products).
#[cfg(feature = "flex")]
mod kernels {
    use faer::linalg::matmul::matmul;
    use faer::{Accum, MatMut, MatRef, Par};
    use rayon::prelude::*;

    /// Sizes of one dense convolution (stride 1, dilation 1, one group, zero padding
    /// `ph`, `pw` on both sides, `ph < kh`, `pw < kw`).
    #[derive(Debug, Clone, Copy)]
    pub struct Geometry {
        pub batch: usize,
        pub c_in: usize,
        pub c_out: usize,
        pub height: usize,
        pub width: usize,
        pub kh: usize,
        pub kw: usize,
        pub ph: usize,
        pub pw: usize,
    }

    impl Geometry {
        pub fn out_height(&self) -> usize {
            self.height + 2 * self.ph + 1 - self.kh
        }
        pub fn out_width(&self) -> usize {
            self.width + 2 * self.pw + 1 - self.kw
        }
        fn taps(&self) -> usize {
            self.kh * self.kw
        }
        /// The convolution that computes the input gradient: from the output gradient
        /// (`c_out` channels, the output size) back to the input size, padding `k − 1 − p`.
        fn transposed(&self) -> Geometry {
            Geometry {
                batch: self.batch,
                c_in: self.c_out,
                c_out: self.c_in,
                height: self.out_height(),
                width: self.out_width(),
                kh: self.kh,
                kw: self.kw,
                ph: self.kh - 1 - self.ph,
                pw: self.kw - 1 - self.pw,
            }
        }
    }

    /// The zero-padded grid of a group of images, one row per channel. Each image row is
    /// stored as `p_w` zeros then its `W` values, so the zeros that start one row are also the
    /// right padding of the row before; likewise each image is `p_h` zero rows then its `H`
    /// rows, the next image's zero rows (or the tail) padding its bottom. A tail long enough for
    /// the largest tap shift ends the row.
    struct Grid {
        /// Row stride `W + p_w`: a tap `(i, j)` shifts the grid by `i · wp + j`.
        wp: usize,
        /// `(H + p_h) · wp`: one image.
        plane: usize,
        /// `images · plane`: the products' column count.
        cols: usize,
        /// `cols` plus the largest tap shift: the length of one channel's row.
        row_len: usize,
    }

    impl Grid {
        fn new(g: &Geometry, images: usize) -> Grid {
            let wp = g.width + g.pw;
            let plane = (g.height + g.ph) * wp;
            let cols = images * plane;
            Grid {
                wp,
                plane,
                cols,
                row_len: cols + (g.kh - 1) * wp + g.kw - 1,
            }
        }

        /// The column shift of filter tap `tap` (`i · kw + j`).
        fn shift(&self, tap: usize, kw: usize) -> usize {
            (tap / kw) * self.wp + tap % kw
        }

        /// `x` (images of `[channels, height, width]`) written into a zeroed buffer of
        /// `channels` rows of `row_len`, at row `pad_rows`, column `pad_cols` of each plane.
        fn fill(
            &self,
            x: &[f32],
            channels: usize,
            (height, width): (usize, usize),
            (pad_rows, pad_cols): (usize, usize),
            row_len: usize,
        ) -> Vec<f32> {
            let mut grid = vec![0.0f32; channels * row_len];
            for (b, image) in x.chunks_exact(channels * height * width).enumerate() {
                for (c, plane) in image.chunks_exact(height * width).enumerate() {
                    let base = c * row_len + b * self.plane + pad_rows * self.wp + pad_cols;
                    for (r, row) in plane.chunks_exact(width).enumerate() {
                        grid[base + r * self.wp..][..width].copy_from_slice(row);
                    }
                }
            }
            grid
        }

        /// The `channels × cols` matrix of `rows` (rows of `row_len`) shifted by `shift`.
        fn shifted<'a>(&self, rows: &'a [f32], channels: usize, shift: usize) -> MatRef<'a, f32> {
            MatRef::from_row_major_slice_with_stride(
                &rows[shift..],
                channels,
                self.cols,
                self.row_len,
            )
        }
    }

    /// Images per group: enough to give the products about 1 024 columns, few enough to leave
    /// two groups per rayon thread.
    fn images_per_group(batch: usize, plane: usize) -> usize {
        let wanted = 1024usize.div_ceil(plane);
        let cap = batch.div_ceil(2 * rayon::current_num_threads());
        wanted.min(cap).clamp(1, batch)
    }

    /// The weight `[c_out, c_in, kh, kw]` re-laid out as `[kh · kw][c_out][c_in]`: one
    /// row-major `c_out × c_in` matrix per tap.
    fn per_tap(g: &Geometry, weight: &[f32]) -> Vec<f32> {
        let taps = g.taps();
        let mut out = vec![0.0f32; weight.len()];
        for (pair, filter) in weight.chunks_exact(taps).enumerate() {
            for (tap, value) in filter.iter().enumerate() {
                out[tap * g.c_out * g.c_in + pair] = *value;
            }
        }
        out
    }

    /// `y = conv(x)` for geometry `g`, tap `t`'s `[c_out, c_in]` matrix given by `filter(t)`,
    /// plus `bias`.
    fn shift_conv<'w>(
        g: &Geometry,
        x: &[f32],
        filter: impl Fn(usize) -> MatRef<'w, f32> + Sync,
        bias: Option<&[f32]>,
    ) -> Vec<f32> {
        let (oh, ow) = (g.out_height(), g.out_width());
        let in_image = g.c_in * g.height * g.width;
        let out_image = g.c_out * oh * ow;
        let per_group = images_per_group(g.batch, Grid::new(g, 1).plane);
        let mut y = vec![0.0f32; g.batch * out_image];
        y.par_chunks_mut(per_group * out_image)
            .zip(x.par_chunks(per_group * in_image))
            .for_each(|(y, x)| {
                let grid = Grid::new(g, x.len() / in_image);
                let input = grid.fill(x, g.c_in, (g.height, g.width), (g.ph, g.pw), grid.row_len);
                let mut out = vec![0.0f32; g.c_out * grid.cols];
                if let Some(bias) = bias {
                    for (row, b) in out.chunks_exact_mut(grid.cols).zip(bias) {
                        row.fill(*b);
                    }
                }
                for tap in 0..g.taps() {
                    let accum = if bias.is_some() || tap > 0 {
                        Accum::Add
                    } else {
                        Accum::Replace
                    };
                    matmul(
                        MatMut::from_row_major_slice_mut(&mut out, g.c_out, grid.cols),
                        accum,
                        filter(tap),
                        grid.shifted(&input, g.c_in, grid.shift(tap, g.kw)),
                        1.0,
                        Par::Seq,
                    );
                }
                for (b, y) in y.chunks_exact_mut(out_image).enumerate() {
                    for (o, y) in y.chunks_exact_mut(oh * ow).enumerate() {
                        let src = &out[o * grid.cols + b * grid.plane..];
                        for (r, row) in y.chunks_exact_mut(ow).enumerate() {
                            row.copy_from_slice(&src[r * grid.wp..][..ow]);
                        }
                    }
                }
            });
        y
    }

    /// The output `[batch, c_out, out_height, out_width]` of the convolution of `x`
    /// (`[batch, c_in, height, width]`) with `weight` (`[c_out, c_in, kh, kw]`), plus `bias`.
    pub fn forward(g: &Geometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let taps = per_tap(g, weight);
        let size = g.c_out * g.c_in;
        let filter =
            |tap: usize| MatRef::from_row_major_slice(&taps[tap * size..][..size], g.c_out, g.c_in);
        shift_conv(g, x, filter, bias)
    }

    /// `dx` (`[batch, c_in, height, width]`) from the weight and the output gradient: the
    /// convolution of `dy` with the flipped (tap `t` ↔ `kh · kw − 1 − t`), transposed filter,
    /// padding `k − 1 − p`.
    pub fn input_grad(g: &Geometry, weight: &[f32], dy: &[f32]) -> Vec<f32> {
        let taps = per_tap(g, weight);
        let (n, size) = (g.taps(), g.c_out * g.c_in);
        let filter = |tap: usize| {
            MatRef::from_row_major_slice(&taps[(n - 1 - tap) * size..][..size], g.c_out, g.c_in)
                .transpose()
        };
        shift_conv(&g.transposed(), dy, filter, None)
    }

    /// `dw` (`[c_out, c_in, kh, kw]`) from the input and the output gradient.
    pub fn weight_grad(g: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let (oh, ow) = (g.out_height(), g.out_width());
        let (taps, size) = (g.taps(), g.c_out * g.c_in);
        let in_image = g.c_in * g.height * g.width;
        let out_image = g.c_out * oh * ow;
        let per_group = images_per_group(g.batch, Grid::new(g, 1).plane);
        // Accumulated per tap (`[taps][c_out][c_in]`), re-laid out at the end.
        let per_tap_grad = x
            .par_chunks(per_group * in_image)
            .zip(dy.par_chunks(per_group * out_image))
            .fold(
                || vec![0.0f32; taps * size],
                |mut dw, (x, dy)| {
                    let grid = Grid::new(g, x.len() / in_image);
                    let input =
                        grid.fill(x, g.c_in, (g.height, g.width), (g.ph, g.pw), grid.row_len);
                    // The output gradient on the same grid, unpadded (output (r, c) is grid
                    // column r · wp + c), zero in the columns the forward pass dropped.
                    let dy = grid.fill(dy, g.c_out, (oh, ow), (0, 0), grid.cols);
                    let dy = MatRef::from_row_major_slice(&dy, g.c_out, grid.cols);
                    for (tap, dw) in dw.chunks_exact_mut(size).enumerate() {
                        matmul(
                            MatMut::from_row_major_slice_mut(dw, g.c_out, g.c_in),
                            Accum::Add,
                            dy,
                            grid.shifted(&input, g.c_in, grid.shift(tap, g.kw))
                                .transpose(),
                            1.0,
                            Par::Seq,
                        );
                    }
                    dw
                },
            )
            .reduce(
                || vec![0.0f32; taps * size],
                |mut a, b| {
                    for (a, b) in a.iter_mut().zip(b) {
                        *a += b;
                    }
                    a
                },
            );
        let mut dw = vec![0.0f32; taps * size];
        for (tap, grad) in per_tap_grad.chunks_exact(size).enumerate() {
            for (pair, value) in grad.iter().enumerate() {
                dw[pair * taps + tap] = *value;
            }
        }
        dw
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The output and both gradients against the definition, summed naively in f64 over
        /// the padded input: odd, even and non-square kernels, 1×1, paddings from 0 to k − 1,
        /// batches that split into several image groups.
        #[test]
        fn kernels_match_the_definition() {
            for (batch, c_in, c_out, height, width, kh, kw, ph, pw) in [
                (2, 3, 4, 5, 7, 3, 3, 1, 1),
                (3, 2, 3, 4, 4, 7, 7, 3, 3),
                (2, 4, 2, 6, 5, 1, 1, 0, 0),
                (1, 2, 5, 3, 5, 2, 4, 0, 3),
                (9, 3, 2, 4, 3, 3, 2, 2, 1),
                (5, 1, 1, 2, 2, 3, 3, 1, 1),
            ] {
                let g = Geometry {
                    batch,
                    c_in,
                    c_out,
                    height,
                    width,
                    kh,
                    kw,
                    ph,
                    pw,
                };
                let (oh, ow) = (g.out_height(), g.out_width());
                let value = |k: usize| ((k * 7919 % 97) as f32 - 48.0) / 17.0;
                let x: Vec<f32> = (0..batch * c_in * height * width).map(value).collect();
                let weight: Vec<f32> = (0..c_out * c_in * kh * kw).map(|k| value(k + 13)).collect();
                let bias: Vec<f32> = (0..c_out).map(|k| value(k + 5)).collect();
                let dy: Vec<f32> = (0..batch * c_out * oh * ow)
                    .map(|k| value(k + 31))
                    .collect();
                let mut y = vec![0.0f64; dy.len()];
                let mut dx = vec![0.0f64; x.len()];
                let mut dw = vec![0.0f64; weight.len()];
                for b in 0..batch {
                    for (o, bias_o) in bias.iter().enumerate() {
                        for r in 0..oh {
                            for c in 0..ow {
                                let yi = ((b * c_out + o) * oh + r) * ow + c;
                                y[yi] = f64::from(*bias_o);
                                for i in 0..c_in {
                                    for u in 0..kh {
                                        for v in 0..kw {
                                            let (ih, iw) = (r + u, c + v);
                                            if ih < ph
                                                || iw < pw
                                                || ih - ph >= height
                                                || iw - pw >= width
                                            {
                                                continue;
                                            }
                                            let xi = ((b * c_in + i) * height + ih - ph) * width
                                                + iw
                                                - pw;
                                            let wi = ((o * c_in + i) * kh + u) * kw + v;
                                            y[yi] += f64::from(weight[wi]) * f64::from(x[xi]);
                                            dx[xi] += f64::from(weight[wi]) * f64::from(dy[yi]);
                                            dw[wi] += f64::from(x[xi]) * f64::from(dy[yi]);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                let close = |ours: &[f32], reference: &[f64], what: &str| {
                    assert_eq!(ours.len(), reference.len(), "{what} length ({g:?})");
                    for (k, (o, r)) in ours.iter().zip(reference).enumerate() {
                        assert!(
                            (f64::from(*o) - r).abs() <= 1e-4 * (1.0 + r.abs()),
                            "{what}[{k}] = {o}, expected {r} ({g:?})"
                        );
                    }
                };
                close(&forward(&g, &x, &weight, Some(&bias)), &y, "y");
                close(&input_grad(&g, &weight, &dy), &dx, "dx");
                close(&weight_grad(&g, &x, &dy), &dw, "dw");
            }
        }
    }
}
