r"""Mean Teacher's consistency cost and its ramp-up (Tarvainen & Valpola, NeurIPS 2017).

Instead of thresholded pseudo-labels, the student's class distribution on a noisy
view is pulled towards the (EMA) teacher's on another view of the same sample:

.. math::
    J(\theta) = \frac{1}{B\,C} \sum_{b=1}^{B} \bigl\lVert
        \sigma(f_\theta(\mathcal{A}(u_b))) - \sigma(f_{\theta'}(\alpha(u_b)))
    \bigr\rVert_2^2

with :math:`\sigma` the softmax over :math:`C` classes, :math:`B` the unlabelled batch,
:math:`\theta'` the teacher's weights and :math:`\alpha, \mathcal{A}` two views. Its
weight ramps up as :math:`w(k) = \exp(-5 (1 - \min(k / R, 1))^2)` over the first
:math:`R` steps, so the early, random teacher does not dominate training.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from graphssl._validation import check_float_tensor, check_int, param_error

__all__ = ["sigmoid_rampup", "softmax_mse_loss"]


def softmax_mse_loss(student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
    r"""Mean squared difference of the two softmax distributions, :math:`J` above.

    Args:
        student_logits (Tensor): ``[B, C]``; gradients flow into these.
        teacher_logits (Tensor): ``[B, C]``; detached here.

    Returns:
        Tensor: a scalar.
    """
    owner = "softmax_mse_loss"
    s = check_float_tensor(student_logits, "student_logits", owner, ndim=2)
    t = check_float_tensor(teacher_logits, "teacher_logits", owner, ndim=2)
    if t.shape != s.shape:
        raise param_error("teacher_logits", owner, f"shape {list(s.shape)}", t.shape)
    diff = torch.softmax(s, dim=1) - torch.softmax(t.detach().to(s), dim=1)
    return diff.pow(2).mean()


def sigmoid_rampup(step: int, length: int) -> float:
    r"""Weight :math:`\exp(-5 (1 - \min(k/R, 1))^2)` at step :math:`k` of ramp :math:`R`.

    ``length=0`` means no ramp (weight 1 from the start).
    """
    owner = "sigmoid_rampup"
    k = check_int(step, "step", owner, low=0)
    r = check_int(length, "length", owner, low=0)
    if r == 0:
        return 1.0
    phase = 1.0 - min(k / r, 1.0)
    return math.exp(-5.0 * phase * phase)
