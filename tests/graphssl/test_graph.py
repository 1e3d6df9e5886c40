"""The Graph type, its conversions, normalisation and symmetrisation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphssl import Graph, as_graph
from graphssl.normalization import normalize, propagation_matrix
from graphssl.symmetrize import coalesce, remove_self_loops, symmetrize


def small_graph(device: str = "cpu") -> Graph:
    ei = torch.tensor([[0, 1, 2, 2, 3], [1, 2, 0, 3, 3]], device=device)
    w = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], device=device)
    return Graph(ei, w, 5)  # node 4 isolated, 3 has a self-loop


def test_conversions_round_trip(device: str) -> None:
    g = small_graph(device)
    dense = g.to_dense()
    assert dense[0, 1] == 1.0 and dense[2, 3] == 4.0
    for other in (
        g.to_torch_coo(),
        g.to_torch_csr(),
        g.to_scipy(),
        dense,
        dense.cpu().numpy(),
        (g.edge_index, g.edge_weight),
        g.to_pyg(),
    ):
        back = as_graph(other, num_nodes=5)
        torch.testing.assert_close(back.to_dense().cpu(), dense.cpu())
        assert back.num_nodes == 5


def test_scipy_matches_pyg_layout() -> None:
    from torch_geometric.utils import to_scipy_sparse_matrix

    g = small_graph()
    ref = to_scipy_sparse_matrix(g.edge_index, g.edge_weight, 5)
    assert (abs(g.to_scipy() - ref)).max() == 0


def test_as_graph_defaults_unit_weights_for_pyg_data() -> None:
    from torch_geometric.data import Data

    d = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=3)
    g = as_graph(d)
    assert g.num_nodes == 3 and g.edge_weight.tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((torch.tensor([0, 1]), torch.ones(2), 2), ValueError, "shape \\[2, E\\]"),
        (
            (torch.tensor([[0], [5]]), torch.ones(1), 3),
            ValueError,
            "node indices in \\[0, 2\\]",
        ),
        (
            (torch.tensor([[0], [1]]), torch.ones(2), 3),
            ValueError,
            "one weight per edge",
        ),
        (
            (torch.tensor([[0], [1]]), torch.ones(1, dtype=torch.long), 3),
            TypeError,
            "float",
        ),
        (
            (torch.tensor([[0], [1]]), torch.tensor([-1.0]), 3),
            ValueError,
            "non-negative",
        ),
        (
            (torch.tensor([[0], [1]]), torch.tensor([float("nan")]), 3),
            ValueError,
            "finite",
        ),
    ],
)
def test_graph_rejects_bad_input(args: tuple, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        Graph(*args)


def test_as_graph_rejects_unknown_types() -> None:
    with pytest.raises(TypeError, match="'graph' parameter of as_graph"):
        as_graph("not a graph")


def test_float16_weights_are_upcast() -> None:
    g = Graph(torch.tensor([[0], [1]]), torch.ones(1, dtype=torch.float16), 2)
    assert g.dtype == torch.float32


@pytest.mark.parametrize("kind", ["row", "col", "sym"])
def test_normalize_is_safe_for_isolated_nodes(kind: str, device: str) -> None:
    g = normalize(small_graph(device), kind)
    m = propagation_matrix(g).to_dense().cpu()
    assert torch.isfinite(m).all()
    assert m[4].sum() == 0 and m[:, 4].sum() == 0
    if kind == "row":
        torch.testing.assert_close(m.sum(1)[:4], torch.ones(4))
    if kind == "col":
        torch.testing.assert_close(m.sum(0)[[0, 1, 2, 3]], torch.ones(4))


def test_sym_normalisation_matches_formula() -> None:
    w = torch.rand(6, 6, dtype=torch.float64)
    w = w + w.t()
    w.fill_diagonal_(0)
    d = w.sum(1)
    got = propagation_matrix(normalize(as_graph(w), "sym")).to_dense()
    torch.testing.assert_close(got, w / torch.sqrt(d[:, None] * d[None, :]))


def test_symmetrize_modes() -> None:
    # 0->1 (w=1) and 1->0 (w=3) both ways; 0->2 (w=2) one way only
    g = Graph(torch.tensor([[0, 1, 0], [1, 0, 2]]), torch.tensor([1.0, 3.0, 2.0]), 3)
    s = symmetrize(g, "sum").to_dense()
    assert s[0, 1] == 4 and s[1, 0] == 4 and s[0, 2] == 2 and s[2, 0] == 2
    m = symmetrize(g, "max").to_dense()
    assert m[0, 1] == 3 and m[0, 2] == 2 and m[2, 0] == 2
    mu = symmetrize(g, "mutual").to_dense()
    assert mu[0, 1] == 1 and mu[1, 0] == 1 and mu[0, 2] == 0
    for out in (s, m, mu):
        torch.testing.assert_close(out, out.t())


def test_symmetrize_then_is_symmetric_random(device: str) -> None:
    n = 50
    ei = torch.randint(0, n, (2, 300), device=device)
    g = remove_self_loops(Graph(ei, torch.rand(300, device=device), n))
    assert not g.is_symmetric()
    for how in ("sum", "max", "mutual"):
        assert symmetrize(g, how).is_symmetric()


def test_coalesce_reductions() -> None:
    g = Graph(torch.tensor([[0, 0, 1], [1, 1, 0]]), torch.tensor([1.0, 3.0, 5.0]), 2)
    assert coalesce(g, "sum").edge_weight.tolist() == [4.0, 5.0]
    assert coalesce(g, "max").edge_weight.tolist() == [3.0, 5.0]
    assert coalesce(g, "mean").edge_weight.tolist() == [2.0, 5.0]
    with pytest.raises(ValueError, match="'reduce' parameter of coalesce"):
        coalesce(g, "median")


def test_scipy_input_with_integer_values() -> None:
    a = sp.csr_matrix(np.array([[0, 2], [2, 0]]))
    g = as_graph(a)
    assert g.dtype.is_floating_point and g.num_edges == 2


@pytest.mark.parametrize("how", ["sum", "max", "mutual"])
def test_symmetrize_cpu_scipy_path_equals_torch_path(how: str) -> None:
    from graphssl.symmetrize import _symmetrize_torch

    n = 40
    ei = torch.randint(0, n, (2, 200))
    g = remove_self_loops(Graph(ei, torch.rand(200, dtype=torch.float64) + 0.1, n))
    fast, ref = symmetrize(g, how), _symmetrize_torch(g, how)
    torch.testing.assert_close(fast.to_dense(), ref.to_dense())
    assert fast.is_sorted() and fast._symmetric is True


def test_cached_flags_and_fast_operator_match_general_path() -> None:
    n = 30
    g = symmetrize(Graph(torch.randint(0, n, (2, 120)), torch.rand(120), n), "max")
    s = normalize(g, "sym")
    assert (
        s._symmetric is True
    )  # sym normalisation of a symmetric graph stays symmetric
    assert normalize(g, "row")._symmetric is None  # row normalisation does not
    plain = Graph(s.edge_index.flip(1), s.edge_weight.flip(0), n)  # unsorted, no flags
    assert not plain.is_sorted()
    torch.testing.assert_close(
        propagation_matrix(s).to_dense(), propagation_matrix(plain).to_dense()
    )
    torch.testing.assert_close(propagation_matrix(s).to_dense(), s.to_dense().t())
