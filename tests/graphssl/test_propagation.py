"""Label spreading / propagation against closed forms, scikit-learn and properties."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphssl import ConvergenceWarning, Graph, UnreachedNodesWarning
from graphssl.normalization import normalize
from graphssl.propagation import (
    class_mass_normalize,
    label_propagation,
    label_spreading,
)


def two_cluster_graph(n: int = 60, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense symmetric Gaussian affinity on two blobs and a label vector."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)
    x[: n // 2] += 4.0
    d = torch.cdist(x, x)
    w = torch.exp(-(d**2) / 2)
    w.fill_diagonal_(0.0)
    w[w < 1e-3] = 0.0
    y = torch.full((n,), -1)
    y[:3] = 0
    y[n // 2 : n // 2 + 3] = 1
    return w, y


def one_hot(y: torch.Tensor, c: int) -> torch.Tensor:
    out = torch.zeros(y.numel(), c, dtype=torch.float64)
    lab = y >= 0
    out[lab, y[lab]] = 1
    return out


@pytest.mark.parametrize("solver", ["direct", "cg", "iterate"])
def test_label_spreading_matches_closed_form(solver: str, device: str) -> None:
    w, y = two_cluster_graph()
    alpha = 0.9
    d = w.sum(1)
    s = w / torch.sqrt(d[:, None] * d[None, :])
    expected = (1 - alpha) * torch.linalg.solve(
        torch.eye(len(y)) - alpha * s, one_hot(y, 2)
    )
    res = label_spreading(
        w.to(device),
        y.to(device),
        alpha=alpha,
        solver=solver,
        tol=1e-12,
        max_iter=10_000,
    )
    assert res.solver == solver
    torch.testing.assert_close(res.scores.cpu(), expected, atol=1e-9, rtol=1e-7)
    assert res.converged
    assert res.distribution.device.type == device


@pytest.mark.parametrize("solver", ["direct", "cg", "iterate"])
def test_label_propagation_matches_harmonic_solution(solver: str, device: str) -> None:
    w, y = two_cluster_graph()
    lab = y >= 0
    p = w / w.sum(1, keepdim=True)
    u, l_ = ~lab, lab
    f_u = torch.linalg.solve(
        torch.eye(int(u.sum())) - p[u][:, u], p[u][:, l_] @ one_hot(y[l_], 2)
    )
    res = label_propagation(
        w.to(device), y.to(device), solver=solver, tol=1e-12, max_iter=50_000
    )
    torch.testing.assert_close(res.scores.cpu()[u], f_u, atol=1e-9, rtol=1e-7)
    # hard clamping: labelled rows are exactly their one-hot labels
    torch.testing.assert_close(res.scores.cpu()[l_], one_hot(y[l_], 2))


@pytest.mark.parametrize("variant", ["spreading", "propagation"])
def test_parity_with_scikit_learn_on_same_graph(variant: str) -> None:
    semi = pytest.importorskip("sklearn.semi_supervised")
    w, y = two_cluster_graph(80, seed=3)
    x = np.zeros((len(y), 1))
    kern = lambda a, b: w.numpy().copy()  # noqa: E731 - sklearn takes a callable
    if variant == "spreading":
        ref = semi.LabelSpreading(kernel=kern, alpha=0.8, max_iter=10_000, tol=1e-14)
        ours = label_spreading(w, y, alpha=0.8, tol=1e-12)
    else:
        ref = semi.LabelPropagation(kernel=kern, max_iter=100_000, tol=1e-14)
        ours = label_propagation(w, y, tol=1e-12)
    ref.fit(x, y.numpy())
    np.testing.assert_allclose(
        ours.distribution.numpy(), ref.label_distributions_, atol=1e-5
    )
    assert (ours.prediction.numpy() == ref.transduction_).all()


def test_unreached_component_is_reported_not_class_zero() -> None:
    # nodes 0-2 form a labelled component; 3-4 a component with no label; 5 isolated
    ei = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    g = Graph(ei, torch.ones(6, dtype=torch.float64), 6)
    y = torch.tensor([0, -1, 1, -1, -1, -1])
    for fn in (label_spreading, label_propagation):
        with pytest.warns(UnreachedNodesWarning, match="3 of 6 nodes"):
            res = fn(g, y)
        assert res.reached.tolist() == [True, True, True, False, False, False]
        assert res.prediction[3:].tolist() == [-1, -1, -1]
        torch.testing.assert_close(
            res.distribution[3:], torch.full((3, 2), 0.5, dtype=torch.float64)
        )


@pytest.mark.parametrize("solver", ["cg", "iterate"])
def test_unreached_with_iterative_solvers(solver: str) -> None:
    ei = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
    g = Graph(ei, torch.ones(4), 4)
    y = torch.tensor([0, 1, -1, -1])
    with pytest.warns(UnreachedNodesWarning):
        res = label_propagation(g, y, solver=solver)
    assert res.prediction.tolist() == [0, 1, -1, -1]


def test_convergence_warning_when_max_iter_hit() -> None:
    w, y = two_cluster_graph()
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        res = label_spreading(w, y, solver="iterate", max_iter=3)
    assert not res.converged and res.n_iter == 3


def test_class_mass_normalisation_rebalances() -> None:
    scores = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]])
    out = class_mass_normalize(scores, torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(out.sum(0), torch.tensor([0.5, 0.5]))
    assert out.argmax(1).tolist() == [0, 0, 1]


def test_iteration_counts_cg_much_fewer_than_fixed_point() -> None:
    w, y = two_cluster_graph(120)
    it = label_spreading(w, y, solver="iterate", tol=1e-8, max_iter=20_000)
    cg = label_spreading(w, y, solver="cg", tol=1e-8)
    assert cg.n_iter * 5 < it.n_iter


@settings(max_examples=25, deadline=None)
@given(n=st.integers(4, 25), seed=st.integers(0, 10_000), alpha=st.floats(0.05, 0.99))
def test_properties_rows_sum_to_one_and_permutation_equivariance(
    n: int, seed: int, alpha: float
) -> None:
    g = torch.Generator().manual_seed(seed)
    w = torch.rand(n, n, generator=g, dtype=torch.float64)
    w = (w + w.t()) * (torch.rand(n, n, generator=g) < 0.5).double()
    w = torch.maximum(w, w.t())
    w.fill_diagonal_(0.0)
    y = torch.full((n,), -1)
    y[0], y[1] = 0, 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachedNodesWarning)
        res = label_spreading(w, y, alpha=alpha)
        lp = label_propagation(w, y)
        perm = torch.randperm(n, generator=g)
        res_p = label_spreading(w[perm][:, perm], y[perm], alpha=alpha)
    torch.testing.assert_close(
        res.distribution.sum(1), torch.ones(n, dtype=torch.float64)
    )
    torch.testing.assert_close(res_p.distribution, res.distribution[perm])
    assert lp.prediction[0] == 0 and lp.prediction[1] == 1  # clamped labels unchanged
    assert bool((res.scores >= 0).all())


def test_symmetric_normalisation_stays_symmetric() -> None:
    w, _ = two_cluster_graph()
    s = normalize(_graph(w), "sym")
    assert s.is_symmetric(atol=1e-12)


def _graph(w: torch.Tensor) -> Graph:
    idx = torch.nonzero(w).t()
    return Graph(idx, w[idx[0], idx[1]], w.shape[0])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"alpha": 1.0}, ValueError, "'alpha' parameter of label_spreading"),
        ({"alpha": 0.0}, ValueError, "'alpha'"),
        ({"solver": "magic"}, ValueError, "'solver'"),
        ({"tol": -1.0}, ValueError, "'tol'"),
        ({"max_iter": 0}, ValueError, "'max_iter'"),
        ({"num_classes": 1}, ValueError, "'num_classes'"),
    ],
)
def test_bad_parameters(
    kwargs: dict[str, object], exc: type[Exception], match: str
) -> None:
    w, y = two_cluster_graph()
    with pytest.raises(exc, match=match):
        label_spreading(w, y, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("y", "exc", "match"),
    [
        (torch.full((60,), -1), ValueError, "at least one labelled"),
        (torch.tensor([0] * 3 + [-1] * 57), ValueError, "at least 2 classes"),
        (torch.tensor([0, 1, -2] + [-1] * 57), ValueError, r"-1 \(unlabelled\)"),
        (torch.zeros(59, dtype=torch.long), ValueError, "length 60"),
        (torch.zeros(60), TypeError, "integer tensor"),
    ],
)
def test_bad_labels(y: torch.Tensor, exc: type[Exception], match: str) -> None:
    w, _ = two_cluster_graph()
    with pytest.raises(exc, match=match):
        label_spreading(w, y)


def test_every_node_labelled_warns_for_hard_clamping() -> None:
    w, _ = two_cluster_graph()
    y = torch.tensor([0, 1] * 30)
    with pytest.warns(UserWarning, match="every node is labelled"):
        res = label_propagation(w, y)
    assert torch.equal(res.prediction, y)


def test_cg_on_non_symmetric_graph_is_refused() -> None:
    g = Graph(torch.tensor([[0, 1], [1, 2]]), torch.ones(2), 3)
    with pytest.raises(ValueError, match="symmetric"):
        label_spreading(g, torch.tensor([0, 1, -1]), solver="cg")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs two devices")
def test_devices_must_match() -> None:
    w, y = two_cluster_graph()
    with pytest.raises(ValueError, match="one device"):
        label_spreading(w.cuda(), y)


def test_subnormal_weights_do_not_produce_nan() -> None:
    # regression: float32 weights down to 1e-45 made the Jacobi-preconditioned CG NaN
    n = 200
    src = torch.arange(n - 1)
    w = torch.logspace(0, -45, n - 1, dtype=torch.float32)  # reaches subnormals
    ei = torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], 1)
    graph = Graph(ei, torch.cat([w, w]), n)
    y = torch.full((n,), -1)
    y[0], y[1] = 0, 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachedNodesWarning)
        # CG may not reach tol across 38 orders of magnitude in float32: it warns
        warnings.simplefilter("ignore", ConvergenceWarning)
        for solver in ("cg", "iterate", "direct"):
            res = label_propagation(graph, y, solver=solver, max_iter=500)
            assert torch.isfinite(res.distribution).all()
            assert res.reached[:50].all()


def test_diverging_iteration_is_an_error_not_nan() -> None:
    # an unnormalised graph with spectral radius > 1/alpha makes the iteration blow up
    w, y = two_cluster_graph()
    with pytest.raises(FloatingPointError, match="non-finite"):
        label_spreading((w * 100).float(), y, normalization="none", solver="iterate")


def test_cg_stops_on_non_finite_residual() -> None:
    from graphssl.solvers import conjugate_gradient

    b = torch.ones(5, 2)
    res = conjugate_gradient(lambda v: v * float("nan"), b, max_iter=50)
    assert not res.converged and res.n_iter == 1


def test_direct_solver_refused_for_huge_graphs() -> None:
    n = 20_001
    ei = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
    g = Graph(torch.cat([ei, ei.flip(0)], 1), torch.ones(2 * (n - 1)), n)
    y = torch.full((n,), -1)
    y[0], y[-1] = 0, 1
    with pytest.raises(ValueError, match="only up to 20000 nodes"):
        label_spreading(g, y, solver="direct")
