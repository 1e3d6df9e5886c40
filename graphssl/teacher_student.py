r"""Teacher–student pseudo-labelling for any torch classifier (FixMatch, EMA teacher).

A teacher without gradient — the current model (FixMatch, Sohn et al. 2020) or an
exponential moving average of it (Mean Teacher, Tarvainen & Valpola 2017) — labels a
weak view of each unlabelled sample; confident labels supervise the student on a
strong view of the same sample:

.. math::
    \mathcal{L} = \frac{1}{B}\sum_{b=1}^{B} \mathrm{CE}(y_b, p_\theta(\alpha(x_b)))
    + \lambda_u \frac{1}{\mu B}\sum_{b=1}^{\mu B}
      \mathbb{1}[\max q_b \ge \tau]\, \mathrm{CE}(\hat q_b, p_\theta(\mathcal{A}(u_b)))

where :math:`q_b = p_{\theta'}(\alpha(u_b))` is the teacher's prediction on the weak
view :math:`\alpha`, :math:`\hat q_b` its arg-max (or :math:`q_b` itself for soft
targets), :math:`\mathcal{A}` the strong view, :math:`\tau` the threshold and
:math:`\mu` the ratio of unlabelled to labelled batch size. With
``consistency='mse'`` the unlabelled term is Mean Teacher's instead: the squared
difference of the student's and teacher's softmax,
:func:`~graphssl.consistency.softmax_mse_loss`, weighted by a sigmoid ramp-up.

The building blocks live in :mod:`graphssl.ema`, :mod:`graphssl.pseudo_targets` and
:mod:`graphssl.consistency`; they are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphssl._ssl_trainer import ModelLike, _SSLTrainer
from graphssl._validation import (
    check_float_tensor,
    check_in,
    check_int,
    check_real,
    param_error,
)
from graphssl.consistency import sigmoid_rampup, softmax_mse_loss
from graphssl.ema import EMATeacher
from graphssl.pseudo_targets import (
    distribution_alignment,
    fixmatch_loss,
    pseudo_label_targets,
    select_confident,
    sharpen,
)

__all__ = [
    "EMATeacher",
    "TeacherStudent",
    "distribution_alignment",
    "fixmatch_loss",
    "pseudo_label_targets",
]


class TeacherStudent(_SSLTrainer):
    r"""FixMatch-style training of any torch classifier with a self or EMA teacher.

    Each step draws ``batch_size`` labelled and ``mu * batch_size`` unlabelled
    samples, minimises the loss of the module docstring with SGD (Nesterov momentum,
    weight decay off for biases) under the learning rate
    :math:`\eta \cos(7\pi k / 16K)` at step :math:`k` of :math:`K`, and updates an
    EMA copy. ``teacher='self'`` labels with the current model (FixMatch),
    ``teacher='ema'`` with the EMA copy (Mean Teacher-style pseudo-labels).

    Args:
        model (nn.Module or callable): a model (deep-copied) or a factory returning
            one, mapping ``[n, ...]`` inputs to logits ``[n, C]``.
        teacher (str): ``'self'`` or ``'ema'``. (default: ``'self'``)
        threshold (float): confidence :math:`\tau` in ``[0, 1]``. (default: ``0.95``)
        lambda_u (float): weight :math:`\lambda_u \ge 0`. (default: ``1.0``)
        mu (int): unlabelled-to-labelled batch ratio. (default: ``7``)
        steps (int): :math:`K`, optimiser steps. (default: ``1000``)
        ema_decay (float): decay of the EMA copy. (default: ``0.999``)
        soft (bool): soft targets instead of arg-max. (default: ``False``)
        temperature (float): sharpening of soft targets. (default: ``1.0``)
        distribution_alignment (bool): align teacher predictions with the labelled
            class frequencies before thresholding. (default: ``False``)
        consistency (str): the unlabelled term: ``'pseudo_label'`` (thresholded
            targets, above) or ``'mse'`` (Mean Teacher's softmax MSE, no threshold;
            pair it with ``teacher='ema'``). (default: ``'pseudo_label'``)
        rampup_steps (int): steps :math:`R` of the sigmoid ramp-up of
            :math:`\lambda_u`; ``0`` is no ramp. (default: ``0``)
        weak, strong (callable, optional): views ``f(x, generator=g)`` of a batch;
            ``None`` is the identity. (default: ``None``)
        seed (int): seeds initialisation, batches and views. (default: ``0``)
        device: where to train; ``None`` follows ``x_labeled``. (default: ``None``)

    Attributes:
        model_ (nn.Module): the trained student.
        ema_ (EMATeacher): its moving average.
        history_ (dict): lists per logged step: ``step``, ``lr``, ``loss``,
            ``loss_x``, ``loss_u``, ``mask_ratio`` and, with ``y_unlabeled_true``,
            ``pseudo_acc`` (accuracy of the confident pseudo-labels, NaN when none)
            and ``teacher_acc`` (of all of them).
    """

    _owner = "TeacherStudent"

    def __init__(
        self,
        model: ModelLike,
        *,
        teacher: str = "self",
        threshold: float = 0.95,
        lambda_u: float = 1.0,
        mu: int = 7,
        batch_size: int = 64,
        lr: float = 0.03,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 5e-4,
        steps: int = 1000,
        ema_decay: float = 0.999,
        soft: bool = False,
        temperature: float = 1.0,
        distribution_alignment: bool = False,
        consistency: str = "pseudo_label",
        rampup_steps: int = 0,
        weak: Callable[..., Tensor] | None = None,
        strong: Callable[..., Tensor] | None = None,
        seed: int = 0,
        device: str | torch.device | None = None,
        log_every: int = 1,
    ) -> None:
        super().__init__(
            mu=mu, batch_size=batch_size, lr=lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, steps=steps, weak=weak, seed=seed,
            device=device, log_every=log_every,
        )  # fmt: skip
        o = self._owner
        self.model = model
        self.teacher = check_in(teacher, "teacher", o, ("self", "ema"))
        self.threshold = check_real(threshold, "threshold", o, low=0.0, high=1.0)
        self.lambda_u = check_real(lambda_u, "lambda_u", o, low=0.0)
        self.ema_decay = check_real(ema_decay, "ema_decay", o, low=0.0, high=1.0)
        self.soft = bool(soft)
        self.temperature = check_real(
            temperature, "temperature", o, low=0.0, closed="neither"
        )
        self.distribution_alignment = bool(distribution_alignment)
        self.consistency = check_in(
            consistency, "consistency", o, ("pseudo_label", "mse")
        )
        self.rampup_steps = check_int(rampup_steps, "rampup_steps", o, low=0)
        self.strong = strong

    def fit(
        self,
        x_labeled: Tensor,
        y_labeled: Tensor,
        x_unlabeled: Tensor,
        *,
        y_unlabeled_true: Tensor | None = None,
    ) -> TeacherStudent:
        """Train on labelled ``x [n, ...]``, ``y [n]`` and unlabelled ``[m, ...]``."""
        x_l, y_l, x_u, y_ut, dev = self._check_data(
            x_labeled, y_labeled, x_unlabeled, y_unlabeled_true
        )
        gen = torch.Generator().manual_seed(self.seed)
        model = self._make_model(self.model, self.seed, dev)
        ema = EMATeacher(model, self.ema_decay)
        opt, sched = self._optimizer(list(model.parameters()))
        c = int(y_l.max()) + 1
        prior = torch.bincount(y_l, minlength=c).to(x_l.dtype) / y_l.numel()
        running = torch.full((c,), 1.0 / c, dtype=x_l.dtype, device=dev)
        hist: dict[str, list[float]] = {}
        b, bu = self.batch_size, self.mu * self.batch_size
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(self.seed)  # dropout inside the model
            for k in range(self.steps):
                il = self._batch(gen, x_l.shape[0], b, dev)
                iu = self._batch(gen, x_u.shape[0], bu, dev)
                xl_w = self._view(self.weak, x_l[il], gen)
                xu_w = self._view(self.weak, x_u[iu], gen)
                xu_s = self._view(self.strong, x_u[iu], gen)
                model.train()
                logits = model(torch.cat([xl_w, xu_s]))
                if logits.shape[1] < c:
                    raise param_error(
                        "model", "TeacherStudent.fit",
                        f"producing at least {c} logits (the classes in y_labeled)",
                        list(logits.shape),
                    )  # fmt: skip
                with torch.no_grad():
                    t_model = ema if self.teacher == "ema" else model
                    t_logits = t_model(xu_w)
                    probs = torch.softmax(t_logits, dim=1)
                    if self.distribution_alignment:
                        running.mul_(0.99).add_(probs.mean(0)[:c], alpha=0.01)
                        aligned = distribution_alignment(probs[:, :c], running, prior)
                        probs = F.pad(aligned, (0, probs.shape[1] - c))
                    probs = sharpen(probs, self.temperature) if self.soft else probs
                    targets, mask = select_confident(probs, self.threshold, self.soft)
                loss_x = F.cross_entropy(logits[:b], y_l[il])
                if self.consistency == "mse":
                    loss_u = softmax_mse_loss(logits[b:], t_logits)
                else:
                    loss_u = fixmatch_loss(logits[b:], targets, mask)
                w_u = self.lambda_u * sigmoid_rampup(k, self.rampup_steps)
                loss = loss_x + w_u * loss_u
                opt.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                lr = opt.param_groups[0]["lr"]
                opt.step()
                sched.step()
                ema.update(model)
                if k % self.log_every == 0 or k == self.steps - 1:
                    extra: dict[str, float] = {}
                    if y_ut is not None:
                        hit = (probs.argmax(1) == y_ut[iu]).to(mask)
                        n_conf = float(mask.sum())
                        extra["pseudo_acc"] = (
                            float((hit * mask).sum()) / n_conf if n_conf else math.nan
                        )
                        extra["teacher_acc"] = float(hit.mean())
                    self._log(
                        hist, step=k, lr=lr, loss=float(loss.detach()),
                        loss_x=float(loss_x.detach()), loss_u=float(loss_u.detach()),
                        mask_ratio=float(mask.mean()), **extra,
                    )  # fmt: skip
        self.model_, self.ema_, self.history_ = model, ema, hist
        self.n_classes_ = c
        return self

    def predict_proba(self, x: Tensor) -> Tensor:
        """Class probabilities ``[n, C]`` (the EMA model when ``teacher='ema'``)."""
        if not hasattr(self, "model_"):
            raise RuntimeError("This TeacherStudent is not fitted yet; call fit first.")
        x = check_float_tensor(x, "x", "TeacherStudent.predict_proba")
        m: nn.Module = self.ema_.module if self.teacher == "ema" else self.model_
        return self._proba([m], x)

    def predict(self, x: Tensor) -> Tensor:
        """Predicted classes ``[n]`` (int64)."""
        return self.predict_proba(x).argmax(dim=1)
