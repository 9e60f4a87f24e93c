#!/usr/bin/env python3
"""Forward FLOPs of the reference networks at batch 32, 32x32 (docs/performance.md).

Counts the multiply-adds of every convolution, matmul and linear layer (x2) with PyTorch's
FlopCounterMode on the PyTorch re-implementation of the original networks in
shared/bench/ref_pytorch.py (the same architectures as our presets; element-wise ops, norms and
activations are not counted).

    /tmp/ref-venv/bin/python scripts/unet-flops.py ../shared/bench/ref_pytorch.py
"""

import importlib.util
import sys

import torch
from torch.utils.flop_counter import FlopCounterMode

spec = importlib.util.spec_from_file_location("ref_pytorch", sys.argv[1])
R = importlib.util.module_from_spec(spec)
sys.modules["ref_pytorch"] = R
spec.loader.exec_module(R)

for name in ["mnist-small-32", "mnist-official", "cifar-convnext64", "cifar-official"]:
    cfg = R.CONFIGS[name]
    model, _ = R.build(cfg)
    model.eval()
    x = torch.randn(32, cfg["channels"], cfg["size"], cfg["size"])
    t = torch.randint(0, cfg["T"], (32,))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x, t)
    per_op = {str(k): v for k, v in counter.get_flop_counts()["Global"].items()}
    print(f"{name}: {R.n_params(model):,} parameters, forward batch 32: "
          f"{counter.get_total_flops() / 1e9:.2f} GFLOP {per_op}")
