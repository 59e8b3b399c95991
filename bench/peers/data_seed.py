#!/usr/bin/env python3
"""Peer for bench_data: read + sample the way the report's code did it.

Per image: PIL opens the image and its colour label, numpy finds each class's pixels with np.where
and draws min(N, n_c) of them with np.random.choice(replace=False). Runs on the same Kaggle-layout
files as bench_data and reports images/s (one Python process, as the report's loader ran).
"""
import argparse
import glob
import os
import re
import sys
import time

import numpy as np
from PIL import Image

from peer_output import write_result

# ISPRS Potsdam palette (DESIGN §2): impervious, building, low vegetation, tree, car, clutter.
PALETTE = [(255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 255, 0), (255, 0, 0)]


def sample(label_rgb, points):
    out = np.full(label_rgb.shape[:2], 255, np.uint8)
    for c, colour in enumerate(PALETTE):
        ys, xs = np.where(np.all(label_rgb == colour, axis=-1))
        if len(ys) == 0:
            continue
        pick = np.random.choice(len(ys), min(points, len(ys)), replace=False)
        out[ys[pick], xs[pick]] = c
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True, help="dataset root holding patches/Images and patches/Labels")
    ap.add_argument("--points", type=int, default=500, help="points per class and image")
    ap.add_argument("--count", type=int, default=0, help="use only the first COUNT images (0: all)")
    ap.add_argument("--json", default="", help="write the results here (stdout otherwise)")
    args = ap.parse_args()

    labels = glob.glob(os.path.join(args.data, "patches", "Labels", "Label_*.tif"))
    labels.sort(key=lambda p: int(re.search(r"Label_(\d+)", p).group(1)))
    if args.count > 0:
        labels = labels[: args.count]
    if not labels:
        sys.exit(f"data_seed.py: no patches/Labels/Label_*.tif under {args.data}")
    pairs = [(p.replace("Labels", "Images").replace("Label_", "Image_"), p) for p in labels]

    np.random.seed(0)
    kept = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for image_path, label_path in pairs:
        image = np.array(Image.open(image_path).convert("RGB"))
        label = np.array(Image.open(label_path).convert("RGB"))
        assert image.shape == label.shape
        kept += int(np.count_nonzero(sample(label, args.points) != 255))
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start

    result = {
        "peer": "data_seed.py (PIL open + numpy np.where / np.random.choice per class)",
        "images": len(pairs),
        "points": args.points,
        "labelled_pixels": kept,
        "seconds": seconds,
        "images_per_s": len(pairs) / seconds,
        "cpu_seconds": cpu_seconds,
        "images_per_cpu_s": len(pairs) / cpu_seconds,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }
    write_result(result, args.json)
    print(f"data_seed.py: {len(pairs)} images in {seconds:.2f} s = {len(pairs) / seconds:.1f} images/s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
