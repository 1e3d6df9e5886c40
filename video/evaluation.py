r"""Temporal action detection mAP (THUMOS / ActivityNet protocol) and classification mAP.

Detection AP of class :math:`c` at a tIoU threshold :math:`\theta`: the detections of
:math:`c` from *all* videos are sorted by decreasing score; each one is a true positive
when an unmatched ground-truth segment of :math:`c` in the same video overlaps it with
:math:`\mathrm{tIoU} \ge \theta` (the best such segment is then marked matched, so a
segment is matched at most once and duplicates count as false positives), otherwise a
false positive. With :math:`P_n, R_n` the precision and recall after :math:`n`
detections,

.. math::
    \mathrm{AP} = \sum_n (R_n - R_{n-1})\, \max_{m \ge n} P_m ,

the precision envelope of ActivityNet's ``interpolated_prec_rec`` (the same as
W-TALC's / RSKP's ``_ap_from_pr``). tIoU is measured on continuous times in seconds
(ActivityNet), not on sets of rounded snippet indices (W-TALC), so results can differ
from the reference code in the third digit. Differences from the RSKP script, by design:
a class with ground truth but no detection gets AP 0 (the script returns mAP 0 for the
whole threshold), and videos without any ground truth still count (their detections are
false positives) unless ``skip_unannotated=True`` reproduces the script. Classes without
ground truth get AP ``NaN`` and are left out of the mean. All values are fractions in
``[0, 1]``, not percentages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from graphssl._validation import check_int, param_error
from video._average_precision import (
    ACTIVITYNET_TIOU,
    THUMOS_TIOU,
    _np,
    check_tiou,
    detection_ap,
    interpolated_ap,
)
from video.nms import temporal_iou  # re-exported: one IoU for NMS and evaluation

__all__ = [
    "ACTIVITYNET_TIOU",
    "THUMOS_TIOU",
    "DetectionResult",
    "classification_map",
    "detection_ap",
    "detection_map",
    "interpolated_ap",
    "temporal_iou",
]


@dataclass(frozen=True)
class DetectionResult:
    """Detection AP per threshold and class, with the means over classes and thresholds.

    Args:
        ap (Tensor): ``[N_t, C]`` float64; ``NaN`` for classes without ground truth.
        map (Tensor): ``[N_t]`` mean AP over classes with ground truth.
        average (float): mean of ``map`` over the thresholds.
        tiou_thresholds (tuple[float, ...]): the ``N_t`` thresholds.
    """

    ap: Tensor
    map: Tensor
    average: float
    tiou_thresholds: tuple[float, ...]

    def as_dict(self) -> dict[str, float]:
        """``{"mAP@0.1": ..., ..., "average": ...}`` (fractions)."""
        out = {
            f"mAP@{t:g}": float(m)
            for t, m in zip(self.tiou_thresholds, self.map, strict=True)
        }
        out["average"] = self.average
        return out

    def table(self) -> str:
        """A one-row Markdown table in percent, as papers report it."""
        head = " | ".join(f"{t:g}" for t in self.tiou_thresholds)
        vals = " | ".join(f"{100 * float(m):.1f}" for m in self.map)
        sep = "|".join(["---"] * (len(self.tiou_thresholds) + 1))
        return f"| {head} | AVG |\n|{sep}|\n| {vals} | {100 * self.average:.1f} |"


def _overlaps_any(seg: Tensor, regions: Tensor) -> Tensor:
    if regions.shape[0] == 0 or seg.shape[0] == 0:
        return torch.zeros(seg.shape[0], dtype=torch.bool)
    lo = torch.maximum(seg[:, None, 0], regions[None, :, 0])
    hi = torch.minimum(seg[:, None, 1], regions[None, :, 1])
    return (hi > lo).any(1)


def _rows(x: Tensor, width: int, name: str, owner: str) -> Tensor:
    """``x`` as a CPU float64 ``[N, width]`` table (an empty tensor is ``[0, width]``)."""
    if not isinstance(x, Tensor):
        raise param_error(name, owner, "a torch.Tensor", type(x).__name__, TypeError)
    if x.numel() == 0:
        return torch.zeros(0, width, dtype=torch.float64)
    if x.dim() != 2 or x.shape[1] != width:
        raise param_error(name, owner, f"a [N, {width}] tensor", list(x.shape))
    out = x.detach().cpu().double()
    if not bool(torch.isfinite(out).all()):
        raise param_error(name, owner, "finite (no NaN or inf)", "non-finite values")
    return out


def detection_map(
    detections: Sequence[Tensor],
    ground_truth: Sequence[Tensor],
    num_classes: int,
    tiou_thresholds: Sequence[float] = THUMOS_TIOU,
    *,
    ambiguous: Sequence[Tensor] | None = None,
    skip_unannotated: bool = False,
) -> DetectionResult:
    r"""Detection mAP over a set of videos (THUMOS14: tIoU 0.1:0.7; ActivityNet 0.5:0.95).

    Args:
        detections (Sequence[Tensor]): per video ``[K_v, 4]`` (start_s, end_s, score, class).
        ground_truth (Sequence[Tensor]): per video ``[S_v, 3]`` (start_s, end_s, class).
        num_classes (int): number of classes ``C``.
        tiou_thresholds (Sequence[float]): :data:`THUMOS_TIOU` (default) or
            :data:`ACTIVITYNET_TIOU`.
        ambiguous (Sequence[Tensor] | None): per video ``[A_v, 2]`` regions; detections
            overlapping one are discarded (THUMOS' ``Ambiguous_test.txt`` rule).
        skip_unannotated (bool): drop videos without ground truth (RSKP/W-TALC script).

    Returns:
        DetectionResult: ``ap [N_t, C]``, ``map [N_t]`` and their ``average``.

    Raises:
        ValueError: for lists of different lengths, malformed rows, class ids outside
            ``0..C-1``, or no ground-truth segment at all.
    """
    owner = "detection_map"
    num_classes = check_int(num_classes, "num_classes", owner, 1)
    thr = check_tiou(tiou_thresholds, owner)
    if len(detections) != len(ground_truth) or (
        ambiguous is not None and len(ambiguous) != len(ground_truth)
    ):
        raise param_error(
            "detections",
            owner,
            f"one entry per video ({len(ground_truth)})",
            len(detections),
        )
    det_vid, det_rows, gt_vid, gt_rows = [], [], [], []  # pooled over videos
    for v, (det, gt) in enumerate(zip(detections, ground_truth, strict=True)):
        det = _rows(det, 4, f"detections[{v}]", owner)
        gt = _rows(gt, 3, f"ground_truth[{v}]", owner)
        for name, cls in (
            (f"detections[{v}]", det[:, 3]),
            (f"ground_truth[{v}]", gt[:, 2]),
        ):
            if bool(((cls < 0) | (cls >= num_classes) | (cls != cls.round())).any()):
                raise param_error(
                    name, owner, f"class ids in 0..{num_classes - 1}", cls.tolist()
                )
        if skip_unannotated and gt.shape[0] == 0:
            continue
        if ambiguous is not None:
            amb = ambiguous[v].detach().cpu().double().reshape(-1, 2)
            det = det[~_overlaps_any(det[:, :2], amb)]
        det_vid.append(torch.full((det.shape[0],), v))
        det_rows.append(det)
        gt_vid.append(torch.full((gt.shape[0],), v))
        gt_rows.append(gt)
    gt_all = torch.cat([torch.zeros(0, 3, dtype=torch.float64), *gt_rows])
    if gt_all.shape[0] == 0:
        raise param_error(
            "ground_truth", owner, "at least one ground-truth segment", "none"
        )
    gt_v, det_v = torch.cat(gt_vid), torch.cat(det_vid)
    det_all = torch.cat(det_rows)
    ap = torch.full((len(thr), num_classes), float("nan"), dtype=torch.float64)
    for c in range(num_classes):
        g = gt_all[:, 2] == c
        if not bool(g.any()):
            continue  # no ground truth: AP undefined, excluded from the mean
        d = det_all[:, 3] == c
        ap[:, c] = detection_ap(
            det_v[d], det_all[d, :2], det_all[d, 2], gt_v[g], gt_all[g, :2], thr
        )
    per_t = ap.nanmean(1)
    return DetectionResult(
        ap=ap, map=per_t, average=float(per_t.mean()), tiou_thresholds=thr
    )


def classification_map(scores: Tensor, labels: Tensor) -> float:
    r"""Mean over classes of the (non-interpolated) average precision of video scores.

    :math:`\mathrm{AP}_c = \sum_n (R_n - R_{n-1}) P_n` over the distinct score thresholds
    (tied scores form one step), the definition of
    ``sklearn.metrics.average_precision_score``; classes without a positive video are left
    out of the mean.

    Args:
        scores (Tensor): ``[V, C]`` video-level class scores.
        labels (Tensor): ``[V, C]`` multi-hot ground truth.

    Returns:
        float: the mean AP in ``[0, 1]``.
    """
    owner = "classification_map"
    if scores.dim() != 2 or labels.shape != scores.shape:
        raise param_error(
            "labels",
            owner,
            f"a tensor of the shape of scores {list(scores.shape)}",
            list(labels.shape),
        )
    s, y = _np(scores), _np(labels)
    if not np.isfinite(s).all():
        raise param_error(
            "scores", owner, "finite (no NaN or inf)", "non-finite values"
        )
    aps = []
    for c in range(s.shape[1]):
        pos = y[:, c] > 0
        if not pos.any():
            continue
        order = np.argsort(-s[:, c], kind="stable")
        sc, hit = s[order, c], pos[order].astype(float)
        last = np.r_[np.nonzero(np.diff(sc))[0], len(sc) - 1]  # end of each tie group
        tp = np.cumsum(hit)[last]
        precision, recall = tp / (last + 1), tp / pos.sum()
        aps.append(float(np.sum(np.diff(np.r_[0.0, recall]) * precision)))
    if not aps:
        raise param_error("labels", owner, "at least one positive label", "none")
    return float(np.mean(aps))
