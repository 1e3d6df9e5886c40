"""Tests for pointcloud.mean_field: a loop-based reference and the limiting cases."""

from __future__ import annotations

import math

import pytest
import torch

from pointcloud.mean_field import mean_field


def _toy(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    unary = torch.softmax(torch.randn(6, 3, generator=g, dtype=torch.float64), 1)
    pairs = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 5), (1, 4)]
    src = [a for a, b in pairs] + [b for a, b in pairs]
    dst = [b for a, b in pairs] + [a for a, b in pairs]
    w = torch.rand(len(pairs), generator=g, dtype=torch.float64)
    return unary, torch.tensor([src, dst]), torch.cat([w, w])


def _reference(
    unary: torch.Tensor,
    ei: torch.Tensor,
    w: torch.Tensor,
    steps: int,
    lam: float,
    eps: float,
) -> torch.Tensor:
    """Plain loops over nodes, edges and classes."""
    s, c = unary.shape
    q = [[max(float(unary[i, k]), eps) for k in range(c)] for i in range(s)]
    q = [[v / sum(row) for v in row] for row in q]
    log_u = [
        [math.log(max(float(unary[i, k]), eps)) for k in range(c)] for i in range(s)
    ]
    for _ in range(steps):
        msg = [[0.0] * c for _ in range(s)]
        for e in range(ei.shape[1]):
            j, i = int(ei[0, e]), int(ei[1, e])
            for k in range(c):
                msg[i][k] += float(w[e]) * q[j][k]
        new = []
        for i in range(s):
            z = [log_u[i][k] + lam * msg[i][k] for k in range(c)]
            m = max(z)
            ex = [math.exp(v - m) for v in z]
            new.append([v / sum(ex) for v in ex])
        q = new
    return torch.tensor(q, dtype=torch.float64)


@pytest.mark.parametrize(("steps", "lam"), [(1, 1.0), (5, 2.5), (3, -0.7)])
def test_matches_the_loop_reference(steps: int, lam: float) -> None:
    unary, ei, w = _toy()
    got = mean_field(unary, ei, w, steps=steps, weight=lam)
    assert torch.allclose(got, _reference(unary, ei, w, steps, lam, 1e-8), atol=1e-12)


def test_default_weight_is_100_over_s() -> None:
    unary, ei, w = _toy(1)
    assert torch.equal(
        mean_field(unary, ei, w), mean_field(unary, ei, w, weight=100.0 / 6)
    )


def test_zero_kernel_returns_the_unary() -> None:
    unary, ei, w = _toy(2)
    for q in (
        mean_field(unary, ei, torch.zeros_like(w)),
        mean_field(unary, ei, w, weight=0.0),
        mean_field(unary, ei[:, :0], w[:0]),
        mean_field(unary, ei, w, steps=0),
    ):
        assert torch.allclose(q, unary, atol=1e-7)
        assert torch.equal(q.argmax(1), unary.argmax(1))


def test_rows_sum_to_one_and_neighbours_pull() -> None:
    unary, ei, w = _toy(3)
    q = mean_field(unary * 7.0, ei, w, weight=50.0)  # unnormalised scores are fine
    assert torch.allclose(q.sum(1), torch.ones(6, dtype=torch.float64))
    # An undecided node between two confident neighbours takes their class.
    chain = torch.tensor([[0.05, 0.9, 0.05], [1 / 3, 1 / 3, 1 / 3], [0.1, 0.8, 0.1]])
    e = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    q = mean_field(chain, e, torch.ones(4), steps=1, weight=1.0)
    assert q[1].argmax() == 1 and float(q[1, 1]) > 1 / 3


def test_clamped_rows_never_change() -> None:
    unary, ei, w = _toy(4)
    clamp = torch.tensor([True, False, False, True, False, False])
    q = mean_field(unary, ei, w, weight=30.0, clamp=clamp)
    assert torch.allclose(q[clamp], unary[clamp], atol=1e-7)
    assert not torch.allclose(q[~clamp], unary[~clamp], atol=1e-3)


def test_one_class_gives_a_constant_output() -> None:
    unary, ei, w = _toy(5)
    q = mean_field(unary[:, :1], ei, w)
    assert torch.equal(q, torch.ones(6, 1, dtype=torch.float64))


def test_zero_rows_stay_finite() -> None:
    # The official min-max rescale leaves exact zeros: log would be -inf.
    unary = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    q = mean_field(unary, ei, torch.ones(4), weight=1.0)
    assert bool(torch.isfinite(q).all())
    assert torch.allclose(q.sum(1), torch.ones(3))


def test_large_sparse_graph_without_dense_kernel() -> None:
    s, c = 100_000, 4
    unary = torch.softmax(torch.randn(s, c), 1)
    src = torch.arange(s)
    ei = torch.stack([torch.cat([src, (src + 1) % s]), torch.cat([(src + 1) % s, src])])
    q = mean_field(unary, ei, torch.ones(2 * s), steps=2, weight=1.0)
    assert q.shape == (s, c)  # a dense [S, S] kernel would need 40 GB


def test_gradients_flow() -> None:
    unary, ei, w = _toy(6)
    unary.requires_grad_(True)
    w.requires_grad_(True)
    out = mean_field(unary, ei, w, weight=1.0)[:, 0].sum()
    gu, gw = torch.autograd.grad(out, [unary, w])
    assert bool(torch.isfinite(gw).all()) and float(gw.abs().sum()) > 0
    assert float(gu.abs().sum()) > 0


def test_device(device: str) -> None:
    unary, ei, w = _toy(7)
    q = mean_field(unary.to(device), ei.to(device), w.to(device), weight=2.0)
    assert q.device.type == device
    assert torch.allclose(q.cpu(), mean_field(unary, ei, w, weight=2.0), atol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (
            {"unary": torch.tensor([[-0.1, 1.1], [0.5, 0.5]])},
            ValueError,
            "non-negative",
        ),
        ({"unary": torch.tensor([[math.nan, 1.0], [0.5, 0.5]])}, ValueError, "finite"),
        ({"unary": torch.tensor([1.0, 0.0])}, ValueError, "2-D"),
        ({"unary": torch.tensor([[1, 0], [0, 1]])}, TypeError, "floating-point"),
        (
            {"edge_index": torch.tensor([[0, 2], [1, 0]])},
            ValueError,
            r"node ids in \[0, 1\]",
        ),
        ({"edge_index": torch.tensor([0, 1])}, ValueError, r"shape \[2, E\]"),
        ({"edge_weight": torch.ones(3)}, ValueError, "one weight per edge"),
        ({"edge_weight": torch.tensor([1.0, math.inf])}, ValueError, "finite"),
        ({"steps": -1}, ValueError, "'steps' parameter"),
        ({"eps": 0.0}, ValueError, "'eps' parameter"),
        ({"clamp": torch.tensor([1, 0])}, TypeError, "'clamp' parameter"),
        ({"clamp": torch.tensor([True])}, ValueError, r"shape \[2\]"),
    ],
)
def test_bad_input(kwargs: dict[str, object], err: type[Exception], match: str) -> None:
    args: dict[str, object] = {
        "unary": torch.tensor([[0.9, 0.1], [0.2, 0.8]]),
        "edge_index": torch.tensor([[0, 1], [1, 0]]),
        "edge_weight": torch.ones(2),
    }
    args.update(kwargs)
    with pytest.raises(err, match=match):
        mean_field(**args)  # type: ignore[arg-type]
