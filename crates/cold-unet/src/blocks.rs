//! Building blocks of the two networks.
//!
//! ConvNeXt U-Net ([`crate::Unet`]): [`ChannelLayerNorm`], [`ConvNextBlock`],
//! [`LinearAttentionBlock`], [`TimeMlp`].
//! DDPM ResNet U-Net ([`crate::ResUnet`]): [`ResBlock`], [`AttnBlock`], [`Downsample`],
//! [`Upsample`].
//!
//! Field names follow the original module names where Burn allows it; the mapping to the
//! original state-dict keys lives in [`crate::weights`].

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    Dropout, DropoutConfig, GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Device, Int, Tensor};

use crate::channel_norm::channel_layer_norm;
use crate::dense::dense_conv2d;
use crate::depthwise::depthwise_conv2d;
use crate::embedding::sinusoidal_embedding;
use crate::gelu::gelu;

/// `x` with a canonical row-major layout (a view when the memory already is row-major, a copy
/// otherwise). Both networks pass their output through it.
///
/// Why: Burn 0.22.1's kernel fusion on the CubeCL backends (WGPU, CUDA) mis-reads a fused
/// element-wise + reduction whose inputs disagree on the stride of a size-one axis. A convolution
/// with one output channel returns `[n, 1, h, w]` in channels-last memory (channel stride 1
/// instead of `h·w`); `(prediction - target).abs().mean()` on it then returned wrong,
/// run-dependent losses (0.2317 and 0.2689 for a true 0.3630 on the tiny 1-channel U-Net).
/// Flattening and restoring the shape gives every axis its row-major stride and the fused
/// kernels read it correctly. The minimal reproduction and measurements are in
/// `docs/backends.md` ("A Burn 0.22.1 fusion defect, and the workaround"); Flex is not affected, and there the call is free.
///
/// # Shapes
/// - `x`: any
/// - output: same as `x`
pub fn canonical_layout<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let dims = x.dims();
    let elements = dims.iter().product::<usize>();
    x.reshape([elements]).reshape(dims)
}

/// Nearest-neighbour up-sampling by 2 in both spatial dimensions (exact, as
/// `F.interpolate(scale_factor=2, mode="nearest")`).
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]`
/// - output: `[batch, channels, 2 height, 2 width]`
pub fn upsample_nearest2(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1])
        .expand([b, c, h, 2, w, 2])
        .reshape([b, c, 2 * h, 2 * w])
}

/// 2x2 average pooling with stride 2 (as `F.avg_pool2d(x, 2, 2)` on even sizes).
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]` (height and width even)
/// - output: `[batch, channels, height / 2, width / 2]`
pub fn avg_pool2(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h / 2, 2, w / 2, 2])
        .mean_dim(5)
        .mean_dim(3)
        .reshape([b, c, h / 2, w / 2])
}

// ---------------------------------------------------------------------------------------------
// ConvNeXt U-Net blocks
// ---------------------------------------------------------------------------------------------

/// Configuration of [`ChannelLayerNorm`].
#[derive(Config, Debug)]
pub struct ChannelLayerNormConfig {
    /// Number of channels.
    pub channels: usize,
    /// Added to the variance (the original uses 1e-5).
    #[config(default = 1e-5)]
    pub epsilon: f64,
}

/// Layer normalisation over the channel axis of an NCHW tensor, with a per-channel gain `g` and
/// bias `b` (the original `LayerNorm`: biased variance, `(x - mean) / sqrt(var + eps) * g + b`).
#[derive(Module, Debug)]
pub struct ChannelLayerNorm {
    /// Gain, `[1, C, 1, 1]`, initialised to one.
    g: Param<Tensor<4>>,
    /// Bias, `[1, C, 1, 1]`, initialised to zero.
    b: Param<Tensor<4>>,
    epsilon: f64,
}

