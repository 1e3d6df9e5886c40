"""Edge kernels: formulas, safety against underflow, duplicates."""

from __future__ import annotations

import math

import pytest
import torch

from graphssl import GraphWarning
from graphssl.similarity import Cosine, ExpDot, Gaussian, local_scale, pairwise_kernel


def path_edges(n: int = 5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = torch.arange(n, dtype=torch.float64)[:, None] ** 2  # distances 1, 3, 5, 7
    src = torch.arange(n - 1)
    ei = torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], 1)
    dist = (x[ei[0]] - x[ei[1]]).abs().squeeze(1)
    return x, ei, dist


def test_gaussian_fixed_and_median(device: str) -> None:
    x, ei, dist = (t.to(device) for t in path_edges())
    w = Gaussian(2.0)(x, ei, dist)
    torch.testing.assert_close(w, torch.exp(-(dist**2) / 8.0))
    med = Gaussian("median")
    assert med.resolve(dist) == float(dist.median())
    torch.testing.assert_close(
        med(x, ei, dist), Gaussian(med.resolve(dist))(x, ei, dist)
    )


def test_local_scaling_matches_definition() -> None:
    x, ei, dist = path_edges()
    sig = local_scale(ei, dist, 5, k=1)  # nearest-neighbour distance of each node
    assert sig.tolist() == [1.0, 1.0, 3.0, 5.0, 7.0]
    w = Gaussian("local", local_k=1)(x, ei, dist)
    torch.testing.assert_close(w, torch.exp(-(dist**2) / (sig[ei[0]] * sig[ei[1]])))


def test_local_scaling_with_duplicates_is_finite() -> None:
    x = torch.zeros(4, 2)
    ei = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
    w = Gaussian("local", local_k=1)(x, ei, torch.zeros(4))
    assert torch.isfinite(w).all() and (w == 1).all()


def test_gaussian_total_underflow_is_an_error() -> None:
    # The scikit-learn failure mode: gamma=20 on raw digits makes every weight 0.
    x, ei, dist = path_edges()
    with pytest.raises(ValueError, match="underflowed to 0"):
        Gaussian(1e-3)(x, ei, dist * 100)


def test_gaussian_partial_underflow_warns() -> None:
    x, ei, dist = path_edges()
    with pytest.warns(GraphWarning, match="lost all their edge weight"):
        Gaussian(0.1)(x, ei, dist)


def test_cosine_power_and_clipping() -> None:
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0], [-1.0, 0.0]])
    ei = torch.tensor([[0, 1, 0], [1, 0, 2]])
    with pytest.warns(
        GraphWarning, match="1 nodes lost"
    ):  # node 2 only has a negative edge
        w = Cosine(power=3)(x, ei, torch.zeros(3))
    torch.testing.assert_close(w[:2], torch.full((2,), (1 / math.sqrt(2)) ** 3))
    assert w[2] == 0  # negative cosine clipped


def test_expdot_is_shift_invariant_and_finite() -> None:
    x = torch.randn(10, 4)
    ei = torch.randint(0, 10, (2, 30))
    w = ExpDot(temperature=0.5, normalize=False)(x, ei, torch.zeros(30))
    with pytest.warns(GraphWarning, match="lost all their edge weight"):
        # inner products of 1e6 scale: all but the largest edges underflow, never inf
        w_shift = ExpDot(temperature=0.5, normalize=False)(
            x * 1000, ei, torch.zeros(30)
        )
    assert torch.isfinite(w_shift).all() and w_shift.max() == 1.0
    s = (x[ei[0]] * x[ei[1]]).sum(1)
    torch.testing.assert_close(w, torch.exp((s - s.max()) / 0.5))


def test_pairwise_kernel_matches_edge_kernel() -> None:
    a, b = torch.randn(5, 3), torch.randn(4, 3)
    k = pairwise_kernel(Cosine(2.0), a, b)
    an, bn = (
        torch.nn.functional.normalize(a, dim=1),
        torch.nn.functional.normalize(b, dim=1),
    )
    torch.testing.assert_close(k, (an @ bn.t()).clamp(min=0) ** 2)
    g = pairwise_kernel(Gaussian(1.5), a, b)
    torch.testing.assert_close(g, torch.exp(-(torch.cdist(a, b) ** 2) / 4.5))
    with pytest.raises(ValueError, match="fixed float sigma"):
        pairwise_kernel(Gaussian("median"), a, b)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Gaussian(0.0), "'sigma' parameter of Gaussian"),
        (lambda: Gaussian("mean"), "'sigma'"),
        (lambda: Gaussian(local_k=0), "'local_k'"),
        (lambda: Cosine(power=-1), "'power'"),
        (lambda: ExpDot(temperature=0), "'temperature'"),
    ],
)
def test_bad_kernel_parameters(make: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()  # type: ignore[operator]
