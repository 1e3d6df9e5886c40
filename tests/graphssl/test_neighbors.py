"""Tests for graphssl.neighbors: every backend against a brute-force reference."""

from __future__ import annotations

import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from graphssl import _knn_backends
from graphssl.neighbors import BACKENDS, knn, radius

DTYPES = [torch.float32, torch.float64]
try:
    import open3d  # noqa: F401

    HAVE_OPEN3D = True
except (ImportError, OSError):  # open3d raises OSError when libusb is missing
    HAVE_OPEN3D = False


def _backend(name: str) -> str:
    """Skip open3d cases cleanly when the package cannot be imported."""
    if name == "open3d":
        pytest.importorskip("open3d")
    return name


def exact_dist(x: Tensor) -> Tensor:
    """``[N, N]`` float64 distances computed directly, self at +inf."""
    x64 = x.double().cpu()
    d: Tensor = torch.linalg.vector_norm(x64[:, None, :] - x64[None, :, :], dim=-1)
    d.fill_diagonal_(float("inf"))
    return d


def tol(dtype: torch.dtype) -> float:
    return 1e-5 if dtype == torch.float32 else 1e-12


def check_knn(x: Tensor, k: int, idx: Tensor, dist: Tensor) -> None:
    """Shape, dtype, device, self exclusion, order and distances against brute force."""
    n = x.shape[0]
    assert idx.shape == (n, k)
    assert dist.shape == (n, k)
    assert idx.dtype == torch.long
    assert dist.dtype == x.dtype
    assert idx.device == x.device
    assert dist.device == x.device
    idx, dist = idx.cpu(), dist.cpu().double()
    rows = torch.arange(n)[:, None]
    assert bool((idx != rows).all()), "self is excluded"
    assert bool((idx.sort(dim=1).values.diff(dim=1) > 0).all()), "no repeated neighbour"
    assert bool((dist.diff(dim=1) >= 0).all()), "sorted ascending"
    full = exact_dist(x)
    scale = 1.0 + float(full[full.isfinite()].max())
    # The reported distance is the true distance to the reported index ...
    assert torch.allclose(dist, full[rows, idx], rtol=0, atol=tol(x.dtype) * scale)
    # ... and the distance profile equals brute force (tie tolerant: any of several
    # equidistant points may be returned, but the distances must agree).
    ref = full.topk(k, dim=1, largest=False).values
    assert torch.allclose(dist, ref, rtol=0, atol=tol(x.dtype) * scale)


def check_radius(
    x: Tensor, eps: float, ei: Tensor, dist: Tensor, cap: int | None
) -> None:
    n = x.shape[0]
    assert ei.dtype == torch.long
    assert ei.shape[0] == 2
    assert dist.dtype == x.dtype
    assert ei.device == x.device
    assert dist.device == x.device
    ei, dist = ei.cpu(), dist.cpu().double()
    src, dst = ei
    full = exact_dist(x)
    assert torch.allclose(dist, full[dst, src], rtol=0, atol=tol(x.dtype) * 10)
    # Sorted by target, then by distance.
    key = dst.double() * (2 * eps + 1) + dist
    assert bool((key.diff() >= 0).all())
    # The r-th edge of target i has the r-th smallest distance of i within eps.
    counts = torch.bincount(dst, minlength=n)
    within = (full <= eps).sum(dim=1)
    assert torch.equal(counts, within if cap is None else within.clamp(max=cap))
    rank = torch.arange(dst.numel()) - (torch.cumsum(counts, 0) - counts)[dst]
    ref = full.sort(dim=1).values[dst, rank]
    assert torch.allclose(dist, ref, rtol=0, atol=tol(x.dtype) * 10)
    if cap is None:
        j, i = torch.nonzero(full <= eps, as_tuple=True)
        assert set(zip(src.tolist(), dst.tolist(), strict=True)) == set(
            zip(j.tolist(), i.tolist(), strict=True)
        )