impl ChannelLayerNormConfig {
    /// Builds the layer on `device`.
    pub fn init(&self, device: &Device) -> ChannelLayerNorm {
        ChannelLayerNorm {
            g: Param::from_tensor(Tensor::ones([1, self.channels, 1, 1], device)),
            b: Param::from_tensor(Tensor::zeros([1, self.channels, 1, 1], device)),
            epsilon: self.epsilon,
        }
    }
}

impl ChannelLayerNorm {
    /// Normalises over channels at every pixel.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`
    /// - output: same as `x`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        channel_layer_norm(x, self.g.val(), self.b.val(), self.epsilon)
    }
}

/// Configuration of [`ConvNextBlock`] (the original `ConvNextBlock(dim, dim_out, time_emb_dim,
/// mult, norm)`).
#[derive(Config, Debug)]
pub struct ConvNextBlockConfig {
    /// Input channels.
    pub dim_in: usize,
    /// Output channels.
    pub dim_out: usize,
    /// Width of the time embedding; `None` for a block without time conditioning.
    pub time_emb_dim: Option<usize>,
    /// Expansion factor of the hidden 3x3 convolution.
    #[config(default = 2)]
    pub mult: usize,
    /// Whether the channel LayerNorm is applied (the original omits it in the very first block).
    #[config(default = true)]
    pub norm: bool,
}

/// ConvNeXt block: depth-wise 7x7 conv, plus a projection of the (GELU-activated) time
/// embedding, then `[LayerNorm] -> 3x3 conv (dim_out * mult) -> GELU -> 3x3 conv`, plus a
/// residual (1x1 conv when the channel count changes).
#[derive(Module, Debug)]
pub struct ConvNextBlock {
    /// `mlp.1`: Linear(time_emb_dim -> dim_in) applied to GELU(time embedding).
    time_proj: Option<Linear>,
    /// `ds_conv`: depth-wise 7x7 convolution, padding 3.
    ds_conv: Conv2d,
    /// `net.0`: channel LayerNorm (absent when `norm = false`).
    net_norm: Option<ChannelLayerNorm>,
    /// `net.1`: 3x3 convolution `dim_in -> dim_out * mult`.
    net_conv1: Conv2d,
    /// `net.3`: 3x3 convolution `dim_out * mult -> dim_out`.
    net_conv2: Conv2d,
    /// `res_conv`: 1x1 convolution on the residual path when `dim_in != dim_out`.
    res_conv: Option<Conv2d>,
}

fn conv(c_in: usize, c_out: usize, kernel: usize, padding: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [kernel, kernel])
        .with_padding(PaddingConfig2d::Explicit(
            padding, padding, padding, padding,
        ))
        .init(device)
}

impl ConvNextBlockConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> ConvNextBlock {
        let hidden = self.dim_out * self.mult;
        ConvNextBlock {
            time_proj: self
                .time_emb_dim
                .map(|t| LinearConfig::new(t, self.dim_in).init(device)),
            ds_conv: Conv2dConfig::new([self.dim_in, self.dim_in], [7, 7])
                .with_groups(self.dim_in)
                .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
                .init(device),
            net_norm: self
                .norm
                .then(|| ChannelLayerNormConfig::new(self.dim_in).init(device)),
            net_conv1: conv(self.dim_in, hidden, 3, 1, device),
            net_conv2: conv(hidden, self.dim_out, 3, 1, device),
            res_conv: (self.dim_in != self.dim_out)
                .then(|| conv(self.dim_in, self.dim_out, 1, 0, device)),
        }
    }
}

