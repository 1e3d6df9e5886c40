"""Loader of W-TALC's "Thumos14reduced" pre-extracted I3D features and annotations.

The layout (W-TALC, Paul et al. ECCV 2018; reused by RSKP, CO2-Net and most weakly
supervised localisation code) is::

    <root>/Thumos14reduced-I3D-JOINTFeatures.npy   object array [V] of [T_i, 2048] float
    <root>/Thumos14reduced-Annotations/            (RSKP puts these files in <root>)
        classlist.npy     [C]  bytes   class names
        videoname.npy     [V]  bytes   video names
        subset.npy        [V]  bytes   'validation' (the training set) or 'test'
        labels_all.npy    [V]  object  per video: list of its class names
        segments.npy      [V]  object  per video: list of [start, end] in seconds
        labels.npy        [V]  object  per video: class name of every segment
        duration.npy      [V]  float   video durations in seconds (optional)
        Ambiguous_test.txt             "<video> <start> <end>" lines (optional)

Features are one 1024-d RGB ⊕ 1024-d TV-L1 flow I3D vector per 16 frames of 25 fps
video, hence 25 / 16 snippets per second. The object arrays are pickled: only load files
you trust.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graphssl._validation import check_real
from video.datasets.base import VideoDataset

__all__ = ["THUMOS14_CLASSES", "load_thumos_reduced"]

#: The 20 THUMOS14 detection classes, in W-TALC's ``classlist.npy`` order.
THUMOS14_CLASSES: tuple[str, ...] = (
    "BaseballPitch", "BasketballDunk", "Billiards", "CleanAndJerk", "CliffDiving",
    "CricketBowling", "CricketShot", "Diving", "FrisbeeCatch", "GolfSwing",
    "HammerThrow", "HighJump", "JavelinThrow", "LongJump", "PoleVault", "Shotput",
    "SoccerPenalty", "TennisSwing", "ThrowDiscus", "VolleyballSpiking",
)  # fmt: skip


def _str(x: Any) -> str:
    return x.decode("utf-8") if isinstance(x, bytes | np.bytes_) else str(x)


def _load(path: Path, length: int | None = None) -> np.ndarray:
    """``np.load`` a W-TALC file; a missing or unreadable file raises naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"THUMOS14 reduced data: missing file {path}")
    try:
        arr = np.load(path, allow_pickle=True, encoding="bytes")
    except (
        Exception
    ) as err:  # numpy raises ValueError, OSError, EOFError, UnpicklingError
        raise ValueError(f"THUMOS14 reduced data: cannot read {path}: {err}") from err
    if not isinstance(arr, np.ndarray) or arr.ndim != 1:
        raise ValueError(
            f"THUMOS14 reduced data: {path} must hold a 1-D array, got {type(arr).__name__} {getattr(arr, 'shape', '')}"
        )
    if length is not None and len(arr) != length:
        raise ValueError(
            f"THUMOS14 reduced data: {path} has {len(arr)} entries, expected {length} (one per video)"
        )
    return arr


def _ambiguous(path: Path, names: list[str]) -> list[torch.Tensor]:
    """Per-video ambiguous regions from ``Ambiguous_test.txt`` (unknown videos ignored)."""
    rows: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    if path.is_file():
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            tok = line.split()
            if not tok:
                continue
            try:
                if len(tok) < 3:
                    raise ValueError
                start, end = float(tok[-2]), float(tok[-1])
            except ValueError:
                raise ValueError(
                    f"THUMOS14 reduced data: {path} line {lineno} is not '<video> <start> <end>': {line!r}"
                ) from None
            if tok[0] in rows:
                rows[tok[0]].append((start, end))
    return [torch.tensor(rows[n], dtype=torch.float64).reshape(-1, 2) for n in names]


def _times(path: Path, entry: Any, video: str) -> np.ndarray:
    """One video's ``segments.npy`` entry as ``[S, 2]`` (start, end) seconds."""
    if len(entry) == 0:
        return np.zeros((0, 2))
    try:
        times = np.asarray(entry, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"THUMOS14 reduced data: {path} entry of video {video} is not a list of "
            f"(start, end) seconds: {err}"
        ) from None
    if times.ndim != 2 or times.shape[1] != 2:
        raise ValueError(
            f"THUMOS14 reduced data: {path} entry of video {video} must be [S, 2] "
            f"(start, end) seconds, got shape {list(times.shape)}"
        )
    return times


