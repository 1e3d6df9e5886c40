"""Tests for graphssl.datasets.tabular: scikit-learn's bundled sets as tensors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from graphssl.datasets import load_breast_cancer, load_digits, load_wine

pytest.importorskip("sklearn")

Loader = Callable[..., tuple[Tensor, Tensor]]
CASES = [
    # loader, samples, features, class counts
    (load_digits, 1797, 64, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]),
    (load_wine, 178, 13, [59, 71, 48]),
    (load_breast_cancer, 569, 30, [212, 357]),
]


@pytest.mark.parametrize(("loader", "n", "f", "counts"), CASES)
def test_loader_shapes(loader: Loader, n: int, f: int, counts: list[int]) -> None:
    x, y = loader()
    assert x.shape == (n, f)
    assert x.dtype == torch.float32
    assert y.shape == (n,)
    assert y.dtype == torch.int64
    assert torch.bincount(y).tolist() == counts


def test_load_digits_raw_pixels() -> None:
    x, _ = load_digits(dtype=torch.float64)
    assert x.dtype == torch.float64
    assert float(x.min()) == 0.0
    assert float(x.max()) == 16.0
    assert torch.equal(x, x.round())


@pytest.mark.parametrize(("loader", "n", "f", "counts"), CASES)
def test_loader_standardize(loader: Loader, n: int, f: int, counts: list[int]) -> None:
    raw, _ = loader(dtype=torch.float64)
    x, _ = loader(standardize=True, dtype=torch.float64)
    assert torch.allclose(x.mean(0), torch.zeros(f, dtype=x.dtype), atol=1e-10)
    std = x.std(0, unbiased=False)
    constant = raw.std(0) == 0  # digits has always-blank border pixels
    assert torch.allclose(
        std[~constant], torch.ones(int((~constant).sum()), dtype=x.dtype)
    )
    assert bool((x[:, constant] == 0).all())


def test_loader_bad_dtype() -> None:
    with pytest.raises(TypeError, match=r"The 'dtype' parameter of load_wine"):
        load_wine(dtype=torch.int32)
