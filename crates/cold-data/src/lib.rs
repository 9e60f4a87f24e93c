//! Datasets for Cold Diffusion: MNIST/Fashion-MNIST IDX, CIFAR-10 binary, image folders, augmentation, batching