def load_thumos_reduced(
    root: str | Path,
    *,
    dataset_name: str = "Thumos14reduced",
    snippet_rate: float = 25.0 / 16.0,
    clip_segments: bool = False,
) -> VideoDataset:
    """Load the W-TALC "Thumos14reduced" features and annotations under ``root``.

    Args:
        root (str | Path): folder holding ``<dataset_name>-I3D-JOINTFeatures.npy`` and
            either ``<dataset_name>-Annotations/`` (W-TALC) or the annotation files
            themselves (RSKP's layout).
        dataset_name (str): file-name prefix (default ``'Thumos14reduced'``).
        snippet_rate (float): snippets per second (default 25 / 16).
        clip_segments (bool): clip segments to the video (``[0, duration]``, or the
            span of its snippets if shorter) and drop the ones left empty (with a
            warning) instead of raising on annotations outside a video; reversed
            segments still raise.

    Returns:
        VideoDataset: subsets ``'validation'`` (train) and ``'test'``; ambiguous regions
        from ``Ambiguous_test.txt`` when present.

    Raises:
        FileNotFoundError: a required file is missing (the message names it).
        ValueError: a file is corrupt, has the wrong number of entries, or names an
            unknown class (the message names it), or the data are invalid.
    """
    root = Path(root)
    rate = check_real(
        snippet_rate, "snippet_rate", "load_thumos_reduced", 0.0, None, "right"
    )
    ann = root / f"{dataset_name}-Annotations"
    ann = ann if ann.is_dir() else root
    classes = tuple(_str(c) for c in _load(ann / "classlist.npy"))
    names = [_str(v) for v in _load(ann / "videoname.npy")]
    num_videos = len(names)
    subset = [_str(s) for s in _load(ann / "subset.npy", num_videos)]
    labels_all = _load(ann / "labels_all.npy", num_videos)
    seg_times = _load(ann / "segments.npy", num_videos)
    seg_labels = _load(ann / "labels.npy", num_videos)
    feat_path = root / f"{dataset_name}-I3D-JOINTFeatures.npy"
    feats = _load(feat_path, num_videos)
    dur_path = ann / "duration.npy"
    durations = (
        [float(d) for d in _load(dur_path, num_videos)] if dur_path.is_file() else []
    )
    index = {c: i for i, c in enumerate(classes)}
    labels = torch.zeros(num_videos, len(classes))
    segments, features, clipped, dropped = [], [], 0, 0
    for v in range(num_videos):
        for c in labels_all[v]:
            if _str(c) not in index:
                raise ValueError(
                    f"THUMOS14 reduced data: {ann / 'labels_all.npy'} names class {_str(c)!r} (video {names[v]}) not in classlist.npy"
                )
            labels[v, index[_str(c)]] = 1.0
        times = _times(ann / "segments.npy", seg_times[v], names[v])
        if len(seg_labels[v]) != len(times):
            raise ValueError(
                f"THUMOS14 reduced data: {ann / 'labels.npy'} has {len(seg_labels[v])} labels for the {len(times)} segments of video {names[v]}"
            )
        rows = []
        for (s, e), c in zip(times, seg_labels[v], strict=True):
            if _str(c) not in index:
                raise ValueError(
                    f"THUMOS14 reduced data: {ann / 'labels.npy'} names class {_str(c)!r} (video {names[v]}) not in classlist.npy"
                )
            rows.append((float(s), float(e), float(index[_str(c)])))
        seg = torch.tensor(rows, dtype=torch.float64).reshape(-1, 3)
        try:
            x = torch.from_numpy(np.asarray(feats[v], dtype=np.float32))
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"THUMOS14 reduced data: {feat_path} entry {v} ({names[v]}) is not a numeric array: {err}"
            ) from err
        if clip_segments and seg.shape[0]:
            # the features reach into the last, partial snippet: one past T / rate
            end = min(
                durations[v] if durations else x.shape[0] / rate,
                (x.shape[0] + 1) / rate,
            )
            inside = (seg[:, 0] >= 0) & (seg[:, 1] <= end)
            reversed_ = seg[:, 0] >= seg[:, 1]  # malformed, not clipped: still raises
            clipped += int((~inside & ~reversed_).sum())
            seg[:, :2] = seg[:, :2].clamp(0.0, end)
            keep = (seg[:, 0] < seg[:, 1]) | reversed_
            dropped += int((~keep).sum())
            seg = seg[keep]
        segments.append(seg)
        features.append(x)
    if clipped:
        warnings.warn(
            f"load_thumos_reduced clipped {clipped} segment(s) to their video "
            f"({dropped} dropped as empty).",
            UserWarning,
            stacklevel=2,
        )
    ambiguous = _ambiguous(ann / "Ambiguous_test.txt", names)
    try:
        return VideoDataset(
            features=features,
            labels=labels,
            segments=segments,
            names=names,
            class_names=classes,
            subset=subset,
            snippet_rate=rate,
            durations=durations,
            ambiguous=ambiguous,
        )
    except (ValueError, TypeError) as err:
        raise type(err)(f"THUMOS14 reduced data under {root}: {err}") from err