# ----------------------------------------------------------------- kNN accuracy
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dim", [2, 3, 16, 64])
@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_matches_brute_force(
    device: str, backend: str, dim: int, dtype: torch.dtype
) -> None:
    x = torch.randn(300, dim, dtype=dtype, device=device)
    idx, dist = knn(x, 7, backend=_backend(backend))
    check_knn(x, 7, idx, dist)


@pytest.mark.parametrize("backend", BACKENDS)
def test_knn_cosine(device: str, backend: str) -> None:
    x = torch.randn(200, 8, dtype=torch.float64, device=device)
    idx, dist = knn(x, 5, backend=_backend(backend), metric="cosine")
    xn = x / x.norm(dim=1, keepdim=True)
    check_knn(xn, 5, idx, dist)
    cos = (xn[:, None, :] * xn[idx]).sum(-1)
    assert torch.allclose(dist, (2 - 2 * cos).clamp_min(0).sqrt(), atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [3, 12])
def test_knn_with_duplicates(device: str, backend: str, k: int) -> None:
    # 30 distinct points, each present 8 times: k=3 stays inside a group of
    # duplicates (self may not be the first hit), k=12 reaches beyond it.
    base = torch.randn(30, 3, dtype=torch.float64, device=device)
    x = base.repeat(8, 1)
    idx, dist = knn(x, k, backend=_backend(backend))
    check_knn(x, k, idx, dist)
    assert bool((dist[:, : min(k, 7)] == 0).all()), "duplicates are at distance 0"


@pytest.mark.parametrize("backend", BACKENDS)
def test_knn_all_points_identical(device: str, backend: str) -> None:
    x = torch.ones(12, 3, device=device)
    idx, dist = knn(x, 11, backend=_backend(backend))
    check_knn(x, 11, idx, dist)
    assert bool((dist == 0).all())


@pytest.mark.parametrize("backend", ["torch", "kdtree"])
def test_knn_k_equals_n_minus_1(backend: str) -> None:
    x = torch.rand(9, 2)
    check_knn(x, 8, *knn(x, 8, backend=backend))


def test_torch_backend_is_exact_under_cancellation(device: str) -> None:
    # Far from the origin the expanded form ||a||² + ||b||² - 2ab loses most float32
    # digits; the certified re-ranking must still return the exact neighbours.
    x = 1e4 + torch.randn(400, 3, device=device)
    x = torch.cat([x, x[:50] + 1e-3])  # near-duplicates make near ties
    idx, dist = knn(x, 4, backend="torch")
    check_knn(x, 4, idx, dist)


def test_torch_backend_falls_back_on_large_ties(
    device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On an integer lattice an interior point has 6 neighbours at distance 1, more
    # than the spare candidates for k=1: certification must fail and the direct
    # scan must take over, still giving exact results.
    axis = torch.arange(5.0, device=device)
    x = torch.cartesian_prod(axis, axis, axis)
    calls: list[int] = []
    direct = _knn_backends._knn_direct

    def spy(x64: Tensor, rows: Tensor, k: int, budget: int) -> tuple[Tensor, Tensor]:
        calls.append(rows.numel())
        return direct(x64, rows, k, budget)

    monkeypatch.setattr(_knn_backends, "_knn_direct", spy)
    idx, dist = knn(x, 1, backend="torch")
    check_knn(x, 1, idx, dist)
    assert sum(calls) >= 27  # at least the 3 x 3 x 3 interior points
    assert bool((dist == 1).all())


def test_torch_backend_low_precision_matmul_stays_exact() -> None:
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("medium")  # may use bfloat16 products
    try:
        x = 100 + torch.randn(300, 16)
        check_knn(x, 5, *knn(x, 5, backend="torch"))
        eps = 4.0
        check_radius(x, eps, *radius(x, eps, backend="torch"), None)
    finally:
        torch.set_float32_matmul_precision(previous)


def test_torch_backend_tiny_memory_budget_equals_one_block(device: str) -> None:
    x = torch.randn(257, 16, device=device)
    one = knn(x, 5, backend="torch", memory_budget=2**30)
    many = knn(x, 5, backend="torch", memory_budget=1)  # one row per block
    assert torch.equal(one[0], many[0])
    assert torch.equal(one[1], many[1])
    eps = float(one[1][:, 2].median())
    r_one = radius(x, eps, backend="torch", memory_budget=2**30)
    r_many = radius(x, eps, backend="torch", memory_budget=1)
    assert torch.equal(r_one[0], r_many[0])
    assert torch.equal(r_one[1], r_many[1])


def test_half_precision_is_upcast(device: str) -> None:
    x = torch.randn(50, 3, device=device).half()
    idx, dist = knn(x, 3)
    assert dist.dtype == torch.float32
    check_knn(x.float(), 3, idx, dist)


def test_morton_path_of_kdtree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_knn_backends, "MORTON_MIN_POINTS", 10)
    for dim in (1, 2, 3):
        x = torch.rand(300, dim, dtype=torch.float64)
        check_knn(x, 6, *knn(x, 6, backend="kdtree"))
        eps = 0.1 if dim > 1 else 0.01
        check_radius(x, eps, *radius(x, eps, backend="kdtree"), None)
        check_radius(x, eps, *radius(x, eps, backend="kdtree", max_neighbors=3), 3)