impl ConvNextBlock {
    /// Applies the block. `time_act` is GELU(time embedding), computed once per forward pass by
    /// the caller (the original applies the same GELU inside every block's `mlp`).
    ///
    /// # Shapes
    /// - `x`: `[batch, dim_in, height, width]`
    /// - `time_act`: `[batch, time_emb_dim]`
    /// - output: `[batch, dim_out, height, width]`
    pub fn forward(&self, x: Tensor<4>, time_act: Option<&Tensor<2>>) -> Tensor<4> {
        let mut h = depthwise_conv2d(
            x.clone(),
            self.ds_conv.weight.val(),
            self.ds_conv.bias.as_ref().map(|b| b.val()),
            3,
        );
        if let (Some(proj), Some(t)) = (&self.time_proj, time_act) {
            let [b, c, _, _] = h.dims();
            h = h + proj.forward(t.clone()).reshape([b, c, 1, 1]);
        }
        if let Some(norm) = &self.net_norm {
            h = norm.forward(h);
        }
        let h = dense_conv2d(&self.net_conv2, gelu(dense_conv2d(&self.net_conv1, h)));
        match &self.res_conv {
            Some(res) => h + dense_conv2d(res, x),
            None => h + x,
        }
    }
}

/// Configuration of [`LinearAttentionBlock`].
#[derive(Config, Debug)]
pub struct LinearAttentionConfig {
    /// Channels of the input.
    pub dim: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub heads: usize,
    /// Width of each head.
    #[config(default = 32)]
    pub dim_head: usize,
}

/// The original `Residual(PreNorm(dim, LinearAttention(dim)))`: `x + Attn(LayerNorm(x))`, where
/// `Attn` is linear attention (softmax over positions applied to the keys only; context
/// `k v^T`; queries scaled by `dim_head^-1/2`), a bias-free 1x1 `to_qkv` and a 1x1 `to_out`.
#[derive(Module, Debug)]
pub struct LinearAttentionBlock {
    /// `fn.norm`: the pre-norm.
    norm: ChannelLayerNorm,
    /// `fn.fn.to_qkv`: 1x1 convolution to `3 * heads * dim_head` channels, no bias.
    to_qkv: Conv2d,
    /// `fn.fn.to_out`: 1x1 convolution back to `dim` channels.
    to_out: Conv2d,
    heads: usize,
    dim_head: usize,
}

impl LinearAttentionConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> LinearAttentionBlock {
        let hidden = self.heads * self.dim_head;
        LinearAttentionBlock {
            norm: ChannelLayerNormConfig::new(self.dim).init(device),
            to_qkv: Conv2dConfig::new([self.dim, 3 * hidden], [1, 1])
                .with_bias(false)
                .init(device),
            to_out: Conv2dConfig::new([hidden, self.dim], [1, 1]).init(device),
            heads: self.heads,
            dim_head: self.dim_head,
        }
    }
}

impl LinearAttentionBlock {
    /// Applies `x + Attn(LayerNorm(x))`.
    ///
    /// # Shapes
    /// - `x`: `[batch, dim, height, width]`
    /// - output: same as `x`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, _, h, w] = x.dims();
        let (heads, d) = (self.heads, self.dim_head);
        let n = h * w;
        let qkv = dense_conv2d(&self.to_qkv, self.norm.forward(x.clone()));
        let mut parts = qkv.chunk(3, 1).into_iter();
        let (q, k, v) = match (parts.next(), parts.next(), parts.next()) {
            (Some(q), Some(k), Some(v)) => (q, k, v),
            _ => unreachable!("chunk(3) of 3 * hidden channels yields three parts"),
        };
        let q = q.reshape([b, heads, d, n]) * (d as f64).powf(-0.5);
        let k = softmax(k.reshape([b, heads, d, n]), 3);
        let v = v.reshape([b, heads, d, n]);
        // context[d, e] = sum_n k[d, n] v[e, n];  out[e, n] = sum_d context[d, e] q[d, n]
        let context = k.matmul(v.swap_dims(2, 3));
        let out = context.swap_dims(2, 3).matmul(q);
        x + dense_conv2d(&self.to_out, out.reshape([b, heads * d, h, w]))
    }
}

/// Configuration of [`TimeMlp`].
#[derive(Config, Debug)]
pub struct TimeMlpConfig {
    /// Width of the sinusoidal embedding and of the output (the U-Net's `dim`).
    pub dim: usize,
}

