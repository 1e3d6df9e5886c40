r"""The CoMatch memory bank: a FIFO ring buffer of embeddings and class probabilities."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from graphssl._validation import (
    check_finite,
    check_float_tensor,
    check_int,
    param_error,
)

__all__ = ["MemoryBank"]


class MemoryBank(nn.Module):
    r"""A ring buffer of ``size`` rows: embeddings ``[K, D]`` and probabilities ``[K, C]``.

    :meth:`push` writes ``n`` rows at the pointer :math:`\pi`, at indices
    :math:`(\pi + i) \bmod K` for :math:`i < n` (wrapping around the end, unlike the
    reference, which assumes :math:`K` is a multiple of ``n``), then sets
    :math:`\pi \leftarrow (\pi + n) \bmod K`. Unlabelled rows carry the aligned,
    unsmoothed predictions; labelled rows carry one-hot labels (see
    :meth:`one_hot`). Everything lives in registered buffers: the bank follows
    ``.to(device)`` and round-trips through ``state_dict``.

    Args:
        size (int): :math:`K`, rows kept.
        dim (int): :math:`D`, embedding size.
        num_classes (int): :math:`C`.

    Attributes:
        feats (Tensor): ``[K, D]``. probs (Tensor): ``[K, C]``. ptr (Tensor): next
        row to write (int64 scalar). filled (Tensor): rows written so far, at most
        :math:`K` (int64 scalar).
    """

    feats: Tensor
    probs: Tensor
    ptr: Tensor
    filled: Tensor

    def __init__(self, size: int, dim: int, num_classes: int) -> None:
        super().__init__()
        o = "MemoryBank"
        self.size = check_int(size, "size", o, low=1)
        self.dim = check_int(dim, "dim", o, low=1)
        self.num_classes = check_int(num_classes, "num_classes", o, low=1)
        self.register_buffer("feats", torch.zeros(self.size, self.dim))
        self.register_buffer("probs", torch.zeros(self.size, self.num_classes))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    @property
    def is_full(self) -> bool:
        """Whether every row holds a pushed entry (memory smoothing starts then)."""
        return int(self.filled) >= self.size

    def one_hot(self, labels: Tensor) -> Tensor:
        """One-hot rows ``[n, C]`` (the bank's dtype and ``labels``' device) for ``[n]``."""
        o = "MemoryBank.one_hot"
        if (
            not isinstance(labels, Tensor)
            or labels.is_floating_point()
            or labels.dim() != 1
        ):
            raise param_error("labels", o, "a 1-D integer tensor", labels, TypeError)
        if labels.numel() and (
            int(labels.min()) < 0 or int(labels.max()) >= self.num_classes
        ):
            allowed = f"classes in 0..{self.num_classes - 1}"
            raise param_error(
                "labels", o, allowed, [int(labels.min()), int(labels.max())]
            )
        out = torch.zeros(labels.shape[0], self.num_classes, device=labels.device)
        return out.to(self.probs.dtype).scatter_(1, labels.long()[:, None], 1.0)

    @torch.no_grad()
    def push(self, feats: Tensor, probs: Tensor) -> None:
        """Write ``feats [n, D]`` and ``probs [n, C]`` (``n <= K``) at the pointer."""
        o = "MemoryBank.push"
        f = check_float_tensor(feats, "feats", o, ndim=2)
        p = check_float_tensor(probs, "probs", o, ndim=2)
        n = f.shape[0]
        if f.shape[1] != self.dim:
            allowed = f"embeddings of size {self.dim} like the bank's"
            raise param_error("feats", o, allowed, list(f.shape))
        if p.shape != (n, self.num_classes):
            allowed = f"a [{n}, {self.num_classes}] tensor"
            raise param_error("probs", o, allowed, list(p.shape))
        if n > self.size:
            allowed = f"at most the bank size {self.size} rows per push"
            raise param_error("feats", o, allowed, f"{n} rows")
        check_finite(f, "feats", o)
        check_finite(p, "probs", o)
        self.push_(f, p)

    @torch.no_grad()
    def push_(self, feats: Tensor, probs: Tensor) -> None:
        """:meth:`push` without the checks, for callers that made them already."""
        n = feats.shape[0]
        f, p = feats, probs
        start = int(self.ptr)
        if start + n <= self.size:  # the common case: one contiguous block
            self.feats[start : start + n] = f
            self.probs[start : start + n] = p
        else:
            idx = (torch.arange(n, device=self.feats.device) + start) % self.size
            self.feats[idx] = f.to(self.feats)
            self.probs[idx] = p.to(self.probs)
        self.ptr.fill_((start + n) % self.size)
        self.filled.fill_(min(int(self.filled) + n, self.size))

    @torch.no_grad()
    def push_labeled_(
        self, feats_u: Tensor, probs_u: Tensor, feats_l: Tensor, labels_l: Tensor
    ) -> None:
        """:meth:`push_` of ``[feats_u; feats_l]`` and ``[probs_u; one-hot(labels_l)]``
        (unchecked, ``labels_l`` in ``0..C-1``), written in place when the rows fit
        before the end of the bank: no concatenated copies on the common path."""
        nu, n = feats_u.shape[0], feats_u.shape[0] + feats_l.shape[0]
        start = int(self.ptr)
        if start + n > self.size:  # wrap-around: the general path
            hot = self.probs.new_zeros(labels_l.shape[0], self.num_classes)
            hot.scatter_(1, labels_l.long()[:, None].to(hot.device), 1.0)
            self.push_(torch.cat([feats_u, feats_l]), torch.cat([probs_u, hot]))
            return
        mid, end = start + nu, start + n
        self.feats[start:mid] = feats_u
        self.feats[mid:end] = feats_l
        self.probs[start:mid] = probs_u
        self.probs[mid:end].zero_().scatter_(1, labels_l.long()[:, None], 1.0)
        self.ptr.fill_(end % self.size)
        self.filled.fill_(min(int(self.filled) + n, self.size))

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}, num_classes={self.num_classes}"
