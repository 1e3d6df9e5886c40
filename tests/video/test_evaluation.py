"""Detection AP/mAP against hand-computed cases and a loop reference; classification mAP."""

from __future__ import annotations

import math
import random

import pytest
import torch

from video.evaluation import (
    ACTIVITYNET_TIOU,
    THUMOS_TIOU,
    classification_map,
    detection_ap,
    detection_map,
    interpolated_ap,
    temporal_iou,
)

T = torch.tensor


def test_temporal_iou_hand_values() -> None:
    a = T([[0.0, 2.0], [0.0, 4.0], [5.0, 6.0]])
    b = T([[1.0, 3.0], [1.0, 2.0], [6.0, 7.0]])
    iou = temporal_iou(a, b)
    assert iou.shape == (3, 3)
    assert iou[0, 0] == pytest.approx(1 / 3)
    assert iou[1, 1] == pytest.approx(0.25)
    assert iou[2, 2] == 0.0  # touching intervals do not overlap
    assert iou[0, 2] == 0.0


def test_interpolated_ap_hand_value() -> None:
    # precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1: envelope 1 on (0, 1/2], 2/3 on (1/2, 1]
    ap = interpolated_ap(
        torch.tensor([1.0, 0.5, 2 / 3]).numpy(), torch.tensor([0.5, 0.5, 1.0]).numpy()
    )
    assert ap == pytest.approx(0.5 + 0.5 * 2 / 3)


def _gt() -> list[torch.Tensor]:
    return [T([[1.0, 5.0, 0.0], [10.0, 20.0, 1.0]]), T([[2.0, 8.0, 0.0]])]


def test_perfect_predictions_give_ap_one() -> None:
    dets = [torch.cat([g[:, :2], torch.ones(len(g), 1), g[:, 2:]], 1) for g in _gt()]
    res = detection_map(dets, _gt(), num_classes=2)
    assert torch.allclose(res.ap, torch.ones(7, 2, dtype=torch.float64))
    assert res.average == pytest.approx(1.0)
    assert res.tiou_thresholds == THUMOS_TIOU
    assert res.as_dict()["mAP@0.5"] == pytest.approx(1.0)
    assert "| 100.0 |" in res.table()


def test_empty_predictions_give_ap_zero() -> None:
    res = detection_map([torch.zeros(0, 4), torch.zeros(0, 4)], _gt(), num_classes=2)
    assert bool((res.ap == 0).all()) and res.average == 0.0


def test_duplicates_are_false_positives() -> None:
    # class 0: two GTs; detections: hit GT a (0.9), its duplicate (0.8), hit GT b (0.7)
    dets = [T([[1.0, 5.0, 0.9, 0.0], [1.0, 5.0, 0.8, 0.0]]), T([[2.0, 8.0, 0.7, 0.0]])]
    gt = [T([[1.0, 5.0, 0.0]]), T([[2.0, 8.0, 0.0]])]
    res = detection_map(dets, gt, num_classes=1, tiou_thresholds=(0.5,))
    assert float(res.ap[0, 0]) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_class_without_ground_truth_is_excluded() -> None:
    gt = [T([[1.0, 5.0, 0.0]])]
    dets = [T([[1.0, 5.0, 0.9, 0.0], [7.0, 9.0, 0.5, 1.0]])]  # class 1: no GT
    res = detection_map(dets, gt, num_classes=3)
    assert bool(torch.isnan(res.ap[:, 1:]).all())
    assert torch.allclose(res.map, torch.ones(7, dtype=torch.float64))


def test_partial_overlap_at_threshold_boundaries() -> None:
    gt = [T([[0.0, 10.0, 0.0]])]
    res = detection_map([T([[0.0, 4.0, 1.0, 0.0]])], gt, 1)  # tIoU exactly 0.4
    assert res.ap[:, 0].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    res = detection_map([T([[0.0, 5.0, 1.0, 0.0]])], gt, 1)  # tIoU exactly 0.5
    assert res.ap[:, 0].tolist() == [1.0] * 5 + [0.0, 0.0]


def test_each_detection_takes_its_best_unmatched_ground_truth() -> None:
    gt = [T([[0.0, 10.0, 0.0], [8.0, 18.0, 0.0]])]
    # first detection overlaps both GTs, best the second (0.82 vs 0.18); the second
    # detection then still finds the first GT. Matching the first GT that passes the
    # threshold instead would lose one hit at tIoU 0.1.
    dets = [T([[7.0, 17.0, 0.9, 0.0], [0.0, 9.0, 0.8, 0.0]])]
    res = detection_map(dets, gt, 1, tiou_thresholds=(0.1, 0.5))
    assert res.ap[:, 0].tolist() == [1.0, 1.0]


def test_detection_in_another_video_is_a_false_positive() -> None:
    gt = [T([[0.0, 4.0, 0.0]]), torch.zeros(0, 3)]
    dets = [torch.zeros(0, 4), T([[0.0, 4.0, 1.0, 0.0]])]
    assert detection_map(dets, gt, 1).average == 0.0


def test_ambiguous_regions_and_unannotated_videos() -> None:
    gt = [T([[0.0, 4.0, 0.0]]), torch.zeros(0, 3)]
    # a strong false positive in video 0 over an ambiguous region, one in video 1
    dets = [
        T([[0.0, 4.0, 0.5, 0.0], [10.0, 12.0, 0.9, 0.0]]),
        T([[1.0, 2.0, 0.95, 0.0]]),
    ]
    base = detection_map(dets, gt, 1, (0.5,))
    assert float(base.ap[0, 0]) == pytest.approx(1 / 3)
    amb = [T([[11.0, 11.5]]), torch.zeros(0, 2)]
    assert float(
        detection_map(dets, gt, 1, (0.5,), ambiguous=amb).ap[0, 0]
    ) == pytest.approx(0.5)
    both = detection_map(dets, gt, 1, (0.5,), ambiguous=amb, skip_unannotated=True)
    assert float(both.ap[0, 0]) == 1.0


