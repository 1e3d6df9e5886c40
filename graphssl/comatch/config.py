r"""Every CoMatch default in one place: :class:`CoMatchConfig`.

The values are those of the reference CIFAR script (``salesforce/CoMatch``,
``Train_CoMatch.py``): temperature :math:`t = 0.2`, smoothing :math:`\alpha = 0.9`,
graph threshold :math:`T = 0.8`, confidence :math:`\tau = 0.95`,
:math:`\lambda_u = \lambda_c = 1`, a 64-d projection, a memory of
``queue_batch = 5`` global batches (:math:`5(\mu + 1)B` rows), a distribution-alignment
window of 32 batches, EMA decay 0.999 and SGD (lr 0.03, Nesterov momentum 0.9,
weight decay 5e-4 off for biases) under :math:`\eta\cos(7\pi k / 16K)`.
:meth:`CoMatchConfig.imagenet` gives those of the reference's ImageNet script
(``imagenet/Train_CoMatch.py``), whose momentum encoder and strong-view queue
(:mod:`graphssl.comatch.momentum`) are switched on by ``momentum_encoder``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from graphssl._validation import check_int, check_real, param_error

__all__ = ["CoMatchConfig"]

_OWNER = "CoMatchConfig"


@dataclass(frozen=True)
class CoMatchConfig:
    r"""Hyper-parameters of CoMatch (Li, Xiong, Hoi, ICCV 2021), validated on creation.

    Args:
        temperature (float): :math:`t > 0` of the memory softmax and of the
            embedding graph. (default: ``0.2``)
        alpha (float): :math:`\alpha \in [0, 1]`, weight of the model's own
            prediction in memory smoothing; ``1`` disables smoothing. (default: ``0.9``)
        contrast_th (float): :math:`T \in [0, 1]`, pseudo-label graph entries below it
            are removed. (default: ``0.8``)
        threshold (float): :math:`\tau \in [0, 1]`, confidence a pseudo-label needs
            to enter :math:`\mathcal{L}_u`. (default: ``0.95``)
        lambda_u (float): weight of :math:`\mathcal{L}_u`, ``>= 0``. (default: ``1.0``)
        lambda_c (float): weight of :math:`\mathcal{L}_c`, ``>= 0``; ``0`` also skips
            the strong1 view. (default: ``1.0``)
        hard_labels (bool): arg-max targets in :math:`\mathcal{L}_u` instead of the
            soft :math:`q` (FixMatch). (default: ``False``)
        distribution_alignment (bool): divide by the windowed mean prediction.
            (default: ``True``)
        da_window (int): batches in the alignment window. (default: ``32``)
        proj_dim (int): embedding size of the projection head. (default: ``64``)
        queue_batch (int): memory size in global batches of :math:`(\mu+1)B` rows.
            (default: ``5``)
        queue_size (int, optional): memory rows, overriding ``queue_batch``.
            (default: ``None``)
        ema_decay (float): decay of the evaluation EMA in ``[0, 1]``. (default: ``0.999``)
        lr (float): base learning rate :math:`\eta > 0`. (default: ``0.03``)
        momentum (float): SGD momentum in ``[0, 1]``. (default: ``0.9``)
        nesterov (bool): Nesterov momentum. (default: ``True``)
        weight_decay (float): on weight matrices only, ``>= 0``. (default: ``5e-4``)
        mu (int): unlabelled-to-labelled batch ratio :math:`\mu`. (default: ``7``)
        batch_size (int): labelled batch :math:`B` per process. (default: ``64``)
        steps (int): :math:`K`, optimiser steps. (default: ``1000``)
        momentum_encoder (bool): the ImageNet variant: a momentum (EMA of
            parameters) copy of the network gives the weak-view pseudo-labels, the
            memory-bank rows and the strong1 embeddings, and a queue of past strong1
            samples adds columns to both graphs. (default: ``False``)
        encoder_momentum (float): :math:`m \in [0, 1]` of the momentum encoder,
            :math:`\xi \leftarrow m\,\xi + (1 - m)\,\theta`. (default: ``0.996``)
        strong_queue_size (int, optional): rows of the strong-view queue, at least
            one unlabelled batch (:math:`\mu B`) or ``0`` for none; ``None`` is the
            memory size, as the reference uses one :math:`K` for both. Only with
            ``momentum_encoder``. (default: ``None``)
    """

    temperature: float = 0.2
    alpha: float = 0.9
    contrast_th: float = 0.8
    threshold: float = 0.95
    lambda_u: float = 1.0
    lambda_c: float = 1.0
    hard_labels: bool = False
    distribution_alignment: bool = True
    da_window: int = 32
    proj_dim: int = 64
    queue_batch: int = 5
    queue_size: int | None = None
    ema_decay: float = 0.999
    lr: float = 0.03
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    mu: int = 7
    batch_size: int = 64
    steps: int = 1000
    momentum_encoder: bool = False
    encoder_momentum: float = 0.996
    strong_queue_size: int | None = None

    def __post_init__(self) -> None:
        o = _OWNER
        reals: dict[str, dict[str, Any]] = {
            "temperature": {"low": 0.0, "closed": "neither"},
            "alpha": {"low": 0.0, "high": 1.0},
            "contrast_th": {"low": 0.0, "high": 1.0},
            "threshold": {"low": 0.0, "high": 1.0},
            "lambda_u": {"low": 0.0},
            "lambda_c": {"low": 0.0},
            "ema_decay": {"low": 0.0, "high": 1.0},
            "lr": {"low": 0.0, "closed": "neither"},
            "momentum": {"low": 0.0, "high": 1.0},
            "weight_decay": {"low": 0.0},
            "encoder_momentum": {"low": 0.0, "high": 1.0},
        }
        for name, kw in reals.items():
            object.__setattr__(
                self, name, check_real(getattr(self, name), name, o, **kw)
            )
        for name in (
            "da_window",
            "proj_dim",
            "queue_batch",
            "mu",
            "batch_size",
            "steps",
        ):
            object.__setattr__(
                self, name, check_int(getattr(self, name), name, o, low=1)
            )
        bools = (
            "hard_labels",
            "distribution_alignment",
            "nesterov",
            "momentum_encoder",
        )
        for name in bools:
            if not isinstance(getattr(self, name), bool):
                raise param_error(name, o, "a bool", getattr(self, name), TypeError)
        if self.queue_size is not None:
            q = check_int(self.queue_size, "queue_size", o, low=1)
            rows = (self.mu + 1) * self.batch_size
            if q < rows:
                allowed = f"at least one batch of (mu + 1) * batch_size = {rows} rows"
                raise param_error("queue_size", o, allowed, q)
            object.__setattr__(self, "queue_size", q)
        if self.strong_queue_size is not None:
            self._check_strong_queue(self.strong_queue_size)

    def _check_strong_queue(self, value: Any) -> None:
        o, name = _OWNER, "strong_queue_size"
        if not self.momentum_encoder:
            raise param_error(name, o, "None unless momentum_encoder is True", value)
        k = check_int(value, name, o, low=0)
        rows = self.mu * self.batch_size
        if 0 < k < rows:
            allowed = (
                f"0 or at least one unlabelled batch of mu * batch_size = {rows} rows"
            )
            raise param_error(name, o, allowed, k)
        object.__setattr__(self, name, k)

    def memory_size(self, world_size: int = 1) -> int:
        r"""Rows of the memory bank: ``queue_size`` or
        :math:`\text{queue\_batch}\,(\mu + 1)\,B\,W` for :math:`W` processes."""
        if self.queue_size is not None:
            return self.queue_size
        return self.queue_batch * (self.mu + 1) * self.batch_size * world_size

    def strong_queue_rows(self, world_size: int = 1) -> int:
        """Rows of the strong-view queue: ``0`` without ``momentum_encoder``, else
        ``strong_queue_size`` or, when that is ``None``, :meth:`memory_size`."""
        if not self.momentum_encoder:
            return 0
        if self.strong_queue_size is not None:
            return self.strong_queue_size
        return self.memory_size(world_size)

    def replace(self, **changes: Any) -> CoMatchConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def fixmatch(cls, **overrides: Any) -> CoMatchConfig:
        r"""FixMatch on the CoMatch code path: :math:`\lambda_c = 0`,
        :math:`\alpha = 1`, hard labels, no distribution alignment (Sohn et al. 2020
        use none); ``overrides`` change any field."""
        base: dict[str, Any] = {
            "lambda_c": 0.0,
            "alpha": 1.0,
            "hard_labels": True,
            "distribution_alignment": False,
        }
        base.update(overrides)
        return cls(**base)

    @classmethod
    def imagenet(cls, **overrides: Any) -> CoMatchConfig:
        r"""The reference's ImageNet (1 % labels) settings: momentum encoder
        (:math:`m = 0.996`) with a strong-view queue and a memory of
        :math:`K = 30000` rows, :math:`t = 0.1`, 128-d embeddings, :math:`\tau = 0.6`,
        :math:`T = 0.3`, :math:`\lambda_u = \lambda_c = 10`, alignment over 128
        batches, SGD lr 0.1, weight decay 1e-4, :math:`B = 160` and :math:`\mu = 4`
        (the reference's global batch; divide ``batch_size`` by the number of
        processes). For 10 % labels the reference README uses ``threshold=0.5,
        contrast_th=0.2, lambda_c=2``. Not reproduced: the first epoch's momentum
        0.99, the ramp :math:`\min(\text{epoch} + 1, \lambda_c)` and the
        per-epoch half-cosine schedule (``steps`` and the cosine here are per step).
        ``overrides`` change any field."""
        base: dict[str, Any] = {
            "momentum_encoder": True, "encoder_momentum": 0.996, "queue_size": 30000,
            "temperature": 0.1, "proj_dim": 128, "threshold": 0.6, "contrast_th": 0.3,
            "lambda_u": 10.0, "lambda_c": 10.0, "alpha": 0.9, "da_window": 128,
            "lr": 0.1, "weight_decay": 1e-4, "batch_size": 160, "mu": 4,
        }  # fmt: skip
        base.update(overrides)
        return cls(**base)
