"""Per-field checks behind :class:`video.datasets.VideoDataset` (one message format)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from graphssl._validation import check_finite, check_float_tensor, param_error

__all__ = [
    "check_labels",
    "check_lengths",
    "check_regions",
    "check_segments",
    "check_video",
]

_OWNER = "VideoDataset"


def check_video(i: int, x: Tensor, dim: int) -> Tensor:
    """Video ``i``'s features ``[T, D]`` with ``T >= 2``, ``D = dim``, finite; float32."""
    name = f"features[{i}]"
    x = check_float_tensor(x, name, _OWNER, ndim=2, allow_empty=True)
    if x.shape[0] < 2:
        raise param_error(
            name, _OWNER, "a video of at least 2 snippets ([T, D], T >= 2)",
            f"{x.shape[0]} snippets",
        )  # fmt: skip
    if x.shape[1] != dim or dim == 0:
        raise param_error(
            name, _OWNER, f"features of dimension D = {dim} (the first video's, D >= 1)",
            f"D = {x.shape[1]}",
        )  # fmt: skip
    return check_finite(x, name, _OWNER).float()


def check_labels(y: Tensor, num_videos: int, num_classes: int) -> Tensor:
    """Multi-hot ``[V, C]`` labels as float32."""
    if not isinstance(y, Tensor):
        raise param_error(
            "labels", _OWNER, "a torch.Tensor", type(y).__name__, TypeError
        )
    if y.dim() != 2 or y.shape != (num_videos, num_classes):
        raise param_error(
            "labels", _OWNER,
            f"a [V, C] = [{num_videos}, {num_classes}] multi-hot tensor (one label "
            "vector of len(class_names) entries per video)", list(y.shape),
        )  # fmt: skip
    y = y.float()
    if not bool(((y == 0) | (y == 1)).all()):
        raise param_error(
            "labels", _OWNER, "multi-hot (0/1 entries only)", "other values"
        )
    return y


def _ids(row: Tensor) -> list[int]:
    return [int(c) for c in torch.nonzero(row > 0).flatten().tolist()]


def check_segments(
    i: int,
    seg: Tensor,
    *,
    video: str,
    labels: Tensor,
    duration: float,
    snippet_rate: float,
) -> Tensor:
    """Video ``i``'s segments ``[S, 3]`` inside ``[0, duration]``; float64.

    One snippet of slack is allowed at the end: annotations in seconds may end inside
    the last snippet. Every segment's class must be among the video's ``labels [C]``.
    """
    name = f"segments[{i}]"
    if not isinstance(seg, Tensor):
        raise param_error(name, _OWNER, "a torch.Tensor", type(seg).__name__, TypeError)
    seg = seg.double().reshape(-1, 3) if seg.numel() == 0 else seg.double()
    if seg.dim() != 2 or seg.shape[1] != 3:
        raise param_error(
            name, _OWNER, "a [S, 3] tensor (start, end, class)", list(seg.shape)
        )
    check_finite(seg, name, _OWNER)
    if seg.shape[0] == 0:
        return seg
    cls, num_classes = seg[:, 2], labels.shape[0]
    if bool((cls != cls.round()).any() | (cls < 0).any() | (cls >= num_classes).any()):
        raise param_error(
            name, _OWNER, f"class ids in 0..{num_classes - 1}", cls.tolist()
        )
    limit = duration + 1.0 / snippet_rate
    bad = (seg[:, 0] < 0) | (seg[:, 1] > limit) | (seg[:, 0] >= seg[:, 1])
    if bool(bad.any()):
        raise param_error(
            name, _OWNER,
            f"segments with 0 <= start < end <= {duration:.3f} s (inside video {video!r})",
            seg[bad][0].tolist(),
        )  # fmt: skip
    have = _ids(labels)
    missing = sorted({int(c) for c in cls.tolist()} - set(have))
    if missing:
        raise param_error(
            name, _OWNER, f"segment classes among the video's labels {have}",
            f"classes {missing} in video {video!r}",
        )  # fmt: skip
    return seg


def check_regions(i: int, a: Tensor) -> Tensor:
    """Video ``i``'s ambiguous regions ``[A, 2]`` as float64."""
    name = f"ambiguous[{i}]"
    if not isinstance(a, Tensor) or (a.numel() and (a.dim() != 2 or a.shape[1] != 2)):
        got = list(a.shape) if isinstance(a, Tensor) else type(a).__name__
        raise param_error(name, _OWNER, "a [A, 2] tensor of (start, end) seconds", got)
    return check_finite(a.double().reshape(-1, 2), name, _OWNER)


def check_lengths(
    lists: Sequence[tuple[str, Sequence[object]]], num_videos: int
) -> None:
    """Every per-video list has one entry per video."""
    for attr, values in lists:
        if len(values) != num_videos:
            raise param_error(
                attr, _OWNER, f"a list of {num_videos} entries (one per video)",
                f"{len(values)} entries",
            )  # fmt: skip
