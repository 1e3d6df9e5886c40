"""Benchmark graphssl.neighbors.knn against the usual exact kNN anchors.

(a) k=16 on uniform 3-D points: ours (backend='auto') vs scipy ``cKDTree`` build +
    query with ``workers=-1`` (no Morton sort) and vs open3d ``core.nns`` knn.
(b) k=10 on Gaussian 128-D points: ours vs scikit-learn
    ``NearestNeighbors(algorithm='brute').kneighbors`` (and faiss ``IndexFlatL2`` when
    importable).

Everything runs in one process with seeded data; times are medians over
``--repeats`` runs (one run for the largest sizes). Each anchor's result is checked
against ours through the sorted neighbour distances.

Usage::

    python benchmarks/bench_knn.py            # 3-D 1e5, 1e6; 128-D 1e4, 1e5
    python benchmarks/bench_knn.py --quick    # 3-D 1e5; 128-D 1e4
    python benchmarks/bench_knn.py --sizes 200000 --hd-sizes 20000 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from graphssl import _knn_backends
from graphssl.neighbors import knn

Result = tuple[np.ndarray, np.ndarray]  # (index [N, k], dist [N, k])


def machine_info() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    lines = [
        f"CPU: {model}; {os.cpu_count()} logical cores; torch threads "
        f"{torch.get_num_threads()}; load average at start {load[0]}",
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}",
        "device: cpu"
        + (" (CUDA present, not used)" if torch.cuda.is_available() else ""),
    ]
    return "\n".join(lines)


def timed(fn: Callable[[], Result], repeats: int) -> tuple[float, Result]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    assert out is not None
    return statistics.median(times), out


def dist_gap(ours: Result, other: Result) -> float:
    """Largest relative difference between the two sorted distance matrices."""
    a, b = ours[1].astype(np.float64), other[1].astype(np.float64)
    return float(np.max(np.abs(a - b)) / max(1e-12, float(np.max(b))))


# ------------------------------------------------------------------- contenders
def ours(x: np.ndarray, k: int, morton: bool = True) -> Callable[[], Result]:
    xt = torch.from_numpy(x)

    def run() -> Result:
        saved = _knn_backends.MORTON_MIN_POINTS
        if not morton:  # ablation: the k-d tree path without the Morton sort
            _knn_backends.MORTON_MIN_POINTS = sys.maxsize
        try:
            idx, dist = knn(xt, k)
        finally:
            _knn_backends.MORTON_MIN_POINTS = saved
        return idx.numpy(), dist.numpy()

    return run


def ckdtree(x: np.ndarray, k: int) -> Callable[[], Result]:
    from scipy.spatial import cKDTree

    def run() -> Result:
        d, i = cKDTree(x).query(x, k + 1, workers=-1)
        return i[:, 1:], d[:, 1:]

    return run


def open3d_nns(x: np.ndarray, k: int) -> Callable[[], Result] | None:
    try:
        import open3d as o3d
    except (ImportError, OSError):
        return None

    def run() -> Result:
        pts = o3d.core.Tensor.from_numpy(x)
        nns = o3d.core.nns.NearestNeighborSearch(pts)
        nns.knn_index()
        i, d2 = nns.knn_search(pts, k + 1)
        return i.numpy()[:, 1:], np.sqrt(d2.numpy()[:, 1:])

    return run


def sklearn_brute(x: np.ndarray, k: int) -> Callable[[], Result] | None:
    try:
        from sklearn.neighbors import NearestNeighbors
    except ImportError:
        return None

    def run() -> Result:
        nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(x)
        d, i = nn.kneighbors()  # no query: each point's own entry is left out
        return i, d

    return run


def faiss_flat(x: np.ndarray, k: int) -> Callable[[], Result] | None:
    try:
        import faiss  # type: ignore[import-not-found]
    except ImportError:
        return None

    def run() -> Result:
        index = faiss.IndexFlatL2(x.shape[1])
        index.add(x)
        d2, i = index.search(x, k + 1)
        return i[:, 1:], np.sqrt(np.maximum(d2[:, 1:], 0))

    return run


# ------------------------------------------------------------------------- main
def bench(
    task: str, x: np.ndarray, k: int, anchors: dict[str, Any], repeats: int
) -> list[str]:
    n = x.shape[0]
    warm = x[: min(n, 2000)]  # first calls pay for imports and thread pools
    ours(warm, k)()
    t_ours, r_ours = timed(ours(x, k), repeats)
    measured = {}
    for name, make in anchors.items():
        fn = make(x, k)
        if fn is None:
            print(f"  {name}: not installed, skipped")
            continue
        make(warm, k)()
        t, r = timed(fn, repeats)
        gap = dist_gap(r_ours, r)
        ok = gap <= 1e-5
        print(
            f"  check {task} N={n:,} vs {name}: max relative |Δdist| = {gap:.1e} "
            f"-> {'OK' if ok else 'MISMATCH'}"
        )
        measured[name] = (t, ok)
    if x.shape[1] <= 3 and n >= _knn_backends.MORTON_MIN_POINTS:
        t_plain, _ = timed(ours(x, k, morton=False), repeats)
        print(
            f"  Morton ablation {task} N={n:,}: ours {t_ours:.3f} s with the sort, "
            f"{t_plain:.3f} s without ({t_plain / t_ours:.2f}x)"
        )
    fastest = min(t for t, _ in measured.values())
    rows = []
    for name, (t, ok) in measured.items():
        rows.append(
            f"| {task} | {n:,} | {t_ours:.3f} | {name} | {t:.3f} | {t_ours / t:.2f} "
            f"| {t_ours / fastest:.2f} | {'equal' if ok else 'DIFFERENT'} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=str, default="100000,1000000", help="3-D N")
    parser.add_argument("--hd-sizes", type=str, default="10000,100000", help="128-D N")
    parser.add_argument("--quick", action="store_true", help="3-D 1e5 and 128-D 1e4")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    hd_sizes = [int(float(s)) for s in args.hd_sizes.split(",") if s]
    if args.quick:
        sizes, hd_sizes = [100_000], [10_000]
    print(machine_info())
    rng = np.random.default_rng(0)
    rows = [
        "| task | N | ours (s) | anchor | anchor (s) | ours/anchor | ours/fastest "
        "| result |",
        "|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for n in sizes:
        x = rng.random((n, 3), dtype=np.float32)
        reps = 1 if n >= 1_000_000 else args.repeats
        anchors = {"scipy cKDTree": ckdtree, "open3d nns": open3d_nns}
        rows += bench("3-D k=16", x, 16, anchors, reps)
    for n in hd_sizes:
        x = rng.standard_normal((n, 128), dtype=np.float32)
        reps = 1 if n >= 100_000 else args.repeats
        anchors = {"sklearn brute": sklearn_brute, "faiss IndexFlatL2": faiss_flat}
        rows += bench("128-D k=10", x, 10, anchors, reps)
    print()
    print("\n".join(rows))
    if hasattr(os, "getloadavg"):
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