@settings(max_examples=60, deadline=None)
@given(
    points=st.integers(2, 25).flatmap(
        lambda n: st.integers(1, 4).flatmap(
            lambda f: st.lists(
                st.lists(st.integers(-3, 3), min_size=f, max_size=f),
                min_size=n,
                max_size=n,
            )
        )
    ),
    k_frac=st.floats(0.0, 1.0),
    backend=st.sampled_from(["kdtree", "torch"] + ["open3d"] * HAVE_OPEN3D),
)
def test_property_small_grids(
    points: list[list[int]], k_frac: float, backend: str
) -> None:
    # Integer coordinates make exact ties and duplicates common.
    x = torch.tensor(points, dtype=torch.float32) * 0.5
    k = 1 + int(k_frac * (x.shape[0] - 2))
    check_knn(x, k, *knn(x, k, backend=backend))
    # Radii of 0.5 and 1.0 fall exactly on lattice distances: the test is inclusive.
    for eps in (0.5, 1.0, 1.3):
        check_radius(x, eps, *radius(x, eps, backend=backend), None)
        check_radius(x, eps, *radius(x, eps, backend=backend, max_neighbors=2), 2)


# --------------------------------------------------------------- radius accuracy
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dim", [2, 3, 16])
@pytest.mark.parametrize("dtype", DTYPES)
def test_radius_matches_brute_force(
    device: str, backend: str, dim: int, dtype: torch.dtype
) -> None:
    x = torch.randn(300, dim, dtype=dtype, device=device)
    full = exact_dist(x)
    eps = float(full.topk(6, dim=1, largest=False).values[:, -1].median())
    ei, dist = radius(x, eps, backend=_backend(backend))
    check_radius(x, eps, ei, dist, None)
    assert ei.shape[1] > 300


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cap", [1, 4])
def test_radius_max_neighbors(device: str, backend: str, cap: int) -> None:
    x = torch.randn(300, 3, dtype=torch.float64, device=device)
    ei, dist = radius(x, 0.6, max_neighbors=cap, backend=_backend(backend))
    check_radius(x, 0.6, ei, dist, cap)
    assert int(torch.bincount(ei[1].cpu()).max()) == cap


@pytest.mark.parametrize("backend", BACKENDS)
def test_radius_with_duplicates(device: str, backend: str) -> None:
    x = torch.randn(20, 2, device=device).repeat(5, 1)
    ei, dist = radius(x, 0.3, backend=_backend(backend))
    check_radius(x, 0.3, ei, dist, None)
    ei, dist = radius(x, 0.3, backend=_backend(backend), max_neighbors=2)
    check_radius(x, 0.3, ei, dist, 2)
    assert bool((dist == 0).all())


def test_radius_boundary_is_inclusive() -> None:
    x = torch.tensor([[0.0, 0.0], [1.5, 0.0], [0.0, 3.0]])
    for backend in BACKENDS:
        if backend == "open3d":
            pytest.importorskip("open3d")
        ei, dist = radius(x, 1.5, backend=backend)
        assert ei.tolist() == [[1, 0], [0, 1]]
        assert dist.tolist() == [1.5, 1.5]


