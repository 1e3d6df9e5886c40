"""Helpers of ``graphssl pointcloud``: scene folders, clicks files and outputs."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor

from pointcloud.io import FORMATS, write_cloud
from pointcloud.scene import Scene

__all__ = ["clicks_for", "list_scenes", "scene_clicks", "write_outputs"]

_CLICK_SUFFIXES = (".clicks.txt", ".clicks.json")


def list_scenes(folder: Path) -> list[Path]:
    """Point-cloud files of ``folder`` (sorted), clicks files left out."""
    if not folder.is_dir():
        raise SystemExit(f"error: {folder} is not a folder")
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in FORMATS and ".clicks." not in p.name
    )
    if not files:
        raise SystemExit(
            f"error: no point-cloud files ({', '.join(FORMATS)}) in {folder}"
        )
    return files


def clicks_for(scene_path: Path) -> Path | None:
    """``<stem>.clicks.txt`` or ``<stem>.clicks.json`` next to a scene, if present."""
    for suffix in _CLICK_SUFFIXES:
        p = scene_path.with_name(scene_path.stem + suffix)
        if p.exists():
            return p
    return None


def scene_clicks(scene: Scene, path: Path | None) -> tuple[Tensor, Tensor] | None:
    """Clicks of a scene: from ``path``, else ``None`` (simulated one per instance).

    A labelled scene without instance ids gets one simulated click per class
    (every class treated as one instance), with a warning.
    """
    from pointcloud.clicks import read_clicks

    if path is not None:
        names = scene.class_names or None
        return read_clicks(path, class_names=names)
    if scene.labels is None:
        raise SystemExit(
            f"error: scene {scene.name!r} has neither a clicks file nor labels to "
            "simulate clicks from"
        )
    if scene.instances is None:
        warnings.warn(
            f"scene {scene.name!r} has no instance ids: one click per class",
            UserWarning,
            stacklevel=2,
        )
        from pointcloud.clicks import one_click_per_instance

        return one_click_per_instance(scene.labels.clone(), scene.labels)
    return None


def write_outputs(
    scene: Scene,
    pred: Tensor,
    clicks: tuple[Tensor, Tensor] | None,
    num_classes: int,
    *,
    ply: Path | None,
    png: Path | None,
) -> list[Path]:
    """Coloured prediction cloud and a ground truth / clicks / prediction picture."""
    from pointcloud.render import palette, render_views

    out: list[Path] = []
    colors = palette(max(num_classes, 1))
    if ply is not None:
        ply.parent.mkdir(parents=True, exist_ok=True)
        shown = Scene(
            scene.points,
            colors=colors[pred.cpu()].to(scene.device),
            labels=pred.to(scene.device),
            class_names=scene.class_names,
            name=scene.name,
        )
        write_cloud(ply, shown)
        out.append(ply)
    if png is not None:
        png.parent.mkdir(parents=True, exist_ok=True)
        panels: list[tuple[str, Tensor]] = []
        if scene.colors is not None:
            panels.append(("input colours", scene.colors))
        if scene.labels is not None:
            panels.append(("ground truth", scene.labels))
        if clicks is not None:
            marks = torch.full((scene.num_points,), -1, dtype=torch.long)
            marks[clicks[0].cpu()] = clicks[1].cpu()
            panels.append((f"{clicks[0].numel()} clicks", marks))
        panels.append(("prediction", pred.cpu()))
        names = list(scene.class_names) or [f"class {i}" for i in range(num_classes)]
        render_views(scene.points.cpu(), panels, png, colors, class_names=names)
        out.append(png)
    return out
