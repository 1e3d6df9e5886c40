"""The in-memory video dataset: snippet features, video labels and segment annotations.

Every loader (:mod:`video.datasets.thumos`, :mod:`video.datasets.folder`) and the
synthetic generator return a :class:`VideoDataset`; the model, the evaluation and the
command line only consume this one structure. A video is a sequence of ``T`` snippets,
each described by a ``D``-dimensional feature (THUMOS14 I3D: one 2048-d RGB ⊕ flow
feature per 16 frames at 25 fps, i.e. ``snippet_rate = 25 / 16`` snippets per second).

Shapes (``V`` videos, ``C`` classes, ``T_i`` snippets and ``S_i`` segments of video ``i``)::

    features[i]   [T_i, D]  float32   snippet features
    labels        [V, C]    float32   multi-hot video-level labels (weak supervision)
    segments[i]   [S_i, 3]  float64   (start_seconds, end_seconds, class) ground truth
    ambiguous[i]  [A_i, 2]  float64   (start, end) regions ignored by the evaluation
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from graphssl._validation import check_float_tensor, check_real, param_error
from video.datasets._checks import (
    check_labels,
    check_lengths,
    check_regions,
    check_segments,
    check_video,
)

__all__ = ["VideoDataset", "pad_videos"]

_OWNER = "VideoDataset"


@dataclass(frozen=True)
class VideoDataset:
    r"""Snippet features of ``V`` videos with weak labels and segment annotations.

    Args:
        features (list[Tensor]): ``V`` tensors ``[T_i, D]`` (stored as float32);
            every video needs ``T_i >= 2`` snippets and finite values.
        labels (Tensor): ``[V, C]`` multi-hot video-level labels (0/1, float32).
        segments (list[Tensor]): ``V`` tensors ``[S_i, 3]`` of
            ``(start_seconds, end_seconds, class)`` (float64); may be empty ``[0, 3]``
            for training videos. Every segment's class must be among the video's labels.
        names (list[str]): ``V`` unique video names.
        class_names (tuple[str, ...]): the ``C`` class names.
        subset (list[str]): ``V`` subset names, e.g. ``'train'``/``'test'`` or THUMOS'
            ``'validation'``/``'test'``.
        snippet_rate (float): snippets per second; snippet ``t`` covers the seconds
            ``[t / r, (t + 1) / r)``.
        durations (list[float]): ``V`` durations in seconds; empty (the default) means
            ``T_i / snippet_rate``.
        ambiguous (list[Tensor]): ``V`` tensors ``[A_i, 2]`` of (start, end) seconds that
            the THUMOS protocol ignores; empty (the default) means none.

    Raises:
        ValueError: for ``T_i < 2`` or an empty video, a label matrix whose width is not
            ``len(class_names)`` or whose entries are not 0/1, NaN or infinite features,
            videos of different feature dimensions, segments outside the video
            (``[0, duration]``, or the span of the snippets if shorter, with one
            snippet of slack at the end), reversed segments or ambiguous regions, a
            segment class missing from the video's labels, or no / duplicate
            ``class_names``.
        TypeError: for non-tensor or integer features, or a per-video field that is
            not a list.

    A class without any video is legal here (a test split may lack one); call
    :meth:`check_training_classes` on a training split to get a ``UserWarning``.
    """

    features: list[Tensor]
    labels: Tensor
    segments: list[Tensor]
    names: list[str]
    class_names: tuple[str, ...]
    subset: list[str]
    snippet_rate: float
    durations: list[float] = field(default_factory=list)
    ambiguous: list[Tensor] = field(default_factory=list)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise dtypes once, here
        rate = check_real(self.snippet_rate, "snippet_rate", _OWNER, 0.0, None, "right")
        set_(self, "snippet_rate", rate)
        names_ = self.class_names
        if isinstance(names_, str) or not isinstance(names_, Sequence):
            raise param_error(
                "class_names", _OWNER, "a sequence of class-name strings",
                type(names_).__name__, TypeError,
            )  # fmt: skip
        set_(self, "class_names", tuple(str(c) for c in names_))
        if not self.class_names or len(set(self.class_names)) != len(self.class_names):
            raise param_error(
                "class_names", _OWNER, "at least one class and unique names",
                list(self.class_names)[:10],
            )  # fmt: skip
        check_lengths([("features", self.features)], None)
        num_videos = len(self.features)
        if num_videos == 0:
            raise param_error("features", _OWNER, "a list of at least one video", [])
        per_video: list[tuple[str, Sequence[object]]] = [
            ("segments", self.segments),
            ("names", self.names),
            ("subset", self.subset),
        ]
        check_lengths(per_video, num_videos)
        dim = self.features[0].shape[-1] if isinstance(self.features[0], Tensor) else 0
        set_(
            self,
            "features",
            [check_video(i, x, dim) for i, x in enumerate(self.features)],
        )
        set_(
            self, "labels", check_labels(self.labels, num_videos, len(self.class_names))
        )
        if len(set(self.names)) != num_videos:
            raise param_error("names", _OWNER, "unique video names", "duplicates")
        if not self.durations:  # default: the span of the snippets
            set_(self, "durations", [x.shape[0] / rate for x in self.features])
        check_lengths([("durations", self.durations)], num_videos)
        durations = [float(d) for d in self.durations]
        if not all(0 < d < float("inf") for d in durations):
            raise param_error(
                "durations", _OWNER, "positive finite seconds", durations[:5]
            )
        set_(self, "durations", durations)
        segments = [
            check_segments(i, s, video=self.names[i], labels=self.labels[i],
                           duration=durations[i], snippet_rate=rate,
                           num_snippets=self.features[i].shape[0])
            for i, s in enumerate(self.segments)
        ]  # fmt: skip
        set_(self, "segments", segments)
        if not self.ambiguous:
            set_(
                self, "ambiguous", [torch.zeros(0, 2, dtype=torch.float64)] * num_videos
            )
        check_lengths([("ambiguous", self.ambiguous)], num_videos)
        set_(
            self,
            "ambiguous",
            [check_regions(i, a) for i, a in enumerate(self.ambiguous)],
        )

    def __len__(self) -> int:
        return len(self.features)

    def __repr__(self) -> str:
        subsets = {s: self.subset.count(s) for s in dict.fromkeys(self.subset)}
        return (
            f"VideoDataset(videos={len(self)}, classes={self.num_classes}, "
            f"feature_dim={self.feature_dim}, snippet_rate={self.snippet_rate:g}, "
            f"subsets={subsets})"
        )

    @property
    def num_classes(self) -> int:
        """Number of classes ``C``."""
        return len(self.class_names)

    @property
    def feature_dim(self) -> int:
        """Snippet feature dimension ``D``."""
        return int(self.features[0].shape[1])

    @property
    def num_snippets(self) -> list[int]:
        """Number of snippets ``T_i`` of every video."""
        return [int(x.shape[0]) for x in self.features]

    def class_counts(self) -> Tensor:
        """Number of videos labelled with each class, ``[C]`` int64."""
        return self.labels.sum(0).long()

    def check_training_classes(self) -> None:
        """Warn (``UserWarning``) when a class has no video in this dataset.

        Call it on the training split: such a class can never be learnt from video-level
        labels, and its test AP will be near zero.
        """
        empty = [
            self.class_names[c]
            for c in range(self.num_classes)
            if self.class_counts()[c] == 0
        ]
        if empty:
            warnings.warn(
                f"{len(empty)} class(es) have no training video and cannot be learnt: "
                f"{empty}.", UserWarning, stacklevel=2,
            )  # fmt: skip

    def select(self, indices: Sequence[int] | Tensor) -> VideoDataset:
        """The videos at ``indices`` (in that order) as a new dataset."""
        if isinstance(indices, Tensor) and indices.dtype == torch.bool:
            if indices.shape != (len(self),):
                raise param_error(
                    "indices", "VideoDataset.select",
                    f"a [{len(self)}] bool mask or a list of indices",
                    list(indices.shape),
                )  # fmt: skip
            indices = torch.nonzero(indices).flatten()
        idx = [
            int(i)
            for i in (indices.tolist() if isinstance(indices, Tensor) else indices)
        ]
        bad = [i for i in idx if not -len(self) <= i < len(self)]
        if bad or not idx:
            raise param_error(
                "indices", "VideoDataset.select",
                f"a non-empty list of video indices in [0, {len(self) - 1}]", bad or idx,
            )  # fmt: skip
        return VideoDataset(
            features=[self.features[i] for i in idx],
            labels=self.labels[idx],
            segments=[self.segments[i] for i in idx],
            names=[self.names[i] for i in idx],
            class_names=self.class_names,
            subset=[self.subset[i] for i in idx],
            snippet_rate=self.snippet_rate,
            durations=[self.durations[i] for i in idx],
            ambiguous=[self.ambiguous[i] for i in idx],
        )

    def split(self, subset_name: str) -> VideoDataset:
        """The videos whose ``subset`` is ``subset_name``."""
        idx = [i for i, s in enumerate(self.subset) if s == subset_name]
        if not idx:
            options = ", ".join(repr(s) for s in dict.fromkeys(self.subset))
            raise param_error(
                "subset_name", "VideoDataset.split", f"one of {options}", subset_name
            )
        return self.select(idx)


def pad_videos(
    features: Sequence[Tensor], device: torch.device | str | None = None
) -> tuple[Tensor, Tensor]:
    """Stack videos of different lengths into one zero-padded batch.

    Args:
        features (Sequence[Tensor]): ``B`` tensors ``[T_b, D]``.
        device (torch.device | str | None): target device (default: the first video's).

    Returns:
        tuple[Tensor, Tensor]: ``x [B, T_max, D]`` (dtype of the first video, zeros after
        each video's end) and ``mask [B, T_max]`` bool, ``True`` on real snippets.
    """
    if len(features) == 0:
        raise param_error(
            "features", "pad_videos", "a non-empty list of [T, D] tensors", []
        )
    first = check_float_tensor(features[0], "features[0]", "pad_videos", ndim=2)
    dev = first.device if device is None else torch.device(device)
    lengths = [int(x.shape[0]) for x in features]
    x = torch.zeros(
        len(features), max(lengths), first.shape[1], dtype=first.dtype, device=dev
    )
    for b, f in enumerate(features):
        if f.dim() != 2 or f.shape[1] != first.shape[1]:
            raise param_error(
                f"features[{b}]",
                "pad_videos",
                f"a [T, {first.shape[1]}] tensor",
                list(f.shape),
            )
        x[b, : lengths[b]] = f.to(device=dev, dtype=first.dtype)
    mask = (
        torch.arange(max(lengths), device=dev)[None, :]
        < torch.tensor(lengths, device=dev)[:, None]
    )
    return x, mask