/// The original `time_mlp`: `SinusoidalPosEmb(dim) -> Linear(dim, 4 dim) -> GELU ->
/// Linear(4 dim, dim)`.
#[derive(Module, Debug)]
pub struct TimeMlp {
    /// `time_mlp.1`: Linear(dim -> 4 dim).
    dense1: Linear,
    /// `time_mlp.3`: Linear(4 dim -> dim).
    dense2: Linear,
    dim: usize,
}

impl TimeMlpConfig {
    /// Builds the MLP on `device`.
    pub fn init(&self, device: &Device) -> TimeMlp {
        TimeMlp {
            dense1: LinearConfig::new(self.dim, 4 * self.dim).init(device),
            dense2: LinearConfig::new(4 * self.dim, self.dim).init(device),
            dim: self.dim,
        }
    }
}

impl TimeMlp {
    /// Embeds the time indices.
    ///
    /// # Shapes
    /// - `t`: `[batch]`
    /// - output: `[batch, dim]`
    pub fn forward(&self, t: Tensor<1, Int>) -> Tensor<2> {
        let emb = sinusoidal_embedding(t, self.dim);
        self.dense2.forward(gelu(self.dense1.forward(emb)))
    }
}

// ---------------------------------------------------------------------------------------------
// DDPM ResNet U-Net blocks (original `Model2.py`)
// ---------------------------------------------------------------------------------------------

/// The original `Normalize`: GroupNorm(32 groups, eps 1e-6, affine).
pub fn group_norm32(channels: usize, device: &Device) -> GroupNorm {
    GroupNormConfig::new(32, channels)
        .with_epsilon(1e-6)
        .init(device)
}

/// Configuration of [`ResBlock`] (the original `ResnetBlock`, without `conv_shortcut`, which the
/// original `Model` never enables).
#[derive(Config, Debug)]
pub struct ResBlockConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Width of the time embedding.
    pub temb_channels: usize,
    /// Dropout probability before the second convolution.
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// Residual block: `GroupNorm -> swish -> 3x3 conv`, plus the projected swish(time embedding),
/// then `GroupNorm -> swish -> dropout -> 3x3 conv`, plus the shortcut (1x1 conv `nin_shortcut`
/// when the channel count changes).
#[derive(Module, Debug)]
pub struct ResBlock {
    /// `norm1`.
    norm1: GroupNorm,
    /// `conv1`: 3x3, `in -> out`.
    conv1: Conv2d,
    /// `temb_proj`: Linear(temb -> out).
    temb_proj: Linear,
    /// `norm2`.
    norm2: GroupNorm,
    /// Dropout (active only on an autodiff device in training mode).
    dropout: Dropout,
    /// `conv2`: 3x3, `out -> out`.
    conv2: Conv2d,
    /// `nin_shortcut`: 1x1, present when `in != out`.
    nin_shortcut: Option<Conv2d>,
}

impl ResBlockConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> ResBlock {
        let (c_in, c_out) = (self.in_channels, self.out_channels);
        ResBlock {
            norm1: group_norm32(c_in, device),
            conv1: conv(c_in, c_out, 3, 1, device),
            temb_proj: LinearConfig::new(self.temb_channels, c_out).init(device),
            norm2: group_norm32(c_out, device),
            dropout: DropoutConfig::new(self.dropout).init(),
            conv2: conv(c_out, c_out, 3, 1, device),
            nin_shortcut: (c_in != c_out).then(|| conv(c_in, c_out, 1, 0, device)),
        }
    }
}