def _reference_ap(
    dets: list[tuple[int, float, float, float]],
    gts: list[tuple[int, float, float]],
    thr: float,
) -> float:
    """Plain-loop ActivityNet matching and VOC interpolation."""
    dets = sorted(dets, key=lambda d: -d[3])
    used = [False] * len(gts)
    tp = []
    for v, s, e, _ in dets:
        best, best_j = -1.0, -1
        for j, (gv, gs, ge) in enumerate(gts):
            if gv != v or used[j]:
                continue
            inter = max(0.0, min(e, ge) - max(s, gs))
            iou = inter / ((e - s) + (ge - gs) - inter)
            if iou > best:
                best, best_j = iou, j
        hit = best >= thr
        if hit:
            used[best_j] = True
        tp.append(1.0 if hit else 0.0)
    prec, rec, n = [], [], 0.0
    for k, t in enumerate(tp):
        n += t
        prec.append(n / (k + 1))
        rec.append(n / len(gts))
    ap, prev_r = 0.0, 0.0
    for k in range(len(tp)):
        if rec[k] > prev_r:
            ap += (rec[k] - prev_r) * max(prec[k:])
            prev_r = rec[k]
    return ap


@pytest.mark.parametrize("seed", range(4))
def test_detection_ap_matches_loop_reference(seed: int) -> None:
    rnd = random.Random(seed)
    gts = [
        (rnd.randrange(5), s, s + rnd.uniform(1, 8))
        for s in (rnd.uniform(0, 50) for _ in range(12))
    ]
    dets = []
    for _ in range(40):
        v, gs, ge = rnd.choice(gts)
        if rnd.random() < 0.3:
            v = rnd.randrange(5)
        shift = rnd.uniform(-3, 3)
        dets.append(
            (v, gs + shift, ge + shift + rnd.uniform(-2, 2) + 0.5, rnd.random())
        )
    dets = [(v, s, max(e, s + 0.1), c) for v, s, e, c in dets]
    got = detection_ap(
        T([d[0] for d in dets]), T([[d[1], d[2]] for d in dets]), T([d[3] for d in dets]),
        T([g[0] for g in gts]), T([[g[1], g[2]] for g in gts]), THUMOS_TIOU,
    )  # fmt: skip
    want = [_reference_ap(dets, gts, t) for t in THUMOS_TIOU]
    assert got.tolist() == pytest.approx(want, abs=1e-9)
    assert len(set(want)) > 2  # the case exercises several distinct AP values


def test_activitynet_thresholds_option() -> None:
    gt = [T([[0.0, 10.0, 0.0]])]
    res = detection_map([T([[0.0, 7.5, 1.0, 0.0]])], gt, 1, ACTIVITYNET_TIOU)
    assert len(ACTIVITYNET_TIOU) == 10 and ACTIVITYNET_TIOU[-1] == 0.95
    assert res.ap[:, 0].tolist() == [1.0] * 6 + [0.0] * 4  # tIoU 0.75 passes 0.5..0.75


def test_detection_bad_input() -> None:
    gt = [T([[0.0, 4.0, 0.0]])]
    with pytest.raises(ValueError, match=r"'detections'.*one entry per video"):
        detection_map([], gt, 1)
    with pytest.raises(ValueError, match=r"'detections\[0\]'.*class ids in 0\.\.0"):
        detection_map([T([[0.0, 1.0, 1.0, 3.0]])], gt, 1)
    with pytest.raises(ValueError, match=r"'ground_truth\[0\]'.*\[N, 3\]"):
        detection_map([torch.zeros(0, 4)], [T([[0.0, 1.0]])], 1)
    with pytest.raises(ValueError, match=r"'ground_truth'.*at least one"):
        detection_map([torch.zeros(0, 4)], [torch.zeros(0, 3)], 1)
    with pytest.raises(ValueError, match=r"finite"):
        detection_map([T([[0.0, float("nan"), 1.0, 0.0]])], gt, 1)
    with pytest.raises(ValueError, match=r"'num_classes'"):
        detection_map([torch.zeros(0, 4)], gt, 0)
    with pytest.raises(ValueError, match=r"'tiou_thresholds'"):
        detection_map([T([[0.0, 1.0, 1.0, 0.0]])], gt, 1, (0.0,))


def test_classification_map_matches_sklearn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    g = torch.Generator().manual_seed(0)
    labels = (torch.rand(30, 5, generator=g) < 0.3).float()
    labels[:, 4] = 0  # no positive: excluded from the mean
    scores = (torch.rand(30, 5, generator=g) * 4).round() / 4  # many ties
    scores = scores + labels * 0.3
    want = [
        metrics.average_precision_score(labels[:, c].numpy(), scores[:, c].numpy())
        for c in range(4)
    ]
    assert classification_map(scores, labels) == pytest.approx(sum(want) / 4, abs=1e-12)
    assert classification_map(labels[:, :4] * 2 - 1, labels[:, :4]) == pytest.approx(
        1.0
    )
    assert not math.isnan(classification_map(scores, labels))


def test_classification_map_bad_input() -> None:
    with pytest.raises(ValueError, match=r"'labels'.*shape of scores"):
        classification_map(torch.rand(4, 3), torch.ones(4, 2))
    with pytest.raises(ValueError, match=r"'labels'.*at least one positive"):
        classification_map(torch.rand(4, 3), torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"'scores'.*finite"):
        classification_map(torch.full((4, 3), float("nan")), torch.ones(4, 3))
