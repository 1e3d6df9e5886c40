"""Narration and output files of ``graphssl demo`` (:mod:`pointcloud.demo`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from pointcloud.io import write_ply
from pointcloud.render import facing_camera, palette, render_views
from pointcloud.synthetic import IndoorScene

__all__ = ["Clock", "write_demo_files"]


class Clock:
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


def write_demo_files(
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
