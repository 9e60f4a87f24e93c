//! The DDPM ResNet U-Net used for the paper's CIFAR-10 restoration experiments (the original
//! `Model` of `Model2.py`), read top to bottom: configuration in [`crate::ResUnetConfig`],
//! blocks in [`crate::blocks`].
//!
//! - time: sinusoidal(ch) -> Linear(ch, 4 ch) -> swish -> Linear(4 ch, 4 ch);
//! - `conv_in` 3x3; encoder level `l`: `num_res_blocks` residual blocks to `ch * ch_mult[l]`
//!   (each followed by self-attention where the level's resolution is in `attn_resolutions`),
//!   every output kept as a skip, then a down-sampling (pad right/bottom, 3x3 stride 2) except
//!   at the last level, its output kept as a skip too;
//! - middle: residual block -> attention -> residual block;
//! - decoder level `l` (reversed): `num_res_blocks + 1` residual blocks, each on the concat of
//!   the running tensor and the most recent skip, attention as above, then nearest x2 + 3x3
//!   conv except at level 0;
//! - output: GroupNorm -> swish -> 3x3 conv to `out_ch`.
//!
//! Field names are the original module names, so the Burn paths equal the original keys.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{GroupNorm, Linear, LinearConfig};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Int, Tensor};

use crate::blocks::{
    AttnBlock, AttnBlockConfig, Downsample, DownsampleConfig, ResBlock, ResBlockConfig, Upsample,
    UpsampleConfig, canonical_layout, group_norm32,
};
use crate::config::ResUnetConfig;
use crate::dense::dense_conv2d;
use crate::embedding::sinusoidal_embedding;
use crate::error::InputError;

/// The time-embedding MLP (the original `temb`).
#[derive(Module, Debug)]
pub struct TimeDense {
    /// `temb.dense.0` and `temb.dense.1`.
    dense: Vec<Linear>,
}

/// One encoder level (the original `down[l]`).
#[derive(Module, Debug)]
pub struct ResDown {
    /// `down.l.block`.
    block: Vec<ResBlock>,
    /// `down.l.attn`: empty, or one per block.
    attn: Vec<AttnBlock>,
    /// `down.l.downsample`: absent at the last level.
    downsample: Option<Downsample>,
}

/// The middle of the network (the original `mid`).
#[derive(Module, Debug)]
pub struct ResMid {
    /// `mid.block_1`.
    block_1: ResBlock,
    /// `mid.attn_1`.
    attn_1: AttnBlock,
    /// `mid.block_2`.
    block_2: ResBlock,
}

/// One decoder level (the original `up[l]`, indexed by resolution level as in the original).
#[derive(Module, Debug)]
pub struct ResUp {
    /// `up.l.block`: `num_res_blocks + 1` blocks.
    block: Vec<ResBlock>,
    /// `up.l.attn`: empty, or one per block.
    attn: Vec<AttnBlock>,
    /// `up.l.upsample`: absent at level 0.
    upsample: Option<Upsample>,
}

/// The DDPM ResNet U-Net, a direct `x0` predictor `R(x_s, s - 1)`. Build it with
/// [`ResUnetConfig::init`].
#[derive(Module, Debug)]
pub struct ResUnet {
    /// `temb`.
    temb: TimeDense,
    /// `conv_in`: 3x3, `in_channels -> ch`.
    conv_in: Conv2d,
    /// `down`.
    down: Vec<ResDown>,
    /// `mid`.
    mid: ResMid,
    /// `up`, indexed by level (0 = full resolution).
    up: Vec<ResUp>,
    /// `norm_out`.
    norm_out: GroupNorm,
    /// `conv_out`: 3x3 to `out_ch`.
    conv_out: Conv2d,
    /// The configuration this network was built from.
    #[module(skip)]
    config: ResUnetConfig,
}

