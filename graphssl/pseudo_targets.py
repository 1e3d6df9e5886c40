r"""Pseudo-label targets from a teacher's predictions, and the masked loss they feed.

* :func:`distribution_alignment` — ReMixMatch's alignment of predictions with a prior;
* :func:`pseudo_label_targets` — confidence-thresholded hard or soft targets;
* :func:`fixmatch_loss` — the masked cross-entropy of FixMatch (Sohn et al. 2020).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from graphssl._validation import check_float_tensor, check_real, param_error

__all__ = [
    "distribution_alignment",
    "fixmatch_loss",
    "pseudo_label_targets",
    "select_confident",
    "sharpen",
]


def _check_probs(p: Any, name: str, owner: str) -> Tensor:
    t = check_float_tensor(p, name, owner)
    if bool((t < 0).any()):
        raise param_error(name, owner, "non-negative", "a tensor with negatives")
    return t


def distribution_alignment(
    probs: Tensor, running_mean: Tensor, target_prior: Tensor, eps: float = 1e-6
) -> Tensor:
    r"""Align predictions with a class prior (ReMixMatch, Berthelot et al. 2020).

    .. math::
        \tilde q_{bc} = \frac{q_{bc}\,\pi_c / \bar q_c}
        {\sum_{k} q_{bk}\,\pi_k / \bar q_k}

    where :math:`q` are the predictions ``probs [B, C]``, :math:`\bar q` the running
    mean of past predictions ``[C]`` and :math:`\pi` the target prior ``[C]``.

    Returns:
        Tensor: ``[B, C]``, rows summing to 1.
    """
    owner = "distribution_alignment"
    q = _check_probs(probs, "probs", owner)
    if q.dim() != 2:
        raise param_error("probs", owner, "a [B, C] tensor", list(q.shape))
    c = q.shape[1]
    for name, v in (("running_mean", running_mean), ("target_prior", target_prior)):
        t = _check_probs(v, name, owner)
        if t.shape != (c,):
            raise param_error(name, owner, f"a [{c}] tensor", list(t.shape))
    ratio = target_prior.to(q) / running_mean.to(q).clamp_min(eps)
    out = q * ratio
    return out / out.sum(dim=1, keepdim=True).clamp_min(eps)


def select_confident(
    probs: Tensor, threshold: float, soft: bool
) -> tuple[Tensor, Tensor]:
    """Targets (``[B]`` arg-max, or ``probs`` itself when ``soft``) and the mask
    ``[B]`` of rows whose top probability reaches ``threshold`` (no checks)."""
    conf, hard = probs.max(dim=1)
    mask = (conf >= threshold).to(probs.dtype)
    return (probs if soft else hard), mask


def sharpen(probs: Tensor, temperature: float) -> Tensor:
    """Rows of ``probs [B, C]`` raised to ``1 / temperature`` and renormalised."""
    if temperature == 1.0:
        return probs
    p = probs.clamp_min(1e-12) ** (1.0 / temperature)
    return p / p.sum(dim=1, keepdim=True)


def pseudo_label_targets(
    teacher_logits: Tensor,
    threshold: float,
    *,
    soft: bool = False,
    temperature: float = 1.0,
) -> tuple[Tensor, Tensor]:
    r"""Confidence-thresholded pseudo-labels from teacher logits ``[B, C]``.

    :math:`q = \mathrm{softmax}(z / T)`; the mask is
    :math:`\mathbb{1}[\max_c q_c \ge \tau]`.

    Args:
        teacher_logits (Tensor): ``[B, C]``; detached here.
        threshold (float): :math:`\tau` in ``[0, 1]``.
        soft (bool): return the distributions :math:`q` ``[B, C]`` instead of the
            arg-max classes ``[B]``. (default: ``False``)
        temperature (float): :math:`T > 0`; below 1 sharpens. (default: ``1.0``)

    Returns:
        tuple: targets (``[B]`` int64, or ``[B, C]`` rows summing to 1 when ``soft``)
        and the mask ``[B]`` (0./1. in the logits' dtype).
    """
    owner = "pseudo_label_targets"
    z = check_float_tensor(teacher_logits, "teacher_logits", owner, ndim=2)
    tau = check_real(threshold, "threshold", owner, low=0.0, high=1.0)
    t = check_real(temperature, "temperature", owner, low=0.0, closed="neither")
    return select_confident(torch.softmax(z.detach() / t, dim=1), tau, soft)


def fixmatch_loss(
    student_logits_strong: Tensor, targets: Tensor, mask: Tensor
) -> Tensor:
    r"""Masked cross-entropy averaged over the whole unlabelled batch (FixMatch).

    .. math::
        \mathcal{L}_u = \frac{1}{\mu B}\sum_{b} m_b\,\mathrm{CE}(t_b, z_b)

    where :math:`z` are the student's logits on the strong view ``[μB, C]``,
    :math:`t` the targets (classes ``[μB]`` or distributions ``[μB, C]``) and
    :math:`m` the mask ``[μB]``. Dividing by :math:`\mu B`, not by the number of
    confident samples, lets the unlabelled term grow as the teacher grows confident.
    """
    owner = "fixmatch_loss"
    z = check_float_tensor(
        student_logits_strong, "student_logits_strong", owner, ndim=2
    )
    n = z.shape[0]
    if targets.shape not in ((n,), tuple(z.shape)):
        allowed = f"a [{n}] or {list(z.shape)} tensor"
        raise param_error("targets", owner, allowed, list(targets.shape))
    if mask.shape != (n,):
        raise param_error("mask", owner, f"a [{n}] tensor", list(mask.shape))
    if targets.dim() == 1:
        ce = F.cross_entropy(z, targets.long(), reduction="none")
    else:
        ce = -(targets.detach().to(z) * F.log_softmax(z, dim=1)).sum(dim=1)
    return (ce * mask.to(z)).sum() / max(n, 1)
