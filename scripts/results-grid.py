#!/usr/bin/env python3
"""Tile PNG images into one grid for docs/results.md (needs Pillow).

    python3 scripts/results-grid.py OUT.png --scale 2 --row 'a_*.png' --row 'b_*.png' ...

Each --row is a glob (sorted by name) or a comma-separated list of files; rows are stacked top
to bottom with a 2-pixel grey gap, images are enlarged by --scale with nearest-neighbour
resampling so that pixels stay visible.

    python3 scripts/results-grid.py OUT.gif --gif TRAJECTORY.gif --every 4

reduces an animated GIF to every N-th frame plus the last (for the trajectory animations).
"""

import argparse
import glob

from PIL import Image


def files(spec):
    if "," in spec:
        return spec.split(",")
    found = sorted(glob.glob(spec))
    if not found:
        raise SystemExit(f"no file matches {spec!r}")
    return found


def grid(out, rows, scale, gap=2):
    rows = [[Image.open(f).convert("L") for f in files(r)] for r in rows]
    w = max(sum(im.width * scale for im in row) + gap * (len(row) - 1) for row in rows)
    h = sum(max(im.height for im in row) * scale for row in rows) + gap * (len(rows) - 1)
    canvas = Image.new("L", (w, h), 128)
    y = 0
    for row in rows:
        x = 0
        for im in row:
            canvas.paste(im.resize((im.width * scale, im.height * scale), Image.NEAREST), (x, y))
            x += im.width * scale + gap
        y += max(im.height for im in row) * scale + gap
    canvas.save(out)


def reduce_gif(out, src, every):
    im = Image.open(src)
    frames = []
    try:
        while True:
            frames.append(im.copy())
            im.seek(im.tell() + 1)
    except EOFError:
        pass
    keep = frames[::every]
    if (len(frames) - 1) % every:
        keep.append(frames[-1])
    keep[0].save(out, save_all=True, append_images=keep[1:], duration=150, loop=0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--row", action="append", default=[])
    p.add_argument("--scale", type=int, default=2)
    p.add_argument("--gif")
    p.add_argument("--every", type=int, default=1)
    a = p.parse_args()
    if a.gif:
        reduce_gif(a.out, a.gif, a.every)
    else:
        grid(a.out, a.row, a.scale)


if __name__ == "__main__":
    main()
