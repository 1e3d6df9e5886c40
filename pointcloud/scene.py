"""The labelled point cloud every loader returns and every pipeline step consumes.

A :class:`Scene` holds per-point tensors of one length ``P`` (coordinates, and
optionally colours, normals, semantic labels, instance ids and a pre-computed
over-segmentation) plus the class names and a name. It checks itself when built, so a
scene that exists is consistent: one row per point everywhere, finite coordinates,
colours in ``[0, 1]``, unit-free integer ids with ``-1`` for "none".

Example:
    >>> import torch
    >>> from pointcloud.scene import Scene
    >>> s = Scene(torch.rand(4, 3), labels=torch.tensor([0, 1, -1, 1]),
    ...           class_names=("floor", "wall"), name="toy")
    >>> s.num_points, s.subset(s.labels >= 0).num_points
    (4, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from graphssl._validation import param_error

__all__ = ["FLOAT_FIELDS", "INT_FIELDS", "Scene", "scene_from_dict"]

FLOAT_FIELDS = ("points", "colors", "normals")
INT_FIELDS = ("labels", "instances", "segments")
_SINGULAR = {
    "colors": "colour", "normals": "normal", "labels": "label",
    "instances": "instance", "segments": "segment",
}  # fmt: skip


def _describe(t: object) -> str:
    if isinstance(t, Tensor):
        return f"a {t.dtype} tensor of shape {list(t.shape)}"
    return type(t).__name__


@dataclass(frozen=True, eq=False)  # tensors have no boolean ==: identity equality
class Scene:
    """A point cloud with optional per-point attributes.

    Float tensors are stored as float32 and integer tensors as int64 (other dtypes are
    converted); all tensors live on the device of ``points``.

    Args:
        points (Tensor): ``[P, 3]`` coordinates, ``P >= 1``, finite.
        colors (Tensor, optional): ``[P, 3]`` RGB in ``[0, 1]``.
        normals (Tensor, optional): ``[P, 3]`` surface normals.
        labels (Tensor, optional): ``[P]`` semantic class in ``0..C-1``, ``-1`` for
            ignored or unlabelled points (``C = len(class_names)`` when names are
            given).
        instances (Tensor, optional): ``[P]`` object id, ``-1`` for none.
        segments (Tensor, optional): ``[P]`` id of a pre-computed over-segment (for
            instance ScanNet's shipped mesh segments), ``-1`` for none.
        class_names (tuple[str, ...], optional): name of each class index.
        name (str, optional): a name for messages and file names.

    Raises:
        TypeError: for non-tensors, integer coordinates or float labels.
        ValueError: for an empty cloud, NaN or infinite coordinates, colours outside
            ``[0, 1]``, ids below ``-1``, labels ``>= C`` or a field whose length
            differs from the number of points (e.g. "mismatched label and point
            counts").
    """

    points: Tensor
    colors: Tensor | None = None
    normals: Tensor | None = None
    labels: Tensor | None = None
    instances: Tensor | None = None
    segments: Tensor | None = None
    class_names: tuple[str, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        owner = "Scene"
        pts = self.points
        if not isinstance(pts, Tensor) or not pts.is_floating_point():
            raise param_error(
                "points", owner, "a floating-point tensor", _describe(pts), TypeError
            )
        if pts.dim() != 2 or pts.shape[1] != 3:
            raise param_error(
                "points", owner, "a tensor of shape [P, 3]", _describe(pts)
            )
        if pts.shape[0] == 0:
            raise param_error("points", owner, "a non-empty cloud", "an empty cloud")
        bad = int((~torch.isfinite(pts)).any(1).sum())
        if bad:
            raise param_error(
                "points", owner, "finite coordinates", f"{bad} points with NaN/inf"
            )
        p, dev = pts.shape[0], pts.device
        object.__setattr__(self, "points", pts.float())
        for key in FLOAT_FIELDS[1:] + INT_FIELDS:
            t = getattr(self, key)
            if t is None:
                continue
            want_float = key in FLOAT_FIELDS
            shape = [p, 3] if want_float else [p]
            kind = "a floating-point" if want_float else "an integer"
            if (
                not isinstance(t, Tensor)
                or t.is_floating_point() != want_float
                or t.dtype == torch.bool
                or t.is_complex()
            ):
                raise param_error(key, owner, f"{kind} tensor", _describe(t), TypeError)
            if t.dim() != len(shape) or (want_float and t.shape[1] != 3):
                raise param_error(
                    key, owner, f"a tensor of shape {shape}", _describe(t)
                )
            if t.shape[0] != p:
                raise param_error(
                    key,
                    owner,
                    f"a tensor with one row per point (P = {p})",
                    f"{t.shape[0]} rows: mismatched {_SINGULAR[key]} and point counts",
                )
            t = t.to(dev, torch.float32 if want_float else torch.int64)
            object.__setattr__(self, key, t)
        self._check_values()
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        object.__setattr__(self, "name", str(self.name))

    def _check_values(self) -> None:
        owner = "Scene"
        if self.colors is not None and bool(
            ((self.colors < 0) | (self.colors > 1) | self.colors.isnan()).any()
        ):
            raise param_error("colors", owner, "RGB values in [0, 1]", "values outside")
        if self.normals is not None and not bool(torch.isfinite(self.normals).all()):
            raise param_error("normals", owner, "finite", "NaN or inf values")
        for key in INT_FIELDS:
            t: Tensor | None = getattr(self, key)
            if t is not None and bool((t < -1).any()):
                raise param_error(key, owner, "ids >= -1", int(t.min()))
        c = len(self.class_names)
        if self.labels is not None and c and bool((self.labels >= c).any()):
            allowed = f"-1 or a class in 0..{c - 1} (len(class_names) = {c})"
            raise param_error("labels", owner, allowed, int(self.labels.max()))

    @property
    def num_points(self) -> int:
        """Number of points ``P``."""
        return int(self.points.shape[0])

    @property
    def num_classes(self) -> int:
        """Number of classes ``C`` (``len(class_names)``)."""
        return len(self.class_names)

    @property
    def device(self) -> torch.device:
        """The device of every tensor of the scene."""
        return self.points.device

    def tensors(self) -> dict[str, Tensor]:
        """The per-point tensors that are present, by field name."""
        names = FLOAT_FIELDS + INT_FIELDS
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}

    def to(self, device: str | torch.device) -> Scene:
        """A copy with every tensor on ``device``."""
        moved: dict[str, Any] = {k: v.to(device) for k, v in self.tensors().items()}
        return replace(self, **moved)

    def subset(self, index: Tensor) -> Scene:
        """The points selected by a boolean mask ``[P]`` or an index tensor ``[K]``.

        Raises:
            TypeError: when ``index`` is not a bool or integer tensor.
            ValueError: for a mask of the wrong length, out-of-range indices or an
                empty selection.
        """
        owner, p = "Scene.subset", self.num_points
        if not isinstance(index, Tensor) or index.is_floating_point():
            raise param_error(
                "index", owner, "a bool or integer tensor", _describe(index), TypeError
            )
        index = index.to(self.device)
        if index.dtype == torch.bool and list(index.shape) != [p]:
            raise param_error(
                "index", owner, f"a mask of shape [{p}]", _describe(index)
            )
        if index.dtype != torch.bool:
            index = index.long().reshape(-1)
            if index.numel() and bool(((index < -p) | (index >= p)).any()):
                raise param_error(
                    "index", owner, f"indices in [0, {p})", "out of range"
                )
        if int(index.sum() if index.dtype == torch.bool else index.numel()) == 0:
            raise param_error("index", owner, "a non-empty selection", "no points")
        kept: dict[str, Any] = {k: v[index] for k, v in self.tensors().items()}
        return replace(self, **kept)

    def __repr__(self) -> str:
        parts: list[str] = [f"num_points={self.num_points}"]
        parts += [k for k in self.tensors() if k != "points"]
        if self.class_names:
            parts.append(f"num_classes={self.num_classes}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return f"Scene({', '.join(parts)})"


def scene_from_dict(data: dict[str, Any], **extra: Any) -> Scene:
    """Build a :class:`Scene` from a mapping with field names as keys."""
    known = set(FLOAT_FIELDS + INT_FIELDS + ("class_names", "name"))
    unknown = sorted(set(data) - known)
    if unknown:
        allowed = "a mapping with keys among " + ", ".join(sorted(known))
        raise param_error("fields", "Scene", allowed, unknown)
    return Scene(**{**data, **extra})
