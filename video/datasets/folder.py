"""A simple folder format: one ``<name>.npy`` of snippet features per video plus a JSON.

Layout::

    <root>/annotations.json
    <root>/<video name>.npy        [T, D] float features of that video

``annotations.json``::

    {"class_names": ["jump", "run"],
     "snippet_rate": 1.5625,
     "videos": {"v1": {"subset": "train", "labels": ["jump"],
                       "segments": [[2.0, 5.5, "jump"]],
                       "duration": 40.0,             (optional, seconds)
                       "ambiguous": [[7.0, 8.0]]}}}  (optional)

Videos are read in the JSON's order; ``.npy`` files not listed in the JSON are ignored.
Feature files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graphssl._validation import param_error
from video.datasets.base import VideoDataset

__all__ = ["load_video_folder", "save_video_folder"]

_JSON = "annotations.json"


def _fail(path: Path, what: str) -> ValueError:
    return ValueError(f"Video folder: {path}: {what}")


def _safe_name(name: str) -> bool:
    return (
        bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")
    )


def save_video_folder(dataset: VideoDataset, root: str | Path) -> None:
    """Write ``dataset`` as ``<root>/<name>.npy`` files and ``<root>/annotations.json``.

    Raises:
        ValueError: when a video name cannot be a file name (empty, starts with a dot,
            or holds a path separator).
    """
    bad = [n for n in dataset.names if not _safe_name(n)]
    if bad:
        raise param_error(
            "dataset", "save_video_folder", "video names usable as file names", bad[:3]
        )
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    videos: dict[str, Any] = {}
    for i, name in enumerate(dataset.names):
        np.save(root / f"{name}.npy", dataset.features[i].detach().cpu().numpy())
        labels = [
            dataset.class_names[c]
            for c in torch.nonzero(dataset.labels[i]).flatten().tolist()
        ]
        segs = [
            [s, e, dataset.class_names[int(c)]]
            for s, e, c in dataset.segments[i].tolist()
        ]
        entry: dict[str, Any] = {
            "subset": dataset.subset[i],
            "labels": labels,
            "segments": segs,
        }
        entry["duration"] = dataset.durations[i]
        if dataset.ambiguous[i].numel():
            entry["ambiguous"] = dataset.ambiguous[i].tolist()
        videos[name] = entry
    doc = {
        "class_names": list(dataset.class_names),
        "snippet_rate": dataset.snippet_rate,
        "videos": videos,
    }
    (root / _JSON).write_text(json.dumps(doc, indent=1))


def _features(path: Path) -> torch.Tensor:
    if not path.is_file():
        raise FileNotFoundError(f"Video folder: missing feature file {path}")
    try:
        arr = np.load(path, allow_pickle=False)
    except (
        Exception
    ) as err:  # ValueError, OSError, EOFError for truncated/garbled files
        raise _fail(path, f"cannot read the features ({err})") from err
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.floating):
        raise _fail(
            path,
            f"features must be a 2-D float array [T, D], got shape {arr.shape} dtype {arr.dtype}",
        )
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))


def load_video_folder(root: str | Path) -> VideoDataset:
    """Read a folder written by :func:`save_video_folder` (format in the module docstring).

    Raises:
        FileNotFoundError: ``annotations.json`` or a listed video's ``.npy`` is missing.
        ValueError: a corrupt file, a malformed entry or an unknown class name (the
            message names the file and the video), or invalid data.
    """
    root = Path(root)
    path = root / _JSON
    if not path.is_file():
        raise FileNotFoundError(f"Video folder: missing {path}")
    try:
        doc = json.loads(path.read_text())
        classes = tuple(str(c) for c in doc["class_names"])
        rate = float(doc["snippet_rate"])
        entries = dict(doc["videos"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise _fail(
            path, f"not a valid annotation file ({type(err).__name__}: {err})"
        ) from err
    if not rate > 0:
        raise _fail(path, f"snippet_rate must be positive, got {rate}")
    index = {c: i for i, c in enumerate(classes)}
    names, subset, feats, segs, durations, ambiguous = [], [], [], [], [], []
    labels = torch.zeros(len(entries), len(classes))
    for v, (name, entry) in enumerate(entries.items()):
        if not _safe_name(name):
            raise _fail(path, f"video name {name!r} is not a plain file name")
        try:
            for c in entry["labels"]:
                labels[v, index[c]] = 1.0
            rows = [
                (float(s), float(e), float(index[c]))
                for s, e, c in entry.get("segments", [])
            ]
            amb = [(float(s), float(e)) for s, e in entry.get("ambiguous", [])]
            subset.append(str(entry["subset"]))
        except KeyError as err:
            raise _fail(
                path, f"video {name!r}: unknown class or missing key {err}"
            ) from err
        except (TypeError, ValueError) as err:
            raise _fail(path, f"video {name!r}: malformed entry ({err})") from err
        names.append(name)
        feats.append(_features(root / f"{name}.npy"))
        segs.append(torch.tensor(rows, dtype=torch.float64).reshape(-1, 3))
        ambiguous.append(torch.tensor(amb, dtype=torch.float64).reshape(-1, 2))
        try:
            durations.append(float(entry.get("duration", feats[-1].shape[0] / rate)))
        except (TypeError, ValueError) as err:
            raise _fail(path, f"video {name!r}: malformed 'duration' ({err})") from err
    try:
        return VideoDataset(
            features=feats,
            labels=labels,
            segments=segs,
            names=names,
            class_names=classes,
            subset=subset,
            snippet_rate=rate,
            durations=durations,
            ambiguous=ambiguous,
        )
    except (ValueError, TypeError) as err:
        raise type(err)(f"Video folder {root}: {err}") from err
