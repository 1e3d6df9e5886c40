r"""Co-training: two models teaching each other.

* :class:`CoTraining` — Cross Pseudo Supervision (Chen et al., "Semi-Supervised
  Semantic Segmentation with Cross Pseudo Supervision", CVPR 2021): two networks of
  one architecture, initialised differently, each trained on the other's arg-max
  predictions (:func:`cross_pseudo_supervision_loss`).
* :class:`TwoViewCoTraining` — the classical form (Blum & Mitchell, "Combining Labeled
  and Unlabeled Data with Co-Training", COLT 1998): two scikit-learn-style classifiers,
  each on its own feature view, label their most confident samples for each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphssl._optional import require
from graphssl._ssl_trainer import _SSLTrainer
from graphssl._validation import (
    check_float_tensor,
    check_int,
    check_real,
    param_error,
)

__all__ = ["CoTraining", "TwoViewCoTraining", "cross_pseudo_supervision_loss"]


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


class TwoViewCoTraining:
    """Blum & Mitchell co-training of two classifiers on two feature views.

    Each round fits ``estimator_a`` on view A of its training set and ``estimator_b``
    on view B of its own; then each labels the ``k_per_round`` unlabelled samples it
    is most confident about *per predicted class* (highest ``predict_proba``; Blum &
    Mitchell's "p positives and n negatives") for the *other*'s training set. Rounds
    stop at ``max_iter``, when no new label was added, or when every sample is in
    both training sets. Predictions average the two ``predict_proba``.

    Args:
        estimator_a, estimator_b: unfitted scikit-learn classifiers with
            ``predict_proba``; cloned, never modified.
        k_per_round (int): samples per predicted class each classifier labels per
            round. (default: ``10``)
        max_iter (int): most rounds. (default: ``10``)

    Attributes:
        estimator_a_, estimator_b_: the final fits on the grown training sets.
        classes_ (ndarray): the classes, sorted.
        transduction_ (ndarray): ``[n]`` given labels, else the averaged prediction.
        labeled_iter_ (ndarray): ``[n]`` round in which a sample first got a label
            (``0`` for given labels, ``-1`` for never).
        n_iter_ (int): rounds run.
        termination_condition_ (str): ``'max_iter'``, ``'no_change'`` or
            ``'all_labeled'``.
    """

    def __init__(
        self,
        estimator_a: Any,
        estimator_b: Any,
        *,
        k_per_round: int = 10,
        max_iter: int = 10,
    ) -> None:
        o = "TwoViewCoTraining"
        for name, est in (("estimator_a", estimator_a), ("estimator_b", estimator_b)):
            if not (hasattr(est, "fit") and hasattr(est, "predict_proba")):
                allowed = "a classifier with fit and predict_proba"
                raise param_error(name, o, allowed, est, TypeError)
        self.estimator_a = estimator_a
        self.estimator_b = estimator_b
        self.k_per_round = check_int(k_per_round, "k_per_round", o, low=1)
        self.max_iter = check_int(max_iter, "max_iter", o, low=0)

    def __repr__(self) -> str:
        return (
            f"TwoViewCoTraining(estimator_a={self.estimator_a!r}, "
            f"estimator_b={self.estimator_b!r}, k_per_round={self.k_per_round}, "
            f"max_iter={self.max_iter})"
        )

    def fit(self, X_view_a: Any, X_view_b: Any, y: Any) -> TwoViewCoTraining:
        """Fit on views ``[n, d_a]``, ``[n, d_b]`` and labels ``[n]`` (-1: none)."""
        o = "TwoViewCoTraining.fit"
        clone = require("sklearn.base", o).clone
        xa, xb = np.asarray(X_view_a), np.asarray(X_view_b)
        yy = np.asarray(y)
        n = yy.shape[0]
        if yy.ndim != 1 or not np.issubdtype(yy.dtype, np.integer):
            raise param_error("y", o, "a 1-D integer array (-1 unlabelled)", yy.dtype)
        for name, v in (("X_view_a", xa), ("X_view_b", xb)):
            if v.ndim != 2 or v.shape[0] != n:
                raise param_error(name, o, f"a 2-D array with {n} rows", v.shape)
        if len(np.unique(yy[yy >= 0])) < 2:
            raise param_error("y", o, "labels of at least 2 classes", yy[yy >= 0])
        # Separate training sets: each classifier learns from the other's labels.
        y_for = {"a": yy.copy(), "b": yy.copy()}
        views = {"a": xa, "b": xb}
        labeled_iter = np.where(yy >= 0, 0, -1)
        self.termination_condition_ = "max_iter"
        it = 0
        ests: dict[str, Any] = {}
        while it < self.max_iter:
            it += 1
            ests = {s: self._fit_one(clone, s, views[s], y_for[s]) for s in "ab"}
            added = 0
            for src, dst in (("a", "b"), ("b", "a")):
                pool = np.flatnonzero(y_for[dst] < 0)
                if pool.size == 0:
                    continue
                proba = ests[src].predict_proba(views[src][pool])
                top = self._most_confident(proba)
                chosen = pool[top]
                y_for[dst][chosen] = ests[src].classes_[proba[top].argmax(axis=1)]
                labeled_iter[chosen] = np.where(
                    labeled_iter[chosen] < 0, it, labeled_iter[chosen]
                )
                added += chosen.size
            if added == 0:
                self.termination_condition_ = "no_change"
                break
            if (y_for["a"] >= 0).all() and (y_for["b"] >= 0).all():
                self.termination_condition_ = "all_labeled"
                break
        self.estimator_a_ = self._fit_one(clone, "a", xa, y_for["a"])
        self.estimator_b_ = self._fit_one(clone, "b", xb, y_for["b"])
        self.classes_ = np.unique(yy[yy >= 0])
        self.n_iter_ = it
        self.labeled_iter_ = labeled_iter
        self.transduction_ = np.where(yy >= 0, yy, self.predict(xa, xb))
        return self

    def _most_confident(self, proba: np.ndarray) -> np.ndarray:
        # Per predicted class, as Blum & Mitchell's p positives and n negatives: a
        # global top-k lets the easiest class flood both training sets.
        pred, conf = proba.argmax(axis=1), proba.max(axis=1)
        picks = []
        for c in range(proba.shape[1]):
            idx = np.flatnonzero(pred == c)
            picks.append(idx[np.argsort(-conf[idx], kind="stable")[: self.k_per_round]])
        return np.concatenate(picks)

    def _fit_one(self, clone: Any, side: str, x: np.ndarray, y: np.ndarray) -> Any:
        est = clone(self.estimator_a if side == "a" else self.estimator_b)
        keep = y >= 0
        return est.fit(x[keep], y[keep])

    def predict_proba(self, X_view_a: Any, X_view_b: Any) -> np.ndarray:
        """Mean of the two classifiers' probabilities ``[n, C]`` over ``classes_``."""
        if not hasattr(self, "estimator_a_"):
            raise RuntimeError("This TwoViewCoTraining is not fitted yet.")
        classes = np.union1d(self.estimator_a_.classes_, self.estimator_b_.classes_)
        out = np.zeros((np.asarray(X_view_a).shape[0], classes.size))
        for est, x in ((self.estimator_a_, X_view_a), (self.estimator_b_, X_view_b)):
            cols = np.searchsorted(classes, est.classes_)
            out[:, cols] += est.predict_proba(np.asarray(x))
        return out / 2.0

    def predict(self, X_view_a: Any, X_view_b: Any) -> np.ndarray:
        """Predicted classes ``[n]``."""
        classes = np.union1d(self.estimator_a_.classes_, self.estimator_b_.classes_)
        result: np.ndarray = classes[self.predict_proba(X_view_a, X_view_b).argmax(1)]
        return result
