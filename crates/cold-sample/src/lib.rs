//! Samplers of Cold Diffusion (direct, Algorithm 1, Algorithm 2, DDIM) and generation priors
