//! Training loop of Cold Diffusion: EMA, gradient accumulation, atomic checkpoints, exact resume
