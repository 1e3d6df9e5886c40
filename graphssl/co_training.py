r"""Co-training: two models teaching each other.

* :class:`CoTraining` — Cross Pseudo Supervision (Chen et al., "Semi-Supervised
  Semantic Segmentation with Cross Pseudo Supervision", CVPR 2021): two networks of
  one architecture, initialised differently, each trained on the other's arg-max
  predictions (:func:`cross_pseudo_supervision_loss`).
* The classical two-view form (Blum & Mitchell) is
  :class:`graphssl.co_training_views.TwoViewCoTraining`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphssl._ssl_trainer import _SSLTrainer
from graphssl._validation import (
    check_float_tensor,
    check_real,
    param_error,
)

__all__ = ["CoTraining", "cross_pseudo_supervision_loss"]


def cross_pseudo_supervision_loss(
    logits_a: Tensor, logits_b: Tensor, *, threshold: float = 0.0
) -> Tensor:
    r"""Symmetric cross pseudo supervision loss between two models' logits ``[n, C]``.

    .. math::
        \mathcal{L}_{cps} = \frac{1}{n}\sum_{i} m^b_i\,\mathrm{CE}(P^a_i, Y^b_i)
        + \frac{1}{n}\sum_{i} m^a_i\,\mathrm{CE}(P^b_i, Y^a_i)

    where :math:`Y^a = \arg\max P^a` and :math:`Y^b = \arg\max P^b` are detached
    targets, and :math:`m^a_i = \mathbb{1}[\max_c P^a_{ic} \ge \tau]` (all ones for
    the default :math:`\tau = 0`, the paper's form). Extra dimensions after the class
    dimension (``[n, C, H, W]`` segmentation maps) are averaged over as well.

    Args:
        logits_a (Tensor): first model's logits ``[n, C, ...]``.
        logits_b (Tensor): second model's logits, same shape.
        threshold (float): confidence :math:`\tau` in ``[0, 1]``. (default: ``0.0``)

    Returns:
        Tensor: a scalar.
    """
    owner = "cross_pseudo_supervision_loss"
    a = check_float_tensor(logits_a, "logits_a", owner)
    b = check_float_tensor(logits_b, "logits_b", owner)
    if a.dim() < 2:
        raise param_error("logits_a", owner, "a [n, C, ...] tensor", list(a.shape))
    if a.shape != b.shape:
        raise param_error("logits_b", owner, f"of shape {list(a.shape)}", list(b.shape))
    tau = check_real(threshold, "threshold", owner, low=0.0, high=1.0)
    with torch.no_grad():
        conf_a, y_a = torch.softmax(a, dim=1).max(dim=1)
        conf_b, y_b = torch.softmax(b, dim=1).max(dim=1)
    loss_a = F.cross_entropy(a, y_b, reduction="none") * (conf_b >= tau).to(a)
    loss_b = F.cross_entropy(b, y_a, reduction="none") * (conf_a >= tau).to(b)
    return loss_a.mean() + loss_b.mean()


class CoTraining(_SSLTrainer):
    r"""Cross pseudo supervision of two differently initialised torch models.

    .. math::
        \mathcal{L} = \mathcal{L}_{sup}(a) + \mathcal{L}_{sup}(b)
        + \lambda\,\mathcal{L}_{cps}

    with the supervised cross-entropies on a labelled batch of ``batch_size`` and
    :math:`\mathcal{L}_{cps}` on it plus ``mu * batch_size`` unlabelled samples (CPS
    applies it to every image). SGD and the :math:`\cos(7\pi k/16K)` schedule as
    :class:`~graphssl.teacher_student.TeacherStudent`. Predictions average the two
    softmaxes.

    Args:
        model_factory (callable): returns a fresh ``nn.Module`` mapping ``[n, ...]``
            to logits ``[n, C]``; called under seeds ``seed`` and ``seed + 1``.
        lambda_cps (float): :math:`\lambda \ge 0`. (default: ``1.5``)
        threshold (float): confidence of the CPS targets. (default: ``0.0``)
        weak (callable, optional): view ``f(x, generator=g)`` both models see.

    Attributes:
        models_ (list): the two trained models.
        history_ (dict): per logged step ``step``, ``lr``, ``loss``, ``loss_sup``,
            ``loss_cps``, ``agreement`` (share of unlabelled samples with equal
            arg-max) and, with ``y_unlabeled_true``, ``pseudo_acc`` (accuracy of
            the averaged prediction on the unlabelled batch).
    """

    _owner = "CoTraining"

    def __init__(
        self,
        model_factory: Callable[[], nn.Module],
        *,
        lambda_cps: float = 1.5,
        threshold: float = 0.0,
        mu: int = 7,
        batch_size: int = 64,
        lr: float = 0.03,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 5e-4,
        steps: int = 1000,
        weak: Callable[..., Tensor] | None = None,
        seed: int = 0,
        device: str | torch.device | None = None,
        log_every: int = 1,
    ) -> None:
        super().__init__(
            mu=mu, batch_size=batch_size, lr=lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, steps=steps, weak=weak, seed=seed,
            device=device, log_every=log_every,
        )  # fmt: skip
        if isinstance(model_factory, nn.Module) or not callable(model_factory):
            allowed = "a callable returning a fresh nn.Module (two inits are needed)"
            raise param_error(
                "model_factory", self._owner, allowed, model_factory, TypeError
            )
        self.model_factory = model_factory
        self.lambda_cps = check_real(lambda_cps, "lambda_cps", self._owner, low=0.0)
        self.threshold = check_real(
            threshold, "threshold", self._owner, low=0.0, high=1.0
        )

    def fit(
        self,
        x_labeled: Tensor,
        y_labeled: Tensor,
        x_unlabeled: Tensor,
        *,
        y_unlabeled_true: Tensor | None = None,
    ) -> CoTraining:
        """Train both models on labelled ``x [n, ...]``, ``y [n]`` and unlabelled."""
        x_l, y_l, x_u, y_ut, dev = self._check_data(
            x_labeled, y_labeled, x_unlabeled, y_unlabeled_true
        )
        gen = torch.Generator().manual_seed(self.seed)
        models = [
            self._make_model(self.model_factory, self.seed + i, dev) for i in (0, 1)
        ]
        params = [p for m in models for p in m.parameters()]
        opt, sched = self._optimizer(params)
        hist: dict[str, list[float]] = {}
        b, bu = self.batch_size, self.mu * self.batch_size
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(self.seed)
            for k in range(self.steps):
                il = self._batch(gen, x_l.shape[0], b, dev)
                iu = self._batch(gen, x_u.shape[0], bu, dev)
                xb = torch.cat(
                    [
                        self._view(self.weak, x_l[il], gen),
                        self._view(self.weak, x_u[iu], gen),
                    ]
                )
                for m in models:
                    m.train()
                za, zb = (m(xb) for m in models)
                loss_sup = F.cross_entropy(za[:b], y_l[il]) + F.cross_entropy(
                    zb[:b], y_l[il]
                )
                loss_cps = cross_pseudo_supervision_loss(
                    za, zb, threshold=self.threshold
                )
                loss = loss_sup + self.lambda_cps * loss_cps
                opt.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                lr = opt.param_groups[0]["lr"]
                opt.step()
                sched.step()
                if k % self.log_every == 0 or k == self.steps - 1:
                    pa, pb = za[b:].detach().argmax(1), zb[b:].detach().argmax(1)
                    extra: dict[str, float] = {}
                    if y_ut is not None:
                        avg = torch.softmax(za[b:], 1) + torch.softmax(zb[b:], 1)
                        hit = avg.detach().argmax(1) == y_ut[iu]
                        extra["pseudo_acc"] = float(hit.float().mean())
                    self._log(
                        hist, step=k, lr=lr, loss=float(loss.detach()),
                        loss_sup=float(loss_sup.detach()),
                        loss_cps=float(loss_cps.detach()),
                        agreement=float((pa == pb).float().mean()), **extra,
                    )  # fmt: skip
        self.models_, self.history_ = models, hist
        return self

    def predict_proba(self, x: Tensor) -> Tensor:
        """The mean of the two models' softmaxes ``[n, C]``."""
        if not hasattr(self, "models_"):
            raise RuntimeError("This CoTraining is not fitted yet; call fit first.")
        x = check_float_tensor(x, "x", "CoTraining.predict_proba")
        return self._proba(self.models_, x)

    def predict(self, x: Tensor) -> Tensor:
        """Predicted classes ``[n]`` (int64)."""
        return self.predict_proba(x).argmax(dim=1)
