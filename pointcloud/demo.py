"""``graphssl demo``: segment a synthetic room from one click per object.

The demo builds a furnished room (:func:`~pointcloud.synthetic.make_indoor_scene`),
keeps the label of one random point per object (the "one thing one click" setting),
links every point to its ``k`` nearest neighbours in ``[xyz, λ·rgb]`` and spreads the
clicked labels over that graph (:func:`graphssl.propagation.label_spreading`). It
prints each step with its timing, then accuracy and mIoU over all points (undecided
points count as errors), and writes a picture and the predicted cloud.

Example:
    >>> from pointcloud.demo import run_demo
    >>> result = run_demo(num_points=5_000, num_objects=6, out_dir=None, log=None)
    >>> result.num_clicks == result.num_instances
    True
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from graphssl._validation import check_real
from graphssl.construction import knn_graph
from graphssl.exceptions import UnreachedNodesWarning
from graphssl.metrics import accuracy, mean_iou, per_class_iou
from graphssl.morton import morton_order
from graphssl.propagation import PropagationResult, label_spreading
from pointcloud.io import write_ply
from pointcloud.render import facing_camera, palette, render_views
from pointcloud.synthetic import IndoorScene, make_indoor_scene, one_click_per_object

__all__ = ["COLOR_WEIGHT", "DemoResult", "register", "run_demo"]

#: λ in the kNN features ``[xyz, λ·rgb]`` (metres against colour units in [0, 1]).
#: At 100k points it stretches neighbourhoods from about 5 cm (xyz only) to about
#: 8 cm: edges stay local while a colour step of 0.1 weighs as much as 40 cm.
COLOR_WEIGHT = 4.0


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` measured.

    Attributes:
        accuracy (float): fraction of all points predicted right (undecided: wrong).
        miou (float): mean IoU over the classes present in the scene or prediction.
        per_class_iou (dict[str, float]): IoU of every class present.
        num_points (int): points in the scene.
        num_instances (int): objects, floor and walls included.
        num_clicks (int): labelled points given to the propagation.
        num_edges (int): directed edges of the kNN graph.
        n_iter (int): solver iterations.
        converged (bool): whether the solver reached its tolerance.
        num_unreached (int): points no label reached (predicted ``-1``).
        seconds (float): wall time of the whole run.
        timings (dict[str, float]): seconds per step.
        prediction (Tensor): ``[P]`` int64 predicted class per point, ``-1`` undecided.
        files (list[Path]): files written.
    """

    accuracy: float
    miou: float
    per_class_iou: dict[str, float]
    num_points: int
    num_instances: int
    num_clicks: int
    num_edges: int
    n_iter: int
    converged: bool
    num_unreached: int
    seconds: float
    timings: dict[str, float]
    prediction: Tensor
    files: list[Path]


class _Clock:
    """Times the steps of the demo and narrates them through ``log``."""

    def __init__(self, log: Callable[[str], None] | None) -> None:
        self.log = log
        self.start = self.last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def say(self, text: str) -> None:
        if self.log is not None:
            self.log(text)

    def step(self, name: str, text: str) -> None:
        now = time.perf_counter()
        self.timings[name] = now - self.last
        self.last = now
        self.say(f"  {text}  [{self.timings[name]:.2f} s]")


