"""EM summarisation into K bases."""

from __future__ import annotations

import torch

from video.em_bases import basis_assignment, em_bases


def _loop_em(x: torch.Tensor, mu: torch.Tensor, num_iter: int) -> torch.Tensor:
    # per-basis, per-snippet loops: the plain definition
    for _ in range(num_iter):
        k, t = mu.shape[0], x.shape[0]
        z = torch.zeros(k, t, dtype=x.dtype)
        for j in range(t):
            cos = torch.stack(
                [
                    torch.nn.functional.cosine_similarity(mu[i], x[j], dim=0)
                    for i in range(k)
                ]
            )
            z[:, j] = torch.softmax(5.0 * cos, dim=0)
        new = torch.zeros_like(mu)
        for i in range(k):
            new[i] = (z[i, :, None] * x).sum(0) / z[i].sum()
        mu = new
    return mu


def test_em_matches_loop_reference() -> None:
    x = torch.randn(9, 4, dtype=torch.float64)
    mu0 = torch.randn(3, 4, dtype=torch.float64)
    torch.testing.assert_close(em_bases(x, mu0, num_iter=3), _loop_em(x, mu0, 3))


def test_em_batched_with_padding_equals_per_video(device: str) -> None:
    x = torch.randn(2, 10, 5, device=device, dtype=torch.float64)
    mask = torch.ones(2, 10, dtype=torch.bool, device=device)
    mask[1, 6:] = False
    x[1, 6:] = 100.0  # garbage in padding must not matter
    mu0 = torch.randn(4, 5, device=device, dtype=torch.float64)
    out = em_bases(x, mu0, mask=mask)
    assert out.shape == (2, 4, 5)
    torch.testing.assert_close(out[1], em_bases(x[1, :6], mu0))
    torch.testing.assert_close(out[0], em_bases(x[0], mu0))


def test_bases_are_convex_combinations() -> None:
    x = torch.rand(20, 3)  # positive features: bases stay in the positive orthant box
    mu = em_bases(x, torch.randn(5, 3))
    assert bool((mu >= x.min(0).values - 1e-6).all())
    assert bool((mu <= x.max(0).values + 1e-6).all())


def test_assignment_normalisations() -> None:
    x, mu = torch.randn(2, 7, 3), torch.randn(2, 4, 3)
    mask = torch.tensor([[True] * 7, [True] * 5 + [False] * 2])
    z, z_hat = basis_assignment(x, mu, mask=mask)
    torch.testing.assert_close(z.sum(1)[mask], torch.ones(12))
    torch.testing.assert_close(z_hat.sum(-1), torch.ones(2, 4))
    assert bool((z[1, :, 5:] == 0).all())
