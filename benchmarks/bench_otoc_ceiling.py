"""How far can a one-class-per-super-voxel prediction go? The super-voxel oracle.

One Thing One Click's refined prediction gives every point its super-voxel's class, so
on a room it can never beat the *oracle* that labels each super-voxel with its true
majority class. This prints that oracle's mIoU, per-class IoU and purity (share of
points that agree with their super-voxel's majority) for the super-voxel settings of
``bench_otoc.py``: the training ones and the prediction ones (selected on the
validation rooms), on the validation rooms (seed 2) and, as a diagnosis only, on the
test rooms (seed 1). Super-voxels are built exactly as the method builds them
(:func:`pointcloud._otoc_data.prepare_scene`: estimated normals, then VCCS).

    OMP_NUM_THREADS=1 python benchmarks/bench_otoc_ceiling.py
"""

from __future__ import annotations

import argparse

import torch
from _machine import machine  # benchmarks/ is on sys.path when run as a script
from bench_otoc import PREDICT_SV

from graphssl.metrics import mean_iou
from pointcloud._otoc_data import prepare_scene
from pointcloud.synthetic import make_scene_set

TRAIN_SV = {"voxel_size": 0.08, "seed_resolution": 0.4}


def oracle(seed: int, vccs: dict[str, float], points: int) -> str:
    """Oracle mIoU, purity, super-voxel count and per-class IoU on 5 rooms."""
    scenes = make_scene_set(5, seed=seed, num_points=points, num_objects=(6, 10))
    c, names = scenes[0].num_classes, scenes[0].class_names
    empty = torch.zeros(0, dtype=torch.long)
    preds, truth, count = [], [], 0
    for s in scenes:
        if s.labels is None:  # synthetic rooms are labelled
            raise RuntimeError(f"room {s.name} has no labels")
        d = prepare_scene(
            s, empty, empty, num_classes=c, use_color=True,
            voxel_sizes=(0.1, 0.3, 0.9), k=8, vccs=vccs,
        )  # fmt: skip
        votes = torch.zeros(d.num_segments, c)
        votes.index_put_(
            (d.segments, s.labels), torch.ones(s.num_points), accumulate=True
        )
        preds.append(votes.argmax(1)[d.segments])
        truth.append(s.labels)
        count += d.num_segments
    p, y = torch.cat(preds), torch.cat(truth)
    per = [
        f"{names[k]} {float(((p == k) & (y == k)).sum() / ((p == k) | (y == k)).sum()):.2f}"
        for k in range(c)
        if bool((y == k).any())
    ]  # fmt: skip
    purity = float((p == y).float().mean())
    return (
        f"oracle mIoU {mean_iou(p, y, c):.3f}, purity {100 * purity:.2f} %, "
        f"{count:,} super-voxels; {', '.join(per)}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=16_000, help="points per room")
    args = p.parse_args()
    print(machine())
    for label, seed in (("validation rooms (seed 2)", 2), ("test rooms (seed 1)", 1)):
        for name, vccs in (("training", TRAIN_SV), ("prediction", PREDICT_SV)):
            print(
                f"{label}, {name} super-voxels {vccs}:\n  {oracle(seed, vccs, args.points)}"
            )


if __name__ == "__main__":
    main()
