"""Input side of :class:`~pointcloud.otoc.OneThingOneClick`: scenes, clicks, super-voxels.

Everything here is computed once per scene and reused by every round: the network
input, the voxel pyramid, the super-voxels and the clicked super-voxel labels.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from graphssl._validation import param_error
from pointcloud.backbone import Pyramid, build_pyramid, point_features
from pointcloud.scene import Scene

__all__ = ["ClicksLike", "Prepared", "as_scene", "prepare_scene", "split_clicks"]

#: Per-scene clicks: a ``[P]`` tensor (class of each clicked point, ``-1`` elsewhere),
#: a pair ``(point_index [K], class [K])``, or ``None`` (one click per instance is
#: simulated from the scene's ground truth).
ClicksLike = Tensor | tuple[Tensor, Tensor] | None


@dataclass
class Prepared:
    """One scene ready for training and prediction.

    Attributes:
        scene (Scene): the validated scene.
        x (Tensor): ``[P, F_in]`` network input (:func:`point_features`).
        normals (Tensor): ``[P, 3]`` normals (given or estimated).
        pyramid (Pyramid): voxel levels of the backbone.
        segments (Tensor): ``[P]`` super-voxel of every point, ids ``0..S-1``.
        num_segments (int): ``S``.
        clicked (Tensor): ``[S]`` int64 class of clicked super-voxels, ``-1`` elsewhere.
        sv_truth (Tensor or None): ``[S]`` majority ground-truth class per
            super-voxel (for logging pseudo-label precision only), ``-1`` if unknown.
    """

    scene: Scene
    x: Tensor
    normals: Tensor
    pyramid: Pyramid
    segments: Tensor
    num_segments: int
    clicked: Tensor
    sv_truth: Tensor | None


def as_scene(obj: Any, owner: str) -> Scene:
    """A :class:`Scene` from a Scene or any object with the same attributes."""
    if isinstance(obj, Scene):
        return obj
    if not hasattr(obj, "points"):
        raise param_error(
            "scenes", owner, "Scene objects", type(obj).__name__, TypeError
        )
    fields = ("colors", "normals", "labels", "instances", "segments")
    kw = {f: getattr(obj, f, None) for f in fields}
    return Scene(
        obj.points,
        **kw,
        class_names=tuple(getattr(obj, "class_names", ())),
        name=str(getattr(obj, "name", "")),
    )


def split_clicks(
    clicks: ClicksLike, scene: Scene, num_classes: int, seed: int, owner: str
) -> tuple[Tensor, Tensor]:
    """``(point_index [K], class [K])`` of a scene's clicks, validated."""
    from pointcloud.clicks import one_click_per_instance, validate_clicks

    p = scene.num_points
    if clicks is None:
        if scene.instances is None or scene.labels is None:
            raise param_error(
                "clicks", owner, "given for scenes without instances and labels",
                f"None for scene {scene.name or '?'}",
            )  # fmt: skip
        idx, cls = one_click_per_instance(scene.instances, scene.labels, seed=seed)
    elif isinstance(clicks, Tensor):
        if clicks.dim() != 1 or clicks.numel() != p or clicks.is_floating_point():
            allowed = f"an integer tensor [{p}] (-1: not clicked) or (index, class)"
            raise param_error("clicks", owner, allowed, list(clicks.shape))
        idx = torch.nonzero(clicks >= 0).squeeze(1)
        cls = clicks[idx].long()
        if bool((clicks < -1).any()):
            raise param_error("clicks", owner, "-1 or a class index", int(clicks.min()))
    elif isinstance(clicks, tuple) and len(clicks) == 2:
        idx, cls = clicks
    else:
        raise param_error(
            "clicks",
            owner,
            "a tensor or (index, class)",
            type(clicks).__name__,
            TypeError,
        )
    idx, cls = validate_clicks(
        idx.to(scene.device), cls.to(scene.device), p, num_classes
    )
    return idx, cls


def _normals(scene: Scene) -> Tensor:
    from pointcloud.normals import estimate_normals

    if scene.normals is not None:
        return scene.normals
    if scene.num_points < 3:  # no plane to fit: no orientation information
        return torch.zeros_like(scene.points)
    return estimate_normals(scene.points)


def _segments(scene: Scene, normals: Tensor, vccs: dict[str, Any]) -> Tensor:
    from pointcloud.supervoxels import relabel_contiguous, supervoxels

    if scene.segments is not None and bool((scene.segments >= 0).all()):
        return relabel_contiguous(scene.segments)
    if scene.segments is not None:
        warnings.warn(
            f"scene {scene.name or '?'}: pre-computed segments leave points "
            "unassigned; computing super-voxels instead",
            UserWarning,
            stacklevel=4,
        )
    return supervoxels(scene.points, scene.colors, normals, **vccs)


def _majority(segments: Tensor, labels: Tensor, s: int, c: int) -> Tensor:
    keep = labels >= 0
    counts = torch.zeros(s * c, dtype=torch.long, device=labels.device)
    counts.index_add_(
        0, segments[keep] * c + labels[keep], torch.ones_like(labels[keep])
    )
    counts = counts.view(s, c)
    best = counts.argmax(1)
    return torch.where(counts.sum(1) > 0, best, -1)


def prepare_scene(
    scene: Scene,
    idx: Tensor,
    cls: Tensor,
    *,
    num_classes: int,
    use_color: bool,
    voxel_sizes: Sequence[float],
    k: int,
    vccs: dict[str, Any],
) -> Prepared:
    """Features, pyramid, super-voxels and clicked super-voxel labels of one scene."""
    from pointcloud.clicks import click_labels

    normals = _normals(scene)
    x = point_features(scene.points, scene.colors if use_color else None, normals)
    pyramid = build_pyramid(scene.points, voxel_sizes, k)
    segments = _segments(scene, normals, vccs).to(scene.device)
    s = int(segments.max()) + 1
    if idx.numel():
        clicked = click_labels(segments, idx, cls, s)
    else:  # prediction without clicks
        clicked = torch.full((s,), -1, dtype=torch.long, device=segments.device)
    truth = None
    if scene.labels is not None:
        truth = _majority(segments, scene.labels, s, num_classes)
    return Prepared(scene, x, normals, pyramid, segments, s, clicked, truth)
