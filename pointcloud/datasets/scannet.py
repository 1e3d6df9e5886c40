"""ScanNet-v2 scenes: mesh vertices, shipped segments, instances and NYU40 labels.

A ScanNet-v2 scan folder ``scans/<scene>/`` holds (among others):

* ``<scene>_vh_clean_2.ply``: the cleaned, decimated mesh; its vertices (``x y z``
  float, ``red green blue alpha`` uchar) are the points;
* ``<scene>_vh_clean_2.0.010000.segs.json``: ``{"segIndices": [...]}``, the mesh
  over-segmentation of the ScanNet Segmentator, one id per vertex;
* ``<scene>.aggregation.json``: ``{"segGroups": [{"objectId", "label", "segments"}]}``,
  the annotated objects as lists of segment ids;
* ``<scene>_vh_clean_2.labels.ply``: the same vertices with a ``label`` property, the
  NYU40 class id (0 = unannotated).

:func:`load_scannet_scene` returns a :class:`~pointcloud.scene.Scene` whose labels are
the 20 classes of the ScanNet benchmark (NYU40 ids outside them become ``-1``), whose
instances are the ``objectId`` of each vertex's segment group (``-1`` when none) and
whose segments are the shipped segments renumbered ``0..S-1``. Files missing from a
test-set scan (labels, aggregation) leave their fields ``None``.

Example:
    >>> from pointcloud.datasets import SCANNET20_CLASSES
    >>> len(SCANNET20_CLASSES), SCANNET20_CLASSES[:3]
    (20, ('wall', 'floor', 'cabinet'))
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graphssl._validation import param_error
from pointcloud._ply import FileFormatError
from pointcloud.io import read_cloud
from pointcloud.scene import Scene

__all__ = [
    "SCANNET20_CLASSES", "SCANNET20_NYU40_IDS", "iter_scannet_scenes",
    "load_scannet_scene", "nyu40_to_scannet20",
]  # fmt: skip

SCANNET20_CLASSES = (
    "wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window",
    "bookshelf", "picture", "counter", "desk", "curtain", "refrigerator",
    "shower curtain", "toilet", "sink", "bathtub", "otherfurniture",
)  # fmt: skip
SCANNET20_NYU40_IDS = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39,
)  # fmt: skip
_DEFAULT_MAP = {nyu: i for i, nyu in enumerate(SCANNET20_NYU40_IDS)}


def nyu40_to_scannet20(nyu40: torch.Tensor) -> torch.Tensor:
    """Map NYU40 ids ``[P]`` to the 20 benchmark classes ``0..19``, others to ``-1``."""
    return _map_labels(nyu40, _DEFAULT_MAP)


def _map_labels(raw: torch.Tensor, label_map: Mapping[int, int]) -> torch.Tensor:
    hi = max(int(raw.max()) if raw.numel() else 0, max(label_map, default=0)) + 1
    lut = torch.full((hi,), -1, dtype=torch.long)
    for src, dst in label_map.items():
        lut[src] = dst
    out = torch.full_like(raw, -1, dtype=torch.long)
    ok = raw >= 0
    out[ok] = lut[raw[ok].long()]
    return out


def _read_json(path: Path, key: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FileFormatError(path, "JSON", f"not valid JSON ({err})") from None
    if not isinstance(data, dict) or key not in data:
        raise FileFormatError(path, "JSON", f"no '{key}' entry")
    return data[key]


def _prefix(scene: str | os.PathLike[str]) -> Path:
    p = Path(scene)
    return p / p.name if p.is_dir() else p


def _segments(path: Path, num_points: int) -> tuple[np.ndarray[Any, Any], torch.Tensor]:
    """Raw segment ids (as in the aggregation file) and their ``0..S-1`` renumbering."""
    seg = _read_json(path, "segIndices")
    try:
        raw = np.asarray(seg, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise FileFormatError(
            path, "JSON", "'segIndices' is not a list of ints"
        ) from None
    if raw.size != num_points:
        reason = (
            f"{raw.size} segIndices for {num_points} mesh vertices "
            "(mismatched segment and point counts)"
        )
        raise FileFormatError(path, "JSON", reason)
    _, dense = np.unique(raw, return_inverse=True)
    return raw, torch.from_numpy(dense.reshape(-1).astype(np.int64))


def _instances(path: Path, raw_segments: np.ndarray[Any, Any]) -> torch.Tensor:
    groups = _read_json(path, "segGroups")
    inst = np.full(raw_segments.shape, -1, dtype=np.int64)
    try:
        for group in groups:
            members = np.isin(raw_segments, np.asarray(group["segments"], np.int64))
            inst[members] = int(group["objectId"])
    except (TypeError, KeyError, ValueError) as err:
        reason = f"a segGroup lacks 'objectId' or 'segments' ({err!r})"
        raise FileFormatError(path, "JSON", reason) from None
    return torch.from_numpy(inst)


def load_scannet_scene(
    scene: str | os.PathLike[str],
    *,
    label_map: Mapping[int, int] | None = None,
    class_names: tuple[str, ...] | None = None,
) -> Scene:
    """Load one ScanNet-v2 scan as a :class:`~pointcloud.scene.Scene`.

    Args:
        scene (str or PathLike): the scan folder (``.../scans/scene0000_00``) or the
            file prefix (``.../scene0000_00/scene0000_00``).
        label_map (Mapping[int, int], optional): NYU40 id to class index; ids not in
            it become ``-1``. By default the 20 benchmark classes
            (:data:`SCANNET20_NYU40_IDS` to ``0..19``).
        class_names (tuple[str, ...], optional): names of the mapped classes; by
            default :data:`SCANNET20_CLASSES` for the default map, none otherwise.

    Returns:
        Scene: points and colours of the mesh vertices; ``labels`` when the
        ``.labels.ply`` file exists, ``segments`` when the ``.segs.json`` exists,
        ``instances`` when the ``.aggregation.json`` exists as well.

    Raises:
        FileNotFoundError: when the mesh ``<scene>_vh_clean_2.ply`` is missing, or the
            aggregation exists without the segments it refers to.
        ValueError: for a truncated or corrupt file, or files whose vertex counts
            disagree (the message names the file).
    """
    prefix = _prefix(scene)
    mesh = Path(f"{prefix}_vh_clean_2.ply")
    if not mesh.is_file():
        raise FileNotFoundError(f"load_scannet_scene: no mesh file '{mesh}'.")
    cloud = read_cloud(mesh, class_names=())
    p = cloud.num_points
    fields: dict[str, Any] = {"colors": cloud.colors}

    labels_ply = Path(f"{prefix}_vh_clean_2.labels.ply")
    if labels_ply.is_file():
        lab = read_cloud(labels_ply, class_names=())
        if lab.num_points != p or lab.labels is None:
            reason = (
                f"{lab.num_points} vertices for {p} in '{mesh.name}' (mismatched label "
                "and point counts)"
                if lab.num_points != p
                else "no vertex 'label' property"
            )
            raise FileFormatError(labels_ply, "PLY", reason)
        fields["labels"] = _map_labels(lab.labels, label_map or _DEFAULT_MAP)

    segs = Path(f"{prefix}_vh_clean_2.0.010000.segs.json")
    agg = Path(f"{prefix}.aggregation.json")
    if segs.is_file():
        raw, fields["segments"] = _segments(segs, p)
        if agg.is_file():
            fields["instances"] = _instances(agg, raw)
    elif agg.is_file():
        raise FileNotFoundError(
            f"load_scannet_scene: '{agg}' needs the segments file '{segs}'."
        )
    if class_names is None:
        class_names = SCANNET20_CLASSES if label_map is None else ()
    try:
        return Scene(cloud.points, **fields, class_names=class_names, name=prefix.name)
    except ValueError as err:
        raise param_error(
            "label_map", "load_scannet_scene", "consistent with class_names", str(err)
        ) from None


def iter_scannet_scenes(root: str | os.PathLike[str], **kwargs: Any) -> Iterator[Scene]:
    """Every scan folder ``root/scene*`` holding a mesh, in name order.

    Args:
        root (str or PathLike): a ScanNet ``scans`` folder.
        **kwargs: passed to :func:`load_scannet_scene`.

    Raises:
        FileNotFoundError: when ``root`` is not a folder.
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"iter_scannet_scenes: no folder '{base}'.")
    for folder in sorted(base.glob("scene*")):
        if Path(f"{folder / folder.name}_vh_clean_2.ply").is_file():
            yield load_scannet_scene(folder, **kwargs)
