r"""EM summarisation of a video into :math:`K` bases (RSKP, Huang et al. CVPR 2022).

Every function works on a batch of zero-padded videos: snippet features ``x [B, T, D]``
with a boolean ``mask [B, T]`` (``True`` = real snippet); a single video ``[T, D]`` is
accepted and returned without the batch axis.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "assign", "assign_projected", "basis_assignment", "em_bases", "inverse_norm",
    "l2_normalize",
]  # fmt: skip


def l2_normalize(x: Tensor, eps: float = 1e-9) -> Tensor:
    """Divide the last axis by its Euclidean norm (zero rows stay zero)."""
    # multiply by the reciprocal: one [.., 1] division instead of a full-size one
    # (and a cheaper backward) on the [B, T, D] activations
    inv = 1.0 / (torch.linalg.vector_norm(x, dim=-1, keepdim=True) + eps)
    out: Tensor = x * inv
    return out


def inverse_norm(x: Tensor, eps: float = 1e-9) -> Tensor:
    r"""``1 / (norm(x_t) + eps)`` over the last axis, ``[..., T, D]`` → ``[..., T]``.

    Cosines with snippet features are computed as :math:`(x_t \cdot c)/\lVert x_t \rVert`:
    the division happens on the small projected tensor, so the full-size normalised
    copy of ``x`` (and its backward pass) is never formed.
    """
    out: Tensor = 1.0 / (torch.linalg.vector_norm(x, dim=-1) + eps)
    return out


def basis_assignment(
    x: Tensor,
    mu: Tensor,
    *,
    scale: float = 5.0,
    mask: Tensor | None = None,
    basis_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Soft assignment of snippets to bases and its per-basis normalisation.

    .. math::
        Z_{kt} = \frac{\exp(s\,\cos(\mu_k, x_t))}{\sum_{l}\exp(s\,\cos(\mu_l, x_t))},
        \qquad \hat Z_{kt} = \frac{Z_{kt}}{\sum_{t'} Z_{kt'}}

    where :math:`x_t` is snippet :math:`t`, :math:`\mu_k` basis :math:`k` and
    :math:`s` the cosine ``scale``. Padded snippets (``mask`` false) and padded bases
    (``basis_mask`` false) get :math:`Z = 0`, so they neither send nor receive mass;
    a video without any valid basis gets :math:`Z = 0` everywhere.

    Args:
        x (Tensor): snippet features ``[B, T, D]``.
        mu (Tensor): bases ``[B, K, D]``.
        scale (float): cosine temperature :math:`s`. (default: ``5.0``)
        mask (Tensor, optional): ``[B, T]`` bool, real snippets.
        basis_mask (Tensor, optional): ``[B, K]`` bool, real bases.

    Returns:
        tuple: :math:`Z` ``[B, K, T]`` (columns sum to 1 over valid bases) and
        :math:`\hat Z` ``[B, K, T]`` (rows sum to 1 over valid snippets).
    """
    mask_f = None if mask is None else mask.to(x.dtype)
    return assign(x, inverse_norm(x), mu, scale, mask_f, basis_mask)


def assign(
    x: Tensor,
    inv_norm: Tensor,
    mu: Tensor,
    scale: float,
    mask_f: Tensor | None,
    basis_mask: Tensor | None,
) -> tuple[Tensor, Tensor]:
    """:func:`basis_assignment` with precomputed ``inv_norm [B, T]`` of ``x``.

    ``mask_f [B, T]`` is the snippet mask as floats. Internal fast path of the
    model (one norm of ``x`` serves EM, both walks and the main branch).
    """
    proj = torch.bmm(l2_normalize(mu), x.transpose(1, 2))
    return assign_projected(proj, inv_norm, scale, mask_f, basis_mask)


def assign_projected(
    proj: Tensor,
    inv_norm: Tensor,
    scale: float,
    mask_f: Tensor | None,
    basis_mask: Tensor | None,
) -> tuple[Tensor, Tensor]:
    """:func:`assign` from the projections ``proj = μ̂ · xᵀ [B, K, T]`` (the fused
    pass of :mod:`video._fused` gets them from products shared with other terms)."""
    logits = proj * (inv_norm * scale)[:, None, :]
    if basis_mask is not None:
        # a finite fill (not -inf) keeps softmax and its gradient NaN-free when a
        # video has no valid basis at all; the multiplication below zeroes them
        logits = logits.masked_fill(
            ~basis_mask[:, :, None], torch.finfo(proj.dtype).min
        )
    z = F.softmax(logits, dim=1)
    if basis_mask is not None:
        z = z * basis_mask[:, :, None].to(z.dtype)
    if mask_f is not None:
        z = z * mask_f[:, None, :]
    z_hat = z / z.sum(dim=-1, keepdim=True).clamp_min(1e-9)
    return z, z_hat


def em_bases(
    x: Tensor,
    mu0: Tensor,
    *,
    num_iter: int = 2,
    scale: float = 5.0,
    mask: Tensor | None = None,
    inv_norm: Tensor | None = None,
) -> Tensor:
    r"""Summarise each video into :math:`K` bases by EM (attention clustering).

    Starting from the learned initial bases :math:`\mu^{(0)}`, each iteration

    .. math::
        Z = \operatorname{softmax}_k\big(s\,\cos(\mu_k, x_t)\big),\qquad
        \hat Z_{kt} = Z_{kt} / \textstyle\sum_{t'} Z_{kt'},\qquad
        \mu \leftarrow \hat Z x

    (E-step: responsibilities :math:`Z [K, T]`; M-step: each basis becomes the
    responsibility-weighted mean of the video's snippets). Padded snippets take no
    part (see :func:`basis_assignment`).

    Args:
        x (Tensor): snippet features ``[B, T, D]`` or ``[T, D]``.
        mu0 (Tensor): initial bases ``[K, D]`` (shared) or ``[B, K, D]``.
        num_iter (int): EM iterations. (default: ``2``)
        scale (float): cosine temperature :math:`s`. (default: ``5.0``)
        mask (Tensor, optional): ``[B, T]`` bool, real snippets.
        inv_norm (Tensor, optional): precomputed :func:`inverse_norm` of ``x``.

    Returns:
        Tensor: the video's bases ``[B, K, D]`` (``[K, D]`` for an unbatched ``x``).
    """
    single = x.dim() == 2
    xb = x[None] if single else x
    mu = mu0.expand(xb.shape[0], *mu0.shape[-2:]) if mu0.dim() == 2 else mu0
    mb = mask[None] if (single and mask is not None) else mask
    mask_f = None if mb is None else mb.to(xb.dtype)
    if inv_norm is None:
        inv_norm = inverse_norm(xb)  # once: only the bases move between iterations
    elif single:
        inv_norm = inv_norm[None]
    for _ in range(num_iter):
        _, z_hat = assign(xb, inv_norm, mu, scale, mask_f, None)
        mu = torch.bmm(z_hat, xb)
    return mu[0] if single else mu
