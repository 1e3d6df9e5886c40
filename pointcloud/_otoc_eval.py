"""Segmentation scores over one or many scenes: mIoU, per-class IoU, overall accuracy.

Thin layer over :mod:`graphssl.metrics` that pools the points of several scenes
before counting (the ScanNet convention: one confusion matrix over the whole split)
and names the classes.

Example:
    >>> import torch
    >>> from pointcloud._otoc_eval import segmentation_scores
    >>> r = segmentation_scores([torch.tensor([0, 1, 1])], [torch.tensor([0, 1, -1])], 2)
    >>> r.miou, r.accuracy
    (1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from graphssl._validation import param_error
from graphssl.metrics import accuracy, mean_iou, per_class_iou

__all__ = ["SegmentationScores", "segmentation_scores"]


@dataclass(frozen=True)
class SegmentationScores:
    """Scores over all counted points.

    Attributes:
        miou (float): mean IoU over the classes present in target or prediction.
        accuracy (float): overall accuracy.
        per_class (dict[str, float]): IoU of every present class, by name.
        num_points (int): counted points (targets other than ``ignore_index``).
    """

    miou: float
    accuracy: float
    per_class: dict[str, float]
    num_points: int

    def lines(self) -> list[str]:
        """Human-readable summary, one line per entry."""
        per = ", ".join(f"{n} {100 * v:.1f}" for n, v in self.per_class.items())
        return [
            f"mIoU {100 * self.miou:.1f} %, overall accuracy "
            f"{100 * self.accuracy:.1f} % over {self.num_points:,} points",
            f"per-class IoU: {per}",
        ]


def segmentation_scores(
    preds: Sequence[Tensor],
    targets: Sequence[Tensor],
    num_classes: int,
    class_names: Sequence[str] | None = None,
    ignore_index: int = -1,
) -> SegmentationScores:
    """Pool ``preds`` and ``targets`` (``[P_i]`` each) and score them.

    Args:
        preds (sequence of Tensor): predicted classes per scene, ``-1`` undecided.
        targets (sequence of Tensor): ground truth per scene.
        num_classes (int): ``C``.
        class_names (sequence of str, optional): names; ``"class <i>"`` otherwise.
        ignore_index (int, optional): target value left out. (default: ``-1``)

    Raises:
        ValueError: for different numbers of scenes or mismatched lengths.
    """
    owner = "segmentation_scores"
    if len(preds) != len(targets) or len(preds) == 0:
        raise param_error(
            "preds", owner, f"{len(targets)} (as targets) tensors", len(preds)
        )
    p = torch.cat([t.detach().cpu().long().reshape(-1) for t in preds])
    t = torch.cat([x.detach().cpu().long().reshape(-1) for x in targets])
    ious = per_class_iou(p, t, num_classes, ignore_index).tolist()
    names = list(class_names or []) + [
        f"class {i}" for i in range(len(class_names or []), num_classes)
    ]
    per = {names[i]: v for i, v in enumerate(ious) if v == v}  # NaN: class absent
    return SegmentationScores(
        miou=mean_iou(p, t, num_classes, ignore_index),
        accuracy=accuracy(p, t, ignore_index),
        per_class=per,
        num_points=int((t != ignore_index).sum()),
    )
