r"""RSKP training losses and their weights (reference ``processor.py`` / ``losses.py``).

With video labels :math:`y \in \{0,1\}^C`, the foreground target is :math:`f = [y, 0]`
and the background target :math:`b = [y, 1]` (the background column switched on):

.. math::
    L = L_{fore} + \lambda_b L_{back} + \lambda_a L_{att} + \lambda_s L_{spl}

* :math:`L_{fore}` = NCE of the class-agnostic video scores vs :math:`f`, summed over
  the main and intra branches (+ ``inter_weight`` × the inter-video branch after
  warm-up); :math:`L_{back}` the same with the class-wise scores vs :math:`b`;
* :math:`L_{att}`: mean of the lowest minus mean of the highest :math:`\lfloor T/8
  \rfloor` attention values;
* :math:`L_{spl}`: snippet pseudo-label loss of the main CAS against the intra CAS
  (warm-up) or :math:`0.2\,r + 0.8\,m` (afterwards).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor

from graphssl._validation import check_real, param_error
from video.model import BranchOutput, RSKPOutput

__all__ = [
    "LossTerms",
    "RSKPLossConfig",
    "attention_loss",
    "normalized_cross_entropy",
    "rskp_loss",
    "snippet_pseudo_label_loss",
]


@dataclass(frozen=True)
class RSKPLossConfig:
    """All loss weights, with the paper's defaults (the single source of truth).

    Attributes:
        lambda_b: weight of the background (class-wise) loss. (``0.2``)
        lambda_a: weight of the attention loss. (``0.1``)
        lambda_s: weight of the snippet pseudo-label loss during warm-up. (``1.0``)
        lambda_s_after_warmup: its weight after warm-up. (``0.5``)
        inter_weight: weight of the inter-video branch's video losses. (``0.5``)
        inter_mix: share of the inter-video CAS in the pseudo-label target. (``0.2``)
        spl_temperature: softmax temperature of the pseudo-label loss. (``0.2``)
        att_ratio: the attention loss uses the ``T // att_ratio`` extremes. (``8``)
    """

    lambda_b: float = 0.2
    lambda_a: float = 0.1
    lambda_s: float = 1.0
    lambda_s_after_warmup: float = 0.5
    inter_weight: float = 0.5
    inter_mix: float = 0.2
    spl_temperature: float = 0.2
    att_ratio: float = 8.0

    def __post_init__(self) -> None:
        for f in fields(self):
            low, closed = (0.0, "left")
            if f.name in ("spl_temperature", "att_ratio"):
                closed = "neither"
            high = 1.0 if f.name == "inter_mix" else None
            check_real(
                getattr(self, f.name), f.name, "RSKPLossConfig", low, high, closed
            )


@dataclass(frozen=True)
class LossTerms:
    """The total loss (differentiable) and its four parts."""

    total: Tensor
    fore: Tensor
    back: Tensor
    att: Tensor
    spl: Tensor


def normalized_cross_entropy(
    logits: Tensor, target: Tensor, weight: Tensor | None = None
) -> Tensor:
    r"""Cross-entropy against a multi-hot target normalised to sum 1.

    .. math:: \ell = -\sum_k \frac{y_k}{\sum_j y_j} \log \operatorname{softmax}(z)_k

    averaged over the batch (``weight [B]`` gives a weighted mean; a zero total
    weight gives 0). ``logits, target [B, C+1]``.
    """
    t = target / target.sum(dim=-1, keepdim=True).clamp_min(1e-8)
    per = -(t * F.log_softmax(logits, dim=-1)).sum(dim=-1)
    if weight is None:
        return per.mean()
    w = weight.to(per.dtype)
    return (per * w).sum() / w.sum().clamp_min(1.0)


def attention_loss(
    att: Tensor, mask: Tensor | None = None, ratio: float = 8.0
) -> Tensor:
    r"""Push attention towards 0/1: mean of the lowest :math:`k` minus mean of the highest.

    :math:`k = \max(1, \lfloor T_b / \text{ratio} \rfloor)` per video with :math:`T_b`
    its real length; padded snippets are ignored. ``att [B, T]`` → scalar (batch mean,
    always :math:`\le 0`).
    """
    if mask is None:
        mask = torch.ones_like(att, dtype=torch.bool)
    lengths = mask.sum(dim=1)
    k = torch.clamp(torch.div(lengths, ratio, rounding_mode="floor"), min=1)
    ranks = torch.arange(att.shape[1], device=att.device)[None, :]
    take = ranks < k[:, None]
    # one ascending sort with padding last: the lowest k real values lead, the
    # highest k end at position length - 1
    asc = torch.sort(att.masked_fill(~mask, torch.inf), dim=1).values
    top = ((lengths - k.long())[:, None] + ranks).clamp(max=att.shape[1] - 1)
    mean_low = torch.where(take, asc, 0.0).sum(1) / k
    mean_high = torch.where(take, asc.gather(1, top), 0.0).sum(1) / k
    return (mean_low - mean_high).mean()


def snippet_pseudo_label_loss(
    cas: Tensor,
    target_cas: Tensor,
    mask: Tensor | None = None,
    temperature: float = 0.2,
) -> Tensor:
    r"""Soft cross-entropy of the CAS against a detached target CAS.

    .. math:: \ell = -\frac{1}{\sum_b T_b}\sum_{b,t}\sum_k
        \operatorname{softmax}(\tilde s_{bt}/\tau)_k\,
        \log\operatorname{softmax}(s_{bt}/\tau)_k

    with :math:`s` = ``cas``, :math:`\tilde s` = ``target_cas`` (no gradient) and
    temperature :math:`\tau`; ``[B, T, C+1]``, padded snippets ignored.
    """
    # channels-first: a softmax over a short last axis is slow on CPU, and the
    # model's CAS is a transposed view of [B, C+1, T] data
    p = F.softmax(target_cas.detach().transpose(1, 2) / temperature, dim=1)
    per = -(p * F.log_softmax(cas.transpose(1, 2) / temperature, dim=1)).sum(dim=1)
    if mask is None:
        return per.mean()
    m = mask.to(per.dtype)
    return (per * m).sum() / m.sum().clamp_min(1.0)


def rskp_loss(
    out: RSKPOutput,
    labels: Tensor,
    config: RSKPLossConfig,
    *,
    after_warmup: bool,
    inter: BranchOutput | None = None,
    has_memory: Tensor | None = None,
) -> LossTerms:
    r"""The full RSKP objective for one batch.

    Args:
        out (RSKPOutput): model output (:class:`video.model.RSKPOutput`).
        labels (Tensor): multi-hot video labels ``[B, C]``.
        config (RSKPLossConfig): weights.
        after_warmup (bool): switches :math:`\lambda_s` and enables the inter branch.
        inter (BranchOutput, optional): inter-video branch (after warm-up).
        has_memory (Tensor, optional): ``[B]`` bool, videos with stored snippets;
            the others keep the warm-up target and skip the inter-video losses.
    """
    b, c1 = out.main.ca_logits.shape
    if labels.shape != (b, c1 - 1):
        raise param_error(
            "labels",
            "rskp_loss",
            f"a multi-hot tensor of shape [{b}, {c1 - 1}]",
            f"shape {list(labels.shape)}",
        )
    ones = labels.new_ones(labels.shape[0], 1)
    fore_t = torch.cat([labels, torch.zeros_like(ones)], dim=-1)
    back_t = torch.cat([labels, ones], dim=-1)
    o, m, mask = out.main, out.intra, out.mask
    fore = normalized_cross_entropy(o.ca_logits, fore_t)
    back = normalized_cross_entropy(o.cw_logits, back_t)
    att = attention_loss(o.attention, mask, config.att_ratio)
    spl = fore.new_zeros(())
    if m is not None:
        fore = fore + normalized_cross_entropy(m.ca_logits, fore_t)
        back = back + normalized_cross_entropy(m.cw_logits, back_t)
        target = m.cas
        if after_warmup and inter is not None:
            hm = labels.new_ones(labels.shape[0]) if has_memory is None else has_memory
            wi = config.inter_weight
            fore = fore + wi * normalized_cross_entropy(inter.ca_logits, fore_t, hm)
            back = back + wi * normalized_cross_entropy(inter.cw_logits, back_t, hm)
            mix = config.inter_mix * inter.cas + (1 - config.inter_mix) * m.cas
            target = torch.where(hm.bool()[:, None, None], mix, m.cas)
        spl = snippet_pseudo_label_loss(o.cas, target, mask, config.spl_temperature)
    lam_s = config.lambda_s_after_warmup if after_warmup else config.lambda_s
    total = fore + config.lambda_b * back + config.lambda_a * att + lam_s * spl
    return LossTerms(total, fore.detach(), back.detach(), att.detach(), spl.detach())
