"""``graphssl demo``: segment a synthetic room from one click per object.

The demo builds a furnished room (:func:`~pointcloud.synthetic.make_indoor_scene`),
keeps the label of one random point per object (the "one thing one click" setting)
and segments the room with One Thing One Click, trained on this room and a few more
clicked synthetic rooms
(:class:`~pointcloud.otoc.OneThingOneClick`): super-voxels, clicked super-voxels as
labels, rounds of backbone + relation-head training, fusion and mean-field
propagation on the super-voxel graph, confident super-voxels as new pseudo-labels.
``method="propagation"`` instead spreads the clicks over a kNN graph of the points
(no training, the baseline). It prints each step with its timing, then accuracy and
mIoU over all points (undecided points count as errors), and writes a picture and the
predicted cloud.

Example:
    >>> from pointcloud.demo import run_demo
    >>> result = run_demo(num_points=3_000, num_objects=3, rounds=1, epochs=2,
    ...                   out_dir=None, log=None)
    >>> result.num_clicks == result.num_instances
    True
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from graphssl._validation import check_in, check_int, check_real
from graphssl.metrics import accuracy, mean_iou, per_class_iou
from pointcloud._otoc_demo_out import Clock, write_demo_files
from pointcloud._otoc_demo_spread import COLOR_WEIGHT, spread_clicks
from pointcloud._otoc_demo_train import otoc_on_rooms
from pointcloud.synthetic import (
    IndoorScene,
    make_indoor_scene,
    one_click_per_object,
)

__all__ = ["COLOR_WEIGHT", "DemoResult", "register", "run_demo"]


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` measured.

    Attributes:
        method (str): ``"otoc"`` or ``"propagation"``.
        accuracy (float): fraction of all points predicted right (undecided: wrong).
        miou (float): mean IoU over the classes present in the scene or prediction.
        per_class_iou (dict[str, float]): IoU of every class present.
        num_points (int): points in the scene.
        num_instances (int): objects, floor and walls included.
        num_clicks (int): labelled points given to the method.
        num_unreached (int): points predicted ``-1`` (propagation only).
        seconds (float): wall time of the whole run.
        timings (dict[str, float]): seconds per step.
        prediction (Tensor): ``[P]`` int64 predicted class per point, ``-1`` undecided.
        files (list[Path]): files written.
        history (list): the OTOC round logs (empty for propagation).
    """

    method: str
    accuracy: float
    miou: float
    per_class_iou: dict[str, float]
    num_points: int
    num_instances: int
    num_clicks: int
    num_unreached: int
    seconds: float
    timings: dict[str, float]
    prediction: Tensor
    files: list[Path]
    history: list[Any] = field(default_factory=list)


def run_demo(
    *,
    method: str = "otoc",
    num_points: int = 10_000,
    num_objects: int = 8,
    seed: int = 0,
    device: str | torch.device = "cpu",
    out_dir: str | Path | None = "graphssl-demo",
    rounds: int = 3,
    epochs: int = 30,
    extra_rooms: int = 3,
    extra_points: int = 8_000,
    k: int = 10,
    color_weight: float = COLOR_WEIGHT,
    alpha: float = 0.99,
    log: Callable[[str], None] | None = print,
) -> DemoResult:
    """Segment a synthetic room from one click per object.

    Args:
        method (str, optional): ``"otoc"`` (One Thing One Click) or
            ``"propagation"`` (kNN label spreading). (default: ``"otoc"``)
        num_points (int, optional): points in the scene. (default: ``10_000``)
        num_objects (int, optional): pieces of furniture. (default: ``8``)
        seed (int, optional): seed of the scene, the clicks and training.
            (default: ``0``)
        device (str or torch.device, optional): where to compute. (default: ``"cpu"``)
        out_dir (str or Path, optional): folder for ``demo.png`` and
            ``demo_prediction.ply``; ``None`` writes nothing.
            (default: ``"graphssl-demo"``)
        rounds (int, optional): OTOC self-training rounds. (default: ``3``)
        epochs (int, optional): OTOC passes over the training rooms in round 1
            (later rounds: half). (default: ``30``)
        extra_rooms (int, optional): OTOC: more seeded synthetic rooms, one click per
            object, trained on together with the scene. (default: ``3``)
        extra_points (int, optional): OTOC: points per extra room. (default: ``8_000``)
        k (int, optional): propagation: neighbours per point. (default: ``10``)
        color_weight (float, optional): propagation: λ in ``[xyz, λ·rgb]``.
            (default: :data:`COLOR_WEIGHT`)
        alpha (float, optional): propagation: spreading factor. (default: ``0.99``)
        log (callable, optional): receives the narration line by line; ``None`` is
            silent. (default: ``print``)

    Returns:
        DemoResult: metrics over all points, sizes and timings.
    """
    method = check_in(method, "method", "run_demo", ("otoc", "propagation"))
    color_weight = check_real(color_weight, "color_weight", "run_demo", low=0.0)
    extra_rooms = check_int(extra_rooms, "extra_rooms", "run_demo", low=0)
    extra_points = check_int(extra_points, "extra_points", "run_demo", low=100)
    dev = torch.device(device)
    clock = Clock(log)
    clock.say(
        f"graphssl demo: one click per object in a synthetic room ({method}, {dev})"
    )
    scene = make_indoor_scene(num_points, num_objects=num_objects, seed=seed)
    w, d, _ = scene.room_size
    clock.step(
        "scene",
        f"[1/5] scene: {num_points:,} points, {scene.num_instances} "
        f"instances (floor, 4 walls, {num_objects} objects), {w:.1f} x {d:.1f} m",
    )
    clicks = one_click_per_object(scene.instances, scene.labels, seed=seed)
    n_clicks = int((clicks >= 0).sum())
    clock.step(
        "clicks",
        f"[2/5] clicks: {n_clicks} labelled points "
        f"({100 * n_clicks / num_points:.3f} % of the scene)",
    )
    history: list[Any] = []
    if method == "otoc":
        pred, history = otoc_on_rooms(
            scene, clicks, dev, clock, rounds, epochs, seed, extra_rooms, extra_points
        )
    else:
        pred = spread_clicks(
            scene.points.to(dev), scene.colors.to(dev), clicks.to(dev),
            len(scene.class_names), k=k, alpha=alpha, color_weight=color_weight,
            step=clock.step,
        ).cpu()  # fmt: skip
    files = (
        []
        if out_dir is None
        else write_demo_files(scene, clicks, pred, Path(out_dir), seed)
    )
    clock.step("output", "[5/5] wrote " + (", ".join(map(str, files)) or "no files"))
    return _report(scene, pred, method, n_clicks, files, clock, history)