def test_radius_single_point_and_no_pairs() -> None:
    ei, dist = radius(torch.zeros(1, 3), 1.0)
    assert ei.shape == (2, 0)
    assert dist.shape == (0,)
    ei, dist = radius(torch.tensor([[0.0], [5.0]]), 1.0, backend="torch")
    assert ei.shape == (2, 0)
    assert dist.shape == (0,)


def test_radius_cosine() -> None:
    x = torch.randn(100, 5, dtype=torch.float64)
    ei, dist = radius(x, 0.8, metric="cosine")
    check_radius(x / x.norm(dim=1, keepdim=True), 0.8, ei, dist, None)


# ------------------------------------------------------------------- bad input
X = torch.rand(10, 3)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"x": X.long()}, TypeError, "'x' parameter of knn must be a floating-point"),
        ({"x": X.numpy()}, TypeError, "'x' parameter of knn must be a torch.Tensor"),
        ({"x": X[0]}, ValueError, "'x' parameter of knn must be a 2-D tensor"),
        ({"x": X[:0]}, ValueError, "must be a non-empty tensor"),
        ({"x": X.index_fill(0, torch.tensor([2]), float("nan"))}, ValueError, "finite"),
        ({"x": X.index_fill(0, torch.tensor([2]), float("inf"))}, ValueError, "finite"),
        (
            {"k": 0},
            ValueError,
            r"'k' parameter of knn must be an int in the range \[1, 9\]",
        ),
        ({"k": 10}, ValueError, r"in the range \[1, 9\]. Got 10 instead"),
        ({"k": 2.0}, TypeError, "'k' parameter of knn"),
        ({"k": True}, TypeError, "'k' parameter of knn"),
        ({"backend": "faiss"}, ValueError, "'backend' parameter of knn must be one of"),
        (
            {"metric": "manhattan"},
            ValueError,
            "'metric' parameter of knn must be one of",
        ),
        ({"memory_budget": 0}, ValueError, "'memory_budget' parameter of knn"),
        (
            {"x": torch.cat([X[:9], torch.zeros(1, 3)]), "metric": "cosine"},
            ValueError,
            "'x' parameter of knn must be free of all-zero rows",
        ),
    ],
)
def test_knn_bad_input(
    kwargs: dict[str, object], err: type[Exception], match: str
) -> None:
    args: dict[str, object] = {"x": X, "k": 3, **kwargs}
    with pytest.raises(err, match=match):
        knn(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"x": X.long()}, TypeError, "'x' parameter of radius"),
        ({"eps": 0.0}, ValueError, r"'eps' parameter of radius must be a real number"),
        ({"eps": -1.0}, ValueError, "'eps' parameter of radius"),
        ({"eps": float("inf")}, ValueError, "'eps' parameter of radius"),
        ({"eps": float("nan")}, ValueError, "'eps' parameter of radius"),
        ({"eps": None}, TypeError, "'eps' parameter of radius"),
        ({"max_neighbors": 0}, ValueError, "'max_neighbors' parameter of radius"),
        ({"max_neighbors": 1.5}, TypeError, "'max_neighbors' parameter of radius"),
        ({"backend": "ball_tree"}, ValueError, "'backend' parameter of radius"),
        ({"metric": "l1"}, ValueError, "'metric' parameter of radius"),
    ],
)
def test_radius_bad_input(
    kwargs: dict[str, object], err: type[Exception], match: str
) -> None:
    args: dict[str, object] = {"x": X, "eps": 0.5, **kwargs}
    with pytest.raises(err, match=match):
        radius(**args)  # type: ignore[arg-type]


def test_open3d_missing_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "open3d", None)  # makes `import open3d` fail
    with pytest.raises(ImportError, match="needs the package 'open3d': pip install"):
        knn(X, 3, backend="open3d")
    with pytest.raises(ImportError, match=r"radius\(backend='open3d'\)"):
        radius(X, 0.5, backend="open3d")
