r"""Memory-smoothed pseudo-labels (CoMatch, Li et al. ICCV 2021, Eq. 4)."""

from __future__ import annotations

import torch
from torch import Tensor

from graphssl._validation import check_float_tensor, check_real, param_error

__all__ = ["memory_smoothing"]


def memory_smoothing(
    probs: Tensor,
    feats: Tensor,
    bank_feats: Tensor,
    bank_probs: Tensor,
    alpha: float = 0.9,
    temperature: float = 0.2,
) -> Tensor:
    r"""Blend each prediction with the probabilities of its memory neighbours.

    .. math::
        a_{bk} = \frac{\exp(z_b^\top Z_k / t)}{\sum_{k'} \exp(z_b^\top Z_{k'} / t)},
        \qquad q_b = \alpha\,p_b + (1 - \alpha)\sum_k a_{bk} P_k

    where :math:`p` are the (aligned) predictions ``probs [B, C]``, :math:`z` the
    weak-view embeddings ``feats [B, D]``, :math:`Z` and :math:`P` the bank's
    embeddings ``[K, D]`` and probabilities ``[K, C]``, :math:`t` the temperature and
    :math:`\alpha` the weight of the model's own prediction. The softmax is computed
    stably (max subtracted), equal to the reference's ``exp`` then normalise.

    Args:
        probs (Tensor): ``[B, C]``, rows summing to 1.
        feats (Tensor): ``[B, D]`` (unit rows in CoMatch).
        bank_feats (Tensor): ``[K, D]``.
        bank_probs (Tensor): ``[K, C]``.
        alpha (float): :math:`\alpha \in [0, 1]`; ``1`` returns ``probs``.
            (default: ``0.9``)
        temperature (float): :math:`t > 0`. (default: ``0.2``)

    Returns:
        Tensor: :math:`q` ``[B, C]``, rows summing to 1 when those of ``probs`` and
        ``bank_probs`` do.
    """
    o = "memory_smoothing"
    a = check_real(alpha, "alpha", o, low=0.0, high=1.0)
    t = check_real(temperature, "temperature", o, low=0.0, closed="neither")
    p = check_float_tensor(probs, "probs", o, ndim=2)
    z = check_float_tensor(feats, "feats", o, ndim=2)
    zk = check_float_tensor(bank_feats, "bank_feats", o, ndim=2)
    pk = check_float_tensor(bank_probs, "bank_probs", o, ndim=2)
    if z.shape[0] != p.shape[0]:
        raise param_error("feats", o, f"{p.shape[0]} rows like probs", list(z.shape))
    if zk.shape[1] != z.shape[1]:
        allowed = f"embeddings of size {z.shape[1]} like feats"
        raise param_error("bank_feats", o, allowed, list(zk.shape))
    if pk.shape != (zk.shape[0], p.shape[1]):
        allowed = f"a [{zk.shape[0]}, {p.shape[1]}] tensor"
        raise param_error("bank_probs", o, allowed, list(pk.shape))
    return _memory_smoothing(p, z, zk, pk, a, t)


def _memory_smoothing(
    p: Tensor, z: Tensor, zk: Tensor, pk: Tensor, alpha: float, temperature: float
) -> Tensor:
    if alpha == 1.0:
        return p
    # In place on the fresh product: one [B, K] buffer fewer, the same values.
    attn = torch.softmax(torch.mm(z, zk.T).div_(temperature), dim=1)  # [B, K]
    return torch.addmm(p, attn, pk, beta=alpha, alpha=1.0 - alpha)
