"""PLY reading and writing with numpy: ASCII and binary, the ``vertex`` element only.

The reader parses the header, skips the elements before ``vertex`` and returns the
vertex properties as numpy columns; faces and other elements after the vertices (as
in ScanNet's meshes) are ignored. Every failure is a ``ValueError`` naming the file.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PLY_FIELDS", "FileFormatError", "UnsupportedLayout", "read_ply_columns",
    "write_ply_columns",
]  # fmt: skip

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip
_NAMES = {"i1": "char", "u1": "uchar", "i2": "short", "u2": "ushort", "i4": "int",
          "u4": "uint", "f4": "float", "f8": "double"}  # fmt: skip
_ENDIAN = {"binary_little_endian": "<", "binary_big_endian": ">", "ascii": "="}
# Scene field -> accepted property names (first match wins), as written by common tools.
PLY_FIELDS = {
    "points": (("x", "y", "z"),),
    "colors": (("red", "green", "blue"), ("r", "g", "b"),
               ("diffuse_red", "diffuse_green", "diffuse_blue")),
    "normals": (("nx", "ny", "nz"), ("normal_x", "normal_y", "normal_z")),
    "labels": (("label",), ("class",), ("semantic",)),
    "instances": (("instance",), ("instance_id",), ("object_id",)),
    "segments": (("segment",), ("segment_id",)),
}  # fmt: skip

Columns = dict[str, NDArray[Any]]


class FileFormatError(ValueError):
    """A file that cannot be parsed; the message names the file."""

    def __init__(self, path: str | os.PathLike[str], kind: str, reason: str) -> None:
        super().__init__(f"Cannot read {kind} file '{os.fspath(path)}': {reason}.")


class UnsupportedLayout(FileFormatError):
    """A valid file whose layout the numpy reader does not handle."""


Elements = list[tuple[str, int, list[list[str]]]]


def _parse_header(
    path: str | os.PathLike[str], f: Any, comments: list[str]
) -> tuple[str, Elements, int]:
    if f.readline().rstrip(b"\r\n").strip() != b"ply":
        raise FileFormatError(path, "PLY", "the first line is not 'ply'")
    fmt, size = "", 0
    elements: Elements = []
    for _ in range(10_000):  # a header is a few dozen lines; binary junk is not
        raw = f.readline()
        if not raw:
            break
        words = raw.decode("ascii", errors="replace").split()
        if words[:1] == ["end_header"]:
            size = f.tell()
            break
        try:
            if words[:1] == ["comment"]:
                comments.append(raw.decode("utf-8", errors="replace")[7:].strip())
            elif words[:1] == ["format"]:
                fmt = words[1]
            elif words[:1] == ["element"]:
                elements.append((words[1], int(words[2]), []))
                if elements[-1][1] < 0:
                    raise ValueError
            elif words[:1] == ["property"]:
                elements[-1][2].append(words[1:])
        except (IndexError, ValueError):
            raise FileFormatError(path, "PLY", f"bad header line {raw!r}") from None
    if not size:
        raise FileFormatError(path, "PLY", "the header has no 'end_header' line")
    if fmt not in _ENDIAN:
        raise FileFormatError(path, "PLY", f"unknown format {fmt!r}")
    return fmt, elements, size


def _dtype(
    path: str | os.PathLike[str], fmt: str, props: list[list[str]]
) -> np.dtype[Any]:
    out = []
    for words in props:
        if words[0] == "list" or len(words) != 2 or words[0] not in _TYPES:
            return np.dtype([])  # signals "has a list or unknown property"
        out.append((words[1], _ENDIAN[fmt].replace("=", "<") + _TYPES[words[0]]))
    try:
        return np.dtype(out)
    except ValueError as err:  # duplicate property names
        raise FileFormatError(path, "PLY", str(err)) from None


def read_ply_columns(path: str | os.PathLike[str]) -> tuple[Columns, list[str]]:
    """The vertex properties, one 1-D array per name, and the header's comments."""
    comments: list[str] = []
    try:
        with open(path, "rb") as f:
            fmt, elements, offset = _parse_header(path, f, comments)
            file_size = f.seek(0, os.SEEK_END)
            names = [e[0] for e in elements]
            if "vertex" not in names:
                raise FileFormatError(path, "PLY", "no 'vertex' element")
            pos = names.index("vertex")
            dtypes = [_dtype(path, fmt, e[2]) for e in elements[: pos + 1]]
            if any(not d.names for d in dtypes):
                reason = "list properties in or before the 'vertex' element"
                raise UnsupportedLayout(path, "PLY", reason + " are not supported")
            count = elements[pos][1]
            vdtype = dtypes[pos]
            if fmt == "ascii":
                skip = sum(e[1] for e in elements[:pos])
                f.seek(offset)
                return _read_ascii(path, f, skip, count, vdtype), comments
            before = zip(dtypes[:pos], elements[:pos], strict=True)
            offset += sum(d.itemsize * e[1] for d, e in before)
            need = offset + vdtype.itemsize * count
            if file_size < need:
                reason = (
                    f"truncated: the header announces {count} vertices "
                    f"({need} bytes) but the file has {file_size} bytes"
                )
                raise FileFormatError(path, "PLY", reason)
            f.seek(offset)
            data = np.frombuffer(f.read(vdtype.itemsize * count), dtype=vdtype)
    except OSError as err:
        raise FileFormatError(path, "PLY", str(err)) from None
    props = vdtype.names or ()
    return {n: data[n].astype(data[n].dtype.newbyteorder("=")) for n in props}, comments


def _read_ascii(
    path: str | os.PathLike[str], f: Any, skip: int, count: int, dtype: np.dtype[Any]
) -> Columns:
    for _ in range(skip):
        f.readline()
    lines = [f.readline() for _ in range(count)]
    k = len(dtype.names or ())
    try:
        values = np.array(b" ".join(lines).split(), dtype=np.float64)
    except ValueError:
        raise FileFormatError(path, "PLY", "a vertex line is not numeric") from None
    if values.size != k * count:
        reason = (
            f"expected {count} vertex lines of {k} values, got {values.size} values"
        )
        raise FileFormatError(path, "PLY", reason)
    table = values.reshape(count, k)
    names = dtype.names or ()
    return {
        n: table[:, i].astype(dtype[n].newbyteorder("=")) for i, n in enumerate(names)
    }


def write_ply_columns(
    path: str | os.PathLike[str],
    columns: list[tuple[str, NDArray[Any]]],
    *,
    ascii: bool = False,
    comments: tuple[str, ...] = ("written by graphssl",),
) -> None:
    """Write ``(name, values)`` columns of one length as the ``vertex`` element."""
    n = len(columns[0][1])
    dtype = np.dtype([(name, "<" + v.dtype.str[1:]) for name, v in columns])
    header = ["ply", f"format {'ascii' if ascii else 'binary_little_endian'} 1.0"]
    header += [f"comment {c}" for c in comments] + [f"element vertex {n}"]
    header += [f"property {_NAMES[v.dtype.str[1:]]} {name}" for name, v in columns]
    header.append("end_header")
    with open(path, "wb") as f:
        f.write(("\n".join(header) + "\n").encode("ascii"))
        if ascii:
            fmts = ["%.9g" if v.dtype.kind == "f" else "%d" for _, v in columns]
            table = np.stack([v.astype(np.float64) for _, v in columns], 1)
            np.savetxt(f, table, fmt=fmts)
        else:
            data = np.empty(n, dtype=dtype)
            for name, values in columns:
                data[name] = values
            f.write(data.tobytes())
