r"""Metrics for transductive predictions: confusion matrix, accuracy and IoU.

Conventions shared by every function here:

* ``pred [N]`` and ``target [N]`` are integer tensors on the same device.
* Entries whose target equals ``ignore_index`` are left out of every count.
* A prediction of ``-1`` means *undecided* (for example a node that label propagation
  never reached). It is always counted as an error for the target's class and never
  as class 0; it adds no false positive to any class.

With :math:`TP_c` the points of class :math:`c` predicted as :math:`c`, :math:`T_c` the
points whose target is :math:`c` and :math:`P_c` the points predicted as :math:`c`,

.. math::
    \mathrm{IoU}_c = \frac{TP_c}{T_c + P_c - TP_c}.

Example:
    >>> import torch
    >>> from graphssl.metrics import accuracy, mean_iou
    >>> target = torch.tensor([0, 0, 1, 1])
    >>> pred = torch.tensor([0, -1, 1, 1])
    >>> accuracy(pred, target)
    0.75
    >>> round(mean_iou(pred, target, num_classes=2), 4)
    0.75
"""

from __future__ import annotations

import torch
from torch import Tensor

from graphssl._validation import check_int, param_error

__all__ = ["accuracy", "confusion_matrix", "mean_iou", "per_class_iou"]


def _check_1d(t: object, name: str, owner: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise param_error(name, owner, "a torch.Tensor", type(t).__name__, TypeError)
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise param_error(name, owner, "an integer tensor", t.dtype, TypeError)
    if t.dim() != 1:
        raise param_error(name, owner, "a 1-D tensor", f"shape {list(t.shape)}")
    return t


def _check_pair(
    pred: object, target: object, owner: str, ignore_index: int
) -> tuple[Tensor, Tensor]:
    """Return ``(pred, target)`` as int64 restricted to the entries that count."""
    pred = _check_1d(pred, "pred", owner)
    target = _check_1d(target, "target", owner)
    if pred.shape != target.shape:
        raise param_error(
            "pred",
            owner,
            f"a tensor of length {target.numel()} (as target)",
            pred.numel(),
        )
    if pred.device != target.device:
        raise ValueError(
            f"All tensors passed to {owner} must be on one device. "
            f"Got pred on {pred.device}, target on {target.device}."
        )
    ignore_index = check_int(ignore_index, "ignore_index", owner)
    keep = target != ignore_index
    pred, target = pred[keep].long(), target[keep].long()
    if target.numel() and int(target.min()) < 0:
        raise param_error(
            "target",
            owner,
            f"class indices >= 0 or ignore_index={ignore_index}",
            int(target.min()),
        )
    if pred.numel() and int(pred.min()) < -1:
        raise param_error(
            "pred", owner, "-1 (undecided) or a class index", int(pred.min())
        )
    return pred, target


def _check_range(pred: Tensor, target: Tensor, num_classes: int, owner: str) -> None:
    for name, t in (("target", target), ("pred", pred)):
        if t.numel() and int(t.max()) >= num_classes:
            allowed = f"class indices below num_classes={num_classes}"
            raise param_error(name, owner, allowed, int(t.max()))


def confusion_matrix(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int = -1
) -> Tensor:
    """Count ``(target, prediction)`` pairs (rows: target, columns: prediction).

    The layout is scikit-learn's: ``cm[i, j]`` is the number of points of class ``i``
    predicted as ``j``. Undecided predictions (``-1``) fall in no column, so a row
    can sum to fewer than the class's point count; :func:`accuracy` and
    :func:`per_class_iou` still count them as errors.

    Args:
        pred (Tensor): ``[N]`` integer predictions, ``-1`` for undecided.
        target (Tensor): ``[N]`` integer ground truth.
        num_classes (int): number of classes ``C``.
        ignore_index (int, optional): target value to leave out. (default: ``-1``)

    Returns:
        Tensor: ``[C, C]`` int64 on the device of the inputs.

    Raises:
        TypeError: for non-integer tensors.
        ValueError: for mismatched shapes or devices, or values outside the classes.
    """
    owner = "confusion_matrix"
    c = check_int(num_classes, "num_classes", owner, low=1)
    pred, target = _check_pair(pred, target, owner, ignore_index)
    _check_range(pred, target, c, owner)
    decided = pred >= 0
    flat = target[decided] * c + pred[decided]
    return torch.bincount(flat, minlength=c * c).reshape(c, c)


def accuracy(pred: Tensor, target: Tensor, ignore_index: int = -1) -> float:
    """Fraction of counted points whose prediction equals the target.

    Args:
        pred (Tensor): ``[N]`` integer predictions, ``-1`` for undecided (wrong).
        target (Tensor): ``[N]`` integer ground truth.
        ignore_index (int, optional): target value to leave out. (default: ``-1``)

    Returns:
        float: accuracy in ``[0, 1]``; NaN when no point is counted.
    """
    pred, target = _check_pair(pred, target, "accuracy", ignore_index)
    if target.numel() == 0:
        return float("nan")
    return float((pred == target).double().mean())


def per_class_iou(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int = -1
) -> Tensor:
    """Intersection over union of every class.

    Args:
        pred (Tensor): ``[N]`` integer predictions, ``-1`` for undecided (wrong).
        target (Tensor): ``[N]`` integer ground truth.
        num_classes (int): number of classes ``C``.
        ignore_index (int, optional): target value to leave out. (default: ``-1``)

    Returns:
        Tensor: ``[C]`` float64. A class absent from both the target and the
        prediction has no union; its entry is NaN (not 0 and not 1), so that
        :func:`mean_iou` can leave it out.
    """
    return _per_class_iou(pred, target, num_classes, ignore_index, "per_class_iou")


def _per_class_iou(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int, owner: str
) -> Tensor:
    c = check_int(num_classes, "num_classes", owner, low=1)
    pred, target = _check_pair(pred, target, owner, ignore_index)
    _check_range(pred, target, c, owner)
    hit = pred == target
    tp = torch.bincount(target[hit], minlength=c).double()
    n_target = torch.bincount(target, minlength=c).double()
    n_pred = torch.bincount(pred[pred >= 0], minlength=c).double()
    union = n_target + n_pred - tp
    nan = torch.full_like(union, float("nan"))
    return torch.where(union > 0, tp / union.clamp_min(1), nan)


def mean_iou(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int = -1
) -> float:
    """Mean of :func:`per_class_iou` over the classes present in target or prediction.

    Args:
        pred (Tensor): ``[N]`` integer predictions, ``-1`` for undecided (wrong).
        target (Tensor): ``[N]`` integer ground truth.
        num_classes (int): number of classes ``C``.
        ignore_index (int, optional): target value to leave out. (default: ``-1``)

    Returns:
        float: mIoU in ``[0, 1]``; NaN when no point is counted.
    """
    iou = _per_class_iou(pred, target, num_classes, ignore_index, "mean_iou")
    present = ~torch.isnan(iou)
    if not bool(present.any()):
        return float("nan")
    return float(iou[present].mean())
