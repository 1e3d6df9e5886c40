"""Random-walk propagation: closed form vs coupled updates, A row-stochastic, limits."""

from __future__ import annotations

import pytest
import torch

from graphssl.exceptions import ConvergenceWarning
from video.random_walk import random_walk, random_walk_iterative, walk_matrix


def _inputs(
    device: str, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = torch.randn(3, 12, 6, dtype=dtype, device=device)
    mu = torch.randn(3, 4, 6, dtype=dtype, device=device)
    mask = torch.ones(3, 12, dtype=torch.bool, device=device)
    mask[1, 9:] = False
    mask[2, 3:] = False
    return x, mu, mask


@pytest.mark.parametrize("solver", ["direct", "lowrank", "iterate", "auto"])
def test_closed_form_equals_coupled_updates(device: str, solver: str) -> None:
    x, mu, mask = _inputs(device)
    ref = random_walk_iterative(x, mu, 0.5, num_iter=300, mask=mask)
    out = random_walk(x, mu, 0.5, mask=mask, solver=solver, tol=1e-12)
    torch.testing.assert_close(out, ref, atol=1e-9, rtol=0)


def test_matches_dense_inverse_formula() -> None:
    # x~ = (1-w)(I - w^2 A)^-1 (w Z^T mu + x), with Z built by hand
    x, mu = (
        torch.randn(7, 3, dtype=torch.float64),
        torch.randn(2, 3, dtype=torch.float64),
    )
    xn = x / x.norm(dim=1, keepdim=True)
    mn = mu / mu.norm(dim=1, keepdim=True)
    z = torch.softmax(5.0 * mn @ xn.T, dim=0)  # [K, T]
    z_hat = z / z.sum(dim=1, keepdim=True)
    a = z.T @ z_hat
    w = 0.3
    want = (
        (1 - w)
        * torch.linalg.inv(torch.eye(7, dtype=x.dtype) - w**2 * a)
        @ (w * z.T @ mu + x)
    )
    torch.testing.assert_close(walk_matrix(x, mu), a)
    torch.testing.assert_close(random_walk(x, mu, w, solver="direct"), want)


def test_walk_matrix_row_stochastic_with_padding(device: str) -> None:
    x, mu, mask = _inputs(device)
    a = walk_matrix(x, mu, mask=mask)
    rows = a.sum(-1)
    torch.testing.assert_close(rows[mask], torch.ones_like(rows[mask]))
    assert bool((rows[~mask] == 0).all())
    assert bool((a >= 0).all())
    # padded snippets receive no mass either
    assert bool((a.transpose(1, 2)[~mask] == 0).all())


def test_padding_does_not_change_real_snippets(device: str) -> None:
    x, mu, mask = _inputs(device)
    batched = random_walk(x, mu, 0.5, mask=mask)
    alone = random_walk(x[2, :3], mu[2], 0.5)
    torch.testing.assert_close(batched[2, :3], alone)
    assert bool((batched[2, 3:] == 0).all())


def test_w_zero_returns_x() -> None:
    x, mu, mask = _inputs("cpu")
    out = random_walk(x, mu, 0.0, mask=mask)
    torch.testing.assert_close(out, x * mask[..., None])
    small = random_walk(x, mu, 1e-8, mask=mask)
    torch.testing.assert_close(small, x * mask[..., None], atol=1e-6, rtol=0)


def test_basis_mask_and_video_without_bases() -> None:
    x, mu, _ = _inputs("cpu")
    bmask = torch.tensor([[True, True, False, False], [True] * 4, [False] * 4])
    out = random_walk(x, mu, 0.5, basis_mask=bmask)
    # masked bases behave as if absent
    torch.testing.assert_close(out[0], random_walk(x[0], mu[0, :2], 0.5))
    # no basis at all: the walk only damps, x~ = (1 - w) x
    torch.testing.assert_close(out[2], 0.5 * x[2])
    assert torch.isfinite(out).all()


def test_gradients_agree_between_solvers() -> None:
    x, mu, mask = _inputs("cpu")
    grads = []
    for solver in ("direct", "lowrank"):
        xr = x.clone().requires_grad_(True)
        random_walk(xr, mu, 0.5, mask=mask, solver=solver).square().sum().backward()  # type: ignore[no-untyped-call]
        grads.append(xr.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_bad_input() -> None:
    x, mu, _ = _inputs("cpu")
    with pytest.raises(ValueError, match=r"'w' parameter of random_walk"):
        random_walk(x, mu, 1.0)
    with pytest.raises(ValueError, match=r"'solver' parameter of random_walk"):
        random_walk(x, mu, solver="cg")
    with pytest.raises(ValueError, match=r"'mu' parameter of random_walk"):
        random_walk(x, mu[..., :3])
    with pytest.warns(ConvergenceWarning, match=r"random_walk"):
        random_walk(x, mu, 0.9, solver="iterate", max_iter=2)


def test_long_video_lowrank_matches_iterate() -> None:
    # neither path builds a [T, T] matrix; they must agree on a long video
    x, mu = (
        torch.randn(1, 3000, 8, dtype=torch.float64),
        torch.randn(1, 6, 8, dtype=torch.float64),
    )
    a = random_walk(x, mu, 0.5, solver="lowrank")
    b = random_walk(x, mu, 0.5, solver="iterate", tol=1e-12)
    torch.testing.assert_close(a, b, atol=1e-9, rtol=0)
