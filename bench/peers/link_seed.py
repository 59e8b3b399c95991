#!/usr/bin/env python3
"""Peer for bench_link: the report's link_pixels(), as its notebook did it.

Per mask and per class: a scipy KD-tree over the class's labelled pixels, KDTree.query_pairs(D),
then one Python-level line draw per pair, writing the class into a copy of the mask (later classes
overwrite earlier ones -- the report's conflict behaviour, DESIGN §7). Reads masks from an .npy file
(N,H,W) uint8 written by bench_link, times the whole loop and the two phases, writes JSON.

usage: link_seed.py --masks masks.npy --radius 20 [--classes 6] [--limit N] [--json OUT]
"""
import argparse
import sys
import time

import numpy as np
from scipy.spatial import cKDTree

from peer_output import write_result


def draw_line(mask, y0, x0, y1, x1, value):
    """Bresenham in plain Python, one pixel per iteration (what the report's loop did per pair)."""
    dx = abs(x1 - x0)
    dy = -abs(y1 - y0)
    sx = 1 if x0 < x1 else -1
    sy = 1 if y0 < y1 else -1
    err = dx + dy
    while True:
        mask[y0, x0] = value
        if y0 == y1 and x0 == x1:
            return
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


def link_pixels(mask, radius, classes, timing):
    linked = mask.copy()
    pairs_total = 0
    for c in range(classes):
        t0 = time.perf_counter()
        pts = np.argwhere(mask == c)
        if len(pts) < 2:
            timing["search"] += time.perf_counter() - t0
            continue
        tree = cKDTree(pts)
        pairs = tree.query_pairs(r=radius)
        t1 = time.perf_counter()
        timing["search"] += t1 - t0
        for i, j in pairs:
            y0, x0 = pts[i]
            y1, x1 = pts[j]
            draw_line(linked, int(y0), int(x0), int(y1), int(x1), c)
        timing["draw"] += time.perf_counter() - t1
        pairs_total += len(pairs)
    return linked, pairs_total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--masks", required=True, help=".npy file, (N,H,W) uint8, 255 = unlabelled")
    ap.add_argument("--radius", type=float, default=20.0)
    ap.add_argument("--classes", type=int, default=6)
    ap.add_argument("--limit", type=int, default=0, help="link only the first N masks (0: all)")
    ap.add_argument("--json", default="", help="write results here (stdout otherwise)")
    args = ap.parse_args()

    masks = np.load(args.masks)
    if masks.ndim != 3 or masks.dtype != np.uint8:
        sys.exit(f"{args.masks}: expected (N,H,W) uint8, got {masks.shape} {masks.dtype}")
    if args.limit > 0:
        masks = masks[: args.limit]
    timing = {"search": 0.0, "draw": 0.0}
    pairs = 0
    labelled_after = 0
    t0 = time.perf_counter()
    for m in masks:
        linked, p = link_pixels(m, args.radius, args.classes, timing)
        pairs += p
        labelled_after += int((linked != 255).sum())
    total = time.perf_counter() - t0
    n = len(masks)
    out = {
        "peer": "link_seed.py (report's link_pixels: scipy cKDTree.query_pairs + Python line draw)",
        "images": n,
        "height": int(masks.shape[1]),
        "width": int(masks.shape[2]),
        "radius": args.radius,
        "pairs": pairs,
        "labelled_after": labelled_after,
        "seconds": total,
        "search_seconds": timing["search"],
        "draw_seconds": timing["draw"],
        "ms_per_image": 1000.0 * total / max(n, 1),
        "images_per_s": n / total if total > 0 else 0.0,
    }
    write_result(out, args.json)


if __name__ == "__main__":
    main()
