//! The ConvNeXt block's depth-wise convolution, with fast gradients on Burn Flex.
//!
//! [`depthwise_conv2d`] computes exactly what Burn's `conv2d` with `groups = channels` computes.
//! On every backend but one it *is* that call. On Burn Flex (the CPU backend) under autodiff it
//! registers its own backward step: Burn 0.22.1 derives a grouped convolution's input gradient
//! from a transposed convolution that, with one channel per group, materialises a
//! `k² × (H·W)` column buffer per image and channel and scatters it back element by element, and
//! its weight gradient from one convolution per channel. For the 7×7 convolution of the
//! `unet-mnist-small` network's first level (batch 32, 32 channels, 32×32) that backward took
//! ≈ 8× the forward (docs/performance.md, "Depth-wise convolution gradients"). Here both
//! gradients are direct loops over the k² taps with contiguous, vectorisable rows:
//!
//! - `dx[b, c, ih, iw] = Σ_{i, j} w[c, i, j] · dy[b, c, ih + p − i, iw + p − j]`
//! - `dw[c, i, j] = Σ_{b, oh, ow} dy[b, c, oh, ow] · x[b, c, oh + i − p, ow + j − p]`
//!
//! (stride 1, dilation 1, zero padding `p`; out-of-range terms are zero). The forward pass is
//! Flex's own direct depth-wise convolution, so inference is unchanged on every backend.

use burn::tensor::Tensor;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

