#!/usr/bin/env python3
"""Writes configs/<preset>.toml for every training preset of the paper and the CPU variants.

Each file is the preset's configuration (as `cold presets --show NAME --kind train` prints it),
reordered, with a header saying which experiment it is, what data it needs and how to run and
evaluate it, and a comment on the main fields. The configuration values come from the presets
(cold-train's `TrainConfig::presets`) only; crates/cold-cli/tests/configs.rs checks that every
file still equals its preset.

Run from the repository root after `cargo build --release -p cold-cli`:

    python3 scripts/gen-configs.py [path/to/cold]
"""

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

COLD = sys.argv[1] if len(sys.argv) > 1 else "target/release/cold"
OUT = Path("configs")

MNIST = "the bundled MNIST (data/mnist), nothing to download"
CIFAR = ("CIFAR-10, binary version (cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html), "
         "unpacked so that data/cifar-10-batches-bin/data_batch_1.bin exists")
CELEBA = ("CelebA-HQ at 128x128 (the original's images-128 folder): the original trains on the first 90% of the "
          "files (27 000) and tests on the last 10%; put the training images in data/celeba/")
AFHQ = "AFHQ at 128x128 (all three classes, train split) in data/afhq/"

# name: (title, paper reference, data, how to evaluate)
EXPERIMENTS = {
    "deblur-mnist": ("Deblurring, MNIST", "Table 1", MNIST, "eval-mnist"),
    "deblur-cifar10": ("Deblurring, CIFAR-10 (DDPM ResNet U-Net)", "Table 1", CIFAR, "eval-cifar"),
    "deblur-celeba": ("Deblurring, CelebA 128x128", "Table 1", CELEBA, "eval-celeba"),
    "blurgen-celeba": ("Blur generation, CelebA 128x128", "Table 5 (cold, perfect / broken symmetry)", CELEBA, "gen"),
    "blurgen-afhq": ("Blur generation, AFHQ 128x128", "Table 5 (cold, perfect / broken symmetry)", AFHQ, "gen"),
    "inpaint-mnist": ("Inpainting (Gaussian masks), MNIST", "Table 2", MNIST, "eval-mnist"),
    "inpaint-cifar10": ("Inpainting (Gaussian masks), CIFAR-10 (DDPM ResNet U-Net)", "Table 2", CIFAR, "eval-cifar"),
    "inpaint-celeba": ("Inpainting (Gaussian masks), CelebA 128x128", "Table 2", CELEBA, "eval-celeba"),
    "inpaintgen-celeba": ("Inpainting generation, CelebA 128x128", "Figure 8 (no FID table in v1)", CELEBA, "gen"),
    "superres-mnist": ("Super-resolution, MNIST", "Table 3", MNIST, "eval-mnist"),
    "superres-cifar10": ("Super-resolution, CIFAR-10 (DDPM ResNet U-Net)", "Table 3", CIFAR, "eval-cifar"),
    "superres-celeba": ("Super-resolution, CelebA 128x128", "Table 3", CELEBA, "eval-celeba"),
    "snow-cifar10": ("Desnowification, CIFAR-10", "Table 4", CIFAR, "eval-cifar"),
    "snow-celeba": ("Desnowification, CelebA 128x128", "Table 4", CELEBA, "eval-celeba"),
    "decolor-cifar10": ("Decolorization, CIFAR-10", "README command (no table in v1)", CIFAR, "eval-cifar"),
    "decolor-celeba": ("Decolorization, CelebA 64x64 centre crops", "README command (no table in v1)", CELEBA,
                       "eval-celeba"),
    "animorph-celeba": ("Animorphosis, CelebA faces into AFHQ animals", "Figure 8 (no FID table in v1)",
                        CELEBA + "; partner images: " + AFHQ, "gen"),
    "hot-celeba": ("Hot (Gaussian noise) baseline, CelebA 128x128", "Table 5 (hot, fixed / estimated noise)", CELEBA,
                   "gen"),
    "hot-afhq": ("Hot (Gaussian noise) baseline, AFHQ 128x128", "Table 5 (hot, fixed / estimated noise)", AFHQ, "gen"),
    "mnist-deblur-small": ("Deblurring, MNIST, small CPU variant", "CPU variant of Table 1", MNIST, "eval-mnist"),
    "mnist-inpaint-small": ("Inpainting, MNIST, small CPU variant", "CPU variant of Table 2", MNIST, "eval-mnist"),
    "mnist-superres-small": ("Super-resolution, MNIST, small CPU variant", "CPU variant of Table 3", MNIST,
                             "eval-mnist"),
    "mnist-blurgen-small": ("Blur generation, MNIST, small CPU variant", "CPU variant of Table 5's cold blur", MNIST,
                            "gen"),
}

