//! Restoration networks of Cold Diffusion: the ConvNeXt U-Net and the DDPM ResNet U-Net, with original-checkpoint import
