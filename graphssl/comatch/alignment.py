r"""Distribution alignment over a window of recent batch means (CoMatch's DA)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from graphssl._validation import (
    check_finite,
    check_float_tensor,
    check_int,
    param_error,
)

__all__ = ["WindowedAlignment"]


class WindowedAlignment(nn.Module):
    r"""Divide predictions by the mean of the last ``window`` batch means, renormalise.

    The simplified alignment of CoMatch's code (``salesforce/CoMatch``; the authors
    report it performs like ReMixMatch's, which also multiplies by the labelled prior):

    .. math::
        \bar p = \frac{1}{|H|}\sum_{h \in H} h, \qquad
        \tilde p_{bc} = \frac{p_{bc} / \bar p_c}{\sum_k p_{bk} / \bar p_k}

    where :math:`p` are the softmax predictions ``[B, C]`` and :math:`H` the last
    ``window`` batch means ``[C]``, the current batch's included (it is pushed
    first, as in the reference). The window is a ring buffer in registered buffers,
    so it follows ``.to(device)`` and ``state_dict``.

    Args:
        num_classes (int): :math:`C`.
        window (int): batches remembered. (default: ``32``)
        eps (float): floor of :math:`\bar p_c` against division by zero.
            (default: ``1e-12``)
    """

    history: Tensor
    count: Tensor
    ptr: Tensor

    def __init__(self, num_classes: int, window: int = 32, eps: float = 1e-12) -> None:
        super().__init__()
        o = "WindowedAlignment"
        self.num_classes = check_int(num_classes, "num_classes", o, low=1)
        self.window = check_int(window, "window", o, low=1)
        self.eps = eps
        self.register_buffer("history", torch.zeros(self.window, self.num_classes))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def push(self, batch_mean: Tensor) -> None:
        """Remember one batch mean ``[C]`` (the oldest drops out of a full window)."""
        o = "WindowedAlignment.push"
        m = check_float_tensor(batch_mean, "batch_mean", o, ndim=1)
        if m.shape[0] != self.num_classes:
            raise param_error(
                "batch_mean", o, f"a [{self.num_classes}] tensor", list(m.shape)
            )
        check_finite(m, "batch_mean", o)
        self._push(m)

    def _push(self, m: Tensor) -> int:
        # Returns the new count, so that forward reads no buffer back.
        i, n = int(self.ptr), min(int(self.count) + 1, self.window)
        self.history[i].copy_(m)
        self.ptr.fill_((i + 1) % self.window)
        self.count.fill_(n)
        return n

    def mean(self) -> Tensor:
        """:math:`\\bar p` ``[C]`` over the remembered batches (uniform when empty)."""
        return self._mean(int(self.count))

    def _mean(self, n: int) -> Tensor:
        if n == 0:
            return torch.full_like(self.history[0], 1.0 / self.num_classes)
        return (self.history if n == self.window else self.history[:n]).mean(dim=0)

    @torch.no_grad()
    def forward(self, probs: Tensor, batch_mean: Tensor | None = None) -> Tensor:
        """Push ``batch_mean`` (default ``probs.mean(0)``; pass the all-process mean
        under DDP), then align ``probs [B, C]``; returns ``[B, C]``, rows sum to 1."""
        o = "WindowedAlignment"
        p = check_float_tensor(probs, "probs", o, ndim=2)
        if p.shape[1] != self.num_classes:
            allowed = f"a [B, {self.num_classes}] tensor (one column per class)"
            raise param_error("probs", o, allowed, list(p.shape))
        if batch_mean is None:
            n = self._push(p.mean(dim=0))  # finite whenever probs are (softmax output)
        else:
            self.push(batch_mean)
            n = int(self.count)
        out = p / self._mean(n).to(p).clamp_min_(self.eps)
        return out.div_(out.sum(dim=1, keepdim=True))  # in place: out is ours

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, window={self.window}"
