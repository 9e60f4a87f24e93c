//! The FID Inception-v3 network (pool3 features) as Burn modules.
//!
//! Layout and names follow pytorch-fid's `FIDInceptionV3` (torchvision's Inception-v3 with the
//! `FIDInceptionA/C/E_1/E_2` blocks of the TensorFlow graph): the stem `Conv2d_1a_3x3` …
//! `Conv2d_4a_3x3`, then `Mixed_5b` … `Mixed_7c`, then a global average pool giving 2048
//! features. Every `BasicConv2d` of pytorch-fid (convolution without bias, BatchNorm with
//! `eps = 0.001`, ReLU) is stored here with the BatchNorm folded into the convolution's weight and
//! bias (see [`super::weights`]), so the forward pass is convolution + bias + ReLU.
//!
//! The TensorFlow-specific details reproduced from pytorch-fid:
//! * the average-pool branches of `Mixed_5*`, `Mixed_6b-e` and `Mixed_7b` do not count the
//!   padded zeros (`count_include_pad=False`);
//! * the pool branch of `Mixed_7c` is a 3×3 **max** pool (stride 1, padding 1);
//! * the 1×1-pooled output of `Mixed_7c` (8×8 for a 299×299 input) is the feature vector.

use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::module::{adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor};

use crate::error::Result;

/// Number of pool3 features.
pub const FEATURE_DIM: usize = 2048;

/// Shape and hyper-parameters of one `BasicConv2d` layer, named as in pytorch-fid's state dict
/// (e.g. `Mixed_6b.branch7x7_2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvSpec {
    /// Layer name (state-dict prefix without `.conv.weight`).
    pub name: String,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel size `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride (same along both axes).
    pub stride: usize,
    /// Zero padding `[ph, pw]` (same on both sides of an axis).
    pub padding: [usize; 2],
}

impl ConvSpec {
    /// Shape of the convolution weight: `[out, in, kh, kw]`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.in_channels,
            self.kernel[0],
            self.kernel[1],
        ]
    }
}

/// Supplies the (BatchNorm-folded) weight `[out, in, kh, kw]` and bias `[out]` of each layer
/// while the network is built.
pub trait ConvProvider {
    /// Weight and bias of the layer described by `spec`.
    fn conv(&mut self, spec: &ConvSpec, device: &Device) -> Result<(Tensor<4>, Tensor<1>)>;
}

/// `BasicConv2d` of pytorch-fid with its BatchNorm folded in: convolution + bias, then ReLU.
#[derive(Module, Debug)]
pub struct BasicConv {
    weight: Param<Tensor<4>>,
    bias: Param<Tensor<1>>,
    stride: usize,
    padding: [usize; 2],
}

impl BasicConv {
    fn new(
        p: &mut dyn ConvProvider,
        device: &Device,
        name: String,
        io: [usize; 2],
        kernel: [usize; 2],
        stride: usize,
        padding: [usize; 2],
    ) -> Result<Self> {
        let spec = ConvSpec {
            name,
            in_channels: io[0],
            out_channels: io[1],
            kernel,
            stride,
            padding,
        };
        let (w, b) = p.conv(&spec, device)?;
        Ok(Self {
            weight: Param::from_tensor(w),
            bias: Param::from_tensor(b),
            stride,
            padding,
        })
    }

    /// # Shapes
    /// `[N, in, H, W]` → `[N, out, H', W']`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = conv2d(
            x,
            self.weight.val(),
            Some(self.bias.val()),
            ConvOptions::new([self.stride; 2], self.padding, [1, 1], 1),
        );
        relu(y)
    }
}

fn avg_pool_3x3_exclude_pad(x: Tensor<4>) -> Tensor<4> {
    let mut o = AvgPoolOptions::new([3, 3]);
    o.stride = [1, 1];
    o.padding = [(1, 1), (1, 1)];
    o.count_include_pad = false;
    avg_pool2d(x, o)
}

fn max_pool_3x3(x: Tensor<4>, stride: usize, padding: usize) -> Tensor<4> {
    let mut o = MaxPoolOptions::new([3, 3]);
    o.stride = [stride, stride];
    o.padding = [(padding, padding), (padding, padding)];
    max_pool2d(x, o)
}

/// Helper that prefixes layer names with the block's name.
struct Builder<'a> {
    p: &'a mut dyn ConvProvider,
    device: &'a Device,
    prefix: &'a str,
}

impl Builder<'_> {
    fn conv(
        &mut self,
        name: &str,
        io: [usize; 2],
        kernel: [usize; 2],
        stride: usize,
        padding: [usize; 2],
    ) -> Result<BasicConv> {
        BasicConv::new(
            self.p,
            self.device,
            format!("{}.{name}", self.prefix),
            io,
            kernel,
            stride,
            padding,
        )
    }
}

/// `FIDInceptionA` (`Mixed_5b/c/d`): 1×1, 5×5, double 3×3 and average-pool branches.
#[derive(Module, Debug)]
pub struct InceptionA {
    branch1x1: BasicConv,
    branch5x5_1: BasicConv,
    branch5x5_2: BasicConv,
    branch3x3dbl_1: BasicConv,
    branch3x3dbl_2: BasicConv,
    branch3x3dbl_3: BasicConv,
    branch_pool: BasicConv,
}

impl InceptionA {
    fn new(mut b: Builder<'_>, cin: usize, pool_features: usize) -> Result<Self> {
        Ok(Self {
            branch1x1: b.conv("branch1x1", [cin, 64], [1, 1], 1, [0, 0])?,
            branch5x5_1: b.conv("branch5x5_1", [cin, 48], [1, 1], 1, [0, 0])?,
            branch5x5_2: b.conv("branch5x5_2", [48, 64], [5, 5], 1, [2, 2])?,
            branch3x3dbl_1: b.conv("branch3x3dbl_1", [cin, 64], [1, 1], 1, [0, 0])?,
            branch3x3dbl_2: b.conv("branch3x3dbl_2", [64, 96], [3, 3], 1, [1, 1])?,
            branch3x3dbl_3: b.conv("branch3x3dbl_3", [96, 96], [3, 3], 1, [1, 1])?,
            branch_pool: b.conv("branch_pool", [cin, pool_features], [1, 1], 1, [0, 0])?,
        })
    }

    /// # Shapes
    /// `[N, cin, H, W]` → `[N, 224 + pool_features, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b5 = self
            .branch5x5_2
            .forward(self.branch5x5_1.forward(x.clone()));
        let b3 = self.branch3x3dbl_3.forward(
            self.branch3x3dbl_2
                .forward(self.branch3x3dbl_1.forward(x.clone())),
        );
        let bp = self.branch_pool.forward(avg_pool_3x3_exclude_pad(x));
        Tensor::cat(vec![b1, b5, b3, bp], 1)
    }
}

