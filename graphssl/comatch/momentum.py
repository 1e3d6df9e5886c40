r"""The ImageNet variant of CoMatch: a momentum encoder and a strong-view queue.

In ``imagenet/Model.py`` of ``salesforce/CoMatch`` the trained network :math:`f_\theta`
sees only the labelled weak view and the unlabelled strong0 view. A momentum copy
:math:`f_\xi` (MoCo-style, no gradient) runs on the labelled weak, unlabelled weak and
unlabelled strong1 views: its weak-view outputs give the pseudo-labels :math:`q` and the
memory-bank rows, its strong1 embeddings :math:`z'` are the columns of the embedding
graph. A queue of the last :math:`K` strong1 embeddings :math:`Z^M` with their
pseudo-labels :math:`P^M` (the smoothed :math:`q` of their step) extends both graphs
with past columns:

.. math::
    Q = \bigl[\, q\,q^\top \;\big|\; q\,(P^M)^\top \bigr], \qquad
    S = \bigl[\, \exp(z\,z'^\top / t) \;\big|\; \exp(z\,(Z^M)^\top / t) \bigr]

(:math:`z` the strong0 embeddings of the trained network, :math:`t` the temperature),
before the thresholding, self-loops and row normalisation of
:func:`~graphssl.comatch.pseudo_label_graph` and
:func:`~graphssl.comatch.embedding_graph`. The queue is written after both graphs are
built, so a step never sees its own samples twice.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from graphssl._validation import check_real, param_error
from graphssl.comatch.memory import MemoryBank

__all__ = ["MomentumEncoder", "StrongViewQueue"]


class MomentumEncoder(nn.Module):
    r"""A gradient-free copy of a network whose parameters follow an EMA (MoCo).

    .. math::
        \xi \leftarrow m\,\xi + (1 - m)\,\theta

    for every parameter, where :math:`\theta` are the trained network's current
    parameters, :math:`\xi` the copy's and :math:`m` the ``momentum``. Unlike
    :class:`graphssl.EMATeacher`, buffers (batch-norm statistics) are **not**
    averaged: as in MoCo and the reference, the copy runs in training mode and its
    buffers follow its own forward passes. The copy is made once, at construction
    (:math:`\xi = \theta`); it lives in the module tree, so it follows
    ``.to(device)`` and round-trips through ``state_dict``.

    Args:
        model (nn.Module): the trained network; deep-copied, never modified.
        momentum (float): :math:`m \in [0, 1]`; ``0`` copies the parameters at every
            update, ``1`` freezes them. (default: ``0.996``)
    """

    num_updates: Tensor

    def __init__(self, model: nn.Module, momentum: float = 0.996) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            got = type(model).__name__
            raise param_error(
                "model", "MomentumEncoder", "an nn.Module", got, TypeError
            )
        self.momentum = check_real(
            momentum, "momentum", "MomentumEncoder", low=0.0, high=1.0
        )
        self.module = copy.deepcopy(model)
        self.module.requires_grad_(False)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run the momentum copy (no gradient)."""
        return self.module(*args, **kwargs)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        r"""Move :math:`\xi` towards ``model``'s parameters (same architecture)."""
        m = self.momentum
        xis, thetas = list(self.module.parameters()), list(model.parameters())
        if len(xis) != len(thetas) or any(
            a.shape != b.shape for a, b in zip(xis, thetas, strict=False)
        ):
            got = [list(t.shape) for t in thetas]
            allowed = "a network with the copy's parameter shapes"
            raise param_error("model", "MomentumEncoder.update", allowed, got)
        for xi, theta in zip(xis, thetas, strict=True):
            xi.mul_(m).add_(theta.detach(), alpha=1.0 - m)
        self.num_updates += 1

    def extra_repr(self) -> str:
        return f"momentum={self.momentum}"


class StrongViewQueue(MemoryBank):
    r"""FIFO queue of past strong1 embeddings ``[K, D]`` and pseudo-labels ``[K, C]``.

    The ring buffer of :class:`~graphssl.comatch.MemoryBank` (rows written at
    :math:`(\pi + i) \bmod K`, pointer :math:`\pi \leftarrow (\pi + n) \bmod K`; the
    reference instead drops the rows past the end), holding :math:`Z^M` and
    :math:`P^M` of the module docstring. :meth:`columns` gives the rows written so
    far; the reference starts from :math:`K` random unit vectors with zero
    probabilities, which only enlarge the normaliser of :math:`\hat S` until they
    are overwritten, so here an unwritten row is simply not a column.

    Args:
        size (int): :math:`K`, at least the unlabelled global batch :math:`\mu B W`.
        dim (int): :math:`D`, embedding size.
        num_classes (int): :math:`C`.
    """

    def columns(self) -> tuple[Tensor, Tensor]:
        r"""The written rows: embeddings ``[k, D]`` and probabilities ``[k, C]``,
        :math:`k = \min(\text{pushed}, K)` (the first :math:`k` rows: the ring
        starts at row 0 and only wraps once full)."""
        k = int(self.filled)
        return self.feats[:k], self.probs[:k]

    def extend(self, feats_cols: Tensor, probs_cols: Tensor) -> tuple[Tensor, Tensor]:
        """Append the queued columns: ``[M, D]``, ``[M, C]`` → ``[M + k, D]``,
        ``[M + k, C]`` (unchanged when the queue is empty)."""
        zk, pk = self.columns()
        if zk.shape[0] == 0:
            return feats_cols, probs_cols
        return torch.cat([feats_cols, zk.to(feats_cols)]), torch.cat(
            [probs_cols, pk.to(probs_cols)]
        )
