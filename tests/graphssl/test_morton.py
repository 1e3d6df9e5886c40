"""Tests for graphssl.morton: Z-order codes and the sorting permutation."""

from __future__ import annotations

import pytest
import torch

from graphssl import _knn_backends
from graphssl.morton import BITS_PER_AXIS, morton_codes, morton_order
from graphssl.neighbors import knn


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_order_is_a_permutation_sorting_the_codes(device: str, dim: int) -> None:
    points = torch.rand(1000, dim, device=device)
    perm = morton_order(points)
    assert perm.dtype == torch.long
    assert perm.device == points.device
    assert torch.equal(perm.sort().values, torch.arange(1000, device=device))
    codes = morton_codes(points)[perm]
    assert bool((codes[1:] >= codes[:-1]).all())
    assert bool((codes >= 0).all())


def test_unit_cube_corners_follow_the_bit_interleaving() -> None:
    # Corners quantise to 0 or all-ones (21 bits); axis a fills bits a, a+3, a+6, ...
    corners = torch.tensor(
        [[x, y, z] for z in (0, 1) for y in (0, 1) for x in (0, 1)], dtype=torch.float64
    )
    every_third = sum(1 << (3 * level) for level in range(BITS_PER_AXIS[3]))
    expected = [
        sum(every_third << axis for axis in range(3) if (i >> axis) & 1)
        for i in range(8)
    ]
    codes = morton_codes(corners).tolist()
    assert codes == expected
    assert codes[-1] == 2**63 - 1
    assert morton_order(corners).tolist() == list(range(8))


def test_integer_grid_codes_interleave_bits() -> None:
    top = 2 ** BITS_PER_AXIS[2] - 1
    # With corners at 0 and `top` the quantisation is the identity on integers.
    pts = torch.tensor(
        [[0, 0], [top, top], [1, 0], [0, 1], [2, 0], [3, 5]], dtype=torch.float64
    )
    codes = morton_codes(pts).tolist()
    assert codes[0] == 0
    assert codes[1] == 2**62 - 1
    assert codes[2:] == [1, 2, 4, 0b100111]  # (3, 5): x=011, y=101 -> 10 01 11


def test_small_2d_grid_order() -> None:
    pts = torch.tensor([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert morton_order(pts).tolist() == [1, 2, 3, 0]


def test_duplicates_keep_input_order() -> None:
    pts = torch.tensor([[1.0, 2.0, 3.0]] * 5 + [[0.0, 0.0, 0.0]])
    assert morton_order(pts).tolist() == [5, 0, 1, 2, 3, 4]


def test_degenerate_extent_gives_zero_codes() -> None:
    assert morton_codes(torch.ones(4, 3)).tolist() == [0, 0, 0, 0]


def test_sorting_improves_locality() -> None:
    points = torch.rand(5000, 3)
    ordered = points[morton_order(points)]
    step_sorted = (ordered[1:] - ordered[:-1]).norm(dim=1).mean()
    step_random = (points[1:] - points[:-1]).norm(dim=1).mean()
    assert step_sorted < 0.2 * step_random


def test_sorting_leaves_knn_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    points = torch.rand(400, 3, dtype=torch.float64)
    perm = morton_order(points)
    idx, dist = knn(points, 6, backend="kdtree")
    idx_s, dist_s = knn(points[perm], 6, backend="kdtree")
    assert torch.allclose(dist_s, dist[perm])
    assert torch.equal(perm[idx_s], idx[perm])
    # The internal Morton path of the k-d tree backend gives the same answer too.
    monkeypatch.setattr(_knn_backends, "MORTON_MIN_POINTS", 1)
    idx_m, dist_m = knn(points, 6, backend="kdtree")
    assert torch.equal(idx_m, idx)
    assert torch.equal(dist_m, dist)


@pytest.mark.parametrize(
    ("points", "err", "match"),
    [
        (
            torch.zeros(4, 3, dtype=torch.long),
            TypeError,
            "'points' parameter of morton",
        ),
        (torch.zeros(4, 4), ValueError, r"shape \[P, D\] with D in 1..3"),
        (torch.zeros(4), ValueError, "a 2-D tensor"),
        (torch.zeros(0, 3), ValueError, "non-empty"),
        (torch.tensor([[0.0, float("nan")]]), ValueError, "finite"),
        ([[0.0, 1.0]], TypeError, "torch.Tensor"),
    ],
)
def test_bad_input(points: object, err: type[Exception], match: str) -> None:
    with pytest.raises(err, match=match):
        morton_order(points)  # type: ignore[arg-type]