def _report(
    scene: IndoorScene, pred: Tensor, method: str, n_clicks: int, files: list[Path],
    clock: Clock, history: list[Any],
) -> DemoResult:  # fmt: skip
    """Compute the metrics over all points, print them, and pack the result."""
    c = len(scene.class_names)
    acc = accuracy(pred, scene.labels)
    miou = mean_iou(pred, scene.labels, c)
    ious = per_class_iou(pred, scene.labels, c).tolist()
    per_class = {n: v for n, v in zip(scene.class_names, ious, strict=True) if v == v}
    seconds = time.perf_counter() - clock.start
    clock.say(
        f"overall accuracy {100 * acc:.1f} %, mIoU {100 * miou:.1f} % over all "
        f"{len(pred):,} points (undecided points count as errors)"
    )
    clock.say(
        "per-class IoU: "
        + ", ".join(f"{n} {100 * v:.1f}" for n, v in per_class.items())
    )
    clock.say(f"done in {seconds:.1f} s")
    return DemoResult(
        method=method, accuracy=acc, miou=miou, per_class_iou=per_class,
        num_points=len(pred), num_instances=scene.num_instances, num_clicks=n_clicks,
        num_unreached=int((pred < 0).sum()), seconds=seconds,
        timings=dict(clock.timings), prediction=pred, files=files, history=history,
    )  # fmt: skip


def _main(args: argparse.Namespace) -> int:
    from graphssl.cli import resolve_device

    run_demo(
        method=args.method,
        num_points=args.points,
        num_objects=args.objects,
        seed=args.seed,
        device=resolve_device(args.device),
        out_dir=args.out,
        rounds=args.rounds,
        epochs=args.epochs,
        extra_rooms=args.extra_rooms,
        extra_points=args.extra_points,
        k=args.k,
        color_weight=args.color_weight,
        alpha=args.alpha,
    )
    return 0


def register(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    parents: list[argparse.ArgumentParser],
) -> None:
    """Add the ``demo`` sub-command to the ``graphssl`` command line.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers``.
        parents: parsers whose options the command shares (``--device``, ``--seed``).
    """
    p = subparsers.add_parser(
        "demo",
        parents=parents,
        help="one-click segmentation of a synthetic room",
        description="Build a synthetic furnished room, keep one labelled point per "
        "object, segment it with One Thing One Click (or kNN label spreading), print "
        "accuracy and mIoU, and write demo.png and demo_prediction.ply.",
    )
    add = p.add_argument
    add("--method", choices=["otoc", "propagation"], default="otoc",
        help="otoc: One Thing One Click; propagation: kNN label spreading (default: otoc)")  # fmt: skip
    add("--points", type=int, default=10_000, help="scene size (default: 10000)")
    add("--objects", type=int, default=8, help="pieces of furniture (default: 8)")
    add("--rounds", type=int, default=3, help="OTOC rounds (default: 3)")
    add("--epochs", type=int, default=30,
        help="OTOC passes over the rooms in round 1 (default: 30)")  # fmt: skip
    add("--extra-rooms", type=int, default=3,
        help="OTOC: more clicked synthetic rooms to train on (default: 3)")  # fmt: skip
    add("--extra-points", type=int, default=8_000,
        help="OTOC: points per extra room (default: 8000)")  # fmt: skip
    add("--k", type=int, default=10, help="propagation: neighbours (default: 10)")
    add(
        "--out",
        type=Path,
        default=Path("graphssl-demo"),
        help="output folder (default: graphssl-demo)",
    )
    add(
        "--color-weight",
        type=float,
        default=COLOR_WEIGHT,
        help=f"propagation: λ in [xyz, λ·rgb] (default: {COLOR_WEIGHT:g})",
    )
    add(
        "--alpha",
        type=float,
        default=0.99,
        help="propagation: spreading factor (default: 0.99)",
    )
    p.set_defaults(func=_main)
