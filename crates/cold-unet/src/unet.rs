//! The ConvNeXt U-Net of the paper (the original `Unet` class, identical in every sub-project of
//! the official code), read top to bottom: configuration in [`crate::UnetConfig`], blocks in
//! [`crate::blocks`].
//!
//! With `dims = [channels, dim * m_0, dim * m_1, ...]` and one level per consecutive pair:
//! - time: sinusoidal(dim) -> Linear(dim, 4 dim) -> GELU -> Linear(4 dim, dim);
//! - encoder level `i`: ConvNeXt(d_in -> d_out; no LayerNorm at level 0) -> ConvNeXt(d_out) ->
//!   linear attention -> keep as skip -> 4x4 stride-2 conv (not at the last level);
//! - middle: ConvNeXt -> linear attention -> ConvNeXt;
//! - decoder, for the levels `1..` in reverse: concat the skip -> ConvNeXt(2 d_out -> d_in) ->
//!   ConvNeXt(d_in) -> linear attention -> 4x4 stride-2 transposed conv. The level-0 skip is
//!   never used, exactly as in the original;
//! - output: ConvNeXt(dim, no time) -> 1x1 conv to `out_dim` channels (+ input if `residual`).

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::{Device, Int, Tensor};

use crate::blocks::{
    ConvNextBlock, ConvNextBlockConfig, LinearAttentionBlock, LinearAttentionConfig, TimeMlp,
    TimeMlpConfig, canonical_layout,
};
use crate::config::UnetConfig;
use crate::dense::dense_conv2d;
use crate::error::InputError;
use crate::gelu::gelu;

/// One encoder level (the original `downs[i]`).
#[derive(Module, Debug)]
pub struct UnetDown {
    /// `downs.i.0`.
    block1: ConvNextBlock,
    /// `downs.i.1`.
    block2: ConvNextBlock,
    /// `downs.i.2`.
    attn: LinearAttentionBlock,
    /// `downs.i.3`: 4x4 stride-2 conv, absent at the last level.
    downsample: Option<Conv2d>,
}

/// One decoder level (the original `ups[i]`).
#[derive(Module, Debug)]
pub struct UnetUp {
    /// `ups.i.0`.
    block1: ConvNextBlock,
    /// `ups.i.1`.
    block2: ConvNextBlock,
    /// `ups.i.2`.
    attn: LinearAttentionBlock,
    /// `ups.i.3`: 4x4 stride-2 transposed conv (every decoder level has one in the original).
    upsample: ConvTranspose2d,
}

/// The paper's ConvNeXt U-Net, a direct `x0` predictor `R(x_s, s - 1)`. Build it with
/// [`UnetConfig::init`].
#[derive(Module, Debug)]
pub struct Unet {
    /// `time_mlp`, absent without `with_time_emb`.
    time_mlp: Option<TimeMlp>,
    /// `downs`.
    downs: Vec<UnetDown>,
    /// `mid_block1`.
    mid_block1: ConvNextBlock,
    /// `mid_attn`.
    mid_attn: LinearAttentionBlock,
    /// `mid_block2`.
    mid_block2: ConvNextBlock,
    /// `ups`.
    ups: Vec<UnetUp>,
    /// `final_conv.0`: ConvNeXt(dim -> dim) without time conditioning.
    final_block: ConvNextBlock,
    /// `final_conv.1`: 1x1 conv to the output channels.
    final_conv: Conv2d,
    /// The configuration this network was built from.
    #[module(skip)]
    config: UnetConfig,
}

impl Unet {
    pub(crate) fn new(config: &UnetConfig, device: &Device) -> Self {
        let time_dim = config.with_time_emb.then_some(config.dim);
        let block = |i: usize, o: usize| {
            ConvNextBlockConfig::new(i, o)
                .with_time_emb_dim(time_dim)
                .init(device)
        };
        let attn = |c: usize| LinearAttentionConfig::new(c).init(device);
        let mut dims = vec![config.channels];
        dims.extend(config.dim_mults.iter().map(|m| config.dim * m));
        let levels = config.levels();

        let downs = (0..levels)
            .map(|i| {
                let (d_in, d_out) = (dims[i], dims[i + 1]);
                UnetDown {
                    block1: ConvNextBlockConfig::new(d_in, d_out)
                        .with_time_emb_dim(time_dim)
                        .with_norm(i != 0)
                        .init(device),
                    block2: block(d_out, d_out),
                    attn: attn(d_out),
                    downsample: (i + 1 < levels).then(|| {
                        Conv2dConfig::new([d_out, d_out], [4, 4])
                            .with_stride([2, 2])
                            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                            .init(device)
                    }),
                }
            })
            .collect();

        let mid = dims[levels];
        // The original iterates over reversed(in_out[1:]).
        let ups = (1..levels)
            .rev()
            .map(|i| {
                let (d_in, d_out) = (dims[i], dims[i + 1]);
                UnetUp {
                    block1: block(2 * d_out, d_in),
                    block2: block(d_in, d_in),
                    attn: attn(d_in),
                    upsample: ConvTranspose2dConfig::new([d_in, d_in], [4, 4])
                        .with_stride([2, 2])
                        .with_padding([1, 1])
                        .init(device),
                }
            })
            .collect();

        Self {
            time_mlp: time_dim.map(|d| TimeMlpConfig::new(d).init(device)),
            downs,
            mid_block1: block(mid, mid),
            mid_attn: attn(mid),
            mid_block2: block(mid, mid),
            ups,
            final_block: ConvNextBlockConfig::new(config.dim, config.dim).init(device),
            final_conv: Conv2dConfig::new([config.dim, config.out_channels()], [1, 1]).init(device),
            config: config.clone(),
        }
    }

