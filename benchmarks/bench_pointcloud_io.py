"""Point-cloud I/O: graphssl's readers vs Open3D on the same 1M-point files.

Generates ``make_indoor_scene(N, seed=0)`` (colours, normals, labels, instances), writes
it in every format with :func:`pointcloud.io.write_cloud`, reads it back with
:func:`pointcloud.io.read_cloud` and, for PLY and PCD, with
``open3d.io.read_point_cloud`` (which drops the labels), and prints the times and the
ratio ours / Open3D per file (same process, same file, best of ``--repeat``).

    python benchmarks/bench_pointcloud_io.py [--points 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine

from pointcloud.io import read_cloud, write_cloud
from pointcloud.synthetic import make_indoor_scene

FILES = [
    ("binary PLY", "cloud.ply", False),
    ("ASCII PLY", "cloud_ascii.ply", True),
    ("binary PCD", "cloud.pcd", False),
    ("ASCII PCD", "cloud_ascii.pcd", True),
    ("XYZ", "cloud.xyz", True),
    ("NPZ", "cloud.npz", False),
]


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import open3d as o3d

    print(machine())
    t = time.perf_counter()
    scene = make_indoor_scene(args.points, seed=0).to_scene()
    print(f"make_indoor_scene({args.points}): {time.perf_counter() - t:.2f} s\n")
    print("| file | MB | write s | read s | Open3D read s | ours / Open3D |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, name, ascii_ in FILES:
            path = Path(tmp) / name
            w = best(lambda p=path, a=ascii_: write_cloud(p, scene, ascii=a), 1)
            r = best(lambda p=path: read_cloud(p), args.repeat)
            o3d_s, ratio = "—", "—"
            if name.endswith((".ply", ".pcd")):
                o = best(lambda p=path: o3d.io.read_point_cloud(str(p)), args.repeat)
                o3d_s, ratio = f"{o:.2f}", f"{r / o:.2f}"
            mb = path.stat().st_size / 1e6
            print(f"| {label} | {mb:.1f} | {w:.2f} | {r:.2f} | {o3d_s} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
