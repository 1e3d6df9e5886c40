"""Tests for pointcloud.supervoxel_metrics: hand-computed cases and a brute-force reference."""

from __future__ import annotations

import pytest
import torch

from pointcloud.supervoxel_metrics import boundary_recall, purity


def test_purity_hand_computed() -> None:
    seg = torch.tensor([0, 0, 0, 1, 1, 2])
    lab = torch.tensor([4, 4, 1, 2, 2, 9])
    assert purity(seg, lab) == pytest.approx(5 / 6)
    assert purity(torch.zeros(6, dtype=torch.long), lab) == pytest.approx(2 / 6)
    assert purity(torch.arange(6), lab) == 1.0


def test_purity_with_sparse_ids() -> None:
    big = torch.tensor([10**12, 10**12, 5, 5])
    assert purity(big, torch.tensor([1, 1, 1, 2])) == 0.75


def test_purity_ignores_unlabelled_points() -> None:
    seg = torch.tensor([0, 0, 0, 1])
    lab = torch.tensor([3, -1, -1, 2])
    assert purity(seg, lab) == 1.0
    assert purity(seg, torch.tensor([3, 7, 7, 2]), ignore_index=3) == 1.0
    assert purity(seg, torch.tensor([3, 7, 7, 2]), ignore_index=-1) == 0.75


@pytest.mark.parametrize(
    ("seg", "lab", "err", "match"),
    [
        (
            torch.tensor([0, 1]),
            torch.tensor([-1, -1]),
            ValueError,
            "at least one labelled",
        ),
        (torch.tensor([0, 1]), torch.tensor([0, 1, 1]), ValueError, "length 2"),
        (
            torch.tensor([0.0, 1.0]),
            torch.tensor([0, 1]),
            TypeError,
            "'segments' parameter",
        ),
        (torch.tensor([0, -2]), torch.tensor([0, 1]), ValueError, "ids >= 0"),
        (
            torch.tensor([0, 1]),
            torch.tensor([0.0, 1.0]),
            TypeError,
            "'labels' parameter",
        ),
    ],
)
def test_purity_bad_input(
    seg: torch.Tensor, lab: torch.Tensor, err: type[Exception], match: str
) -> None:
    with pytest.raises(err, match=match):
        purity(seg, lab)


def _line(n: int = 100) -> torch.Tensor:
    x = torch.linspace(0.0, 0.99, n)
    return torch.stack([x, torch.zeros(n), torch.zeros(n)], 1)


def test_boundary_recall_on_a_line() -> None:
    pts = _line()  # spacing 0.01
    lab = (pts[:, 0] >= 0.5).long()
    same_cut = (pts[:, 0] >= 0.5).long()
    near_cut = (pts[:, 0] >= 0.52).long()
    far_cut = (pts[:, 0] >= 0.8).long()
    assert boundary_recall(pts, same_cut, lab, radius=0.015) == 1.0
    assert boundary_recall(pts, near_cut, lab, radius=0.035) == 1.0
    assert boundary_recall(pts, far_cut, lab, radius=0.015) == 0.0
    assert (
        boundary_recall(pts, torch.zeros(100, dtype=torch.long), lab, radius=0.015)
        == 0.0
    )
    # No class boundary: nothing to recall.
    assert boundary_recall(pts, far_cut, torch.zeros(100, dtype=torch.long)) == 1.0
    # An unlabelled gap makes no boundary either.
    gap = torch.where((pts[:, 0] > 0.45) & (pts[:, 0] < 0.55), -1, lab)
    assert boundary_recall(pts, far_cut, gap, radius=0.015) == 1.0


def _brute_recall(
    pts: torch.Tensor, seg: torch.Tensor, lab: torch.Tensor, r: float, k: int
) -> float:
    d = torch.cdist(pts.double(), pts.double())
    d.fill_diagonal_(float("inf"))
    nn = d.argsort(1)[:, :k]
    n = pts.shape[0]
    on_y, on_s = [], []
    for i in range(n):
        close = [int(j) for j in nn[i] if d[i, j] <= r]
        on_y.append(any(lab[j] != lab[i] for j in close))
        on_s.append(any(seg[j] != seg[i] for j in close))
    ys = [i for i in range(n) if on_y[i]]
    ss = [i for i in range(n) if on_s[i]]
    hit = sum(1 for i in ys if any(float((pts[i] - pts[j]).norm()) <= r for j in ss))
    return hit / len(ys)


def test_boundary_recall_matches_brute_force() -> None:
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(300, 3, generator=g)
    lab = (pts[:, 0] + 0.3 * pts[:, 1] > 0.6).long()
    seg = torch.floor(pts[:, :2] * 3).long()
    seg = seg[:, 0] * 3 + seg[:, 1]
    for r, k in ((0.1, 8), (0.15, 4)):
        assert boundary_recall(pts, seg, lab, radius=r, k=k) == pytest.approx(
            _brute_recall(pts, seg, lab, r, k)
        )


def test_boundary_recall_bad_input() -> None:
    pts = _line(10)
    lab = torch.zeros(10, dtype=torch.long)
    with pytest.raises(ValueError, match="'radius' parameter of boundary_recall"):
        boundary_recall(pts, lab, lab, radius=0.0)
    with pytest.raises(ValueError, match="length 10"):
        boundary_recall(pts, lab[:5], lab)
    with pytest.raises(ValueError, match="one label per point"):
        boundary_recall(pts, lab, lab[:5])
    with pytest.raises(ValueError, match="'k' parameter"):
        boundary_recall(pts, lab, lab, k=0)