def _outputs(
    scene: IndoorScene, clicks: Tensor, pred: Tensor, out_dir: Path, seed: int
) -> list[Path]:
    """Write ``demo.png`` (five views) and ``demo_prediction.ply`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    colors = palette(len(scene.class_names))
    ply = out_dir / "demo_prediction.ply"
    grey = torch.tensor([[0.5, 0.5, 0.5]])  # row -1: undecided points
    write_ply(ply, scene.points, torch.cat([colors, grey])[pred], labels=pred)
    # Error view: right in light grey, wrong in red, unreached in orange.
    status = (pred != scene.labels).long() + (pred < 0).long()
    errors = torch.tensor([[0.8, 0.8, 0.8], [0.85, 0.1, 0.1], [1.0, 0.6, 0.0]])[status]
    is_wall = scene.labels == scene.class_names.index("wall")
    png = out_dir / "demo.png"
    panels = [
        ("input colours", scene.colors),
        ("ground truth", scene.labels),
        (f"{int((clicks >= 0).sum())} clicks (one per object)", clicks),
        ("prediction", pred),
        ("errors (red), unreached (orange)", errors),
    ]
    hide = facing_camera(scene.points, scene.instances, is_wall)  # the near walls
    render_views(
        scene.points, panels, png, colors, class_names=scene.class_names, hide=hide,
        seed=seed,
    )  # fmt: skip
    return [png, ply]


def run_demo(
    *,
    num_points: int = 100_000,
    num_objects: int = 20,
    k: int = 10,
    seed: int = 0,
    device: str | torch.device = "cpu",
    out_dir: str | Path | None = "graphssl-demo",
    color_weight: float = COLOR_WEIGHT,
    alpha: float = 0.99,
    log: Callable[[str], None] | None = print,
) -> DemoResult:
    """Segment a synthetic room from one click per object by label spreading.

    Args:
        num_points (int, optional): points in the scene. (default: ``100_000``)
        num_objects (int, optional): pieces of furniture. (default: ``20``)
        k (int, optional): neighbours per point in the graph. (default: ``10``)
        seed (int, optional): seed of the scene and of the clicks. (default: ``0``)
        device (str or torch.device, optional): where the graph is built and solved.
            (default: ``"cpu"``)
        out_dir (str or Path, optional): folder for ``demo.png`` and
            ``demo_prediction.ply``; ``None`` writes nothing.
            (default: ``"graphssl-demo"``)
        color_weight (float, optional): λ in the features ``[xyz, λ·rgb]``; ``0``
            uses the geometry only. (default: :data:`COLOR_WEIGHT`)
        alpha (float, optional): spreading factor of label spreading.
            (default: ``0.99``)
        log (callable, optional): receives the narration line by line; ``None`` is
            silent. (default: ``print``)

    Returns:
        DemoResult: metrics over all points, sizes and timings.
    """
    color_weight = check_real(color_weight, "color_weight", "run_demo", low=0.0)
    dev = torch.device(device)
    clock = _Clock(log)
    clock.say(f"graphssl demo: one click per object in a synthetic room (device {dev})")
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

    # Sorting the points along a space-filling curve keeps graph neighbours close in
    # memory, which makes every sparse product of the solver cache friendly.
    order = morton_order(scene.points)
    x = torch.cat([scene.points, color_weight * scene.colors], 1)[order].to(dev)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # reported in the narration instead
        graph = knn_graph(x, k)
        clock.step(
            "graph",
            f"[3/5] kNN graph on [xyz, {color_weight:g}·rgb], k={k}: "
            f"{graph.num_edges:,} edges, Gaussian weights (median σ)",
        )
        res = label_spreading(
            graph,
            clicks[order].to(dev),
            alpha=alpha,
            num_classes=len(scene.class_names),
        )
    unreached = int((~res.reached).sum())
    clock.step(
        "propagation",
        f"[4/5] label spreading (α={alpha:g}, {res.solver}): "
        f"{res.n_iter} iterations, residual {res.residual:.1e}, "
        f"{unreached:,} points unreached (no click in their graph component)",
    )
    # Unreached points are counted above; other warnings are passed on as notes.
    notes = {str(c.message) for c in caught if c.category is not UnreachedNodesWarning}
    for msg in sorted(notes):
        clock.say(f"        note: {msg}")

    pred = torch.empty_like(scene.labels)
    pred[order] = res.prediction.cpu()
    files = (
        [] if out_dir is None else _outputs(scene, clicks, pred, Path(out_dir), seed)
    )
    clock.step("output", "[5/5] wrote " + (", ".join(map(str, files)) or "no files"))
    return _report(scene, pred, res, (graph.num_edges, n_clicks), files, clock)


def _report(
    scene: IndoorScene,
    pred: Tensor,
    res: PropagationResult,
    sizes: tuple[int, int],
    files: list[Path],
    clock: _Clock,
) -> DemoResult:
    """Compute the metrics over all points, print them, and pack the result.

    ``sizes`` is ``(number of graph edges, number of clicks)``.
    """
    c = len(scene.class_names)
    acc = accuracy(pred, scene.labels)
    miou = mean_iou(pred, scene.labels, c)
    ious = per_class_iou(pred, scene.labels, c).tolist()
    per_class = {n: v for n, v in zip(scene.class_names, ious, strict=True) if v == v}
    seconds = time.perf_counter() - clock.start
    clock.say(
        f"overall accuracy {100 * acc:.1f} %, mIoU {100 * miou:.1f} % over all "
        f"{len(pred):,} points (unreached points count as errors)"
    )
    clock.say(
        "per-class IoU: "
        + ", ".join(f"{n} {100 * v:.1f}" for n, v in per_class.items())
    )
    clock.say(f"done in {seconds:.1f} s")
    return DemoResult(
        accuracy=acc,
        miou=miou,
        per_class_iou=per_class,
        num_points=len(pred),
        num_instances=scene.num_instances,
        num_edges=sizes[0],
        num_clicks=sizes[1],
        n_iter=res.n_iter,
        converged=res.converged,
        num_unreached=int((~res.reached).sum()),
        seconds=seconds,
        timings=dict(clock.timings),
        prediction=pred,
        files=files,
    )


def _main(args: argparse.Namespace) -> int:
    from graphssl.cli import resolve_device

    run_demo(
        num_points=args.points,
        num_objects=args.objects,
        k=args.k,
        seed=args.seed,
        device=resolve_device(args.device),
        out_dir=args.out,
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
        "object, spread the labels over a kNN graph of [xyz, λ·rgb], print accuracy "
        "and mIoU, and write demo.png and demo_prediction.ply.",
    )
    add = p.add_argument
    add("--points", type=int, default=100_000, help="scene size (default: 100000)")
    add("--objects", type=int, default=20, help="pieces of furniture (default: 20)")
    add("--k", type=int, default=10, help="neighbours per point (default: 10)")
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
        help=f"λ in [xyz, λ·rgb], 0: geometry only (default: {COLOR_WEIGHT:g})",
    )
    add("--alpha", type=float, default=0.99, help="spreading factor (default: 0.99)")
    p.set_defaults(func=_main)
