"""Benchmark VCCS super-voxels against a voxel-grid partition with as many cells.

For each size a seeded synthetic room (:func:`pointcloud.synthetic.make_indoor_scene`)
is over-segmented by

* **VCCS** (``pointcloud.supervoxels.VCCS``, defaults: 5 cm voxels, 25 cm seeds), with
  colours, and geometry only;
* **grid** (the anchor): every point goes to its cell of a regular grid whose edge is
  chosen by bisection so that the number of non-empty cells matches VCCS's count
  (within 3 %). This is what ``open3d``'s ``voxel_down_sample`` groups points by.

Reported per method: wall-clock and process-CPU seconds (medians of ``--repeats``
runs, scene generation excluded; on a shared machine the CPU time of a one-thread
run is the load-independent figure), number of segments ``S``, purity (share of points agreeing with their
segment's majority class) and boundary recall (share of class-boundary points within
one voxel, 5 cm, of a segment boundary), then VCCS / grid ratios. Everything runs in
one process.

Usage::

    python benchmarks/bench_supervoxels.py                 # 1e5 and 1e6 points
    python benchmarks/bench_supervoxels.py --sizes 100000 --repeats 3
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine

from pointcloud.supervoxel_metrics import boundary_recall, purity
from pointcloud.supervoxels import VCCS
from pointcloud.synthetic import make_indoor_scene


def grid_partition(points: torch.Tensor, size: float) -> torch.Tensor:
    """Cell id of every point on a grid of edge ``size`` (ids in key order)."""
    cells = torch.floor((points - points.min(0).values) / size).long()
    dims = cells.max(0).values + 1
    key = (cells[:, 0] * dims[1] + cells[:, 1]) * dims[2] + cells[:, 2]
    inverse: torch.Tensor = torch.unique(key, return_inverse=True)[1]
    return inverse


def grid_of_count(points: torch.Tensor, target: int) -> float:
    """Cell edge whose grid has about ``target`` non-empty cells (bisection)."""
    lo, hi = 1e-3, float((points.max(0).values - points.min(0).values).max())
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        count = int(grid_partition(points, mid).max()) + 1
        if abs(count - target) <= 0.03 * target:
            return mid
        lo, hi = (mid, hi) if count > target else (lo, mid)
    return math.sqrt(lo * hi)


def timed(
    fn: Callable[[], torch.Tensor], repeats: int
) -> tuple[float, float, torch.Tensor]:
    """Median wall-clock and process-CPU seconds of ``repeats`` runs, last result.

    On a shared machine wall time grows with the load; the process CPU time of a
    one-thread run does not (much), so both are reported.
    """
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        if out.is_cuda:
            torch.cuda.synchronize()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    assert out is not None
    return statistics.median(walls), statistics.median(cpus), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--voxel-size", type=float, default=0.05)
    parser.add_argument("--seed-resolution", type=float, default=0.25)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()

    print(machine())
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"OMP_NUM_THREADS={threads}, load {os.getloadavg()[0]:.1f}, {args.device}")
    vccs = VCCS(voxel_size=args.voxel_size, seed_resolution=args.seed_resolution)
    print(repr(vccs))
    # Warm-up: lazy imports (scipy) stay out of the timings.
    vccs(torch.rand(2_000, 3, device=args.device))
    r = args.voxel_size
    header = (
        f"| points | method | wall s | CPU s | S | purity | boundary recall "
        f"(r = {r:g} m) |"
    )
    rows = [header, "|---|---|---|---|---|---|---|"]
    ratios = []
    for n in args.sizes:
        scene = make_indoor_scene(n, num_objects=args.objects, seed=args.seed)
        dev = torch.device(args.device)
        pts, col, lab = (t.to(dev) for t in (scene.points, scene.colors, scene.labels))
        t_c, c_c, seg_c = timed(lambda: vccs(pts, col), args.repeats)  # noqa: B023
        t_g, c_g, seg_g = timed(lambda: vccs(pts), args.repeats)  # noqa: B023
        s = int(seg_c.max()) + 1
        size = grid_of_count(pts, s)
        t_a, c_a, seg_a = timed(lambda: grid_partition(pts, size), args.repeats)  # noqa: B023
        res = {}
        for name, t, c, seg in (
            ("VCCS (xyz + rgb)", t_c, c_c, seg_c),
            ("VCCS (xyz only)", t_g, c_g, seg_g),
            (f"grid ({size * 100:.1f} cm cells)", t_a, c_a, seg_a),
        ):
            p, b = purity(seg, lab), boundary_recall(pts, seg, lab, radius=r)
            res[name] = (c, p, b)
            rows.append(
                f"| {n:,} | {name} | {t:.2f} | {c:.2f} | {int(seg.max()) + 1:,} "
                f"| {p:.4f} | {b:.3f} |"
            )
            print(rows[-1], flush=True)
        (tc, pc, bc), (ta, pa, ba) = res["VCCS (xyz + rgb)"], list(res.values())[2]
        ratios.append(
            f"{n:,} points: VCCS / grid: purity x{pc / pa:.3f}, boundary recall "
            f"x{bc / ba:.2f}, CPU time x{tc / ta:.0f}; impurity {1 - pc:.4f} vs {1 - pa:.4f}"
        )
    print()
    print("\n".join(rows))
    print()
    print("\n".join(ratios))


if __name__ == "__main__":
    main()