    /// The configuration this network was built from.
    pub fn config(&self) -> &UnetConfig {
        &self.config
    }

    /// Checks that an input of shape `x_dims` with `t_len` time indices fits this network:
    /// channel count, `H` and `W` multiples of `2^(levels-1)` (non-square is fine), and one
    /// time index per batch item.
    pub fn check_input(&self, x_dims: [usize; 4], t_len: usize) -> Result<(), InputError> {
        check_input(x_dims, t_len, self.config.channels, self.config.levels())
    }

    /// [`forward`](Self::forward), returning an error instead of panicking on a bad input
    /// shape. Nothing is computed when the shapes are wrong.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`, height and width multiples of
    ///   `2^(levels-1)`
    /// - `t`: `[batch]`, the zero-based step index `s - 1` of the original code
    /// - output: `[batch, out_channels, height, width]`
    pub fn try_forward(&self, x: Tensor<4>, t: Tensor<1, Int>) -> Result<Tensor<4>, InputError> {
        self.check_input(x.dims(), t.dims()[0])?;
        Ok(self.forward_unchecked(x, t))
    }

    /// Predicts `x0` from the degraded `x` at zero-based step index `t = s - 1`.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`, height and width multiples of
    ///   `2^(levels-1)`
    /// - `t`: `[batch]`
    /// - output: `[batch, out_channels, height, width]`
    ///
    /// # Panics
    /// With the [`InputError`] message when the shapes do not fit (see
    /// [`try_forward`](Self::try_forward)).
    pub fn forward(&self, x: Tensor<4>, t: Tensor<1, Int>) -> Tensor<4> {
        match self.try_forward(x, t) {
            Ok(y) => y,
            Err(e) => panic!("Unet::forward: {e}"),
        }
    }

    fn forward_unchecked(&self, x: Tensor<4>, t: Tensor<1, Int>) -> Tensor<4> {
        let input = self.config.residual.then(|| x.clone());
        // Every ConvNeXt block's `mlp` starts with GELU of the same embedding: compute it once.
        let time = self.time_mlp.as_ref().map(|mlp| gelu(mlp.forward(t)));
        let time = time.as_ref();

        let mut x = x;
        let mut skips = Vec::with_capacity(self.downs.len());
        for (level, down) in self.downs.iter().enumerate() {
            x = down.block1.forward(x, time);
            x = down.block2.forward(x, time);
            x = down.attn.forward(x);
            // The level-0 skip is never consumed by the original decoder: do not keep it.
            if level > 0 {
                skips.push(x.clone());
            }
            if let Some(downsample) = &down.downsample {
                x = dense_conv2d(downsample, x);
            }
        }

        x = self.mid_block1.forward(x, time);
        x = self.mid_attn.forward(x);
        x = self.mid_block2.forward(x, time);

        for up in &self.ups {
            let skip = skips.pop().expect("one skip per decoder level");
            x = Tensor::cat(vec![x, skip], 1);
            x = up.block1.forward(x, time);
            x = up.block2.forward(x, time);
            x = up.attn.forward(x);
            x = up.upsample.forward(x);
        }

        let out = dense_conv2d(&self.final_conv, self.final_block.forward(x, None));
        // The output (and a degraded input from a 1-channel convolution) can be channels-last:
        // see `canonical_layout` for why the layout matters on the fused GPU backends.
        canonical_layout(match input {
            Some(input) => out + input,
            None => out,
        })
    }
}

/// Shared input check of both networks.
pub(crate) fn check_input(
    [batch, channels, height, width]: [usize; 4],
    t_len: usize,
    expected_channels: usize,
    levels: usize,
) -> Result<(), InputError> {
    if batch == 0 {
        return Err(InputError::EmptyBatch);
    }
    if channels != expected_channels {
        return Err(InputError::Channels {
            expected: expected_channels,
            found: channels,
        });
    }
    let divisor = 1usize << levels.saturating_sub(1);
    if height == 0 || width == 0 || height % divisor != 0 || width % divisor != 0 {
        return Err(InputError::Size {
            height,
            width,
            levels,
            divisor,
        });
    }
    if t_len != batch {
        return Err(InputError::Batch {
            expected: batch,
            found: t_len,
        });
    }
    Ok(())
}
