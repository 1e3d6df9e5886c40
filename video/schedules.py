r"""Learning-rate schedules: constant, step and cosine (all three working).

The reference's ``decay_type`` 2 (cosine) reads ``args.batch_num`` and
``args.warmup``, which its ``options.py`` never defines, so it fails as shipped. Here
each schedule is a pure function of the (fractional) epoch
:math:`e = \text{epoch} + \text{step}/\text{steps\_per\_epoch}`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from torch.optim import Optimizer

from graphssl._validation import check_in, check_int, check_real

__all__ = ["SCHEDULES", "LRSchedule"]

SCHEDULES = ("constant", "step", "cosine")


@dataclass(frozen=True)
class LRSchedule:
    r"""Learning rate as a function of the fractional epoch :math:`e`.

    * ``'constant'``: :math:`\eta_0`;
    * ``'step'``: :math:`\eta_0\,\gamma^{\#\{m \in \text{milestones} : m \le e\}}`
      (reference defaults :math:`\gamma = 0.2`, milestones ``[80, 1000]``);
    * ``'cosine'``: a linear ramp from 0 over ``warmup_epochs``, then
      :math:`\eta_{min} + (\eta_0 - \eta_{min})\,\tfrac12(1 + \cos(\pi p))` with
      :math:`p = (e - e_w)/(E - e_w)` clipped to ``[0, 1]``.

    Attributes:
        kind: ``'constant'``, ``'step'`` or ``'cosine'``.
        lr: :math:`\eta_0`. (default: ``5e-5``, the reference's)
        total_epochs: :math:`E` (cosine). milestones, gamma: step decay.
        warmup_epochs: :math:`e_w`, linear ramp of the cosine schedule (default 0).
        min_lr: :math:`\eta_{min}` (cosine).
    """

    kind: str = "constant"
    lr: float = 5e-5
    total_epochs: int = 200
    milestones: Sequence[int] = field(default_factory=lambda: (80, 1000))
    gamma: float = 0.2
    warmup_epochs: float = 0.0
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        owner = "LRSchedule"
        check_in(self.kind, "kind", owner, SCHEDULES)
        check_real(self.lr, "lr", owner, low=0.0, closed="neither")
        check_int(self.total_epochs, "total_epochs", owner, low=1)
        check_real(self.gamma, "gamma", owner, low=0.0, high=1.0, closed="right")
        check_real(self.warmup_epochs, "warmup_epochs", owner, 0.0, self.total_epochs)
        check_real(self.min_lr, "min_lr", owner, low=0.0, high=self.lr)
        for m in self.milestones:
            check_int(m, "milestones", owner, low=0)

    def __call__(self, epoch: float) -> float:
        """Learning rate at fractional epoch ``epoch`` (``>= 0``)."""
        if self.kind == "constant":
            return self.lr
        if self.kind == "step":
            passed = sum(1 for m in self.milestones if m <= epoch)
            return self.lr * self.gamma**passed
        if self.warmup_epochs > 0 and epoch < self.warmup_epochs:
            return self.lr * epoch / self.warmup_epochs
        span = max(self.total_epochs - self.warmup_epochs, 1e-12)
        p = min(max((epoch - self.warmup_epochs) / span, 0.0), 1.0)
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (
            1.0 + math.cos(math.pi * p)
        )

    def apply(self, optimizer: Optimizer, epoch: float) -> float:
        """Set every parameter group's learning rate for ``epoch``; return it."""
        lr = self(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr
