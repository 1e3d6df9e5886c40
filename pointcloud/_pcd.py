"""PCD (Point Cloud Library) reading and writing with numpy: ``ascii`` and ``binary``.

Open3D's PCD reader keeps points, colours and normals only; labels, instances and
segments live in extra fields, hence this reader. Colours follow PCL's convention: a
field ``rgb`` (or ``rgba``) packing ``0x00RRGGBB`` into 4 bytes, stored as a float in
binary files and as an unsigned integer in ASCII ones. ``binary_compressed`` files (LZF)
are left to Open3D by :mod:`pointcloud.io`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pointcloud._ply import Columns, FileFormatError

__all__ = [
    "PCD_FIELDS", "pcd_data_kind", "read_pcd_columns", "unpack_rgb", "write_pcd_columns",
]  # fmt: skip

PCD_FIELDS = {
    "points": (("x", "y", "z"),),
    "normals": (("normal_x", "normal_y", "normal_z"), ("nx", "ny", "nz")),
    "labels": (("label",),),
    "instances": (("instance",),),
    "segments": (("segment",),),
}
_HEADER_KEYS = ("VERSION", "FIELDS", "SIZE", "TYPE", "COUNT", "WIDTH", "HEIGHT",
                "VIEWPOINT", "POINTS", "DATA")  # fmt: skip


def _parse_header(path: str | os.PathLike[str], f: Any) -> dict[str, list[str]]:
    """Header keys to their words; comment lines (without ``#``) under ``"#"``."""
    head: dict[str, list[str]] = {}
    for _ in range(1000):
        raw = f.readline()
        if not raw:
            break
        words = raw.decode("ascii", errors="replace").split()
        if words and words[0].startswith("#"):
            head.setdefault("#", []).append(" ".join(words)[1:].strip())
            continue
        if not words:
            continue
        if words[0] not in _HEADER_KEYS:
            raise FileFormatError(path, "PCD", f"unexpected header line {raw!r}")
        head[words[0]] = words[1:]
        if words[0] == "DATA":
            return head
    raise FileFormatError(path, "PCD", "the header has no DATA line")


def _layout(
    path: str | os.PathLike[str], head: dict[str, list[str]]
) -> tuple[np.dtype[Any], int, str]:
    names = head.get("FIELDS", [])
    k = len(names)
    sizes = head.get("SIZE", ["4"] * k)
    types = head.get("TYPE", ["F"] * k)
    counts = head.get("COUNT", ["1"] * k)
    if not names or not (len(sizes) == len(types) == len(counts) == k):
        raise FileFormatError(path, "PCD", "FIELDS, SIZE, TYPE and COUNT disagree")
    try:
        spec: list[tuple[Any, ...]] = []
        for i, (name, size, kind, count) in enumerate(
            zip(names, sizes, types, counts, strict=True)
        ):
            code = {"F": "f", "I": "i", "U": "u"}[kind] + size
            name = f"_pad{i}" if name == "_" else name
            c = int(count)
            spec.append((name, "<" + code) if c == 1 else (name, "<" + code, (c,)))
        dtype = np.dtype(spec)
        n = int(
            head.get("POINTS", [""])[0]
            or int(head["WIDTH"][0]) * int(head["HEIGHT"][0])
        )
        data = head["DATA"][0]
    except (KeyError, IndexError, ValueError, TypeError) as err:
        raise FileFormatError(path, "PCD", f"bad header ({err})") from None
    return dtype, n, data


def pcd_data_kind(path: str | os.PathLike[str]) -> str:
    """The DATA kind of a PCD file: ``ascii``, ``binary`` or ``binary_compressed``."""
    with open(path, "rb") as f:
        return _parse_header(path, f)["DATA"][0]


def read_pcd_columns(path: str | os.PathLike[str]) -> tuple[Columns, list[str]]:
    """Every field as a column (``COUNT > 1`` fields as ``[n, c]``), and the comments."""
    try:
        with open(path, "rb") as f:
            head = _parse_header(path, f)
            dtype, n, kind = _layout(path, head)
            if kind == "binary":
                raw = f.read(dtype.itemsize * n)
                if len(raw) < dtype.itemsize * n:
                    reason = (
                        f"truncated: {n} points need {dtype.itemsize * n} data bytes, "
                        f"the file has {len(raw)}"
                    )
                    raise FileFormatError(path, "PCD", reason)
                data = np.frombuffer(raw, dtype=dtype)
                names = dtype.names or ()
                return {k: np.array(data[k]) for k in names}, head.get("#", [])
            if kind != "ascii":
                raise FileFormatError(path, "PCD", f"unsupported DATA {kind!r}")
            text = f.read()
    except OSError as err:
        raise FileFormatError(path, "PCD", str(err)) from None
    return _parse_ascii(path, text, dtype, n), head.get("#", [])


def _parse_ascii(
    path: str | os.PathLike[str], text: bytes, dtype: np.dtype[Any], n: int
) -> Columns:
    width = sum(int(np.prod(dtype[name].shape)) for name in dtype.names or ())
    try:
        values = np.array(text.split(), dtype=np.float64)
    except ValueError:
        raise FileFormatError(path, "PCD", "a data line is not numeric") from None
    if values.size != width * n:
        reason = f"expected {n} lines of {width} values, got {values.size} values"
        raise FileFormatError(path, "PCD", reason)
    table, out, col = values.reshape(n, width), {}, 0
    for name in dtype.names or ():
        sub = dtype[name]
        c = int(np.prod(sub.shape))
        block = table[:, col : col + c]
        out[name] = (block[:, 0] if not sub.shape else block).astype(
            sub.base.newbyteorder("=")
        )
        col += c
    return out


def unpack_rgb(values: NDArray[Any]) -> NDArray[np.float64]:
    """``[n, 3]`` colours in ``[0, 1]`` from packed ``rgb`` / ``rgba`` values."""
    if values.dtype.kind == "f" and values.dtype.itemsize == 4:
        packed = values.astype("<f4").view("<u4")
    else:  # ASCII or integer fields hold the packed integer itself
        packed = values.astype(np.float64).astype(np.uint64).astype(np.uint32)
    rgb = [(packed >> s) & 255 for s in (16, 8, 0)]
    return np.stack(rgb, 1).astype(np.float64) / 255.0


def write_pcd_columns(
    path: str | os.PathLike[str],
    columns: list[tuple[str, NDArray[Any]]],
    *,
    ascii: bool = False,
    comments: tuple[str, ...] = (),
) -> None:
    """Write ``(name, values)`` columns; ``rgb`` is given as ``[n, 3]`` uint8."""
    n = len(columns[0][1])
    prepared: list[tuple[str, NDArray[Any]]] = []
    for name, v in columns:
        if name == "rgb":
            v = v.astype(np.uint32)
            packed = (v[:, 0] << 16) | (v[:, 1] << 8) | v[:, 2]
            v = packed if ascii else packed.astype("<u4").view("<f4")
        prepared.append((name, v))
    kinds = [{"f": "F", "i": "I", "u": "U"}[v.dtype.kind] for _, v in prepared]
    header = [
        "# .PCD v0.7 - Point Cloud Data file format (written by graphssl)",
        "VERSION 0.7",
        "FIELDS " + " ".join(name for name, _ in prepared),
        "SIZE " + " ".join(str(v.dtype.itemsize) for _, v in prepared),
        "TYPE " + " ".join(kinds),
        "COUNT " + " ".join("1" for _ in prepared),
        f"WIDTH {n}",
        "HEIGHT 1",
        "VIEWPOINT 0 0 0 1 0 0 0",
        f"POINTS {n}",
        f"DATA {'ascii' if ascii else 'binary'}",
    ]
    header[1:1] = [f"# {c}" for c in comments]
    with open(path, "wb") as f:
        f.write(("\n".join(header) + "\n").encode("ascii"))
        if ascii:
            fmts = ["%.9g" if v.dtype.kind == "f" else "%d" for _, v in prepared]
            np.savetxt(
                f, np.stack([v.astype(np.float64) for _, v in prepared], 1), fmt=fmts
            )
        else:
            data = np.empty(
                n, dtype=[(name, "<" + v.dtype.str[1:]) for name, v in prepared]
            )
            for name, v in prepared:
                data[name] = v
            f.write(data.tobytes())
