"""Columns of point-cloud files to Scene fields, and the text (XYZ) and NPZ formats."""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from pointcloud._ply import Columns, FileFormatError

__all__ = [
    "META", "XYZ_COLUMNS", "columns_to_fields", "parse_meta", "pick", "read_npz",
    "read_xyz", "to_uchar", "write_npz", "write_xyz",
]  # fmt: skip

XYZ_COLUMNS = {"points": ("x", "y", "z"), "colors": ("r", "g", "b"),
                "normals": ("nx", "ny", "nz"), "labels": ("label",),
                "instances": ("instance",), "segments": ("segment",)}  # fmt: skip
META = "graphssl-meta "  # header comment carrying class names and the scene name


def pick(columns: Columns, aliases: Sequence[tuple[str, ...]]) -> NDArray[Any] | None:
    for names in aliases:
        if all(n in columns for n in names):
            return (
                np.stack([columns[n] for n in names], 1)
                if len(names) > 1
                else columns[names[0]]
            )
    return None


def unit_colors(values: NDArray[Any] | None) -> NDArray[np.float64] | None:
    """Colours to ``[0, 1]``: integers by their type's maximum, floats above 1 by 255."""
    if values is None:
        return None
    if values.dtype.kind in "iu":
        return values.astype(np.float64) / float(np.iinfo(values.dtype).max)
    out = values.astype(np.float64)
    return out / 255.0 if out.size and out.max() > 1.0 else out


def parse_meta(comments: list[str]) -> dict[str, Any]:
    for c in comments:
        if c.startswith(META):
            try:
                meta = json.loads(c[len(META) :])
            except json.JSONDecodeError:
                return {}
            return meta if isinstance(meta, dict) else {}
    return {}


def columns_to_fields(
    columns: Columns, table: Mapping[str, Sequence[tuple[str, ...]]], rgb: Any
) -> dict[str, Any]:
    """Scene fields as tensors from file columns; ``table`` maps fields to names."""
    fields: dict[str, Any] = {k: pick(columns, v) for k, v in table.items()}
    fields["colors"] = unit_colors(rgb)
    for key in ("labels", "instances", "segments"):
        v = fields.get(key)
        if v is not None and v.dtype.kind == "u" and v.dtype.itemsize >= 4:
            # PCL stores labels as uint32: 0xFFFFFFFF is -1 ("none").
            fields[key] = v.astype(np.uint64).astype(np.int64)
            fields[key][v == np.iinfo(v.dtype).max] = -1
    return {
        k: torch.from_numpy(np.ascontiguousarray(v))
        for k, v in fields.items()
        if v is not None
    }


def read_xyz(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[str]]:
    comments: list[str] = []
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", errors="replace")
            if not line.startswith("#"):
                break
            comments.append(line[1:].strip())
    names = comments[0].split() if comments and comments[0][:5] == "x y z" else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns on an empty file; Scene raises
        try:
            table = np.loadtxt(path, comments="#", ndmin=2, dtype=np.float64)
        except ValueError as err:
            raise FileFormatError(path, "XYZ", str(err)) from None
    k = table.shape[1] if table.size else 3
    if not names:
        default = {
            3: "x y z",
            4: "x y z label",
            6: "x y z r g b",
            7: "x y z r g b label",
        }
        if k not in default:
            raise FileFormatError(path, "XYZ", f"{k} columns (expected 3, 4, 6 or 7)")
        names = default[k].split()
    if table.size and k != len(names):
        raise FileFormatError(path, "XYZ", f"{k} columns for header {names}")
    cols = {n: table[:, i] if table.size else np.zeros(0) for i, n in enumerate(names)}
    for n in ("label", "instance", "segment"):
        if n in cols:
            if not np.array_equal(cols[n], np.round(cols[n])):
                raise FileFormatError(path, "XYZ", f"the {n} column holds non-integers")
            cols[n] = cols[n].astype(np.int64)
    rgb = pick(cols, (XYZ_COLUMNS["colors"],))
    table_xyz = {k: (v,) for k, v in XYZ_COLUMNS.items() if k != "colors"}
    return columns_to_fields(cols, table_xyz, rgb), comments


def read_npz(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[str]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise FileFormatError(path, "NPZ", str(err) or type(err).__name__) from None
    if "points" not in arrays:
        raise FileFormatError(path, "NPZ", "no 'points' array")
    keep = ("points", "colors", "normals", "labels", "instances", "segments")
    fields: dict[str, Any] = {
        k: torch.from_numpy(arrays[k]) for k in keep if k in arrays
    }
    meta: dict[str, Any] = {
        "class_names": [str(c) for c in arrays.get("class_names", np.zeros(0, str))]
    }
    if "name" in arrays:
        meta["name"] = str(arrays["name"])
    return fields, [META + json.dumps(meta)]


def to_uchar(colors: NDArray[Any]) -> NDArray[np.uint8]:
    return np.round(colors.astype(np.float64).clip(0, 1) * 255).astype(np.uint8)


def write_xyz(
    path: str | os.PathLike[str], cols: list[tuple[str, NDArray[Any]]], meta: str
) -> None:
    table = np.stack([v.astype(np.float64) for _, v in cols], 1)
    fmts = ["%.9g" if v.dtype.kind == "f" else "%d" for _, v in cols]
    header = " ".join(n for n, _ in cols) + "\n" + meta
    np.savetxt(path, table, fmt=fmts, header=header, comments="# ")


def write_npz(
    path: str | os.PathLike[str],
    arrays: dict[str, NDArray[Any]],
    class_names: tuple[str, ...],
    name: str,
) -> None:
    everything: dict[str, Any] = dict(arrays)
    everything["class_names"] = np.array(class_names, dtype=str)
    everything["name"] = np.array(name)
    # Uncompressed: float coordinates barely compress (~35 %) and zlib is 20x slower.
    with open(path, "wb") as f:  # a file object: numpy would append ".npz" to a name
        np.savez(f, **everything)