impl ResBlock {
    /// Applies the block. `temb_act` is swish(time embedding), computed once per forward pass
    /// by the caller (the original applies the same swish in every block).
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, height, width]`
    /// - `temb_act`: `[batch, temb_channels]`
    /// - output: `[batch, out_channels, height, width]`
    pub fn forward(&self, x: Tensor<4>, temb_act: &Tensor<2>) -> Tensor<4> {
        let h = dense_conv2d(&self.conv1, silu(self.norm1.forward(x.clone())));
        let [b, c, _, _] = h.dims();
        let h = h + self
            .temb_proj
            .forward(temb_act.clone())
            .reshape([b, c, 1, 1]);
        let h = dense_conv2d(
            &self.conv2,
            self.dropout.forward(silu(self.norm2.forward(h))),
        );
        match &self.nin_shortcut {
            Some(shortcut) => dense_conv2d(shortcut, x) + h,
            None => x + h,
        }
    }
}

/// Configuration of [`AttnBlock`].
#[derive(Config, Debug)]
pub struct AttnBlockConfig {
    /// Channels.
    pub channels: usize,
}

/// Single-head softmax self-attention over all positions (the original `AttnBlock`):
/// `x + proj_out(v softmax(q^T k / sqrt(C))^T)` on GroupNorm(x).
#[derive(Module, Debug)]
pub struct AttnBlock {
    /// `norm`.
    norm: GroupNorm,
    /// `q`: 1x1 conv.
    q: Conv2d,
    /// `k`: 1x1 conv.
    k: Conv2d,
    /// `v`: 1x1 conv.
    v: Conv2d,
    /// `proj_out`: 1x1 conv.
    proj_out: Conv2d,
}

impl AttnBlockConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> AttnBlock {
        let c = self.channels;
        AttnBlock {
            norm: group_norm32(c, device),
            q: conv(c, c, 1, 0, device),
            k: conv(c, c, 1, 0, device),
            v: conv(c, c, 1, 0, device),
            proj_out: conv(c, c, 1, 0, device),
        }
    }
}

impl AttnBlock {
    /// Applies `x + attention(x)`.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`
    /// - output: same as `x`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let n = h * w;
        let hn = self.norm.forward(x.clone());
        let q = dense_conv2d(&self.q, hn.clone())
            .reshape([b, c, n])
            .swap_dims(1, 2);
        let k = dense_conv2d(&self.k, hn.clone()).reshape([b, c, n]);
        let v = dense_conv2d(&self.v, hn).reshape([b, c, n]);
        // w[i, j] = softmax_j(sum_c q[c, i] k[c, j] / sqrt(C))
        let weights = softmax(q.matmul(k) * (c as f64).powf(-0.5), 2);
        // out[c, j] = sum_i v[c, i] w[j, i]
        let out = v.matmul(weights.swap_dims(1, 2)).reshape([b, c, h, w]);
        x + dense_conv2d(&self.proj_out, out)
    }
}

/// Configuration of [`Downsample`].
#[derive(Config, Debug)]
pub struct DownsampleConfig {
    /// Channels.
    pub channels: usize,
    /// Convolutional resampling (the original's `resamp_with_conv`, true in every experiment);
    /// otherwise 2x2 average pooling.
    #[config(default = true)]
    pub conv: bool,
}

/// Halves the resolution: pad right and bottom by one, then 3x3 stride-2 conv (or 2x2
/// average pooling without `conv`).
#[derive(Module, Debug)]
pub struct Downsample {
    /// `conv`: 3x3, stride 2, no padding of its own.
    conv: Option<Conv2d>,
}

impl DownsampleConfig {
    /// Builds the layer on `device`.
    pub fn init(&self, device: &Device) -> Downsample {
        Downsample {
            conv: self.conv.then(|| {
                Conv2dConfig::new([self.channels, self.channels], [3, 3])
                    .with_stride([2, 2])
                    // (top, left, bottom, right): the original's F.pad(x, (0, 1, 0, 1)).
                    .with_padding(PaddingConfig2d::Explicit(0, 0, 1, 1))
                    .init(device)
            }),
        }
    }
}

impl Downsample {
    /// Halves height and width.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]` (height, width even)
    /// - output: `[batch, channels, height / 2, width / 2]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match &self.conv {
            Some(conv) => dense_conv2d(conv, x),
            None => avg_pool2(x),
        }
    }
}

