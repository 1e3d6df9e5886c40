"""knn_graph / epsilon_graph against brute force, kernels, symmetrisation, bad input."""

from __future__ import annotations

import warnings

import pytest
import torch

from graphssl import Cosine, Gaussian, GraphWarning, epsilon_graph, knn_graph


def brute_knn_sets(x: torch.Tensor, k: int) -> set[tuple[int, int]]:
    d = torch.cdist(x.double(), x.double())
    d.fill_diagonal_(float("inf"))
    idx = d.topk(k, largest=False).indices
    return {(int(j), i) for i in range(x.shape[0]) for j in idx[i]}


def edge_set(g: object) -> set[tuple[int, int]]:
    ei = g.edge_index.cpu()  # type: ignore[attr-defined]
    return set(zip(ei[0].tolist(), ei[1].tolist(), strict=True))


@pytest.mark.parametrize("dim", [3, 32])
def test_knn_graph_matches_brute_force(dim: int, device: str) -> None:
    x = torch.randn(150, dim, dtype=torch.float64, device=device)
    directed = knn_graph(x, 6, symmetrize=None)
    assert edge_set(directed) == brute_knn_sets(x.cpu(), 6)
    sym = knn_graph(x, 6, symmetrize="max")
    brute = brute_knn_sets(x.cpu(), 6)
    assert edge_set(sym) == brute | {(i, j) for j, i in brute}
    assert sym.is_symmetric() and sym.device.type == device
    assert not bool((sym.edge_index[0] == sym.edge_index[1]).any())  # no self-loops


def test_knn_graph_weights_follow_the_kernel() -> None:
    x = torch.randn(80, 3, dtype=torch.float64)
    g = knn_graph(x, 5, kernel=Gaussian(0.7), symmetrize=None)
    d = (x[g.edge_index[0]] - x[g.edge_index[1]]).norm(dim=1)
    torch.testing.assert_close(g.edge_weight, torch.exp(-(d**2) / (2 * 0.49)))
    c = knn_graph(x, 5, kernel=Cosine(power=3.0), symmetrize=None, metric="cosine")
    xn = torch.nn.functional.normalize(x, dim=1)
    cos = (xn[c.edge_index[0]] * xn[c.edge_index[1]]).sum(1).clamp(min=0) ** 3
    torch.testing.assert_close(c.edge_weight, cos)


def test_mutual_is_subset_of_max_and_sum_doubles_mutual_pairs() -> None:
    x = torch.randn(100, 2, dtype=torch.float64)
    mx, sm = knn_graph(x, 4, symmetrize="max"), knn_graph(x, 4, symmetrize="sum")
    with pytest.warns(GraphWarning, match="no edge"):  # mutual kNN isolates outliers
        mu = knn_graph(x, 4, symmetrize="mutual")
    assert edge_set(mu) <= edge_set(mx) and edge_set(sm) == edge_set(mx)
    dense_mx, dense_sm = mx.to_dense(), sm.to_dense()
    both = mu.to_dense() > 0
    torch.testing.assert_close(dense_sm[both], 2 * dense_mx[both])


def test_epsilon_graph_matches_brute_force_and_cap(device: str) -> None:
    x = torch.rand(200, 3, dtype=torch.float64, device=device)
    eps = 0.15
    d = torch.cdist(x, x).cpu()
    brute = {
        (j, i) for i in range(200) for j in range(200) if i != j and d[i, j] <= eps
    }
    with pytest.warns(GraphWarning):  # a few points have no neighbour within eps
        g = epsilon_graph(x, eps, kernel=Gaussian(0.1))
    assert edge_set(g) == brute
    with pytest.warns(GraphWarning):
        capped = epsilon_graph(
            x, eps, max_neighbors=2, kernel=Gaussian(0.1), symmetrize=None
        )
    assert int(torch.bincount(capped.edge_index[1].cpu(), minlength=200).max()) <= 2


def test_duplicate_points_get_finite_unit_weights() -> None:
    x = torch.cat([torch.zeros(5, 3), torch.randn(20, 3)]).double()
    for sigma in ("median", "local"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", GraphWarning)  # nobody may lose all weight
            g = knn_graph(x, 4, kernel=Gaussian(sigma))
        assert torch.isfinite(g.edge_weight).all()
        dup = (g.edge_index < 5).all(0)
        assert (g.edge_weight[dup] == 1).all()


def test_isolated_nodes_are_reported() -> None:
    x = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    with pytest.warns(GraphWarning, match="1 of 3 nodes have no edge"):
        epsilon_graph(x, 0.5)


@pytest.mark.parametrize(
    ("x", "k", "exc", "match"),
    [
        (
            torch.randn(10, 2),
            0,
            ValueError,
            r"'k' parameter of knn_graph must be an int in the range \[1, 9\]",
        ),
        (torch.randn(10, 2), 10, ValueError, r"range \[1, 9\]\. Got 10"),
        (torch.randn(10, 2), 2.5, TypeError, "'k'"),
        (torch.ones(10, 2, dtype=torch.long), 3, TypeError, "floating-point"),
        (
            torch.tensor([[0.0, float("nan")], [1.0, 1.0], [2.0, 2.0]]),
            1,
            ValueError,
            "NaN",
        ),
        (torch.empty(0, 3), 1, ValueError, "at least 2 rows|non-empty"),
        (torch.randn(10), 3, ValueError, "2-D"),
    ],
)
def test_knn_graph_bad_input(
    x: torch.Tensor, k: object, exc: type[Exception], match: str
) -> None:
    with pytest.raises(exc, match=match):
        knn_graph(x, k)  # type: ignore[arg-type]


def test_float16_input_is_upcast() -> None:
    g = knn_graph(torch.randn(30, 3).half(), 3)
    assert g.dtype == torch.float32


def test_bad_symmetrize_and_eps() -> None:
    x = torch.randn(10, 2)
    with pytest.raises(ValueError, match="'symmetrize' parameter of knn_graph"):
        knn_graph(x, 3, symmetrize="min")
    with pytest.raises(ValueError, match="'eps' parameter of epsilon_graph"):
        epsilon_graph(x, 0.0)


def test_tensors_on_different_devices_are_refused() -> None:
    from graphssl import label_spreading

    g = knn_graph(torch.randn(20, 2), 3)
    y = torch.full((20,), -1, device="meta")
    with pytest.raises(ValueError, match="must be on one device"):
        label_spreading(g, y)
