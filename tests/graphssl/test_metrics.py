"""Tests for graphssl.metrics: toy cases by hand and scikit-learn as a reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphssl.metrics import accuracy, confusion_matrix, mean_iou, per_class_iou

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def _t(values: list[int], device: str) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long, device=device)


def test_confusion_matrix_toy(device: str) -> None:
    target = _t([0, 0, 1, 1, 2, 2], device)
    pred = _t([0, 1, 1, 1, 0, -1], device)
    cm = confusion_matrix(pred, target, num_classes=3)
    assert cm.dtype == torch.int64
    assert cm.device.type == torch.device(device).type
    # The undecided point of class 2 falls in no column.
    assert cm.cpu().tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_accuracy_counts_undecided_as_wrong(device: str) -> None:
    target = _t([0, 0, 1, 1], device)
    assert accuracy(_t([-1, -1, 1, 1], device), target) == 0.5
    # -1 must not be read as class 0.
    assert accuracy(_t([-1, 0, 1, 1], device), target) == 0.75


def test_per_class_iou_toy(device: str) -> None:
    target = _t([0, 0, 1, 1, 2, 2], device)
    pred = _t([0, 1, 1, 1, 0, -1], device)
    iou = per_class_iou(pred, target, num_classes=4).cpu()
    # class 0: TP 1, target 2, pred 2 -> 1/3; class 1: TP 2, target 2, pred 3 -> 2/3;
    # class 2: TP 0 (one predicted 0, one undecided) -> 0; class 3: absent -> NaN.
    assert iou[:3].tolist() == pytest.approx([1 / 3, 2 / 3, 0.0])
    assert math.isnan(float(iou[3]))
    assert mean_iou(pred, target, num_classes=4) == pytest.approx(1 / 3)


def test_class_only_in_prediction_counts_in_mean(device: str) -> None:
    target = _t([0, 0, 0, 0], device)
    pred = _t([0, 0, 0, 1], device)
    assert per_class_iou(pred, target, 2).cpu().tolist() == [0.75, 0.0]
    assert mean_iou(pred, target, 2) == pytest.approx(0.375)


def test_ignore_index(device: str) -> None:
    target = _t([0, 255, 1, 255], device)
    pred = _t([0, 1, 1, -1], device)
    assert accuracy(pred, target, ignore_index=255) == 1.0
    assert mean_iou(pred, target, 2, ignore_index=255) == 1.0
    assert confusion_matrix(pred, target, 2, ignore_index=255).sum() == 2
    # With the default ignore_index=-1, target -1 entries are left out too.
    assert accuracy(_t([0, 1], device), _t([0, -1], device)) == 1.0


def test_nothing_counted_is_nan(device: str) -> None:
    empty = _t([-1, -1], device)
    assert math.isnan(accuracy(_t([0, 1], device), empty))
    assert math.isnan(mean_iou(_t([0, 1], device), empty, 2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = 6
    target = rng.integers(0, c - 1, size=500)  # class c-1 never in the target
    pred = np.where(rng.random(500) < 0.6, target, rng.integers(-1, c, size=500))
    pt, tt = torch.from_numpy(pred), torch.from_numpy(target)
    labels = list(range(c))

    cm_ref = sklearn_metrics.confusion_matrix(target, pred, labels=labels)
    assert confusion_matrix(pt, tt, c).numpy().tolist() == cm_ref.tolist()

    assert accuracy(pt, tt) == pytest.approx(
        sklearn_metrics.accuracy_score(target, pred)
    )

    # sklearn scores an absent class 0; ours is NaN, so compare the present ones and
    # add one class (index c) that appears nowhere.
    iou_ref = sklearn_metrics.jaccard_score(
        target, pred, labels=labels, average=None, zero_division=0
    )
    iou = per_class_iou(pt, tt, c + 1).numpy()
    np.testing.assert_allclose(iou[:c], iou_ref)
    assert np.isnan(iou[c])
    assert mean_iou(pt, tt, c + 1) == pytest.approx(float(iou_ref.mean()))


def test_errors() -> None:
    target = torch.tensor([0, 1, 2])
    with pytest.raises(TypeError, match="'pred' parameter of accuracy"):
        accuracy(target.float(), target)
    with pytest.raises(ValueError, match="'pred' parameter of per_class_iou"):
        per_class_iou(torch.tensor([0, 1]), target, 3)
    with pytest.raises(ValueError, match="'target' parameter of confusion_matrix"):
        confusion_matrix(target, target, num_classes=2)
    with pytest.raises(ValueError, match="'pred' parameter of accuracy"):
        accuracy(torch.tensor([0, -2, 1]), target)
    with pytest.raises(ValueError, match="'num_classes' parameter of mean_iou"):
        mean_iou(target, target, num_classes=0)
