#!/usr/bin/env python3
"""Peer for bench_loss: the report's focal loss in PyTorch eager, forward + backward.

cross_entropy(reduction='none', ignore_index=255) -> p = exp(-ce) -> alpha (1-p)^gamma ce ->
mean over labelled pixels -> backward, timed on the same shapes and thread count as bench_loss.
Writes JSON to --json (stdout otherwise).
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from peer_output import write_result


def focal_loss(logits, labels, gamma, alpha):
    ce = F.cross_entropy(logits, labels, reduction="none", ignore_index=255)  # (N,H,W), 0 where ignored
    p = torch.exp(-ce)
    loss = alpha * (1.0 - p) ** gamma * ce
    mask = labels != 255
    return loss[mask].sum() / mask.sum().clamp(min=1)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def run_shape(shape, device, gamma, alpha, unlabelled, warmup, repeats, seed):
    n, c, h, w = shape
    g = torch.Generator().manual_seed(seed)
    logits = (torch.rand(shape, generator=g) * 6.0 - 3.0).to(device).requires_grad_(True)
    labels = torch.randint(0, c, (n, h, w), generator=g)
    if unlabelled > 0:
        labels[torch.rand((n, h, w), generator=g) < unlabelled] = 255
    labels = labels.to(device)
    times = []
    value = None
    for i in range(warmup + repeats):
        logits.grad = None
        sync(device)
        t0 = time.perf_counter()
        loss = focal_loss(logits, labels, gamma, alpha)
        loss.backward()
        sync(device)
        t1 = time.perf_counter()
        if i >= warmup:
            times.append(t1 - t0)
        value = float(loss.detach().cpu())
    return {
        "shape": list(shape),
        "median_s": statistics.median(times),
        "min_s": min(times),
        "mean_s": statistics.fmean(times),
        "repeats": repeats,
        "loss": value,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's own)")
    ap.add_argument("--shapes", default="16,6,512,512;32,6,304,304", help="N,C,H,W;... (default %(default)s)")
    ap.add_argument("--gamma", type=float, default=2.0, help="default %(default)s")
    ap.add_argument("--alpha", type=float, default=1.0, help="one weight for every class (default %(default)s)")
    ap.add_argument("--unlabelled", type=float, default=0.0, help="fraction of pixels set to 255 (default %(default)s)")
    ap.add_argument("--warmup", type=int, default=2, help="default %(default)s")
    ap.add_argument("--repeats", type=int, default=5, help="default %(default)s")
    ap.add_argument("--seed", type=int, default=1, help="default %(default)s")
    ap.add_argument("--json", default="", help="output file (default stdout)")
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("focal_torch.py: --device cuda but this torch has no CUDA device")
    shapes = [tuple(int(v) for v in s.split(",")) for s in args.shapes.split(";") if s]
    for s in shapes:
        if len(s) != 4:
            sys.exit(f"focal_torch.py: shape {s} is not N,C,H,W")
    results = [
        run_shape(s, device, args.gamma, args.alpha, args.unlabelled, args.warmup, args.repeats, args.seed + i)
        for i, s in enumerate(shapes)
    ]
    out = {
        "peer": "torch-eager",
        "torch_version": torch.__version__,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "gamma": args.gamma,
        "alpha": args.alpha,
        "unlabelled": args.unlabelled,
        "results": results,
    }
    write_result(out, args.json)


if __name__ == "__main__":
    main()
