r"""1-D temporal non-maximum suppression: hard (greedy), per class, and soft (Gaussian).

Hard NMS visits the segments by decreasing score and keeps one unless a segment kept
before overlaps it with :math:`\mathrm{tIoU} > \theta` (strictly greater, as in
the W-TALC/RSKP scripts; those measure the overlap as intersection over the *other*
segment's length, we use tIoU as ActivityNet and every recent method do). Soft-NMS
(Bodla et al., ICCV 2017) instead decays the scores of overlapping segments,
:math:`s_j \leftarrow s_j\, e^{-\mathrm{tIoU}(i, j)^2 / \sigma}` (Gaussian) or
:math:`s_j \leftarrow s_j (1 - \mathrm{tIoU}(i, j))` when :math:`\mathrm{tIoU} > \theta`
(linear), and drops segments whose score falls below a floor. :func:`temporal_iou`
(continuous-time IoU) lives here and is shared with :mod:`video.evaluation`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from graphssl._validation import check_in, check_real, param_error

__all__ = ["batched_nms", "nms", "soft_nms", "temporal_iou"]


def temporal_iou(segments: Tensor, reference: Tensor) -> Tensor:
    r"""Pairwise temporal IoU :math:`|a \cap b| / |a \cup b|` of 1-D intervals.

    Args:
        segments (Tensor): ``[K, 2]`` (start, end).
        reference (Tensor): ``[S, 2]`` (start, end).

    Returns:
        Tensor: ``[K, S]`` IoU in ``[0, 1]`` (0 where the union is empty).
    """
    s, r = segments[:, None, :], reference[None, :, :]
    inter = (
        torch.minimum(s[..., 1], r[..., 1]) - torch.maximum(s[..., 0], r[..., 0])
    ).clamp(min=0)
    union = (s[..., 1] - s[..., 0]) + (r[..., 1] - r[..., 0]) - inter
    return torch.where(
        union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter)
    )


def _check(segments: Tensor, scores: Tensor, owner: str) -> None:
    if (
        not isinstance(segments, Tensor)
        or segments.dim() != 2
        or segments.shape[1] != 2
    ):
        got = (
            list(segments.shape)
            if isinstance(segments, Tensor)
            else type(segments).__name__
        )
        raise param_error("segments", owner, "a [K, 2] tensor of (start, end)", got)
    if not isinstance(scores, Tensor) or scores.shape != (segments.shape[0],):
        got = (
            list(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
        )
        raise param_error(
            "scores", owner, f"a [K] tensor with K = {segments.shape[0]}", got
        )


def nms(segments: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    r"""Greedy temporal NMS.

    Args:
        segments (Tensor): ``[K, 2]`` (start, end).
        scores (Tensor): ``[K]`` confidences; ties keep the input order.
        iou_threshold (float): :math:`\theta \in [0, 1]`; a segment is suppressed by a
            kept one when their tIoU is greater than :math:`\theta`.

    Returns:
        Tensor: ``[K']`` int64 indices of the kept segments, by decreasing score.
    """
    _check(segments, scores, "nms")
    thr = check_real(iou_threshold, "iou_threshold", "nms", 0.0, 1.0)
    order = torch.sort(scores, descending=True, stable=True).indices
    seg = segments[order]
    alive = torch.ones(len(order), dtype=torch.bool, device=segments.device)
    keep = []
    # O(K * kept) memory-light loop: one row of IoUs per kept segment, never [K, K]
    for i in range(len(order)):
        if not bool(alive[i]):
            continue
        keep.append(i)
        iou = temporal_iou(seg[i : i + 1], seg[i + 1 :])[0]
        alive[i + 1 :] &= iou <= thr
    return order[torch.tensor(keep, dtype=torch.long, device=segments.device)]


def batched_nms(
    segments: Tensor, scores: Tensor, classes: Tensor, iou_threshold: float
) -> Tensor:
    r"""NMS run independently for every class.

    Segments of different classes are shifted apart in time (by the total span plus one)
    so that one call to :func:`nms` never lets one class suppress another.

    Args:
        segments (Tensor): ``[K, 2]`` (start, end).
        scores (Tensor): ``[K]``.
        classes (Tensor): ``[K]`` integer class of each segment.
        iou_threshold (float): see :func:`nms`.

    Returns:
        Tensor: ``[K']`` int64 kept indices, by decreasing score.
    """
    _check(segments, scores, "batched_nms")
    if classes.shape != scores.shape:
        raise param_error(
            "classes",
            "batched_nms",
            f"a [K] tensor with K = {len(scores)}",
            list(classes.shape),
        )
    if segments.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=segments.device)
    seg = segments.double()
    span = float(seg.max() - seg.min()) + 1.0
    shifted = seg + (classes.to(seg) * span)[:, None]
    return nms(shifted, scores, iou_threshold)


def soft_nms(
    segments: Tensor,
    scores: Tensor,
    *,
    sigma: float = 0.5,
    iou_threshold: float = 0.3,
    score_threshold: float = 1e-3,
    method: str = "gaussian",
) -> tuple[Tensor, Tensor]:
    r"""Soft-NMS: decay rather than delete overlapping segments.

    Args:
        segments (Tensor): ``[K, 2]`` (start, end).
        scores (Tensor): ``[K]``.
        sigma (float): Gaussian width :math:`\sigma > 0` (``method='gaussian'``).
        iou_threshold (float): overlap above which ``method='linear'`` decays.
        score_threshold (float): segments whose decayed score drops below it are dropped.
        method (str): ``'gaussian'`` (default) or ``'linear'``.

    Returns:
        tuple[Tensor, Tensor]: kept indices ``[K']`` int64 in the order they were
        selected (non-increasing decayed score) and their decayed scores ``[K']``.
    """
    owner = "soft_nms"
    _check(segments, scores, owner)
    sigma = check_real(sigma, "sigma", owner, 0.0, None, "right")
    thr = check_real(iou_threshold, "iou_threshold", owner, 0.0, 1.0)
    floor = check_real(score_threshold, "score_threshold", owner, 0.0)
    method = check_in(method, "method", owner, ("gaussian", "linear"))
    current = scores.detach().clone().double()
    remaining = torch.arange(len(scores), device=scores.device)
    keep, kept_scores = [], []
    while remaining.numel():
        best = int(torch.argmax(current[remaining]))  # first maximum: ties keep order
        i = remaining[best]
        if float(current[i]) < floor:
            break
        keep.append(int(i))
        kept_scores.append(float(current[i]))
        remaining = torch.cat([remaining[:best], remaining[best + 1 :]])
        iou = temporal_iou(segments[i].double()[None], segments[remaining].double())[0]
        if method == "gaussian":
            decay = torch.exp(-(iou**2) / sigma)
        else:
            decay = torch.where(iou > thr, 1.0 - iou, torch.ones_like(iou))
        current[remaining] = current[remaining] * decay
    idx = torch.tensor(keep, dtype=torch.long, device=scores.device)
    return idx, torch.tensor(kept_scores, dtype=scores.dtype, device=scores.device)
