r"""CIFAR-10 read from the standard "python version" batches.

The archive ``cifar-10-python.tar.gz`` (Krizhevsky 2009) unpacks to a folder
``cifar-10-batches-py/`` with ``data_batch_1`` … ``data_batch_5`` (10,000 training
images each), ``test_batch`` (10,000 test images) and ``batches.meta``. Each batch is a
pickled dict with byte-string keys: ``b'data'``, a ``uint8`` array ``[n, 3072]`` whose
rows hold the red, green and blue 32×32 planes in row-major order, and ``b'labels'``,
``n`` ints in ``0..9``; ``batches.meta`` holds ``b'label_names'``. Nothing is
downloaded here: users who have the archive point :func:`load_cifar10` at it.

The files are read with a restricted unpickler that only accepts numpy arrays, so a
tampered file cannot run code; every problem (missing, truncated, corrupt, wrong
content) raises an error naming the file.
"""

from __future__ import annotations

import codecs
import functools
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphssl._validation import check_in, param_error

__all__ = ["CIFAR10Split", "load_cifar10", "read_cifar_batch"]

_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST = ("test_batch",)
_META = "batches.meta"
_SIDE = 32
_PIXELS = 3 * _SIDE * _SIDE


@dataclass(frozen=True, repr=False)
class CIFAR10Split:
    """One split of CIFAR-10.

    Args:
        x (Tensor): images ``[N, 3, 32, 32]``, float32 in ``[0, 1]`` (RGB).
        y (Tensor): labels ``[N]``, int64 in ``0..9``.
        classes (tuple[str, ...]): the class names from ``batches.meta``.
    """

    x: Tensor
    y: Tensor
    classes: tuple[str, ...]

    def __repr__(self) -> str:
        return f"CIFAR10Split(x={list(self.x.shape)}, classes={len(self.classes)})"


@functools.cache
def _allowed_globals() -> dict[tuple[str, str], Any]:
    # Resolved from live objects so the numpy 1/2 module rename does not matter.
    reconstruct = np.empty(0).__reduce__()[0]
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(str, codec).
        ("_codecs", "encode"): codecs.encode,
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[mod, "_reconstruct"] = reconstruct
    return allowed


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _allowed_globals()[module, name]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load '{module}.{name}': CIFAR-10 batches only hold "
                "numpy arrays, lists and byte strings"
            ) from None


def _unpickle(path: Path) -> dict[Any, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 file {str(path)!r} not found.")
    try:
        with path.open("rb") as f:
            # Written by Python 2: 'bytes' keeps its str keys as bytes (b'data').
            obj = _Unpickler(f, encoding="bytes").load()
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError) as err:
        raise ValueError(
            f"The CIFAR-10 file {str(path)!r} is truncated or corrupt: {err}."
        ) from err
    if not isinstance(obj, dict):
        raise ValueError(
            f"The CIFAR-10 file {str(path)!r} does not hold a dict "
            f"(got {type(obj).__name__})."
        )
    return obj


def _field(d: dict[Any, Any], key: str, path: Path) -> Any:
    for k in (key.encode(), key):  # py2 files: bytes keys; re-saved ones: str keys
        if k in d:
            return d[k]
    raise ValueError(f"The CIFAR-10 file {str(path)!r} has no {key!r} entry.")


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[Tensor, Tensor]:
    """Read one batch file.

    Args:
        path (str or os.PathLike): a ``data_batch_*`` or ``test_batch`` file.

    Returns:
        tuple: images ``x [n, 3, 32, 32]`` (float32 in ``[0, 1]``) and labels
        ``y [n]`` (int64 in ``0..9``).

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for a truncated or corrupt file, or content of the wrong shape,
            dtype or label range; the message names the file.
    """
    if not isinstance(path, str | os.PathLike):
        raise param_error(
            "path", "read_cifar_batch", "a str or os.PathLike", type(path), TypeError
        )
    x, y = _read_uint8(Path(path))
    return _to_float(x), y