fn conv3(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    burn::nn::conv::Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_padding(burn::nn::PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

impl ResUnet {
    pub(crate) fn new(c: &ResUnetConfig, device: &Device) -> Self {
        let temb_ch = 4 * c.ch;
        let levels = c.levels();
        let res = |i: usize, o: usize| {
            ResBlockConfig::new(i, o, temb_ch)
                .with_dropout(c.dropout)
                .init(device)
        };
        let attn = |ch: usize| AttnBlockConfig::new(ch).init(device);
        let mut in_mult = vec![1];
        in_mult.extend(&c.ch_mult);

        let mut block_in = c.ch;
        let mut down = Vec::with_capacity(levels);
        for lvl in 0..levels {
            let out = c.ch * c.ch_mult[lvl];
            let mut blocks = Vec::new();
            let mut attns = Vec::new();
            for _ in 0..c.num_res_blocks {
                blocks.push(res(block_in, out));
                block_in = out;
                if c.has_attention_down(lvl) {
                    attns.push(attn(out));
                }
            }
            down.push(ResDown {
                block: blocks,
                attn: attns,
                downsample: (lvl + 1 < levels).then(|| {
                    DownsampleConfig::new(block_in)
                        .with_conv(c.resamp_with_conv)
                        .init(device)
                }),
            });
        }

        let mid = ResMid {
            block_1: res(block_in, block_in),
            attn_1: attn(block_in),
            block_2: res(block_in, block_in),
        };

        let mut up_rev = Vec::with_capacity(levels);
        for lvl in (0..levels).rev() {
            let out = c.ch * c.ch_mult[lvl];
            let mut blocks = Vec::new();
            let mut attns = Vec::new();
            for i in 0..=c.num_res_blocks {
                let skip = if i == c.num_res_blocks {
                    c.ch * in_mult[lvl]
                } else {
                    out
                };
                blocks.push(res(block_in + skip, out));
                block_in = out;
                if c.has_attention_up(lvl) {
                    attns.push(attn(out));
                }
            }
            up_rev.push(ResUp {
                block: blocks,
                attn: attns,
                upsample: (lvl != 0).then(|| {
                    UpsampleConfig::new(block_in)
                        .with_conv(c.resamp_with_conv)
                        .init(device)
                }),
            });
        }
        up_rev.reverse();

        Self {
            temb: TimeDense {
                dense: vec![
                    LinearConfig::new(c.ch, temb_ch).init(device),
                    LinearConfig::new(temb_ch, temb_ch).init(device),
                ],
            },
            conv_in: conv3(c.in_channels, c.ch, device),
            down,
            mid,
            up: up_rev,
            norm_out: group_norm32(block_in, device),
            conv_out: conv3(block_in, c.out_ch, device),
            config: c.clone(),
        }
    }

    /// The configuration this network was built from.
    pub fn config(&self) -> &ResUnetConfig {
        &self.config
    }

    /// Checks that an input of shape `x_dims` with `t_len` time indices fits this network:
    /// `in_channels` channels, `H` and `W` multiples of `2^(levels-1)` (non-square is fine),
    /// one time index per batch item.
    pub fn check_input(&self, x_dims: [usize; 4], t_len: usize) -> Result<(), InputError> {
        crate::unet::check_input(x_dims, t_len, self.config.in_channels, self.config.levels())
    }

    /// [`forward`](Self::forward), returning an error instead of panicking on a bad input
    /// shape. Nothing is computed when the shapes are wrong.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, height, width]`, height and width multiples of
    ///   `2^(levels-1)`
    /// - `t`: `[batch]`, the zero-based step index `s - 1`
    /// - output: `[batch, out_ch, height, width]`
    pub fn try_forward(&self, x: Tensor<4>, t: Tensor<1, Int>) -> Result<Tensor<4>, InputError> {
        self.check_input(x.dims(), t.dims()[0])?;
        Ok(self.forward_unchecked(x, t))
    }

    /// Predicts `x0` from the degraded `x` at zero-based step index `t = s - 1`.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, height, width]`, height and width multiples of
    ///   `2^(levels-1)`
    /// - `t`: `[batch]`
    /// - output: `[batch, out_ch, height, width]`
    ///
    /// # Panics
    /// With the [`InputError`] message when the shapes do not fit.
    pub fn forward(&self, x: Tensor<4>, t: Tensor<1, Int>) -> Tensor<4> {
        match self.try_forward(x, t) {
            Ok(y) => y,
            Err(e) => panic!("ResUnet::forward: {e}"),
        }
    }

    fn forward_unchecked(&self, x: Tensor<4>, t: Tensor<1, Int>) -> Tensor<4> {
        let emb = sinusoidal_embedding(t, self.config.ch);
        let temb = self.temb.dense[1].forward(silu(self.temb.dense[0].forward(emb)));
        // Every residual block projects swish(temb): compute it once.
        let temb = silu(temb);

        let mut hs = vec![dense_conv2d(&self.conv_in, x)];
        for level in &self.down {
            for (i, block) in level.block.iter().enumerate() {
                let prev = hs.last().expect("hs is never empty").clone();
                let mut h = block.forward(prev, &temb);
                if let Some(attn) = level.attn.get(i) {
                    h = attn.forward(h);
                }
                hs.push(h);
            }
            if let Some(downsample) = &level.downsample {
                let prev = hs.last().expect("hs is never empty").clone();
                hs.push(downsample.forward(prev));
            }
        }

        let mut h = hs.last().expect("hs is never empty").clone();
        h = self.mid.block_1.forward(h, &temb);
        h = self.mid.attn_1.forward(h);
        h = self.mid.block_2.forward(h, &temb);

        for level in self.up.iter().rev() {
            for (i, block) in level.block.iter().enumerate() {
                let skip = hs.pop().expect("one skip per decoder block");
                h = block.forward(Tensor::cat(vec![h, skip], 1), &temb);
                if let Some(attn) = level.attn.get(i) {
                    h = attn.forward(h);
                }
            }
            if let Some(upsample) = &level.upsample {
                h = upsample.forward(h);
            }
        }

        // One output channel comes back channels-last from the convolution: see
        // `canonical_layout` for why the layout matters on the fused GPU backends.
        canonical_layout(dense_conv2d(&self.conv_out, silu(self.norm_out.forward(h))))
    }
}
