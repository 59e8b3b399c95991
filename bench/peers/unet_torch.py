#!/usr/bin/env python3
"""The U-Net of DESIGN §4 in PyTorch, trained like pfce trains it (partial focal loss gamma 2, Adam),
as the peer of bench/bench_train.cpp: images/s and peak memory for one configuration.

Same architecture as models/unet.cpp: per level [3x3 conv (no bias) -> BN -> ReLU] x 2, 2x2 max-pool
down, 2x2 stride-2 transposed conv (bias) up, skip concat, 1x1 conv (bias) to C logits. Modes: eager
fp32 (TF32 allowed for convolutions, as ours), and on CUDA also channels-last + AMP (bf16 autocast)
and torch.compile of the fp32 model.

  python3 bench/peers/unet_torch.py --device cpu --batch 2 --size 128 --width 16 --depth 3 --threads 2 --json out.json
"""
import argparse
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from peer_output import write_result


class DoubleConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, cin=3, classes=6, depth=4, width=32):
        super().__init__()
        self.down = nn.ModuleList()
        c = cin
        for l in range(depth):
            self.down.append(DoubleConv(c, width << l))
            c = width << l
        self.bottom = DoubleConv(c, width << depth)
        self.up = nn.ModuleList([nn.ConvTranspose2d(2 * (width << l), width << l, 2, stride=2) for l in range(depth)])
        self.dec = nn.ModuleList([DoubleConv(2 * (width << l), width << l) for l in range(depth)])
        self.head = nn.Conv2d(width, classes, 1)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        skips = []
        for d in self.down:
            x = d(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for l in reversed(range(len(self.up))):
            x = self.dec[l](torch.cat([skips[l], self.up[l](x)], dim=1))
        return self.head(x)


def focal_loss(logits, labels, gamma=2.0, ignore=255):
    """Partial focal loss of DESIGN §2 (alpha 1, normalized by the labelled pixel count)."""
    logp = F.log_softmax(logits.float(), dim=1)
    mask = labels != ignore
    safe = torch.where(mask, labels, torch.zeros_like(labels)).long()
    logpt = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    pt = logpt.exp()
    loss = -((1 - pt) ** gamma) * logpt
    n = mask.sum().clamp(min=1)
    return (loss * mask).sum() / n


def run(args, channels_last=False, amp=False, compile=False):
    dev = torch.device(args.device)
    torch.manual_seed(0)
    model = UNet(3, args.classes, args.depth, args.width).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(args.batch, 3, args.size, args.size, device=dev)
    y = torch.randint(0, args.classes, (args.batch, args.size, args.size), device=dev)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    cuda = dev.type == "cuda"
    forward = torch.compile(model) if compile else model

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
            logits = forward(x)
        loss = focal_loss(logits, y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    out = {"median_step_s": med, "min_step_s": times[0], "images_per_s": args.batch / med, "steps": args.steps}
    if cuda:
        out["peak_mem_bytes"] = torch.cuda.max_memory_allocated()
    else:
        out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=304)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--classes", type=int, default=6)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch default)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--json", default="", help="write results here (stdout otherwise)")
    p.add_argument("--compile", action="store_true", help="also time torch.compile of the fp32 model (slow to start)")
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    res = {"peer": "pytorch", "torch": torch.__version__, "device": args.device, "threads": torch.get_num_threads(),
           "config": {"batch": args.batch, "size": args.size, "width": args.width, "depth": args.depth,
                      "classes": args.classes},
           "eager_fp32": run(args)}
    if args.device.startswith("cuda"):
        res["channels_last_amp_bf16"] = run(args, channels_last=True, amp=True)
    if args.compile:
        # torch.compile (inductor) where it works: it needs a C compiler and Triton at run time; a
        # failure is recorded, not fatal, so the other numbers still come back.
        try:
            res["compile_fp32"] = run(args, compile=True)
        except Exception as e:  # noqa: BLE001 - any backend failure means "no compile number"
            res["compile_fp32"] = {"error": f"{type(e).__name__}: {e}"[:400]}
    write_result(res, args.json)
    if args.json:
        print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