/// torchvision's `InceptionB` (`Mixed_6a`): grid reduction 35×35 → 17×17.
#[derive(Module, Debug)]
pub struct InceptionB {
    branch3x3: BasicConv,
    branch3x3dbl_1: BasicConv,
    branch3x3dbl_2: BasicConv,
    branch3x3dbl_3: BasicConv,
}

impl InceptionB {
    fn new(mut b: Builder<'_>, cin: usize) -> Result<Self> {
        Ok(Self {
            branch3x3: b.conv("branch3x3", [cin, 384], [3, 3], 2, [0, 0])?,
            branch3x3dbl_1: b.conv("branch3x3dbl_1", [cin, 64], [1, 1], 1, [0, 0])?,
            branch3x3dbl_2: b.conv("branch3x3dbl_2", [64, 96], [3, 3], 1, [1, 1])?,
            branch3x3dbl_3: b.conv("branch3x3dbl_3", [96, 96], [3, 3], 2, [0, 0])?,
        })
    }

    /// # Shapes
    /// `[N, cin, H, W]` → `[N, 480 + cin, (H - 3) / 2 + 1, (W - 3) / 2 + 1]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self.branch3x3.forward(x.clone());
        let bd = self.branch3x3dbl_3.forward(
            self.branch3x3dbl_2
                .forward(self.branch3x3dbl_1.forward(x.clone())),
        );
        let bp = max_pool_3x3(x, 2, 0);
        Tensor::cat(vec![b3, bd, bp], 1)
    }
}