EVAL = {
    "eval-mnist": "cold eval --checkpoint {run} --data mnist --metrics rmse,ssim,fid --inception <weights>",
    "eval-cifar": "cold eval --checkpoint {run} --data data/cifar-10-batches-bin --metrics rmse,ssim,fid --inception <weights>",
    "eval-celeba": "cold eval --checkpoint {run} --data <folder of the CelebA test images> --metrics rmse,ssim,fid --inception <weights>",
    "gen": "cold sample --checkpoint {run} --n 6400 --out {run}/samples   (then FID of the samples against the data set)",
}

# Preferred key order per table, with a comment per key.
ORDER = {
    "": [
        ("output_dir", "checkpoints, train.jsonl and sample grids go here"),
        ("steps", "optimiser updates (the original's train_num_steps)"),
        ("batch_size", "images per micro-batch (train_batch_size)"),
        ("grad_accumulation", "micro-batches per update (gradient_accumulate_every)"),
        ("seed", "data order, augmentation, levels, operator draws, initialisation"),
        ("loss", "\"l1\" (the paper's) or \"l2\""),
        ("log_every", "a train.jsonl line every this many updates"),
    ],
    "data": [
        ("image_size", "side S of the square training images"),
        ("channels", "1 (gray) or 3 (RGB)"),
        ("augmentation", "the original loader's augmentation (see cold-data's presets)"),
        ("workers", "data-loader threads (does not change the results)"),
    ],
    "data.dataset": [("kind", None), ("path", None)],
    "data.partner": [("augmentation", None)],
    "data.partner.dataset": [("kind", None), ("path", None)],
    "degradation": [("operator", "the degradation D(x0, s); field names are the original's flags"),
                    ("time_steps", "T")],
    "network": [("arch", "\"unet\" (ConvNeXt U-Net) or \"resunet\" (DDPM); the original constructor's arguments")],
    "optimizer": [("lr", "Adam, PyTorch's update"), ("beta1", None), ("beta2", None), ("eps", None)],
    "ema": [("decay", "EMA of the weights, used for sampling and evaluation"),
            ("update_every", None), ("start_step", "before this update the EMA is a copy of the weights")],
    "checkpoint": [("every", "checkpoints/latest.safetensors every this many updates"),
                   ("keep_every", "and a kept checkpoints/step-<N>.safetensors (0: never)")],
    "samples": [("every", "samples/step-<N>.png every this many updates (0: never)"),
                ("images", "rows of the sample grid")],
}


def value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    return str(v)


def table(lines, name, data):
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if scalars:
        if name:
            lines.append(f"\n[{name}]")
        order = ORDER.get(name, [])
        keys = [k for k, _ in order if k in scalars] + sorted(k for k in scalars if k not in dict(order))
        comments = dict(order)
        for k in keys:
            line = f"{k} = {value(scalars[k])}"
            c = comments.get(k)
            lines.append(f"{line:<40} # {c}" if c else line)
    for k in sorted(tables):
        table(lines, f"{name}.{k}" if name else k, tables[k])


def main():
    OUT.mkdir(exist_ok=True)
    for name, (title, ref, data, how) in EXPERIMENTS.items():
        text = subprocess.run([COLD, "presets", "--show", name, "--kind", "train"], check=True,
                              capture_output=True, text=True).stdout
        description = text.splitlines()[0].split(": ", 1)[1]
        config = tomllib.loads(text)
        run = config["output_dir"]
        lines = [
            f"# Cold Diffusion: {title}. Paper: {ref}.",
            f"# Preset `{name}`: {description}.",
            "#",
            *textwrap.wrap(f"{data}.", 96, initial_indent="# Data:     ", subsequent_indent="#           "),
            f"# Train:    cargo run --release -p cold-cli -- train --config configs/{name}.toml",
            f"#           (add --steps N to shorten it, --device cuda to use a GPU; resume with --resume {run})",
            f"# Evaluate: {EVAL[how].format(run=run)}",
            "# Cost:     see docs/reproducing.md.",
            "#",
            f"# Generated by scripts/gen-configs.py from `cold presets --show {name} --kind train`;",
            "# crates/cold-cli/tests/configs.rs checks that this file still equals the preset.",
            "",
        ]
        table(lines, "", config)
        (OUT / f"{name}.toml").write_text("\n".join(lines) + "\n")
        # The file must read back as the same configuration.
        assert tomllib.loads((OUT / f"{name}.toml").read_text()) == config, name
        print(OUT / f"{name}.toml")


if __name__ == "__main__":
    main()
