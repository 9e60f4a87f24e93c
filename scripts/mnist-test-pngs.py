#!/usr/bin/env python3
"""Writes the first N digits of the bundled MNIST test split as 32x32 gray PNGs, transformed as
the original test loaders do (docs/results.md uses them for the restoration pictures).

    python3 scripts/mnist-test-pngs.py N OUT_DIR [resize-center-crop | resize-shorter-center-crop]

`resize-center-crop` (deblurring, super-resolution tests): Pillow bilinear resize 28 -> 35
(floor(1.12 * 32)), centre crop 32. `resize-shorter-center-crop` (inpainting test): resize 28 -> 32.
Needs Pillow.
"""
import gzip
import os
import struct
import sys

from PIL import Image

S = 32


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    preset = sys.argv[3] if len(sys.argv) > 3 else "resize-center-crop"
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist")
    with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051 and n <= count, (magic, count)
        data = f.read(n * rows * cols)
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        img = Image.frombytes("L", (cols, rows), data[i * rows * cols:(i + 1) * rows * cols])
        if preset == "resize-center-crop":
            big = int(1.12 * S)
            img = img.resize((big, big), Image.BILINEAR)
            left = int(round((big - S) / 2.0))
            img = img.crop((left, left, left + S, left + S))
        elif preset == "resize-shorter-center-crop":
            img = img.resize((S, S), Image.BILINEAR)
        else:
            sys.exit(f"unknown preset {preset!r}")
        img.save(os.path.join(out, f"digit_{i:02d}.png"))
    print(f"wrote {n} digits ({preset}) to {out}")


if __name__ == "__main__":
    main()
