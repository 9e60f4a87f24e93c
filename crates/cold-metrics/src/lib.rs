//! Evaluation metrics of Cold Diffusion: RMSE, PSNR, SSIM, FID and KID