/// `FIDInceptionC` (`Mixed_6b/c/d/e`): factorised 7×7 branches.
#[derive(Module, Debug)]
pub struct InceptionC {
    branch1x1: BasicConv,
    branch7x7_1: BasicConv,
    branch7x7_2: BasicConv,
    branch7x7_3: BasicConv,
    branch7x7dbl_1: BasicConv,
    branch7x7dbl_2: BasicConv,
    branch7x7dbl_3: BasicConv,
    branch7x7dbl_4: BasicConv,
    branch7x7dbl_5: BasicConv,
    branch_pool: BasicConv,
}

impl InceptionC {
    fn new(mut b: Builder<'_>, cin: usize, c7: usize) -> Result<Self> {
        let (k17, p17, k71, p71) = ([1, 7], [0, 3], [7, 1], [3, 0]);
        Ok(Self {
            branch1x1: b.conv("branch1x1", [cin, 192], [1, 1], 1, [0, 0])?,
            branch7x7_1: b.conv("branch7x7_1", [cin, c7], [1, 1], 1, [0, 0])?,
            branch7x7_2: b.conv("branch7x7_2", [c7, c7], k17, 1, p17)?,
            branch7x7_3: b.conv("branch7x7_3", [c7, 192], k71, 1, p71)?,
            branch7x7dbl_1: b.conv("branch7x7dbl_1", [cin, c7], [1, 1], 1, [0, 0])?,
            branch7x7dbl_2: b.conv("branch7x7dbl_2", [c7, c7], k71, 1, p71)?,
            branch7x7dbl_3: b.conv("branch7x7dbl_3", [c7, c7], k17, 1, p17)?,
            branch7x7dbl_4: b.conv("branch7x7dbl_4", [c7, c7], k71, 1, p71)?,
            branch7x7dbl_5: b.conv("branch7x7dbl_5", [c7, 192], k17, 1, p17)?,
            branch_pool: b.conv("branch_pool", [cin, 192], [1, 1], 1, [0, 0])?,
        })
    }

    /// # Shapes
    /// `[N, 768, H, W]` → `[N, 768, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b7 = self.branch7x7_3.forward(
            self.branch7x7_2
                .forward(self.branch7x7_1.forward(x.clone())),
        );
        let mut bd = self.branch7x7dbl_1.forward(x.clone());
        bd = self.branch7x7dbl_2.forward(bd);
        bd = self.branch7x7dbl_3.forward(bd);
        bd = self.branch7x7dbl_4.forward(bd);
        bd = self.branch7x7dbl_5.forward(bd);
        let bp = self.branch_pool.forward(avg_pool_3x3_exclude_pad(x));
        Tensor::cat(vec![b1, b7, bd, bp], 1)
    }
}

/// torchvision's `InceptionD` (`Mixed_7a`): grid reduction 17×17 → 8×8.
#[derive(Module, Debug)]
pub struct InceptionD {
    branch3x3_1: BasicConv,
    branch3x3_2: BasicConv,
    branch7x7x3_1: BasicConv,
    branch7x7x3_2: BasicConv,
    branch7x7x3_3: BasicConv,
    branch7x7x3_4: BasicConv,
}

impl InceptionD {
    fn new(mut b: Builder<'_>, cin: usize) -> Result<Self> {
        Ok(Self {
            branch3x3_1: b.conv("branch3x3_1", [cin, 192], [1, 1], 1, [0, 0])?,
            branch3x3_2: b.conv("branch3x3_2", [192, 320], [3, 3], 2, [0, 0])?,
            branch7x7x3_1: b.conv("branch7x7x3_1", [cin, 192], [1, 1], 1, [0, 0])?,
            branch7x7x3_2: b.conv("branch7x7x3_2", [192, 192], [1, 7], 1, [0, 3])?,
            branch7x7x3_3: b.conv("branch7x7x3_3", [192, 192], [7, 1], 1, [3, 0])?,
            branch7x7x3_4: b.conv("branch7x7x3_4", [192, 192], [3, 3], 2, [0, 0])?,
        })
    }