/// Configuration of [`Upsample`].
#[derive(Config, Debug)]
pub struct UpsampleConfig {
    /// Channels.
    pub channels: usize,
    /// Convolution after the nearest-neighbour up-sampling (the original's `resamp_with_conv`).
    #[config(default = true)]
    pub conv: bool,
}

/// Doubles the resolution: nearest-neighbour x2, then a 3x3 conv (padding 1).
#[derive(Module, Debug)]
pub struct Upsample {
    /// `conv`: 3x3, padding 1.
    conv: Option<Conv2d>,
}

impl UpsampleConfig {
    /// Builds the layer on `device`.
    pub fn init(&self, device: &Device) -> Upsample {
        Upsample {
            conv: self
                .conv
                .then(|| conv(self.channels, self.channels, 3, 1, device)),
        }
    }
}

impl Upsample {
    /// Doubles height and width.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`
    /// - output: `[batch, channels, 2 height, 2 width]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = upsample_nearest2(x);
        match &self.conv {
            Some(conv) => dense_conv2d(conv, x),
            None => x,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn canonical_layout_keeps_shape_and_values() {
        let device = Device::flex();
        let values: Vec<f32> = (0..24).map(|v| v as f32).collect();
        // [2, 1, 3, 4] in channels-last memory (as a 1-output-channel convolution returns it).
        let x = Tensor::<4>::from_data(TensorData::new(values.clone(), [2, 3, 4, 1]), &device)
            .permute([0, 3, 1, 2]);
        let y = canonical_layout(x.clone());
        assert_eq!(y.dims(), [2, 1, 3, 4]);
        assert_eq!(
            y.into_data().try_to_vec::<f32>().unwrap(),
            x.into_data().try_to_vec::<f32>().unwrap()
        );
        // A genuinely permuted layout ([2, 3, 4] → [2, 4, 3]) keeps its logical order too.
        let z = Tensor::<3>::from_data(TensorData::new(values, [2, 3, 4]), &device).swap_dims(1, 2);
        assert_eq!(
            canonical_layout(z.clone())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap(),
            z.into_data().try_to_vec::<f32>().unwrap()
        );
    }

    #[test]
    fn nearest_upsampling_and_average_pooling() {
        let device = Device::flex();
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![1.0f32, 2., 3., 4.], [1, 1, 2, 2]),
            &device,
        );
        let up = upsample_nearest2(x.clone())
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        #[rustfmt::skip]
        let expected = [1., 1., 2., 2.,
                        1., 1., 2., 2.,
                        3., 3., 4., 4.,
                        3., 3., 4., 4.];
        assert_eq!(up, expected);
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![1.0f32, 2., 3., 4., 5., 6., 7., 8.], [1, 1, 2, 4]),
            &device,
        );
        let pooled = avg_pool2(x).into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(pooled, [(1. + 2. + 5. + 6.) / 4., (3. + 4. + 7. + 8.) / 4.]);
    }

    #[test]
    fn channel_layer_norm_normalises_each_pixel_over_channels() {
        let device = Device::flex();
        let norm = ChannelLayerNormConfig::new(3).init(&device);
        // pixel 0: channels (1, 2, 3); pixel 1: (0, 0, 6)
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![1.0f32, 0., 2., 0., 3., 6.], [1, 3, 1, 2]),
            &device,
        );
        let y = norm.forward(x).into_data().try_into_vec::<f32>().unwrap();
        let s0 = (2.0f64 / 3.0 + 1e-5).sqrt();
        let s1 = (8.0f64 + 1e-5).sqrt();
        let expected = [-1.0 / s0, -2.0 / s1, 0.0, -2.0 / s1, 1.0 / s0, 4.0 / s1];
        for (a, b) in y.iter().zip(expected) {
            assert!((*a as f64 - b).abs() < 1e-6, "{y:?} vs {expected:?}");
        }
    }
}
