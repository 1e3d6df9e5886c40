"""Tests for graphssl.datasets.synthetic: moons, blobs and label hiding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphssl.datasets import hide_labels, make_blobs, make_moons

# -------------------------------------------------------------------- make_moons


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n", [2, 7, 100, 1001])
def test_make_moons_shapes_and_balance(n: int, dtype: torch.dtype) -> None:
    x, y = make_moons(n, dtype=dtype)
    assert x.shape == (n, 2)
    assert x.dtype == dtype
    assert y.shape == (n,)
    assert y.dtype == torch.int64
    assert torch.bincount(y, minlength=2).tolist() == [n // 2, n - n // 2]


def test_make_moons_seeded() -> None:
    x1, y1 = make_moons(500, noise=0.2, seed=3)
    x2, y2 = make_moons(500, noise=0.2, seed=3)
    x3, _ = make_moons(500, noise=0.2, seed=4)
    assert torch.equal(x1, x2)
    assert torch.equal(y1, y2)
    assert not torch.equal(x1, x3)


def test_make_moons_leaves_global_rng_alone() -> None:
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    make_moons(100, seed=1)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("n", [2, 3, 10, 101])
def test_make_moons_matches_sklearn_without_noise(n: int) -> None:
    sk = pytest.importorskip("sklearn.datasets")
    x, y = make_moons(n, noise=0.0, shuffle=False, dtype=torch.float64)
    x_ref, y_ref = sk.make_moons(n, noise=0.0, shuffle=False)
    np.testing.assert_allclose(x.numpy(), x_ref, atol=1e-12)
    np.testing.assert_array_equal(y.numpy(), y_ref)


def _sorted_rows(x: torch.Tensor, y: torch.Tensor) -> list[tuple[float, ...]]:
    return sorted(map(tuple, torch.cat([x, y[:, None].to(x.dtype)], 1).tolist()))


def test_make_moons_shuffle_is_a_permutation() -> None:
    x0, y0 = make_moons(301, noise=0.0, shuffle=False, dtype=torch.float64)
    x1, y1 = make_moons(301, noise=0.0, shuffle=True, dtype=torch.float64)
    assert not torch.equal(y0, y1)
    assert np.allclose(_sorted_rows(x0, y0), _sorted_rows(x1, y1))


def test_make_moons_geometry() -> None:
    x, y = make_moons(2000, noise=0.0)
    upper, lower = x[y == 0], x[y == 1]
    # Upper moon: unit half circle around the origin, above the x-axis.
    assert torch.allclose(upper.norm(dim=1), torch.ones(len(upper)), atol=1e-5)
    assert bool((upper[:, 1] >= -1e-6).all())
    # Lower moon: unit half circle around (1, 0.5), below y = 0.5.
    assert torch.allclose(
        (lower - torch.tensor([1.0, 0.5])).norm(dim=1),
        torch.ones(len(lower)),
        atol=1e-5,
    )
    assert bool((lower[:, 1] <= 0.5 + 1e-6).all())


def test_make_moons_noise_scale() -> None:
    x, y = make_moons(20000, noise=0.1, seed=0)
    # Noise is isotropic with std 0.1, so radial residuals have about that spread.
    resid = x[y == 0].norm(dim=1) - 1.0
    assert abs(float(resid.std()) - 0.1) < 0.01
    assert float(x[y == 0, 1].mean()) > 0.5 > float(x[y == 1, 1].mean())


def test_make_moons_large_n() -> None:
    n = 2_000_000
    x, y = make_moons(n, seed=0)
    assert x.shape == (n, 2)
    assert int(y.sum()) == n - n // 2


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"n": 1}, ValueError, r"The 'n' parameter of make_moons must be an int in"),
        ({"n": 2.5}, TypeError, r"'n' parameter of make_moons"),
        ({"n": 10, "noise": -0.1}, ValueError, r"'noise' parameter of make_moons"),
        ({"n": 10, "dtype": torch.int64}, TypeError, r"'dtype' parameter"),
        ({"n": 10, "dtype": torch.float16}, TypeError, r"float32 or torch.float64"),
        ({"n": 10, "seed": -1}, ValueError, r"'seed' parameter of make_moons"),
    ],
)
def test_make_moons_errors(kwargs: dict[str, object], err: type, match: str) -> None:
    with pytest.raises(err, match=match):
        make_moons(**kwargs)  # type: ignore[arg-type]


# -------------------------------------------------------------------- make_blobs


@pytest.mark.parametrize(("n", "c"), [(10, 3), (99, 4), (5, 5)])
def test_make_blobs_shapes_and_balance(n: int, c: int) -> None:
    x, y = make_blobs(n, c, num_features=5)
    assert x.shape == (n, 5)
    assert x.dtype == torch.float32
    counts = torch.bincount(y, minlength=c)
    assert counts.tolist() == [n // c + (i < n % c) for i in range(c)]


def test_make_blobs_seeded_and_clustered() -> None:
    x1, y1 = make_blobs(3000, 3, cluster_std=0.5, seed=7)
    x2, y2 = make_blobs(3000, 3, cluster_std=0.5, seed=7)
    assert torch.equal(x1, x2)
    assert torch.equal(y1, y2)
    assert bool((x1.abs() < 10 + 5 * 0.5).all())  # centres lie in the default box
    for c in range(3):
        assert abs(float(x1[y1 == c].std(dim=0).mean()) - 0.5) < 0.05


def test_make_blobs_explicit_centers() -> None:
    centers = torch.tensor([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]], dtype=torch.float64)
    x, y = make_blobs(400, centers, cluster_std=0.1, shuffle=False, dtype=torch.float64)
    assert x.shape == (400, 3)
    assert y.tolist() == [0] * 200 + [1] * 200
    assert torch.allclose(x[y == 1].mean(0), centers[1], atol=0.05)


def test_make_blobs_errors() -> None:
    with pytest.raises(ValueError, match=r"'n' parameter of make_blobs.*>= the number"):
        make_blobs(2, 3)
    with pytest.raises(ValueError, match=r"'num_features' parameter of make_blobs"):
        make_blobs(10, torch.zeros(2, 3), num_features=2)
    with pytest.raises(ValueError, match=r"'center_box' parameter of make_blobs"):
        make_blobs(10, 2, center_box=(1.0, -1.0))
    with pytest.raises(ValueError, match=r"'centers' parameter of make_blobs"):
        make_blobs(10, torch.zeros(3))


# ------------------------------------------------------------------- hide_labels


def _labels() -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.repeat_interleave(torch.arange(4), torch.tensor([30, 12, 50, 8]))[
        torch.randperm(100, generator=gen)
    ]


@pytest.mark.parametrize("k", [1, 5, 8])
def test_hide_labels_per_class(k: int) -> None:
    y = _labels()
    out = hide_labels(y, per_class=k, seed=1)
    assert out.shape == y.shape
    assert out.dtype == torch.int64
    kept = out >= 0
    assert torch.bincount(out[kept], minlength=4).tolist() == [k] * 4
    assert torch.equal(out[kept], y[kept])  # kept labels are unchanged
    assert bool((out[~kept] == -1).all())
    assert len(set(y.tolist())) == 4  # the input is not modified


def test_hide_labels_fraction_is_stratified() -> None:
    y = _labels()
    out = hide_labels(y, fraction=0.25)
    counts = torch.bincount(out[out >= 0], minlength=4).tolist()
    assert counts == [8, 3, 13, 2]  # 0.25 * [30, 12, 50, 8], halves rounded up
    tiny = hide_labels(y, fraction=0.01)
    assert torch.bincount(tiny[tiny >= 0], minlength=4).tolist() == [1] * 4
    assert torch.equal(hide_labels(y, fraction=1.0), y)


def test_hide_labels_seeded() -> None:
    y = _labels()
    assert torch.equal(hide_labels(y, 3, seed=5), hide_labels(y, 3, seed=5))
    assert not torch.equal(hide_labels(y, 3, seed=5), hide_labels(y, 3, seed=6))


def test_hide_labels_keeps_unlabelled_entries() -> None:
    y = torch.tensor([0, 0, -1, 1, 1, -1, 0, 1], dtype=torch.int32)
    out = hide_labels(y, per_class=3)
    assert out[[2, 5]].tolist() == [-1, -1]
    assert torch.equal(out, y.long())


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"per_class": 9}, ValueError, r"at most 8, the size of the smallest class"),
        ({"per_class": 0}, ValueError, r"'per_class' parameter of hide_labels"),
        ({}, ValueError, r"'per_class' parameter .* when 'fraction' is None"),
        ({"per_class": 1, "fraction": 0.5}, ValueError, r"None when 'fraction' is"),
        ({"fraction": 0.0}, ValueError, r"'fraction' parameter of hide_labels"),
        ({"fraction": 1.5}, ValueError, r"'fraction' parameter of hide_labels"),
    ],
)
def test_hide_labels_errors(kwargs: dict[str, object], err: type, match: str) -> None:
    with pytest.raises(err, match=match):
        hide_labels(_labels(), **kwargs)  # type: ignore[arg-type]


def test_hide_labels_bad_y() -> None:
    with pytest.raises(TypeError, match=r"'y' parameter of hide_labels"):
        hide_labels(torch.zeros(4), per_class=1)
    with pytest.raises(ValueError, match=r"a 1-D tensor"):
        hide_labels(torch.zeros(2, 2, dtype=torch.long), per_class=1)
    with pytest.raises(ValueError, match=r"at least one labelled entry"):
        hide_labels(torch.full((3,), -1), per_class=1)
    with pytest.raises(ValueError, match=r"-1 \(unlabelled\) or a class >= 0"):
        hide_labels(torch.tensor([0, -2]), per_class=1)
