r"""Random-walk feature propagation over the snippet–basis bipartite graph (RSKP).

Huang, Wang, Li, "Weakly Supervised Temporal Action Localization via Representative
Snippet Knowledge Propagation", CVPR 2022. Each snippet walks to a basis and back
(:math:`A = Z^\top \hat Z`, a two-step walk), and the propagated features are the
fixed point of the coupled updates

.. math::
    x \leftarrow w\,Z^\top \mu' + (1-w)\,x_0, \qquad
    \mu' \leftarrow w\,\hat Z x + (1-w)\,\mu_0,

i.e. :math:`(I - w^2 A)\,\tilde x = (1-w)\,(w Z^\top \mu_0 + x_0)`: personalised
PageRank (label spreading with :math:`\alpha = w^2`) on the bipartite graph. Since
:math:`A` is row-stochastic, :math:`\rho(w^2 A) \le w^2 < 1` and the system is well
conditioned. :math:`A` has rank :math:`\le K`, so besides the batched dense
``[B, T, T]`` solve the Woodbury identity gives the exact answer with a ``[B, K, K]``
solve in :math:`O(BTKD)` (the default: no ``[T, T]`` matrix, any video length).
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from graphssl._validation import check_in, check_int, check_real
from graphssl.exceptions import ConvergenceWarning
from graphssl.solvers import fixed_point
from video.em_bases import assign, basis_assignment

__all__ = [
    "WALK_SOLVERS",
    "random_walk",
    "random_walk_iterative",
    "walk_matrix",
    "walk_prepared",
]

WALK_SOLVERS = ("auto", "direct", "lowrank", "iterate")


def _batch(
    x: Tensor, mu: Tensor, mask: Tensor | None, basis_mask: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, bool]:
    single = x.dim() == 2
    if single:
        x = x[None]
        mask = None if mask is None else mask[None]
        basis_mask = None if basis_mask is None else basis_mask[None]
    if mu.dim() == 2:
        mu = mu.expand(x.shape[0], *mu.shape)
    return x, mu, mask, basis_mask, single


def walk_matrix(
    x: Tensor,
    mu: Tensor,
    *,
    scale: float = 5.0,
    mask: Tensor | None = None,
    basis_mask: Tensor | None = None,
) -> Tensor:
    r"""The two-step transition matrix :math:`A = Z^\top \hat Z` ``[B, T, T]``.

    :math:`A_{ts} = \sum_k Z_{kt}\hat Z_{ks}`: from snippet :math:`t` to basis
    :math:`k` with probability :math:`Z_{kt}`, then back to snippet :math:`s` with
    probability :math:`\hat Z_{ks}` (see :func:`~video.em_bases.basis_assignment`).
    Rows of real snippets sum to 1; rows and columns of padded snippets are 0.
    Dense; meant for inspection and tests (training never forms it for long videos).
    """
    xb, mub, m, bm, single = _batch(x, mu, mask, basis_mask)
    z, z_hat = basis_assignment(xb, mub, scale=scale, mask=m, basis_mask=bm)
    a = torch.einsum("bkt,bks->bts", z, z_hat)
    return a[0] if single else a


def random_walk(
    x: Tensor,
    mu: Tensor,
    w: float = 0.5,
    *,
    scale: float = 5.0,
    mask: Tensor | None = None,
    basis_mask: Tensor | None = None,
    solver: str = "auto",
    tol: float = 1e-6,
    max_iter: int = 1000,
) -> Tensor:
    r"""Closed-form random-walk propagation of snippet features.

    .. math::
        \tilde x = (1-w)\,(I - w^2 A)^{-1}\,(w\,Z^\top \mu + x),
        \qquad A = Z^\top \hat Z

    where :math:`x` ``[T, D]`` are a video's snippet features, :math:`\mu` ``[K, D]``
    its bases (EM bases of the video, or representative snippets from the memory),
    :math:`Z, \hat Z` ``[K, T]`` the soft assignment and its per-basis normalisation
    (:func:`~video.em_bases.basis_assignment`) and :math:`w` the walk weight.

    Args:
        x (Tensor): snippet features ``[B, T, D]`` or ``[T, D]``.
        mu (Tensor): bases ``[B, K, D]`` or ``[K, D]`` (shared by the batch).
        w (float): walk weight in ``[0, 1)``; ``w = 0`` returns ``x``. (default: ``0.5``)
        scale (float): cosine temperature of the assignment. (default: ``5.0``)
        mask (Tensor, optional): ``[B, T]`` bool, real snippets; padded rows of the
            result are 0.
        basis_mask (Tensor, optional): ``[B, K]`` bool, real bases (memory slots).
        solver (str): ``'direct'`` (batched ``[B, T, T]`` solve), ``'lowrank'``
            (exact Woodbury form, a ``[B, K, K]`` solve), ``'iterate'``
            (:func:`graphssl.solvers.fixed_point` on :math:`\tilde x \leftarrow
            w^2 A\tilde x + b`) or ``'auto'`` (lowrank when :math:`K < T`, else
            direct). (default: ``'auto'``)
        tol (float): relative-residual stop of ``'iterate'``.
        max_iter (int): iteration cap of ``'iterate'`` (:class:`ConvergenceWarning`).

    Returns:
        Tensor: propagated features, the shape of ``x``.
    """
    owner = "random_walk"
    w = check_real(w, "w", owner, low=0.0, high=1.0, closed="left")
    solver = check_in(solver, "solver", owner, WALK_SOLVERS)
    xb, mub, m, bm, single = _batch(x, mu, mask, basis_mask)
    if mub.shape[-1] != xb.shape[-1]:
        raise ValueError(
            f"The 'mu' parameter of {owner} must have the feature size of x "
            f"({xb.shape[-1]}). Got {mub.shape[-1]} instead."
        )
    z, z_hat = basis_assignment(xb, mub, scale=scale, mask=m, basis_mask=bm)
    if solver == "auto":
        solver = "lowrank" if mub.shape[1] < xb.shape[1] else "direct"
    w2 = w * w
    if solver == "lowrank":
        out = _lowrank(xb, mub, z, z_hat, w)
    else:
        b = (1.0 - w) * (w * torch.einsum("bkt,bkd->btd", z, mub) + xb)
        if solver == "direct":
            eye = torch.eye(xb.shape[1], dtype=xb.dtype, device=xb.device)
            a = torch.einsum("bkt,bks->bts", z, z_hat)
            out = torch.linalg.solve(eye - w2 * a, b)
        else:
            out = _iterate(z, z_hat, b, w2, tol, max_iter)
    if m is not None:
        out = out * m[..., None].to(out.dtype)
    return out[0] if single else out


def walk_prepared(
    x: Tensor,
    inv_norm: Tensor,
    mu: Tensor,
    w: float,
    scale: float,
    mask_f: Tensor,
    basis_mask: Tensor | None = None,
) -> Tensor:
    """The model's fast path of :func:`random_walk` (no checks, no final masking).

    ``x [B, T, D]`` must be zero on padded snippets (then the result is too: both
    terms of the closed form vanish there), ``inv_norm [B, T]`` its
    :func:`~video.em_bases.inverse_norm`, ``mask_f [B, T]`` the float mask.
    """
    z, z_hat = assign(x, inv_norm, mu, scale, mask_f, basis_mask)
    if mu.shape[1] < x.shape[1]:
        return _lowrank(x, mu, z, z_hat, w)
    b = (1.0 - w) * (w * torch.bmm(z.transpose(1, 2), mu) + x)
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    a = torch.bmm(z.transpose(1, 2), z_hat)
    out: Tensor = torch.linalg.solve(eye - (w * w) * a, b)
    return out


def _lowrank(x: Tensor, mu: Tensor, z: Tensor, z_hat: Tensor, w: float) -> Tensor:
    r"""Exact solve through the Woodbury identity, all heavy algebra in basis space.

    :math:`(I - w^2 Z^\top\hat Z)^{-1} = I + w^2 Z^\top (I_K - w^2 M)^{-1}\hat Z`
    with :math:`M = \hat Z Z^\top` ``[K, K]`` (row-stochastic too, so as well
    conditioned as the ``[T, T]`` system). With :math:`b = (1-w)(wZ^\top\mu + x)`,
    :math:`\hat Z b = (1-w)(wM\mu + \hat Z x)` and
    :math:`\tilde x = (1-w)x + Z^\top\big((1-w)w\mu + w^2 (I_K - w^2M)^{-1}\hat Z b\big)`:
    two ``[T, D]``-sized products instead of a dozen passes.
    """
    w2 = w * w
    mm = torch.bmm(z_hat, z.transpose(1, 2))  # [B, K, K]
    eye_k = torch.eye(mm.shape[-1], dtype=x.dtype, device=x.device)
    zb = (1.0 - w) * (w * torch.bmm(mm, mu) + torch.bmm(z_hat, x))  # Ẑ b [B, K, D]
    inner = torch.linalg.solve(eye_k - w2 * mm, zb)
    coef = (1.0 - w) * w * mu + w2 * inner  # [B, K, D]
    out: Tensor = torch.baddbmm(x, z.transpose(1, 2), coef, beta=1.0 - w)
    return out


def _iterate(
    z: Tensor, z_hat: Tensor, b: Tensor, w2: float, tol: float, max_iter: int
) -> Tensor:
    tol = check_real(tol, "tol", "random_walk", low=0.0, closed="neither")
    max_iter = check_int(max_iter, "max_iter", "random_walk", low=1)
    shape = b.shape

    def step(v: Tensor) -> Tensor:
        vb = v.reshape(shape)
        walked = torch.einsum(
            "bkt,bkd->btd", z, torch.einsum("bks,bsd->bkd", z_hat, vb)
        )
        return (w2 * walked + b).reshape(-1, shape[-1])

    flat = b.reshape(-1, shape[-1])
    res = fixed_point(
        step, flat, torch.linalg.vector_norm(flat, dim=0), tol=tol, max_iter=max_iter
    )
    if not res.converged:
        warnings.warn(
            f"random_walk: 'iterate' stopped after {res.n_iter} iterations with "
            f"relative residual {res.residual:.1e} > tol={tol:.1e}",
            ConvergenceWarning,
            stacklevel=3,
        )
    return res.x.reshape(shape)


def random_walk_iterative(
    x: Tensor,
    mu: Tensor,
    w: float = 0.5,
    *,
    num_iter: int = 300,
    scale: float = 5.0,
    mask: Tensor | None = None,
    basis_mask: Tensor | None = None,
) -> Tensor:
    r"""The coupled snippet/basis updates that :func:`random_walk` solves in closed form.

    .. math::
        x^{(n+1)} = w\,Z^\top \mu^{(n)} + (1-w)\,x_0,\qquad
        \mu^{(n+1)} = w\,\hat Z x^{(n)} + (1-w)\,\mu_0,

    started from :math:`x^{(0)} = x_0, \mu^{(0)} = \mu_0`, with :math:`Z, \hat Z`
    fixed from :math:`(x_0, \mu_0)`. The error shrinks by :math:`w` per step, so
    ``num_iter`` steps reach :math:`w^{\text{num\_iter}}` relative accuracy. A
    reference for tests; shapes as in :func:`random_walk`.
    """
    w = check_real(w, "w", "random_walk_iterative", low=0.0, high=1.0, closed="left")
    num_iter = check_int(num_iter, "num_iter", "random_walk_iterative", low=1)
    xb, mub, m, bm, single = _batch(x, mu, mask, basis_mask)
    z, z_hat = basis_assignment(xb, mub, scale=scale, mask=m, basis_mask=bm)
    xs, ms = xb, mub
    for _ in range(num_iter):
        xs, ms = (
            w * torch.einsum("bkt,bkd->btd", z, ms) + (1 - w) * xb,
            w * torch.einsum("bkt,btd->bkd", z_hat, xs) + (1 - w) * mub,
        )
    if m is not None:
        xs = xs * m[..., None].to(xs.dtype)
    return xs[0] if single else xs