    /// # Shapes
    /// `[N, 768, H, W]` → `[N, 1280, (H - 3) / 2 + 1, (W - 3) / 2 + 1]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self
            .branch3x3_2
            .forward(self.branch3x3_1.forward(x.clone()));
        let mut b7 = self.branch7x7x3_1.forward(x.clone());
        b7 = self.branch7x7x3_2.forward(b7);
        b7 = self.branch7x7x3_3.forward(b7);
        b7 = self.branch7x7x3_4.forward(b7);
        let bp = max_pool_3x3(x, 2, 0);
        Tensor::cat(vec![b3, b7, bp], 1)
    }
}

/// `FIDInceptionE_1` (`Mixed_7b`, average pool without padded zeros) and `FIDInceptionE_2`
/// (`Mixed_7c`, max pool) blocks.
#[derive(Module, Debug)]
pub struct InceptionE {
    branch1x1: BasicConv,
    branch3x3_1: BasicConv,
    branch3x3_2a: BasicConv,
    branch3x3_2b: BasicConv,
    branch3x3dbl_1: BasicConv,
    branch3x3dbl_2: BasicConv,
    branch3x3dbl_3a: BasicConv,
    branch3x3dbl_3b: BasicConv,
    branch_pool: BasicConv,
    /// `true` for `Mixed_7c` (`FIDInceptionE_2`): the pool branch takes a 3×3 max pool.
    max_pool: bool,
}

impl InceptionE {
    fn new(mut b: Builder<'_>, cin: usize, max_pool: bool) -> Result<Self> {
        Ok(Self {
            branch1x1: b.conv("branch1x1", [cin, 320], [1, 1], 1, [0, 0])?,
            branch3x3_1: b.conv("branch3x3_1", [cin, 384], [1, 1], 1, [0, 0])?,
            branch3x3_2a: b.conv("branch3x3_2a", [384, 384], [1, 3], 1, [0, 1])?,
            branch3x3_2b: b.conv("branch3x3_2b", [384, 384], [3, 1], 1, [1, 0])?,
            branch3x3dbl_1: b.conv("branch3x3dbl_1", [cin, 448], [1, 1], 1, [0, 0])?,
            branch3x3dbl_2: b.conv("branch3x3dbl_2", [448, 384], [3, 3], 1, [1, 1])?,
            branch3x3dbl_3a: b.conv("branch3x3dbl_3a", [384, 384], [1, 3], 1, [0, 1])?,
            branch3x3dbl_3b: b.conv("branch3x3dbl_3b", [384, 384], [3, 1], 1, [1, 0])?,
            branch_pool: b.conv("branch_pool", [cin, 192], [1, 1], 1, [0, 0])?,
            max_pool,
        })
    }

    /// # Shapes
    /// `[N, cin, H, W]` → `[N, 2048, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let a = self.branch3x3_1.forward(x.clone());
        let b3a = self.branch3x3_2a.forward(a.clone());
        let b3b = self.branch3x3_2b.forward(a);
        let d = self
            .branch3x3dbl_2
            .forward(self.branch3x3dbl_1.forward(x.clone()));
        let bda = self.branch3x3dbl_3a.forward(d.clone());
        let bdb = self.branch3x3dbl_3b.forward(d);
        let pooled = if self.max_pool {
            max_pool_3x3(x, 1, 1)
        } else {
            avg_pool_3x3_exclude_pad(x)
        };
        let bp = self.branch_pool.forward(pooled);
        Tensor::cat(vec![b1, b3a, b3b, bda, bdb, bp], 1)
    }
}

/// The FID Inception-v3 feature network (pytorch-fid's `InceptionV3([3])` without the input
/// resize and scaling, which live in [`crate::fid::preprocess`]).
///
/// Build it with weights from a file via [`FidInceptionV3::from_file`]
/// ([`crate::inception::InceptionWeights`]) or with random weights via
/// [`FidInceptionV3::random`] (shape tests, benchmarks).
#[derive(Module, Debug)]
pub struct FidInceptionV3 {
    conv2d_1a_3x3: BasicConv,
    conv2d_2a_3x3: BasicConv,
    conv2d_2b_3x3: BasicConv,
    conv2d_3b_1x1: BasicConv,
    conv2d_4a_3x3: BasicConv,
    mixed_5b: InceptionA,
    mixed_5c: InceptionA,
    mixed_5d: InceptionA,
    mixed_6a: InceptionB,
    mixed_6b: InceptionC,
    mixed_6c: InceptionC,
    mixed_6d: InceptionC,
    mixed_6e: InceptionC,
    mixed_7a: InceptionD,
    mixed_7b: InceptionE,
    mixed_7c: InceptionE,
}

