"""Average precision of temporal detections: the interpolated precision envelope and the
per-class AP over tIoU thresholds (the building blocks of :mod:`video.evaluation`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from graphssl._validation import check_real, param_error
from video.nms import temporal_iou

__all__ = ["ACTIVITYNET_TIOU", "THUMOS_TIOU", "detection_ap", "interpolated_ap"]

THUMOS_TIOU: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
ACTIVITYNET_TIOU: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the monotone precision envelope (ActivityNet ``interpolated_prec_rec``)."""
    mprec = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def _np(x: Tensor) -> np.ndarray:
    return np.asarray(x.detach().cpu().double().numpy())


def check_tiou(tiou_thresholds: object, owner: str) -> tuple[float, ...]:
    """A non-empty sequence of tIoU thresholds in ``(0, 1]``, as floats."""
    if isinstance(tiou_thresholds, np.ndarray | Tensor):
        tiou_thresholds = tiou_thresholds.tolist()
    if isinstance(tiou_thresholds, str) or not isinstance(tiou_thresholds, Sequence):
        raise param_error(
            "tiou_thresholds", owner, "a sequence of numbers in (0, 1]",
            type(tiou_thresholds).__name__, TypeError,
        )  # fmt: skip
    if len(tiou_thresholds) == 0:
        raise param_error("tiou_thresholds", owner, "at least one threshold", [])
    return tuple(
        check_real(t, "tiou_thresholds", owner, 0.0, 1.0, "right")
        for t in tiou_thresholds
    )


def detection_ap(
    video_ids: Tensor,
    segments: Tensor,
    scores: Tensor,
    gt_video_ids: Tensor,
    gt_segments: Tensor,
    tiou_thresholds: Sequence[float] = THUMOS_TIOU,
) -> Tensor:
    r"""AP of one class at every tIoU threshold (see :mod:`video.evaluation`).

    Args:
        video_ids (Tensor): ``[K]`` video index of every detection.
        segments (Tensor): ``[K, 2]`` detected (start, end) in seconds.
        scores (Tensor): ``[K]`` confidence (ties keep the input order).
        gt_video_ids (Tensor): ``[S]`` video index of every ground-truth segment.
        gt_segments (Tensor): ``[S, 2]`` ground-truth (start, end), ``S >= 1``.
        tiou_thresholds (Sequence[float]): thresholds in ``(0, 1]``.

    Returns:
        Tensor: ``[len(tiou_thresholds)]`` float64 AP.
    """
    owner = "detection_ap"
    thr = np.array(check_tiou(tiou_thresholds, owner))
    if gt_segments.shape[0] == 0:
        raise param_error(
            "gt_segments", owner, "at least one ground-truth segment", "none"
        )
    if segments.shape[0] == 0:
        return torch.zeros(len(thr), dtype=torch.float64)
    order = np.argsort(-_np(scores), kind="stable")
    det_vid = _np(video_ids).astype(np.int64)[order]
    det = _np(segments)[order]
    gt_vid, gt = _np(gt_video_ids).astype(np.int64), _np(gt_segments)
    # IoUs only between a detection and the ground truth of its own video: memory
    # stays O(sum_v K_v S_v) instead of O(K S) over the whole dataset
    cand: dict[int, np.ndarray] = {}
    rows: dict[int, np.ndarray] = {}
    for v in np.unique(gt_vid):
        g = np.nonzero(gt_vid == v)[0]
        d = np.nonzero(det_vid == v)[0]
        cand[int(v)] = g
        rows[int(v)] = _np(
            temporal_iou(torch.from_numpy(det[d]), torch.from_numpy(gt[g]))
        )
    row_in_video = np.zeros(len(det), dtype=np.int64)
    for v in np.unique(det_vid):
        d = np.nonzero(det_vid == v)[0]
        row_in_video[d] = np.arange(len(d))
    matched = np.zeros((len(thr), len(gt)), dtype=bool)
    tp = np.zeros((len(thr), len(det)))
    for k in range(len(det)):
        v = int(det_vid[k])
        if v not in cand:
            continue
        g = cand[v]
        iou = np.where(
            matched[:, g], -1.0, rows[v][row_in_video[k]][None, :]
        )  # [N_t, S_v]
        best = iou.argmax(1)
        hit = iou[np.arange(len(thr)), best] >= thr
        tp[hit, k] = 1.0
        matched[np.nonzero(hit)[0], g[best[hit]]] = True
    tp_c = np.cumsum(tp, axis=1)
    precision = tp_c / np.arange(1, len(det) + 1)
    recall = tp_c / len(gt)
    return torch.tensor(
        [interpolated_ap(precision[i], recall[i]) for i in range(len(thr))],
        dtype=torch.float64,
    )