def _read_uint8(p: Path) -> tuple[Tensor, Tensor]:
    """``x [n, 3, 32, 32]`` uint8 and ``y [n]`` int64 of one batch file, checked."""
    d = _unpickle(p)
    data, labels = _field(d, "data", p), _field(d, "labels", p)
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != _PIXELS
    ):
        got = (
            f"shape {list(data.shape)}, dtype {data.dtype}"
            if isinstance(data, np.ndarray)
            else type(data).__name__
        )
        raise ValueError(
            f"The CIFAR-10 file {str(p)!r} has 'data' of {got}; expected a uint8 "
            f"array [n, {_PIXELS}]."
        )
    try:
        y = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"The CIFAR-10 file {str(p)!r} has non-integer labels."
        ) from err
    if y.shape[0] != data.shape[0]:
        raise ValueError(
            f"The CIFAR-10 file {str(p)!r} has {y.shape[0]} labels for "
            f"{data.shape[0]} images."
        )
    if y.size and (y.min() < 0 or y.max() > 9):
        raise ValueError(
            f"The CIFAR-10 file {str(p)!r} has labels outside 0..9 "
            f"(min {y.min()}, max {y.max()})."
        )
    x = torch.from_numpy(np.ascontiguousarray(data)).view(-1, 3, _SIDE, _SIDE)
    return x, torch.from_numpy(y)


def _to_float(x: Tensor) -> Tensor:
    return x.to(torch.float32).div_(255.0)


def _batch_folder(root: Path) -> Path:
    for cand in (root, root / "cifar-10-batches-py"):
        if (cand / _META).is_file() or (cand / "test_batch").is_file():
            return cand
    raise FileNotFoundError(
        f"No CIFAR-10 batches found in {str(root)!r}: expected {_META}, "
        f"{', '.join(_TRAIN)} and test_batch there or in "
        f"{str(root / 'cifar-10-batches-py')!r} (the unpacked cifar-10-python.tar.gz)."
    )


def load_cifar10(root: str | os.PathLike[str], split: str = "train") -> CIFAR10Split:
    """Load a split of CIFAR-10 from the python-pickle batches.

    Args:
        root (str or os.PathLike): the ``cifar-10-batches-py`` folder or its parent.
        split (str): ``'train'`` (the five ``data_batch_*``, 50,000 images) or
            ``'test'`` (``test_batch``, 10,000). (default: ``'train'``)

    Returns:
        CIFAR10Split: ``x [N, 3, 32, 32]`` float32 in ``[0, 1]``, ``y [N]`` int64 and
        the class names. The training split takes about 600 MB as float32.

    Raises:
        FileNotFoundError: when the folder or a batch file is missing (named).
        ValueError: for a bad ``split`` or a truncated or corrupt file (named).
    """
    owner = "load_cifar10"
    if not isinstance(root, str | os.PathLike):
        raise param_error("root", owner, "a str or os.PathLike", type(root), TypeError)
    names = (
        _TRAIN
        if check_in(split, "split", owner, ("train", "test")) == "train"
        else _TEST
    )
    folder = _batch_folder(Path(root))
    meta_path = folder / _META
    label_names = _field(_unpickle(meta_path), "label_names", meta_path)
    if not isinstance(label_names, list) or len(label_names) != 10:
        raise ValueError(
            f"The CIFAR-10 file {str(meta_path)!r} must list 10 label names."
        )
    classes = tuple(
        n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in label_names
    )
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 file(s) {', '.join(repr(str(folder / n)) for n in missing)} "
            "not found."
        )
    parts = [_read_uint8(folder / n) for n in names]
    x = _to_float(torch.cat([p[0] for p in parts]))  # one float copy, not two
    y = torch.cat([p[1] for p in parts])
    return CIFAR10Split(x=x, y=y, classes=classes)
