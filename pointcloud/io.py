"""PLY files: a numpy writer and reader for labelled clouds, Open3D for the rest.

:func:`write_ply` writes binary little-endian PLY with ``x y z`` (float), optional
``red green blue`` (uchar) and an optional ``label`` (int) per vertex; MeshLab,
CloudCompare and Open3D read it. :func:`read_ply` reads such files (and any binary
PLY whose first element is ``vertex`` with scalar properties) with numpy, so labels
survive the round trip; other files (ASCII, list properties first) go to Open3D,
which returns points and colours only.

Example:
    >>> import tempfile, torch
    >>> from pointcloud.io import read_ply, write_ply
    >>> path = tempfile.mkdtemp() + "/cloud.ply"
    >>> xyz, rgb = torch.rand(5, 3), torch.rand(5, 3)
    >>> write_ply(path, xyz, colors=rgb, labels=torch.arange(5))
    >>> sorted(read_ply(path))
    ['colors', 'labels', 'points']
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphssl._optional import require
from graphssl._validation import check_float_tensor, check_in, param_error

__all__ = ["read_ply", "write_ply"]

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip
_ENDIAN = {"binary_little_endian": "<", "binary_big_endian": ">"}


def write_ply(
    path: str | os.PathLike[str],
    points: Tensor,
    colors: Tensor | None = None,
    labels: Tensor | None = None,
) -> None:
    """Write a point cloud as binary little-endian PLY.

    Args:
        path (str or PathLike): file to write (its folder must exist).
        points (Tensor): ``[P, 3]`` coordinates, stored as float32.
        colors (Tensor, optional): ``[P, 3]`` RGB in ``[0, 1]``, stored as uchar.
        labels (Tensor, optional): ``[P]`` integer labels, stored as int32 ``label``.

    Raises:
        TypeError, ValueError: for tensors of the wrong type or shape.
    """
    owner = "write_ply"
    points = check_float_tensor(points, "points", owner, ndim=2, allow_empty=True)
    if points.shape[1] != 3:
        raise param_error(
            "points", owner, "a tensor of shape [P, 3]", list(points.shape)
        )
    n = points.shape[0]
    fields: list[tuple[str, str, np.ndarray[Any, Any]]] = [
        (name, "<f4", points[:, i].detach().cpu().numpy())
        for i, name in enumerate("xyz")
    ]
    if colors is not None:
        colors = check_float_tensor(colors, "colors", owner, ndim=2, allow_empty=True)
        if list(colors.shape) != [n, 3]:
            raise param_error(
                "colors", owner, f"a tensor of shape [{n}, 3]", list(colors.shape)
            )
        rgb = (colors.detach().cpu().double().clamp(0, 1) * 255).round().to(torch.uint8)
        fields += [
            (c, "u1", rgb[:, i].numpy()) for i, c in enumerate(("red", "green", "blue"))
        ]
    if labels is not None:
        if (
            not isinstance(labels, Tensor)
            or labels.is_floating_point()
            or labels.shape != (n,)
        ):
            raise param_error(
                "labels", owner, f"an integer tensor of shape [{n}]", _describe(labels)
            )
        fields.append(("label", "<i4", labels.detach().cpu().numpy()))
    data = np.empty(n, dtype=[(name, dt) for name, dt, _ in fields])
    for name, _, values in fields:
        data[name] = values
    ply_type = {"<f4": "float", "u1": "uchar", "<i4": "int"}
    header = ["ply", "format binary_little_endian 1.0", "comment written by graphssl"]
    header.append(f"element vertex {n}")
    header += [f"property {ply_type[dt]} {name}" for name, dt, _ in fields]
    header.append("end_header")
    with open(path, "wb") as f:
        f.write(("\n".join(header) + "\n").encode("ascii"))
        f.write(data.tobytes())


def _describe(t: object) -> str:
    if isinstance(t, Tensor):
        return f"{t.dtype} tensor of shape {list(t.shape)}"
    return type(t).__name__


def _read_header(path: str | os.PathLike[str]) -> tuple[str, list[list[str]], int]:
    """Format, the element and property lines, and the size of the header in bytes."""
    with open(path, "rb") as f:
        if f.readline().strip() != b"ply":
            raise param_error("path", "read_ply", "a PLY file", str(path))
        fmt, size = "", 4
        lines: list[list[str]] = []
        for raw in f:
            size += len(raw)
            words = raw.decode("ascii", errors="replace").split()
            if words[:1] == ["end_header"]:
                return fmt, lines, size
            if words[:1] == ["format"]:
                fmt = words[1]
            elif words[:1] in (["element"], ["property"]):
                lines.append(words)
    raise param_error(
        "path", "read_ply", "a PLY file with an end_header line", str(path)
    )


def _numpy_dtype(fmt: str, lines: list[list[str]]) -> tuple[np.dtype[Any], int] | None:
    """The vertex record type and count, or None when numpy cannot read the file."""
    if fmt not in _ENDIAN or not lines or lines[0][:2] != ["element", "vertex"]:
        return None
    props = []
    for words in lines[1:]:
        if words[0] == "element":
            break
        if words[1] not in _TYPES:  # a list property
            return None
        props.append((words[2], _ENDIAN[fmt] + _TYPES[words[1]]))
    return np.dtype(props), int(lines[0][2])


def _to_dict(points: Any, colors: Any | None, labels: Any | None) -> dict[str, Tensor]:
    out = {"points": torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))}
    if colors is not None:
        out["colors"] = torch.from_numpy(np.ascontiguousarray(colors, dtype=np.float32))
    if labels is not None:
        out["labels"] = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
    return out


def read_ply(
    path: str | os.PathLike[str], *, backend: str = "auto"
) -> dict[str, Tensor]:
    """Read a point cloud from a PLY file.

    Args:
        path (str or PathLike): the file.
        backend (str, optional): ``"numpy"`` reads binary PLY whose first element is
            ``vertex`` with scalar properties, labels included; ``"open3d"`` reads any
            PLY Open3D reads, points and colours only; ``"auto"`` uses numpy when it
            can and Open3D otherwise. (default: ``"auto"``)

    Returns:
        dict[str, Tensor]: ``"points"`` ``[P, 3]`` float32; ``"colors"`` ``[P, 3]``
        float32 in ``[0, 1]`` when the file has ``red green blue``; ``"labels"``
        ``[P]`` int64 when it has a ``label`` property (numpy backend).

    Raises:
        ValueError: when the file is not PLY, or the numpy backend cannot read it.
        ImportError: when Open3D is needed but not installed.
    """
    owner = "read_ply"
    backend = check_in(backend, "backend", owner, ("auto", "numpy", "open3d"))
    fmt, lines, offset = _read_header(path)
    layout = _numpy_dtype(fmt, lines) if backend != "open3d" else None
    if layout is not None:
        dtype, count = layout
        data = np.fromfile(path, dtype=dtype, count=count, offset=offset)
        names = dtype.names or ()
        colors = None
        if {"red", "green", "blue"} <= set(names):
            colors = np.stack([data[c] for c in ("red", "green", "blue")], 1).astype(
                np.float64
            )
            colors = colors / 255.0 if data["red"].dtype.kind in "iu" else colors
        labels = data["label"] if "label" in names else None
        return _to_dict(np.stack([data[c] for c in "xyz"], 1), colors, labels)
    if backend == "numpy":
        allowed = "a binary PLY with a first 'vertex' element of scalar properties"
        raise param_error("path", owner, allowed, f"{fmt} {str(path)!r}")
    o3d = require("open3d", "read_ply with backend='open3d'")
    cloud = o3d.io.read_point_cloud(os.fspath(path))
    colors = np.asarray(cloud.colors) if cloud.has_colors() else None
    return _to_dict(np.asarray(cloud.points), colors, None)
