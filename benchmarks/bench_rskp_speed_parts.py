"""What the merged x-gradient and the glibc malloc setting each do to RSKP epoch times.

Four configurations, each in its own process (malloc thresholds are process-wide and
cannot be put back): the gradient of ``x`` merged into one product
(:mod:`video._xgrad`, the default) or one product and one addition per use (the tap
replaced by the plain norm, so every product falls back to ``torch.bmm``), each with
glibc's default malloc or with raised thresholds (:mod:`graphssl._malloc`). Every
process runs ``bench_rskp.py``'s speed protocol (warm-up and memory epoch, batched and
one video per forward, alternating for ``--speed-rounds`` rounds). The four
configurations are run in turn ``--passes`` times, so each sees the machine's drifts.

Usage: ``OMP_NUM_THREADS=1 python benchmarks/bench_rskp_speed_parts.py``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

import torch
from _machine import machine  # benchmarks/ is on sys.path when run as a script

CONFIGS = [(False, False), (True, False), (False, True), (True, True)]


def worker(merged: bool, malloc: bool, rounds: int) -> None:
    """Print ``ratio batched_seconds`` of the fastest epochs of one configuration."""
    if malloc:
        from graphssl._malloc import tune_glibc_malloc

        if not tune_glibc_malloc():
            raise SystemExit("glibc's mallopt is not available here")
    if not merged:
        import video._fused

        def plain_tap(
            x: torch.Tensor, tape: object
        ) -> tuple[torch.Tensor, torch.Tensor]:
            return x, torch.linalg.vector_norm(x, dim=-1)

        video._fused.tap = plain_tap  # type: ignore[assignment]
    import bench_rskp

    from video.datasets import make_synthetic_benchmark

    args = bench_rskp.parser().parse_args(["--speed-rounds", str(rounds)])
    train, _ = make_synthetic_benchmark(args.data_seed)
    times = bench_rskp.epoch_times(args, train)
    best = {k: sum(min(r[i] for r in v) for i in range(2)) for k, v in times.items()}
    print(f"{best[True] / best[False]:.3f} {best[False]:.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--speed-rounds", type=int, default=3)
    p.add_argument("--passes", type=int, default=2)
    p.add_argument("--worker", nargs=2, type=int, metavar=("MERGED", "MALLOC"))
    args = p.parse_args()
    if args.worker is not None:
        worker(bool(args.worker[0]), bool(args.worker[1]), args.speed_rounds)
        return
    print(machine())
    runs: dict[tuple[bool, bool], list[tuple[float, float]]] = {c: [] for c in CONFIGS}
    for _ in range(args.passes):
        for merged, malloc in CONFIGS:
            cmd = [sys.executable, __file__, "--worker", str(int(merged)),
                   str(int(malloc)), "--speed-rounds", str(args.speed_rounds)]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            ratio, secs = (float(v) for v in out.stdout.split()[-2:])
            runs[(merged, malloc)].append((ratio, secs))
    print(f"\nfastest of {args.speed_rounds} alternating rounds per process, "
          f"{args.passes} passes:")  # fmt: skip
    print(
        "| gradient of `x` | glibc malloc | speed-up per pass | batched, both epochs (s) |"
    )
    print("|---|---|---|---|")
    for merged, malloc in CONFIGS:
        r = runs[(merged, malloc)]
        grad = "one merged product" if merged else "one product + addition per use"
        print(f"| {grad} | {'raised' if malloc else 'default'} | "
              + " / ".join(f"{a:.2f}x" for a, _ in r)
              + f" (mean {statistics.fmean(a for a, _ in r):.2f}x) | "
              + " / ".join(f"{b:.2f}" for _, b in r) + " |")  # fmt: skip


if __name__ == "__main__":
    main()
