r"""The RSKP forward pass with the three branches sharing their products with ``x``.

Composing :func:`~video.em_bases.em_bases`, :func:`~video.random_walk.random_walk`
and :class:`~video.model.PredictionModule` costs about 16 ``[T, D]``-sized matrix
products per batch (and 32 more in the backward pass), each thin (8–12 columns),
plus norms and copies of the two propagated feature tensors. Here the same
quantities come from 8 wider products (4 for the ``'main'`` variant):

* one projection of :math:`x` onto the initial bases and the class centres feeds the
  first EM step and the main branch's scores;
* one pooling product gives the first M-step and the main branch's video features;
* the propagated features :math:`\tilde x = (1-w)\,x + Z^\top c` (the low-rank form
  of :func:`~video.random_walk.random_walk`, :math:`c` ``[K, D]``) are never formed:
  the prediction module only needs :math:`\tilde x\,C^\top`, :math:`\lVert\tilde
  x_t\rVert` and :math:`a^\top \tilde x`, which expand into products of :math:`x`
  with :math:`C`, :math:`c` and :math:`a` plus ``[T, K]``-sized terms:

.. math::
    \lVert\tilde x_t\rVert^2 = (1-w)^2\lVert x_t\rVert^2
        + 2(1-w)\textstyle\sum_k Z_{kt}\,x_t\!\cdot c_k + z_t^\top (c\,c^\top) z_t;

* the intra- and inter-video branches share their projection and pooling products.

Symbols: :math:`w` the walk weight, :math:`Z` ``[K, T]`` the snippet-to-basis
assignment (column :math:`z_t`), :math:`C` ``[C+2, D]`` the unit class, background and
foreground centres, :math:`a` ``[C+2, T]`` the attention pooling weights.

In training, the gradients of all the products with :math:`x` are summed by one
product (:mod:`video._xgrad`) instead of one ``[B, T, D]`` product and addition each.

The result equals the composition (``tests/video/test_model.py`` checks it in float64,
``tests/video/test_xgrad.py`` the gradients).
Layout: channels-first, ``Z [B, K, T]`` and scores ``[B, C+2, T]`` (softmaxes over
the short class/basis axis are much faster on CPU when it is not the last one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from video._xgrad import XTape, left_product, right_product, tap
from video.em_bases import assign_projected, l2_normalize

if TYPE_CHECKING:
    from video.model import BranchOutput, PredictionModule

__all__ = ["fused_branches"]


def _coef(z: Tensor, z_hat: Tensor, mu: Tensor, zx: Tensor, w: float) -> Tensor:
    r"""Low-rank walk coefficients :math:`c`: :math:`\tilde x = (1-w)x + Z^\top c`."""
    mm = torch.bmm(z_hat, z.transpose(1, 2))  # M = Ẑ Zᵀ [B, K, K]
    eye = torch.eye(mm.shape[-1], dtype=mm.dtype, device=mm.device)
    zb = (1.0 - w) * (w * torch.bmm(mm, mu) + zx)
    inner = torch.linalg.solve(eye - (w * w) * mm, zb)
    out: Tensor = (1.0 - w) * w * mu + (w * w) * inner
    return out


def _walked_head(
    pm: PredictionModule,
    centres: Tensor,
    proj_x: Tensor,
    sq_x: Tensor,
    z: Tensor,
    coef: Tensor,
    x_coef: Tensor,
    w: float,
    mask: Tensor,
    mask_f: Tensor,
) -> tuple[Tensor, Tensor, Tensor]:
    """Prediction-module head of :math:`\tilde x` from its factored form."""
    proj = (1.0 - w) * proj_x + torch.bmm(torch.matmul(centres, coef.mT), z)
    gram = torch.bmm(coef, coef.transpose(1, 2))
    sq = (
        (1.0 - w) ** 2 * sq_x
        + 2.0 * (1.0 - w) * (z * x_coef).sum(1)
        + (torch.bmm(gram, z) * z).sum(1)
    )
    # padded rows are exactly 0: keep sqrt away from 0 there (its gradient)
    norm = torch.sqrt(torch.where(mask, sq, 1.0).clamp_min(1e-18))
    return pm.head(proj, 1.0 / (norm + 1e-9), mask_f)


def fused_branches(
    x: Tensor,
    mask: Tensor,
    mask_f: Tensor,
    mu0: Tensor,
    pm: PredictionModule,
    *,
    em_iter: int,
    w: float,
    assign_scale: float,
    walk: bool,
    slots: Tensor | None = None,
    slot_mask: Tensor | None = None,
) -> tuple[BranchOutput, BranchOutput | None, BranchOutput | None, Tensor, Tensor]:
    """Main, intra- and (with ``slots``) inter-video branches of embedded ``x``.

    ``x [B, T, D]`` must be zero on padding. Returns ``(main, intra, inter, inv_norm,
    mu)``; ``intra`` is ``None`` unless ``walk``, ``inter`` unless ``slots`` are given.
    """
    s, k = assign_scale, mu0.shape[0]
    tape = XTape()
    x, norm = tap(x, tape)
    inv = 1.0 / (norm + 1e-9)
    centres = pm.centres()  # [C+2, D]
    p0 = right_product(
        torch.cat([l2_normalize(mu0), centres]), x, tape
    )  # [B, K+C+2, T]
    proj_x = p0[:, k:]
    scores, att, weights = pm.head(proj_x, inv, mask_f)
    _, z_hat = assign_projected(p0[:, :k], inv, s, mask_f, None)
    q1 = left_product(torch.cat([z_hat, weights], dim=1), x, tape)
    mu = q1[:, :k]
    main = pm.video(scores, att, q1[:, k:], centres)
    for _ in range(em_iter - 1):
        _, z_hat = assign_projected(
            right_product(l2_normalize(mu), x, tape), inv, s, mask_f, None
        )
        mu = left_product(z_hat, x, tape)
    if not walk:
        return main, None, None, inv, mu
    bases = mu if slots is None else torch.cat([mu, slots], dim=1)
    p2 = right_product(l2_normalize(bases), x, tape)
    parts = [assign_projected(p2[:, :k], inv, s, mask_f, None)]
    mus = [mu]
    if slots is not None:
        parts.append(assign_projected(p2[:, k:], inv, s, mask_f, slot_mask))
        mus.append(slots)
    sizes = [m.shape[1] for m in mus]
    zx = torch.split(
        left_product(torch.cat([zh for _, zh in parts], dim=1), x, tape), sizes, 1
    )
    coefs = [
        _coef(z, zh, m, part, w)
        for (z, zh), m, part in zip(parts, mus, zx, strict=True)
    ]
    x_coef = torch.split(right_product(torch.cat(coefs, dim=1), x, tape), sizes, 1)
    heads = [
        _walked_head(pm, centres, proj_x, norm * norm, z, c, xc, w, mask, mask_f)
        for (z, _), c, xc in zip(parts, coefs, x_coef, strict=True)
    ]
    ax = left_product(torch.cat([h[2] for h in heads], dim=1), x, tape)
    outs = []
    for (sc, at, wt), (z, _), c, part in zip(
        heads, parts, coefs, torch.split(ax, centres.shape[0], dim=1), strict=True
    ):
        pooled = (1.0 - w) * part + torch.bmm(torch.bmm(wt, z.transpose(1, 2)), c)
        outs.append(pm.video(sc, at, pooled, centres))
    return main, outs[0], outs[1] if slots is not None else None, inv, mu
