r"""Batches of videos of different lengths: length buckets, padding and input checks.

Videos are sorted by length and cut into consecutive chunks, so a batch pads little;
the order of the chunks (and, for training, which videos share a chunk, through a
random jitter of the sort key) is drawn from a seeded generator each epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from graphssl._validation import (
    check_finite,
    check_float_tensor,
    check_int,
    param_error,
)

__all__ = ["VideoBatch", "bucket_batches", "check_video_batch", "make_batch"]


@dataclass(frozen=True)
class VideoBatch:
    """A padded batch.

    Attributes:
        features: ``[B, T, D]`` zero-padded snippet features.
        mask: ``[B, T]`` bool, ``True`` on real snippets.
        labels: ``[B, C]`` multi-hot video labels.
        index: ``[B]`` int64 positions of the videos in their dataset.
    """

    features: Tensor
    mask: Tensor
    labels: Tensor
    index: Tensor


def check_video_batch(
    features: Tensor,
    mask: Tensor | None,
    in_dim: int,
    owner: str,
    dtype: torch.dtype | None = None,
) -> tuple[Tensor, Tensor]:
    """Validate ``features [B, T, D]`` (or one video ``[T, D]``) and its mask.

    Raises a ``ValueError``/``TypeError`` in the project format for a non-float or
    empty tensor, a feature size other than ``in_dim``, NaN/inf on real snippets, a
    mask that is not a ``[B, T]`` tensor, or a video with fewer than 2 real snippets.
    Features are cast to ``dtype`` (the model's) when given, and padded snippets are
    zeroed: whatever they held (even NaN) must not reach the outputs.

    Returns:
        tuple: ``features [B, T, D]`` and ``mask [B, T]`` bool.
    """
    features = check_float_tensor(features, "features", owner)
    if mask is not None and not isinstance(mask, Tensor):
        raise param_error(
            "mask", owner, "a bool tensor or None", type(mask).__name__, TypeError
        )
    if features.dim() == 2:
        features = features[None]
        mask = None if mask is None else mask.reshape(1, -1)
    if features.dim() != 3:
        raise param_error(
            "features", owner, "a [B, T, D] or [T, D] tensor", list(features.shape)
        )
    b, t, d = features.shape
    if d != in_dim:
        raise param_error(
            "features", owner, f"snippet features of size {in_dim}", f"size {d}"
        )
    if mask is None:
        mask = torch.ones(b, t, dtype=torch.bool, device=features.device)
    elif mask.shape != (b, t):
        raise param_error("mask", owner, f"a [{b}, {t}] bool tensor", list(mask.shape))
    mask = mask.bool()
    lengths = mask.sum(dim=1)
    if b == 0 or bool((lengths < 2).any()):
        short = lengths.min().item() if b else "no video"
        raise param_error("features", owner, "videos of at least 2 snippets", short)
    check_finite(features[mask], "features", owner)
    if dtype is not None:
        features = features.to(dtype)
    if not bool(mask.all()):
        features = features.masked_fill(~mask[..., None], 0.0)
    return features, mask


def bucket_batches(
    lengths: Sequence[int],
    batch_size: int,
    *,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    jitter: float = 0.2,
) -> list[list[int]]:
    r"""Split videos into batches of similar length.

    The sort key is :math:`\log T_i + \epsilon_i` with :math:`\epsilon_i \sim
    U(0, \text{jitter})` when shuffling (so batches differ between epochs while the
    padding stays small), then consecutive chunks of ``batch_size`` form the batches,
    returned in random order.

    Args:
        lengths (Sequence[int]): ``T_i`` per video.
        batch_size (int): videos per batch (the last batch may be smaller).
        shuffle (bool): jitter and shuffle; ``False`` gives the sorted order.
        generator (torch.Generator, optional): randomness source.
        jitter (float): width of the log-length jitter. (default: ``0.2``)

    Returns:
        list[list[int]]: every index exactly once.
    """
    batch_size = check_int(batch_size, "batch_size", "bucket_batches", low=1)
    if len(lengths) == 0:
        return []
    key = torch.tensor([float(n) for n in lengths], dtype=torch.float64).log()
    if shuffle:
        key = key + jitter * torch.rand(key.shape, generator=generator, dtype=key.dtype)
    order = torch.argsort(key, stable=True).tolist()
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        perm = torch.randperm(len(chunks), generator=generator).tolist()
        chunks = [chunks[i] for i in perm]
    return chunks


def make_batch(
    features: Sequence[Tensor],
    labels: Tensor,
    indices: Sequence[int],
    device: torch.device | str | None = None,
) -> VideoBatch:
    """Pad the videos ``indices`` of a dataset into one :class:`VideoBatch`."""
    from video.datasets import pad_videos

    if len(indices) == 0:
        raise param_error("indices", "make_batch", "a non-empty list", [])
    x, mask = pad_videos([features[i] for i in indices], device=device)
    idx = torch.as_tensor(list(indices), dtype=torch.long)
    lab = labels[idx].to(device=x.device, dtype=x.dtype)
    return VideoBatch(x, mask, lab, idx)
