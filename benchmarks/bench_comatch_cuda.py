"""Step time of CoMatch vs FixMatch with a WRN-28-2 on random 32×32 batches, on CUDA.

Both rows run the same trainer (``graphssl.comatch.CoMatch``) on the same random data
(B labelled and μB unlabelled images per step; CIFAR-10's sizes B = 64, μ = 7): FixMatch
is ``CoMatchConfig.fixmatch()`` (λ_c = 0, α = 1, hard labels, no alignment: no strong1
view, no memory bank, no graphs); CoMatch the reference defaults. Views are the image
presets of ``graphssl.augment.weak_strong('image')``. A step is the time between two
consecutive encoder calls (the trainer runs all views of a step in one forward); the
median over the steps after the warm-up is reported (best of ``--repeats`` fits), so
cuDNN autotuning and the first memory-bank fills (``queue_batch`` = 5 steps) are not
counted.

    python benchmarks/bench_comatch_cuda.py                       # needs CUDA
    python benchmarks/bench_comatch_cuda.py --device cpu --steps 2 --batch-size 4 --mu 1
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time

import torch
from _machine import machine  # benchmarks/ is on sys.path when run as a script
from torch import nn

from graphssl.augment import weak_strong
from graphssl.comatch import CoMatch, CoMatchConfig
from graphssl.comatch.encoders import WideResNet


class Clock(nn.Module):
    """The encoder, stamping the time at each forward: the trainer runs one forward
    per step (all views in one batch), so consecutive stamps are one step apart."""

    def __init__(self, inner: nn.Module, dev: torch.device) -> None:
        super().__init__()
        self.inner, self.dev = inner, dev
        self.stamps: list[float] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)  # the previous step is finished
        self.stamps.append(time.perf_counter())
        out: torch.Tensor = self.inner(x)
        return out


def step_ms(
    cfg: CoMatchConfig,
    data: tuple[torch.Tensor, ...],
    dev: torch.device,
    depth: int,
    warmup: int,
) -> float:
    """Median milliseconds per step after ``warmup`` steps."""
    weak, strong = weak_strong("image")
    clock = Clock(WideResNet(depth=depth, widen=2), dev)
    model = CoMatch(
        lambda: clock,
        config=cfg,
        feature_dim=128,
        weak=weak,
        strong0=strong,
        strong1=strong,
        seed=0,
        device=dev,
        log_every=10**9,  # logging reads scalars back from the device: keep it out
    )
    model.fit(*data)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    stamps = [*clock.stamps, time.perf_counter()]
    steps = [b - a for a, b in itertools.pairwise(stamps)][warmup:]
    return statistics.median(steps) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--steps", type=int, default=50, help="timed steps")
    p.add_argument("--warmup", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--mu", type=int, default=7)
    p.add_argument("--depth", type=int, default=28)
    p.add_argument("--repeats", type=int, default=2, help="best of this many fits")
    args = p.parse_args()
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit(
            "bench_comatch_cuda: no CUDA device is available here. Run it on a GPU "
            "machine, or smoke-test on CPU with --device cpu --steps 2 --batch-size 4 --mu 1."
        )
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    print(f"Command: python benchmarks/bench_comatch_cuda.py {' '.join(sys.argv[1:])}")
    print(f"Machine: {machine()}")
    if dev.type == "cuda":
        print(f"GPU: {torch.cuda.get_device_name(dev)}")
    b, mu = args.batch_size, args.mu
    g = torch.Generator().manual_seed(0)
    n_l, n_u = 4 * b, 4 * mu * b
    data = (
        torch.rand(n_l, 3, 32, 32, generator=g).to(dev),
        torch.randint(0, 10, (n_l,), generator=g).to(dev),
        torch.rand(n_u, 3, 32, 32, generator=g).to(dev),
    )
    base = CoMatchConfig(batch_size=b, mu=mu)
    configs = {
        "FixMatch (λ_c 0, α 1, hard)": CoMatchConfig.fixmatch(batch_size=b, mu=mu)
    }
    configs["CoMatch (defaults)"] = base
    ms: dict[str, float] = {}
    for label, cfg in configs.items():
        cfg_k = cfg.replace(steps=args.warmup + args.steps)
        ms[label] = min(
            step_ms(cfg_k, data, dev, args.depth, args.warmup)
            for _ in range(args.repeats)
        )
    print(f"\nWRN-{args.depth}-2, B = {b}, μ = {mu}, {args.steps} timed steps, {dev}\n")
    print("| method | ms / step | images / step |")
    print("|---|---|---|")
    for label, cfg in configs.items():
        views = 2 if cfg.lambda_c == 0 else 3
        print(f"| {label} | {ms[label]:.1f} | {b + views * mu * b} |")
    fix, com = ms.values()
    print(f"\nCoMatch / FixMatch step time: {com / fix:.2f}×")


if __name__ == "__main__":
    main()
