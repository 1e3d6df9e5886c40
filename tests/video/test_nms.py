"""Temporal NMS against a brute-force loop; batched and soft variants."""

from __future__ import annotations

import math

import pytest
import torch

from video.nms import batched_nms, nms, soft_nms


def _iou(a: list[float], b: list[float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def _brute_nms(seg: list[list[float]], scores: list[float], thr: float) -> list[int]:
    order = sorted(range(len(scores)), key=lambda i: -scores[i])  # stable on ties
    keep: list[int] = []
    for i in order:
        if all(_iou(seg[i], seg[j]) <= thr for j in keep):
            keep.append(i)
    return keep


def _random(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    start = torch.rand(n, generator=g, dtype=torch.float64) * 30
    seg = torch.stack(
        [start, start + 0.5 + torch.rand(n, generator=g, dtype=torch.float64) * 8], 1
    )
    return seg, torch.rand(n, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("thr", [0.0, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("seed", range(3))
def test_nms_matches_brute_force(thr: float, seed: int, device: str) -> None:
    seg, scores = _random(60, seed)
    keep = nms(seg.to(device), scores.to(device), thr)
    assert keep.device.type == device and keep.dtype == torch.long
    assert keep.tolist() == _brute_nms(seg.tolist(), scores.tolist(), thr)


def test_nms_hand_case_and_ties() -> None:
    seg = torch.tensor([[0.0, 10.0], [1.0, 10.0], [20.0, 25.0], [0.0, 5.0]])
    scores = torch.tensor([0.9, 0.95, 0.5, 0.9])
    # [1, 10] wins; [0, 10] overlaps it with 0.9 > 0.5; [0, 5] overlaps it 4/10 <= 0.5
    assert nms(seg, scores, 0.5).tolist() == [1, 3, 2]
    # equal scores: the earlier segment is visited first
    same = torch.tensor([[0.0, 4.0], [0.0, 4.0]])
    assert nms(same, torch.ones(2), 0.5).tolist() == [0]
    assert nms(torch.zeros(0, 2), torch.zeros(0), 0.5).tolist() == []


def test_batched_nms_never_crosses_classes() -> None:
    seg, scores = _random(50, 7)
    classes = torch.arange(50) % 3
    keep = batched_nms(seg, scores, classes, 0.4)
    want = []
    for c in range(3):
        idx = torch.nonzero(classes == c).flatten().tolist()
        want += [
            idx[k] for k in _brute_nms(seg[idx].tolist(), scores[idx].tolist(), 0.4)
        ]
    assert sorted(keep.tolist()) == sorted(want)
    assert bool((scores[keep][1:] <= scores[keep][:-1]).all())  # by decreasing score
    # identical segments of two classes both survive
    two = torch.tensor([[0.0, 3.0], [0.0, 3.0]])
    assert sorted(
        batched_nms(two, torch.ones(2), torch.tensor([0, 1]), 0.5).tolist()
    ) == [0, 1]


def test_soft_nms_decays_overlapping_scores() -> None:
    seg = torch.tensor([[0.0, 4.0], [2.0, 6.0], [10.0, 12.0]], dtype=torch.float64)
    scores = torch.tensor([0.9, 0.8, 0.3], dtype=torch.float64)
    iou = 2.0 / 6.0
    keep, new = soft_nms(seg, scores, sigma=0.5)
    assert keep.tolist() == [0, 1, 2]
    assert new.tolist() == pytest.approx([0.9, 0.8 * math.exp(-(iou**2) / 0.5), 0.3])
    keep, new = soft_nms(seg, scores, method="linear", iou_threshold=0.3)
    assert new.tolist() == pytest.approx([0.9, 0.8 * (1 - iou), 0.3])
    # the floor drops decayed segments: identical copies decay by exp(-1 / sigma)
    keep, _ = soft_nms(seg[[0, 0]], scores[[0, 1]], sigma=0.01, score_threshold=0.1)
    assert keep.tolist() == [0]


def test_soft_nms_without_overlap_is_a_sort() -> None:
    seg = torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    keep, new = soft_nms(seg, torch.tensor([0.2, 0.7, 0.5]))
    assert keep.tolist() == [1, 2, 0] and new.tolist() == pytest.approx([0.7, 0.5, 0.2])


def test_bad_input() -> None:
    seg, scores = _random(4, 0)
    with pytest.raises(ValueError, match=r"'segments'.*\[K, 2\]"):
        nms(seg[:, :1], scores, 0.5)
    with pytest.raises(ValueError, match=r"'scores'.*K = 4"):
        nms(seg, scores[:3], 0.5)
    with pytest.raises(ValueError, match=r"'iou_threshold'"):
        nms(seg, scores, 1.5)
    with pytest.raises(ValueError, match=r"'classes'"):
        batched_nms(seg, scores, torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match=r"'method'"):
        soft_nms(seg, scores, method="hard")
    with pytest.raises(ValueError, match=r"'sigma'"):
        soft_nms(seg, scores, sigma=0.0)
