//! Layer normalisation over the channel axis of NCHW tensors, with fused kernels on Burn Flex.
//!
//! [`channel_layer_norm`] computes the original ConvNeXt U-Net's `LayerNorm`:
//! `(x − mean) / √(var + ε) · g + b`, mean and biased variance over the channels of each pixel.
//! On f32 Burn Flex tensors it is one pass for the statistics and one for the output, per image
//! on rayon's pool, and under autodiff it registers its own backward step; on every other
//! backend it is the composition of Burn tensor operations it replaces.
//!
//! **Why.** As tensor operations it is nine element-wise and reduction passes forward (and more
//! backward), each on one thread; the reductions run across the channel axis, whose stride is
//! `H·W`. Measured on Flex at `[32, 64, 32, 32]` (criterion `unet-layers`, docs/performance.md,
//! "Quiet sitting 4"): 8.5 ms forward and 30.3 ms forward + backward as tensor operations,
//! 2.5 ms and 12.4 ms fused.
//!
//! The backward step, with `x̂ = (x − mean) · r`, `r = 1 / √(var + ε)` and `d = dy · g`:
//!
//! - `dx = r · (d − mean_c(d) − x̂ · mean_c(d · x̂))` (means over the channels of each pixel);
//! - `dg[c] = Σ_{b, pixel} dy · x̂`, `db[c] = Σ_{b, pixel} dy`.

use burn::tensor::Tensor;

