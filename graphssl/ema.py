r"""An exponential-moving-average copy of a model (Mean Teacher's teacher).

Tarvainen & Valpola, "Mean teachers are better role models", NeurIPS 2017: a teacher
whose weights average the student's over training gives steadier targets than the
student itself. Used by :class:`~graphssl.teacher_student.TeacherStudent`,
:class:`~graphssl.teacher_student_graph.GraphTeacherStudent` and CoMatch's evaluation
model.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from graphssl._validation import check_real

__all__ = ["EMATeacher"]


class EMATeacher(nn.Module):
    r"""A frozen copy of ``model`` whose weights follow an exponential moving average.

    .. math::
        \theta' \leftarrow d\,\theta' + (1 - d)\,\theta

    for every parameter and floating-point buffer (integer buffers such as batch-norm
    counters are copied), where :math:`\theta` are the student's current values and
    :math:`d` the ``decay``. The copy never receives gradients.

    Args:
        model (nn.Module): the student; deep-copied, never modified.
        decay (float): :math:`d` in ``[0, 1]``; ``0`` copies the student at each
            update. (default: ``0.999``)
    """

    num_updates: Tensor

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        super().__init__()
        self.decay = check_real(decay, "decay", "EMATeacher", low=0.0, high=1.0)
        self.module = copy.deepcopy(model)
        self.module.requires_grad_(False)
        # A buffer so the count travels with state_dict and .to(device).
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run the averaged model."""
        return self.module(*args, **kwargs)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the averaged weights towards ``model``'s (same architecture)."""
        d = self.decay
        for p_t, p_s in zip(self.module.parameters(), model.parameters(), strict=True):
            p_t.mul_(d).add_(p_s.detach(), alpha=1.0 - d)
        for b_t, b_s in zip(self.module.buffers(), model.buffers(), strict=True):
            if b_t.is_floating_point():
                b_t.mul_(d).add_(b_s, alpha=1.0 - d)
            else:
                b_t.copy_(b_s)
        self.num_updates += 1

    def extra_repr(self) -> str:
        return f"decay={self.decay}"