impl FidInceptionV3 {
    /// Builds the network, asking `provider` for every layer's weights in forward order.
    pub fn build(provider: &mut dyn ConvProvider, device: &Device) -> Result<Self> {
        let p = provider;
        let stem = |p: &mut dyn ConvProvider,
                    name: &str,
                    io: [usize; 2],
                    k: usize,
                    stride: usize,
                    pad: usize| {
            BasicConv::new(p, device, name.to_string(), io, [k, k], stride, [pad, pad])
        };
        macro_rules! block {
            ($name:literal) => {
                Builder {
                    p: &mut *p,
                    device,
                    prefix: $name,
                }
            };
        }
        Ok(Self {
            conv2d_1a_3x3: stem(p, "Conv2d_1a_3x3", [3, 32], 3, 2, 0)?,
            conv2d_2a_3x3: stem(p, "Conv2d_2a_3x3", [32, 32], 3, 1, 0)?,
            conv2d_2b_3x3: stem(p, "Conv2d_2b_3x3", [32, 64], 3, 1, 1)?,
            conv2d_3b_1x1: stem(p, "Conv2d_3b_1x1", [64, 80], 1, 1, 0)?,
            conv2d_4a_3x3: stem(p, "Conv2d_4a_3x3", [80, 192], 3, 1, 0)?,
            mixed_5b: InceptionA::new(block!("Mixed_5b"), 192, 32)?,
            mixed_5c: InceptionA::new(block!("Mixed_5c"), 256, 64)?,
            mixed_5d: InceptionA::new(block!("Mixed_5d"), 288, 64)?,
            mixed_6a: InceptionB::new(block!("Mixed_6a"), 288)?,
            mixed_6b: InceptionC::new(block!("Mixed_6b"), 768, 128)?,
            mixed_6c: InceptionC::new(block!("Mixed_6c"), 768, 160)?,
            mixed_6d: InceptionC::new(block!("Mixed_6d"), 768, 160)?,
            mixed_6e: InceptionC::new(block!("Mixed_6e"), 768, 192)?,
            mixed_7a: InceptionD::new(block!("Mixed_7a"), 768)?,
            mixed_7b: InceptionE::new(block!("Mixed_7b"), 1280, false)?,
            mixed_7c: InceptionE::new(block!("Mixed_7c"), 2048, true)?,
        })
    }

    /// pool3 features.
    ///
    /// The input must already be preprocessed the pytorch-fid way (3 channels, resized to
    /// 299×299, values scaled to `[-1, 1]`): use [`crate::fid::preprocess`] or
    /// [`crate::fid::FidExtractor`]. Other sizes (at least 75×75) run too, like in pytorch-fid,
    /// but do not give comparable FIDs.
    ///
    /// # Shapes
    /// `[N, 3, H, W]` → `[N, 2048]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let [n, ..] = x.dims();
        let mut x = self.conv2d_1a_3x3.forward(x);
        x = self.conv2d_2a_3x3.forward(x);
        x = self.conv2d_2b_3x3.forward(x);
        x = max_pool_3x3(x, 2, 0);
        x = self.conv2d_3b_1x1.forward(x);
        x = self.conv2d_4a_3x3.forward(x);
        x = max_pool_3x3(x, 2, 0);
        x = self.mixed_5b.forward(x);
        x = self.mixed_5c.forward(x);
        x = self.mixed_5d.forward(x);
        x = self.mixed_6a.forward(x);
        x = self.mixed_6b.forward(x);
        x = self.mixed_6c.forward(x);
        x = self.mixed_6d.forward(x);
        x = self.mixed_6e.forward(x);
        x = self.mixed_7a.forward(x);
        x = self.mixed_7b.forward(x);
        x = self.mixed_7c.forward(x);
        adaptive_avg_pool2d(x, [1, 1]).reshape([n, FEATURE_DIM])
    }
}