/// `(x − mean) / √(var + epsilon) · gain + bias`, mean and biased variance over axis 1 (the
/// channels) at every pixel.
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]`
/// - `gain`, `bias`: `[1, channels, 1, 1]`
/// - output: same as `x`
pub fn channel_layer_norm(
    x: Tensor<4>,
    gain: Tensor<4>,
    bias: Tensor<4>,
    epsilon: f64,
) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::channel_layer_norm(&x, &gain, &bias, epsilon) {
        return y;
    }
    let mean = x.clone().mean_dim(1);
    let centred = x - mean;
    let var = centred.clone().square().mean_dim(1);
    centred / (var + epsilon).sqrt() * gain + bias
}

/// Whether [`channel_layer_norm`] runs its fused kernels on these operands: `x`, `gain` and
/// `bias` are f32 Burn Flex tensors, all without autodiff or all under autodiff without gradient
/// checkpointing, shaped `[b, c, h, w]`, `[1, c, 1, 1]`, `[1, c, 1, 1]`, none empty.
pub fn uses_fused_channel_norm(x: &Tensor<4>, gain: &Tensor<4>, bias: &Tensor<4>) -> bool {
    #[cfg(feature = "flex")]
    return flex::operands(x, gain, bias).is_some();
    #[cfg(not(feature = "flex"))]
    {
        let _ = (x, gain, bias);
        false
    }
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::flex::FlexTensor;
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Flex, TensorMetadata};
    use burn::tensor::Tensor;

    use super::kernels::{self, Geometry};
    use crate::flex_data::{AutodiffFlex, Operand, f32_values, from_f32, operand};

    /// The three operands, all plain or all tracked.
    pub(super) enum Operands {
        Plain([FlexTensor; 3]),
        Tracked([FloatTensor<AutodiffFlex>; 3]),
    }

    /// `x`, `gain` and `bias` as [`Operands`] when the fused kernels take them.
    pub(super) fn operands(x: &Tensor<4>, gain: &Tensor<4>, bias: &Tensor<4>) -> Option<Operands> {
        let [batch, channels, height, width] = x.dims();
        let per_channel = [1, channels, 1, 1];
        if batch * channels * height * width == 0
            || gain.dims() != per_channel
            || bias.dims() != per_channel
        {
            return None;
        }
        match (operand(x)?, operand(gain)?, operand(bias)?) {
            (Operand::Plain(x), Operand::Plain(g), Operand::Plain(b)) => {
                Some(Operands::Plain([x, g, b]))
            }
            (Operand::Tracked(x), Operand::Tracked(g), Operand::Tracked(b)) => {
                Some(Operands::Tracked([x, g, b]))
            }
            _ => None,
        }
    }

    fn geometry(x: &FlexTensor) -> Geometry {
        let [_, channels, height, width] = x.shape().dims();
        Geometry {
            channels,
            pixels: height * width,
        }
    }

    fn forward(x: &FlexTensor, gain: &FlexTensor, bias: &FlexTensor, epsilon: f32) -> FlexTensor {
        let y = kernels::forward(
            &geometry(x),
            f32_values(x).as_ref(),
            f32_values(gain).as_ref(),
            f32_values(bias).as_ref(),
            epsilon,
        );
        from_f32(y, x.shape().dims::<4>())
    }

    /// The layer norm by the fused kernels; `None` when the operands are not eligible.
    pub(super) fn channel_layer_norm(
        x: &Tensor<4>,
        gain: &Tensor<4>,
        bias: &Tensor<4>,
        epsilon: f64,
    ) -> Option<Tensor<4>> {
        let epsilon = epsilon as f32;
        Some(match operands(x, gain, bias)? {
            Operands::Plain([x, g, b]) => {
                Tensor::from_primitive::<Flex>(forward(&x, &g, &b, epsilon))
            }
            Operands::Tracked([x, g, b]) => {
                let (x, x_node) = x.into_parts();
                let (g, g_node) = g.into_parts();
                let (b, b_node) = b.into_parts();
                let y = match ChannelNormBackward
                    .prepare::<NoCheckpointing>([x_node, g_node, b_node])
                    .compute_bound()
                    .stateful()
                {
                    OpsKind::Tracked(prep) => {
                        let y = forward(&x, &g, &b, epsilon);
                        prep.finish((x, g, epsilon), y)
                    }
                    OpsKind::UnTracked(prep) => prep.finish(forward(&x, &g, &b, epsilon)),
                };
                Tensor::from_primitive::<AutodiffFlex>(y)
            }
        })
    }

    /// The backward step; state: the input, the gain, ε.
    #[derive(Debug)]
    struct ChannelNormBackward;

    impl Backward<Flex, 3> for ChannelNormBackward {
        type State = (FlexTensor, FlexTensor, f32);

        fn backward(
            self,
            ops: Ops<Self::State, 3>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [x_node, g_node, b_node] = ops.parents;
            let grad = grads.consume::<Flex>(&ops.node);
            let (x, gain, epsilon) = ops.state;
            let geometry = geometry(&x);
            let (dx, dg, db) = kernels::backward(
                &geometry,
                f32_values(&x).as_ref(),
                f32_values(&gain).as_ref(),
                f32_values(&grad).as_ref(),
                epsilon,
            );
            let per_channel = [1, geometry.channels, 1, 1];
            if let Some(node) = x_node {
                grads.register::<Flex>(node.id, from_f32(dx, x.shape().dims::<4>()));
            }
            if let Some(node) = g_node {
                grads.register::<Flex>(node.id, from_f32(dg, per_channel));
            }
            if let Some(node) = b_node {
                grads.register::<Flex>(node.id, from_f32(db, per_channel));
            }
        }
    }
}

/// The fused kernels, on row-major f32 slices; one image per rayon task.
#[cfg(feature = "flex")]
mod kernels {
    use rayon::prelude::*;

    /// Sizes: images of `channels` planes of `pixels` values.
    #[derive(Debug, Clone, Copy)]
    pub struct Geometry {
        pub channels: usize,
        pub pixels: usize,
    }

    /// `Σ a[i] · b[i]` in eight interleaved partial sums (so that it vectorises).
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut partial = [0.0f32; 8];
        let (a_blocks, b_blocks) = (a.chunks_exact(8), b.chunks_exact(8));
        let tail: f32 = a_blocks
            .remainder()
            .iter()
            .zip(b_blocks.remainder())
            .map(|(x, y)| x * y)
            .sum();
        for (x, y) in a_blocks.zip(b_blocks) {
            for i in 0..8 {
                partial[i] += x[i] * y[i];
            }
        }
        partial.iter().sum::<f32>() + tail
    }

    /// Per pixel of one image (`channels` rows of `pixels`): the mean over the channels and
    /// `1 / √(biased variance + epsilon)`, the variance from the centred values (two passes).
    fn statistics(image: &[f32], pixels: usize, epsilon: f32) -> (Vec<f32>, Vec<f32>) {
        let channels = image.len() / pixels;
        let mut mean = vec![0.0f32; pixels];
        for row in image.chunks_exact(pixels) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        let scale = 1.0 / channels as f32;
        for m in &mut mean {
            *m *= scale;
        }
        let mut var = vec![0.0f32; pixels];
        for row in image.chunks_exact(pixels) {
            for ((s, &v), &m) in var.iter_mut().zip(row).zip(&mean) {
                let d = v - m;
                *s += d * d;
            }
        }
        for s in &mut var {
            *s = 1.0 / (*s * scale + epsilon).sqrt();
        }
        (mean, var)
    }

    pub fn forward(g: &Geometry, x: &[f32], gain: &[f32], bias: &[f32], epsilon: f32) -> Vec<f32> {
        let image = g.channels * g.pixels;
        let mut out = vec![0.0f32; x.len()];
        out.par_chunks_mut(image)
            .zip(x.par_chunks(image))
            .for_each(|(out, x)| {
                let (mean, rstd) = statistics(x, g.pixels, epsilon);
                for (c, (o, x)) in out
                    .chunks_exact_mut(g.pixels)
                    .zip(x.chunks_exact(g.pixels))
                    .enumerate()
                {
                    let (gc, bc) = (gain[c], bias[c]);
                    for (((o, &v), &m), &r) in o.iter_mut().zip(x).zip(&mean).zip(&rstd) {
                        *o = (v - m) * r * gc + bc;
                    }
                }
            });
        out
    }

    /// `(dx, dgain, dbias)` for the output gradient `dy` (see the module documentation).
    pub fn backward(
        g: &Geometry,
        x: &[f32],
        gain: &[f32],
        dy: &[f32],
        epsilon: f32,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (channels, pixels) = (g.channels, g.pixels);
        let image = channels * pixels;
        let mut dx = vec![0.0f32; x.len()];
        let zeros = || (vec![0.0f32; channels], vec![0.0f32; channels]);
        let ones = vec![1.0f32; pixels];
        let (dgain, dbias) = dx
            .par_chunks_mut(image)
            .zip(x.par_chunks(image).zip(dy.par_chunks(image)))
            .map(|(dx, (x, dy))| {
                let (mean, rstd) = statistics(x, pixels, epsilon);
                let (mut dgain, mut dbias) = zeros();
                // Per pixel: Σ_c d and Σ_c d · x̂; per channel: Σ dy · x̂ and Σ dy.
                let mut sum_d = vec![0.0f32; pixels];
                let mut sum_dx = vec![0.0f32; pixels];
                let mut x_hat = vec![0.0f32; pixels];
                for (c, (x, dy)) in x
                    .chunks_exact(pixels)
                    .zip(dy.chunks_exact(pixels))
                    .enumerate()
                {
                    for (((h, &v), &m), &r) in x_hat.iter_mut().zip(x).zip(&mean).zip(&rstd) {
                        *h = (v - m) * r;
                    }
                    let gc = gain[c];
                    for (((sd, sdx), &h), &dy) in
                        sum_d.iter_mut().zip(&mut sum_dx).zip(&x_hat).zip(dy)
                    {
                        *sd += dy * gc;
                        *sdx += dy * gc * h;
                    }
                    dgain[c] = dot(dy, &x_hat);
                    dbias[c] = dot(dy, &ones[..pixels]);
                }
                let scale = 1.0 / channels as f32;
                for (c, (dx, (x, dy))) in dx
                    .chunks_exact_mut(pixels)
                    .zip(x.chunks_exact(pixels).zip(dy.chunks_exact(pixels)))
                    .enumerate()
                {
                    let gc = gain[c];
                    for p in 0..pixels {
                        let x_hat = (x[p] - mean[p]) * rstd[p];
                        dx[p] =
                            rstd[p] * (dy[p] * gc - sum_d[p] * scale - x_hat * sum_dx[p] * scale);
                    }
                }
                (dgain, dbias)
            })
            .reduce(zeros, |(mut ga, mut ba), (gb, bb)| {
                ga.iter_mut().zip(&gb).for_each(|(a, b)| *a += b);
                ba.iter_mut().zip(&bb).for_each(|(a, b)| *a += b);
                (ga, ba)
            });
        (dx, dgain, dbias)
    }
}