/// Depth-wise 2-D convolution: `groups = channels`, stride 1, dilation 1, `padding` zeros on
/// every side, one `kh × kw` filter per channel, optional per-channel bias.
///
/// The same function as Burn's `conv2d(x, weight, bias, ConvOptions::new([1, 1], [padding;
/// 2], [1, 1], channels))`; on Burn Flex under autodiff its gradients come from this module's
/// direct kernels (see the [module documentation](self)).
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]`
/// - `weight`: `[channels, 1, kh, kw]`
/// - `bias`: `[channels]`
/// - output: `[batch, channels, height + 2·padding − kh + 1, width + 2·padding − kw + 1]`
pub fn depthwise_conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    padding: usize,
) -> Tensor<4> {
    let channels = weight.dims()[0];
    #[cfg(feature = "flex")]
    let y = flex::depthwise_conv2d(&x, &weight, padding);
    #[cfg(not(feature = "flex"))]
    let y: Option<Tensor<4>> = None;
    match y {
        Some(y) => match bias {
            Some(bias) => y + bias.reshape([1, channels, 1, 1]),
            None => y,
        },
        None => conv2d(
            x,
            weight,
            bias,
            ConvOptions::new([1, 1], [padding, padding], [1, 1], channels),
        ),
    }
}

/// Whether [`depthwise_conv2d`] computes the gradients of a convolution of `x` with `weight`
/// by its own kernels (f32 Flex tensors under autodiff without gradient checkpointing, shaped
/// as a depth-wise convolution with this `padding`) rather than by Burn's.
pub fn uses_direct_gradients(x: &Tensor<4>, weight: &Tensor<4>, padding: usize) -> bool {
    #[cfg(feature = "flex")]
    return flex::eligible(x, weight, padding).is_some();
    #[cfg(not(feature = "flex"))]
    {
        let _ = (x, weight, padding);
        false
    }
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops};
    use burn::backend::flex::FlexTensor;
    use burn::backend::ops::ModuleOps;
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Flex, TensorMetadata};
    use burn::tensor::Tensor;
    use burn::tensor::ops::ConvOptions;

    use super::kernels;
    use crate::flex_data::{AutodiffFlex, Operands, autodiff_step, f32_values, from_f32, operands};

    /// `x` and `weight` as Flex autodiff primitives when they are f32 Flex tensors under
    /// autodiff without gradient checkpointing, non-empty, and shaped as a depth-wise
    /// convolution with this padding; `None` otherwise.
    pub(super) fn eligible(
        x: &Tensor<4>,
        weight: &Tensor<4>,
        padding: usize,
    ) -> Option<(FloatTensor<AutodiffFlex>, FloatTensor<AutodiffFlex>)> {
        let [batch, channels, height, width] = x.dims();
        let [filters, per_group, kh, kw] = weight.dims();
        if batch * channels * height * width == 0
            || filters != channels
            || per_group != 1
            || kh * kw == 0
            || height + 2 * padding < kh
            || width + 2 * padding < kw
        {
            return None;
        }
        match operands(x, weight)? {
            Operands::Tracked(x, weight) => Some((x, weight)),
            Operands::Plain(..) => None,
        }
    }

    /// The depth-wise convolution (no bias) as one autodiff step with our backward, when
    /// [`eligible`]; `None` otherwise (the caller uses Burn's `conv2d`).
    pub(super) fn depthwise_conv2d(
        x: &Tensor<4>,
        weight: &Tensor<4>,
        padding: usize,
    ) -> Option<Tensor<4>> {
        let (x, weight) = eligible(x, weight, padding)?;
        let channels = weight.primitive().shape().dims::<4>()[0];
        let options = ConvOptions::new([1, 1], [padding, padding], [1, 1], channels);
        Some(autodiff_step(
            DepthwiseConvBackward,
            x,
            weight,
            padding,
            |x, weight| Flex::conv2d(x.clone(), weight.clone(), None, options.clone()),
        ))
    }

    /// The backward step of [`depthwise_conv2d`]; state: the input, the weight, the padding.
    #[derive(Debug)]
    struct DepthwiseConvBackward;

    impl Backward<Flex, 2> for DepthwiseConvBackward {
        type State = (FlexTensor, FlexTensor, usize);

        fn backward(
            self,
            ops: Ops<Self::State, 2>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [x_node, weight_node] = ops.parents;
            let grad = grads.consume::<Flex>(&ops.node);
            let (x, weight, padding) = ops.state;
            let x_shape: [usize; 4] = dims(&x);
            let w_shape: [usize; 4] = dims(&weight);
            let g_shape: [usize; 4] = dims(&grad);
            let geometry = kernels::Geometry {
                batch: x_shape[0],
                channels: x_shape[1],
                height: x_shape[2],
                width: x_shape[3],
                kh: w_shape[2],
                kw: w_shape[3],
                padding,
            };
            debug_assert_eq!(
                g_shape,
                [
                    x_shape[0],
                    x_shape[1],
                    geometry.out_height(),
                    geometry.out_width()
                ]
            );
            let grad = f32_values(&grad);
            if let Some(node) = x_node {
                let dx =
                    kernels::input_grad(&geometry, f32_values(&weight).as_ref(), grad.as_ref());
                grads.register::<Flex>(node.id, from_f32(dx, x_shape));
            }
            if let Some(node) = weight_node {
                let dw = kernels::weight_grad(&geometry, f32_values(&x).as_ref(), grad.as_ref());
                grads.register::<Flex>(node.id, from_f32(dw, w_shape));
            }
        }
    }

    fn dims(t: &FlexTensor) -> [usize; 4] {
        t.shape().dims()
    }
}

/// The direct depth-wise convolution gradient kernels, on row-major f32 slices.
#[cfg(feature = "flex")]
mod kernels {
    /// Sizes of one depth-wise convolution (stride 1, dilation 1).
    #[derive(Debug, Clone, Copy)]
    pub struct Geometry {
        pub batch: usize,
        pub channels: usize,
        pub height: usize,
        pub width: usize,
        pub kh: usize,
        pub kw: usize,
        pub padding: usize,
    }

    impl Geometry {
        pub fn out_height(&self) -> usize {
            self.height + 2 * self.padding + 1 - self.kh
        }
        pub fn out_width(&self) -> usize {
            self.width + 2 * self.padding + 1 - self.kw
        }
        /// For tap offset `t` (0..k) along an axis of input length `n_in` and output length
        /// `n_out`: the output positions `o` whose input position `o + t − p` is inside
        /// `0..n_in`, as a range of `o`.
        fn valid(t: usize, p: usize, n_in: usize, n_out: usize) -> std::ops::Range<usize> {
            let lo = p.saturating_sub(t);
            let hi = (n_in + p).saturating_sub(t).min(n_out);
            lo..hi.max(lo)
        }

        /// The filter taps that touch the input, each with the output rows and columns it
        /// reaches; computed once per kernel call.
        fn taps(&self) -> Vec<Tap> {
            let (oh_n, ow_n) = (self.out_height(), self.out_width());
            let mut taps = Vec::with_capacity(self.kh * self.kw);
            for i in 0..self.kh {
                let rows = Self::valid(i, self.padding, self.height, oh_n);
                for j in 0..self.kw {
                    let cols = Self::valid(j, self.padding, self.width, ow_n);
                    if rows.is_empty() || cols.is_empty() {
                        continue;
                    }
                    taps.push(Tap {
                        index: i * self.kw + j,
                        row_offset: i,
                        in_col: cols.start + j - self.padding,
                        rows: rows.clone(),
                        cols,
                    });
                }
            }
            taps
        }
    }

    /// One filter tap `(i, j)`: output `(oh, ow)` reads input `(oh + i − p, ow + j − p)`.
    struct Tap {
        /// `i · kw + j`, the tap's position in the filter.
        index: usize,
        /// `i`: input row = `oh + row_offset − padding`.
        row_offset: usize,
        /// The input column read by output column `cols.start`.
        in_col: usize,
        /// Output rows whose input row is inside the image.
        rows: std::ops::Range<usize>,
        /// Output columns whose input column is inside the image.
        cols: std::ops::Range<usize>,
    }

    /// `dx` (shape `[batch, channels, height, width]`) from the weight `[channels, 1, kh, kw]`
    /// and the output gradient `[batch, channels, out_height, out_width]`.
    pub fn input_grad(g: &Geometry, weight: &[f32], dy: &[f32]) -> Vec<f32> {
        use rayon::prelude::*;
        let (h, w, oh_n, ow_n) = (g.height, g.width, g.out_height(), g.out_width());
        let taps = g.taps();
        let mut dx = vec![0.0f32; g.batch * g.channels * h * w];
        dx.par_chunks_mut(h * w)
            .zip(dy.par_chunks(oh_n * ow_n))
            .enumerate()
            .for_each(|(plane, (dx, dy))| {
                let c = plane % g.channels;
                let filter = &weight[c * g.kh * g.kw..(c + 1) * g.kh * g.kw];
                for tap in &taps {
                    let value = filter[tap.index];
                    for oh in tap.rows.clone() {
                        let ih = oh + tap.row_offset - g.padding;
                        let src = &dy[oh * ow_n + tap.cols.start..oh * ow_n + tap.cols.end];
                        let dst = &mut dx[ih * w + tap.in_col..ih * w + tap.in_col + src.len()];
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d += value * s;
                        }
                    }
                }
            });
        dx
    }

    /// `dw` (shape `[channels, 1, kh, kw]`) from the input `[batch, channels, height, width]`
    /// and the output gradient.
    pub fn weight_grad(g: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
        use rayon::prelude::*;
        let (h, w, oh_n, ow_n) = (g.height, g.width, g.out_height(), g.out_width());
        let taps = g.taps();
        let n_taps = g.kh * g.kw;
        let mut dw = vec![0.0f32; g.channels * n_taps];
        dw.par_chunks_mut(n_taps).enumerate().for_each(|(c, dw)| {
            let mut acc = vec![0.0f64; n_taps];
            for b in 0..g.batch {
                let plane = b * g.channels + c;
                let x = &x[plane * h * w..(plane + 1) * h * w];
                let dy = &dy[plane * oh_n * ow_n..(plane + 1) * oh_n * ow_n];
                for tap in &taps {
                    let mut sum = 0.0f32;
                    for oh in tap.rows.clone() {
                        let ih = oh + tap.row_offset - g.padding;
                        let a = &dy[oh * ow_n + tap.cols.start..oh * ow_n + tap.cols.end];
                        let bx = &x[ih * w + tap.in_col..ih * w + tap.in_col + a.len()];
                        sum += dot(a, bx);
                    }
                    acc[tap.index] += f64::from(sum);
                }
            }
            for (d, a) in dw.iter_mut().zip(acc) {
                *d = a as f32;
            }
        });
        dw
    }

    /// Dot product with eight independent partial sums (vectorisable without reassociating
    /// one running sum).
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut lanes = [0.0f32; 8];
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for k in 0..8 {
                lanes[k] += x[k] * y[k];
            }
        }
        let mut sum = lanes.iter().sum::<f32>();
        for (x, y) in ra.iter().zip(rb) {
            sum += x * y;
        }
        sum
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Both gradients against the definition, summed naively over the padded input, for
        /// odd and even kernels, asymmetric sizes and paddings that cut taps off.
        #[test]
        fn kernels_match_the_definition() {
            for (batch, channels, height, width, kh, kw, padding) in [
                (2, 3, 5, 7, 3, 3, 1),
                (1, 2, 4, 4, 7, 7, 3),
                (2, 1, 6, 5, 2, 4, 0),
                (1, 2, 3, 5, 5, 3, 2),
            ] {
                let g = Geometry {
                    batch,
                    channels,
                    height,
                    width,
                    kh,
                    kw,
                    padding,
                };
                let (oh_n, ow_n) = (g.out_height(), g.out_width());
                let value = |k: usize| ((k * 7919 % 97) as f32 - 48.0) / 17.0;
                let x: Vec<f32> = (0..batch * channels * height * width).map(value).collect();
                let weight: Vec<f32> = (0..channels * kh * kw).map(|k| value(k + 13)).collect();
                let dy: Vec<f32> = (0..batch * channels * oh_n * ow_n)
                    .map(|k| value(k + 31))
                    .collect();
                let mut dx = vec![0.0f64; x.len()];
                let mut dw = vec![0.0f64; weight.len()];
                for b in 0..batch {
                    for c in 0..channels {
                        for oh in 0..oh_n {
                            for ow in 0..ow_n {
                                let gy =
                                    f64::from(dy[((b * channels + c) * oh_n + oh) * ow_n + ow]);
                                for i in 0..kh {
                                    for j in 0..kw {
                                        let (ih, iw) = (oh + i, ow + j);
                                        if ih < padding
                                            || iw < padding
                                            || ih - padding >= height
                                            || iw - padding >= width
                                        {
                                            continue;
                                        }
                                        let xi = ((b * channels + c) * height + ih - padding)
                                            * width
                                            + iw
                                            - padding;
                                        let wi = (c * kh + i) * kw + j;
                                        dx[xi] += f64::from(weight[wi]) * gy;
                                        dw[wi] += f64::from(x[xi]) * gy;
                                    }
                                }
                            }
                        }
                    }
                }
                let close = |ours: &[f32], reference: &[f64], what: &str| {
                    assert_eq!(ours.len(), reference.len());
                    for (k, (o, r)) in ours.iter().zip(reference).enumerate() {
                        assert!(
                            (f64::from(*o) - r).abs() <= 1e-4 * (1.0 + r.abs()),
                            "{what}[{k}] = {o}, expected {r} ({g:?})"
                        );
                    }
                };
                close(&input_grad(&g, &weight, &dy), &dx, "dx");
                close(&weight_grad(&g, &x, &dy), &dw, "dw");
            }
        }
    }
}
