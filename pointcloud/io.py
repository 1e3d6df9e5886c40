"""Point-cloud files: PLY, PCD, XYZ and NPZ to and from :class:`~pointcloud.scene.Scene`.

======  ==================================  ============================================
format  variants                            fields
======  ==================================  ============================================
PLY     ASCII, binary little / big endian   ``x y z``, ``red green blue`` (uchar or
                                            float), ``nx ny nz``, ``label``,
                                            ``instance``, ``segment``
PCD     ASCII, binary; binary-compressed    ``x y z``, packed ``rgb``, ``normal_x``
        through Open3D (no labels)          ``normal_y normal_z``, ``label``,
                                            ``instance``, ``segment``
XYZ     text, one point a line              ``x y z [r g b] [label]``; a ``# x y z ...``
                                            first line names other column sets
NPZ     numpy archive                       arrays named as the Scene fields
======  ==================================  ============================================

PLY and PCD readers are numpy code, so labels survive the round trip (Open3D keeps
points, colours and normals only). Class names and the scene name travel in header
comments (PLY, PCD, XYZ) or arrays (NPZ). A truncated or corrupt file raises a
``ValueError`` naming the file.

Example:
    >>> import tempfile, torch
    >>> from pointcloud.io import read_cloud, write_cloud
    >>> from pointcloud.scene import Scene
    >>> path = tempfile.mkdtemp() + "/cloud.ply"
    >>> write_cloud(path, Scene(torch.rand(5, 3), labels=torch.arange(5)))
    >>> read_cloud(path)
    Scene(num_points=5, labels)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from graphssl._optional import require
from graphssl._validation import check_float_tensor, check_in, param_error
from pointcloud._columns import (
    META,
    XYZ_COLUMNS,
    columns_to_fields,
    parse_meta,
    pick,
    read_npz,
    read_xyz,
    to_uchar,
    write_npz,
    write_xyz,
)
from pointcloud._pcd import (
    PCD_FIELDS,
    pcd_data_kind,
    read_pcd_columns,
    unpack_rgb,
    write_pcd_columns,
)
from pointcloud._ply import (
    PLY_FIELDS,
    FileFormatError,
    UnsupportedLayout,
    read_ply_columns,
    write_ply_columns,
)
from pointcloud.scene import Scene, scene_from_dict

__all__ = [
    "FORMATS", "FileFormatError", "read_cloud", "read_ply", "write_cloud", "write_ply",
]  # fmt: skip

FORMATS = {".ply": "ply", ".pcd": "pcd", ".xyz": "xyz", ".xyzrgb": "xyz",
           ".txt": "xyz", ".npz": "npz"}  # fmt: skip


def _format(path: str | os.PathLike[str], fmt: str | None, owner: str) -> str:
    if fmt is not None:
        return check_in(fmt, "format", owner, ("ply", "pcd", "xyz", "npz"))
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        allowed = "one of " + ", ".join(FORMATS) + " (or pass format=...)"
        raise ValueError(
            f"The extension of the 'path' parameter of {owner} must be {allowed}. "
            f"Got {os.fspath(path)!r} instead."
        )
    return FORMATS[ext]


def read_cloud(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Scene:
    """Read a point cloud file into a :class:`~pointcloud.scene.Scene`.

    Args:
        path (str or PathLike): the file.
        format (str, optional): ``"ply"``, ``"pcd"``, ``"xyz"`` or ``"npz"``; by
            default from the extension (``.ply .pcd .xyz .xyzrgb .txt .npz``).
        class_names (sequence of str, optional): names of the label values; by
            default those stored in the file, if any.

    Returns:
        Scene: named after the file (or the stored name).

    Raises:
        ValueError: for an unknown format, or a file that is truncated, corrupt or
            inconsistent (the message names the file).
        FileNotFoundError: when the file does not exist.
    """
    owner = "read_cloud"
    fmt = _format(path, format, owner)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{owner}: no file '{os.fspath(path)}'.")
    if fmt == "ply":
        cols, comments = read_ply_columns(path)
        fields = columns_to_fields(cols, PLY_FIELDS, pick(cols, PLY_FIELDS["colors"]))
    elif fmt == "pcd" and pcd_data_kind(path) == "binary_compressed":
        fields, comments = _read_open3d(path), []
    elif fmt == "pcd":
        cols, comments = read_pcd_columns(path)
        rgb = cols.get("rgb", cols.get("rgba"))
        fields = columns_to_fields(
            cols, PCD_FIELDS, None if rgb is None else unpack_rgb(rgb)
        )
    elif fmt == "xyz":
        fields, comments = read_xyz(path)
    else:
        fields, comments = read_npz(path)
    if "points" not in fields:
        raise FileFormatError(path, fmt.upper(), "no x y z coordinates")
    meta = parse_meta(comments)
    names = meta.get("class_names", ()) if class_names is None else class_names
    try:
        return Scene(
            **fields,
            class_names=tuple(str(n) for n in names),
            name=str(meta.get("name", Path(path).stem)),
        )
    except (TypeError, ValueError) as err:
        raise FileFormatError(path, fmt.upper(), str(err)) from None


def _read_open3d(path: str | os.PathLike[str]) -> dict[str, Any]:
    o3d = require("open3d", "reading binary_compressed PCD files")
    cloud = o3d.io.read_point_cloud(os.fspath(path))
    out = {"points": torch.from_numpy(np.asarray(cloud.points).copy())}
    if cloud.has_colors():
        out["colors"] = torch.from_numpy(np.asarray(cloud.colors).clip(0, 1))
    if cloud.has_normals():
        out["normals"] = torch.from_numpy(np.asarray(cloud.normals).copy())
    return out


def write_cloud(
    path: str | os.PathLike[str],
    scene: Scene | Mapping[str, Any],
    *,
    format: str | None = None,
    ascii: bool = False,
    color_type: str = "uchar",
) -> None:
    """Write a scene (or a mapping of Scene field names to tensors) to a file.

    Args:
        path (str or PathLike): the file; its folder must exist.
        scene (Scene or Mapping): what to write; a mapping is checked as a Scene.
        format (str, optional): as in :func:`read_cloud`; by default from the
            extension.
        ascii (bool, optional): text PLY / PCD instead of binary. (default: ``False``)
        color_type (str, optional): PLY colour storage, ``"uchar"`` (0–255, what
            viewers expect) or ``"float"`` (exact). PCD packs 8-bit colours; XYZ and
            NPZ keep them exactly. (default: ``"uchar"``)

    Raises:
        ValueError, TypeError: for an unknown format or an invalid scene.
    """
    owner = "write_cloud"
    fmt = _format(path, format, owner)
    color_type = check_in(color_type, "color_type", owner, ("uchar", "float"))
    s = scene if isinstance(scene, Scene) else scene_from_dict(dict(scene))
    arrays = {k: v.detach().cpu().numpy() for k, v in s.tensors().items()}
    meta = META + json.dumps({"class_names": list(s.class_names), "name": s.name})
    if fmt == "npz":
        write_npz(path, arrays, s.class_names, s.name)
        return
    cols: list[tuple[str, NDArray[Any]]] = []
    table = {"xyz": XYZ_COLUMNS, "ply": {k: v[0] for k, v in PLY_FIELDS.items()}}
    table["pcd"] = {**table["ply"], **{k: v[0] for k, v in PCD_FIELDS.items()}}
    for key, values in arrays.items():
        if key == "colors" and fmt == "pcd":
            cols.append(("rgb", to_uchar(values)))
            continue
        if key == "colors" and fmt == "ply" and color_type == "uchar":
            values = to_uchar(values)
        elif key in ("labels", "instances", "segments"):
            values = values.astype(np.int32) if fmt != "xyz" else values
        cols += [
            (n, values[:, i] if values.ndim == 2 else values)
            for i, n in enumerate(table[fmt][key])
        ]
    if fmt == "ply":
        write_ply_columns(
            path, cols, ascii=ascii, comments=("written by graphssl", meta)
        )
    elif fmt == "pcd":
        write_pcd_columns(path, cols, ascii=ascii, comments=(meta,))
    else:
        write_xyz(path, cols, meta)


def write_ply(
    path: str | os.PathLike[str],
    points: Tensor,
    colors: Tensor | None = None,
    labels: Tensor | None = None,
) -> None:
    """Write binary little-endian PLY: float ``x y z``, uchar colours, int ``label``.

    Unlike :func:`write_cloud` it accepts an empty cloud.

    Args:
        path (str or PathLike): file to write (its folder must exist).
        points (Tensor): ``[P, 3]`` coordinates, stored as float32.
        colors (Tensor, optional): ``[P, 3]`` RGB in ``[0, 1]``, stored as uchar.
        labels (Tensor, optional): ``[P]`` integer labels, stored as int32.

    Raises:
        TypeError, ValueError: for tensors of the wrong type or shape.
    """
    owner = "write_ply"
    points = check_float_tensor(points, "points", owner, ndim=2, allow_empty=True)
    n = points.shape[0]
    if points.shape[1] != 3:
        raise param_error(
            "points", owner, "a tensor of shape [P, 3]", list(points.shape)
        )
    xyz = points.detach().cpu().numpy().astype(np.float32)
    cols: list[tuple[str, NDArray[Any]]] = [(c, xyz[:, i]) for i, c in enumerate("xyz")]
    if colors is not None:
        colors = check_float_tensor(colors, "colors", owner, ndim=2, allow_empty=True)
        if list(colors.shape) != [n, 3]:
            raise param_error(
                "colors", owner, f"a tensor of shape [{n}, 3]", list(colors.shape)
            )
        rgb = to_uchar(colors.detach().cpu().numpy())
        cols += [(c, rgb[:, i]) for i, c in enumerate(("red", "green", "blue"))]
    if labels is not None:
        if (
            not isinstance(labels, Tensor)
            or labels.is_floating_point()
            or labels.shape != (n,)
        ):
            got = (
                f"{labels.dtype} tensor of shape {list(labels.shape)}"
                if isinstance(labels, Tensor)
                else type(labels).__name__
            )
            raise param_error("labels", owner, f"an integer tensor of shape [{n}]", got)
        cols.append(("label", labels.detach().cpu().numpy().astype(np.int32)))
    write_ply_columns(path, cols)


def read_ply(
    path: str | os.PathLike[str], *, backend: str = "auto"
) -> dict[str, Tensor]:
    """Read a PLY file into a dict of tensors (an empty cloud is allowed).

    Args:
        path (str or PathLike): the file.
        backend (str, optional): ``"numpy"`` reads ASCII and binary PLY whose
            elements before and including ``vertex`` have scalar properties, every
            field included; ``"open3d"`` reads any PLY Open3D reads, points and
            colours only; ``"auto"`` uses numpy and falls back to Open3D for layouts
            numpy does not read. (default: ``"auto"``)

    Returns:
        dict[str, Tensor]: ``"points"`` ``[P, 3]`` float32 and, when present,
        ``"colors"`` ``[P, 3]`` float32 in ``[0, 1]``, ``"normals"``, and int64
        ``"labels"``, ``"instances"``, ``"segments"`` ``[P]``.

    Raises:
        ValueError: when the file is not PLY, is truncated or corrupt.
        ImportError: when Open3D is needed but not installed.
    """
    backend = check_in(backend, "backend", "read_ply", ("auto", "numpy", "open3d"))
    if backend != "open3d":
        try:
            cols, _ = read_ply_columns(path)
        except UnsupportedLayout:
            if backend == "numpy":
                raise
        else:
            fields = columns_to_fields(
                cols, PLY_FIELDS, pick(cols, PLY_FIELDS["colors"])
            )
            return {
                k: v.float() if v.is_floating_point() else v.long()
                for k, v in fields.items()
            }
    out = _read_open3d(path)
    out.pop("normals", None)
    return {k: v.float() for k, v in out.items()}
