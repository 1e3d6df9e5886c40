"""S3DIS rooms: one text file per annotated object, 13 classes.

The Stanford Large-Scale 3D Indoor Spaces dataset ships as
``Area_N/<room>/Annotations/<class>_<n>.txt``, one object per file, one point per line
as ``x y z r g b`` with colours in ``0..255``. :func:`load_s3dis_room` joins a room's
objects into one :class:`~pointcloud.scene.Scene`: the class is the file name's prefix
(``stairs``, which a few rooms use, counts as ``clutter`` as in the usual
preprocessing), the instance is the file's index in the sorted listing.
:func:`iter_s3dis_rooms` walks a dataset root area by area.

Example:
    >>> from pointcloud.datasets import S3DIS_CLASSES
    >>> len(S3DIS_CLASSES), S3DIS_CLASSES[-1]
    (13, 'clutter')
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from graphssl._validation import check_int
from pointcloud._ply import FileFormatError
from pointcloud.scene import Scene

__all__ = ["S3DIS_CLASSES", "iter_s3dis_rooms", "load_s3dis_room", "read_s3dis_object"]

S3DIS_CLASSES = (
    "ceiling", "floor", "wall", "beam", "column", "window", "door", "table", "chair",
    "sofa", "bookcase", "board", "clutter",
)  # fmt: skip
_ALIASES = {"stairs": "clutter"}
_NAME = re.compile(r"^([A-Za-z]+)_(\d+)$")


def _natural(path: Path) -> tuple[str, int]:
    """``chair_10`` after ``chair_9``: the class, then the number."""
    m = _NAME.match(path.stem)
    return (m.group(1), int(m.group(2))) if m else (path.stem, -1)


def read_s3dis_object(path: str | os.PathLike[str]) -> NDArray[np.float64]:
    """``[n, 6]`` float64 rows ``x y z r g b`` of one annotation file.

    Raises:
        ValueError: for a non-numeric value or a line without six values (naming the
            file; the original release has one such line, in Area 5).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file is an empty object
            rows = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as err:
        for i, line in enumerate(Path(path).read_bytes().splitlines(), 1):
            if not _numeric(line):
                raise FileFormatError(
                    path, "S3DIS", f"line {i} is not numeric"
                ) from None
            if len(line.split()) != 6:
                reason = f"line {i} has {len(line.split())} values, not 6 (x y z r g b)"
                raise FileFormatError(path, "S3DIS", reason) from None
        raise FileFormatError(path, "S3DIS", str(err)) from None
    rows = rows.reshape(-1, 6) if rows.size == 0 else rows
    if rows.shape[1] != 6:
        reason = f"{rows.shape[1]} values per line, not 6 (x y z r g b)"
        raise FileFormatError(path, "S3DIS", reason)
    if not np.isfinite(rows).all():
        raise FileFormatError(path, "S3DIS", "NaN or infinite values")
    if rows.size and (rows[:, 3:].min() < 0 or rows[:, 3:].max() > 255):
        raise FileFormatError(path, "S3DIS", "colours outside 0..255")
    return rows


def _numeric(line: bytes) -> bool:
    try:
        np.array(line.split(), dtype=np.float64)
    except ValueError:
        return False
    return True


def load_s3dis_room(room: str | os.PathLike[str]) -> Scene:
    """Load ``<room>/Annotations/*.txt`` as one labelled scene.

    Args:
        room (str or PathLike): the room folder, e.g. ``.../Area_1/office_1``.

    Returns:
        Scene: points in metres, colours in ``[0, 1]``, labels indexing
        :data:`S3DIS_CLASSES`, one instance per annotation file; named
        ``"Area_1/office_1"``.

    Raises:
        FileNotFoundError: when the ``Annotations`` folder is missing or empty.
        ValueError: for an unknown class name or a corrupt file (naming the file).
    """
    base = Path(room)
    files = sorted(base.joinpath("Annotations").glob("*.txt"), key=_natural)
    if not files:
        raise FileNotFoundError(f"load_s3dis_room: no '{base / 'Annotations'}/*.txt'.")
    rows, labels, instances = [], [], []
    for i, path in enumerate(files):
        cls = _natural(path)[0]
        cls = _ALIASES.get(cls, cls)
        if cls not in S3DIS_CLASSES:
            allowed = "a class of S3DIS_CLASSES followed by _<n>"
            raise FileFormatError(path, "S3DIS", f"the file name must be {allowed}")
        data = read_s3dis_object(path)
        rows.append(data)
        labels.append(np.full(len(data), S3DIS_CLASSES.index(cls), dtype=np.int64))
        instances.append(np.full(len(data), i, dtype=np.int64))
    table = np.concatenate(rows)
    if not len(table):
        raise FileFormatError(base / "Annotations", "S3DIS", "every file is empty")
    return Scene(
        torch.from_numpy(table[:, :3].astype(np.float32)),
        colors=torch.from_numpy((table[:, 3:] / 255.0).astype(np.float32)),
        labels=torch.from_numpy(np.concatenate(labels)),
        instances=torch.from_numpy(np.concatenate(instances)),
        class_names=S3DIS_CLASSES,
        name=f"{base.parent.name}/{base.name}",
    )


def iter_s3dis_rooms(
    root: str | os.PathLike[str], areas: Iterable[int] | None = None
) -> Iterator[Scene]:
    """Every room with annotations under ``root/Area_N/``, area by area, in name order.

    Args:
        root (str or PathLike): the dataset root holding the ``Area_N`` folders.
        areas (iterable of int, optional): which areas (e.g. ``[5]`` for the usual
            test split); all present ones by default.

    Raises:
        FileNotFoundError: when ``root`` is not a folder or a requested area is
            missing.
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"iter_s3dis_rooms: no folder '{base}'.")
    if areas is None:
        folders = sorted(base.glob("Area_*"), key=lambda p: _natural(p)[1])
    else:
        nums = [check_int(a, "areas", "iter_s3dis_rooms", low=1) for a in areas]
        folders = [base / f"Area_{a}" for a in nums]
        missing = [str(f) for f in folders if not f.is_dir()]
        if missing:
            raise FileNotFoundError(f"iter_s3dis_rooms: no folder {missing[0]!r}.")
    for area in folders:
        for room in sorted(p for p in area.iterdir() if (p / "Annotations").is_dir()):
            yield load_s3dis_room(room)
