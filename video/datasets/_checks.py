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
    "video_end",
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


def video_end(duration: float, num_snippets: int, snippet_rate: float) -> float:
    """Last second a detection can reach: the duration, or the snippets' span if shorter."""
    return min(duration, num_snippets / snippet_rate)


def check_segments(
    i: int,
    seg: Tensor,
    *,
    video: str,
    labels: Tensor,
    duration: float,
    num_snippets: int,
    snippet_rate: float,
) -> Tensor:
    """Video ``i``'s segments ``[S, 3]`` inside the video; float64.

    The video ends at :func:`video_end`: its duration, or the span of its snippets if
    that is shorter (a segment past the features could never be detected; a duration
    longer than the features usually means a wrong ``snippet_rate``). One snippet of
    slack is allowed at the end: annotations in seconds may end inside the last
    snippet. Every segment's class must be among the video's ``labels [C]``.
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
    span = num_snippets / snippet_rate
    limit = video_end(duration, num_snippets, snippet_rate) + 1.0 / snippet_rate
    bad = (seg[:, 0] < 0) | (seg[:, 1] > limit) | (seg[:, 0] >= seg[:, 1])
    if bool(bad.any()):
        end = (
            f"its duration {duration:.3f} s"
            if duration <= span
            else f"its {num_snippets} snippets at {snippet_rate:g}/s, which cover "
            f"{span:.3f} s of its {duration:.3f} s (is snippet_rate right?)"
        )
        raise param_error(
            name, _OWNER,
            f"segments with 0 <= start < end <= {limit:.3f} s inside video {video!r} "
            f"(the end of {end}, plus one snippet)", seg[bad][0].tolist(),
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
    a = check_finite(a.double().reshape(-1, 2), name, _OWNER)
    if bool((a[:, 0] > a[:, 1]).any()):
        raise param_error(
            name, _OWNER, "regions with start <= end", a[a[:, 0] > a[:, 1]][0].tolist()
        )
    return a


def check_lengths(
    lists: Sequence[tuple[str, Sequence[object]]], num_videos: int | None
) -> None:
    """Every per-video field is a list (or tuple) with one entry per video."""
    for attr, values in lists:
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise param_error(
                attr, _OWNER, "a list with one entry per video",
                type(values).__name__, TypeError,
            )  # fmt: skip
        if num_videos is not None and len(values) != num_videos:
            raise param_error(
                attr, _OWNER, f"a list of {num_videos} entries (one per video)",
                f"{len(values)} entries",
            )  # fmt: skip
