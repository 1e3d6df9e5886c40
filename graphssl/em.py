r"""Semi-supervised EM for generative classifiers (Nigam et al. 2000): the shared loop.

"Text Classification from Labeled and Unlabeled Documents using EM", Machine Learning
39(2/3), 2000. A mixture with :math:`m` components per class is fitted to labelled and
unlabelled samples together by maximising the weighted (MAP) log-likelihood

.. math::
    \ell(\theta) = \log P(\theta)
        + \sum_{i \in L} \log \sum_{k \in K(y_i)} \pi_k\, p(x_i \mid \theta_k)
        + \lambda \sum_{i \in U} \log \sum_{k} \pi_k\, p(x_i \mid \theta_k),

where :math:`L` and :math:`U` are the labelled and unlabelled samples, :math:`K(c)` the
components of class :math:`c`, :math:`\pi_k` the mixture weights, :math:`\theta_k` the
component parameters, :math:`P(\theta)` the prior (flat for the Gaussian model,
Dirichlet for naive Bayes) and :math:`\lambda \in [0, 1]` the weight of unlabelled
data (EM-λ). Labelled samples keep their class: their responsibilities live on their
own class's components only. ``hard=True`` is classification EM (argmax
responsibilities), which increases the complete-data log-likelihood instead.

The models live in :mod:`graphssl.em_gaussian` (:class:`SemiSupervisedGMM`) and
:mod:`graphssl.em_multinomial` (:class:`SemiSupervisedMultinomialNB`). This module
holds the shared loop; :mod:`graphssl.em_selection` asks whether unlabelled data helps
(:func:`unlabeled_data_diagnostic`) and picks λ by cross-validation
(:func:`select_lambda`); :mod:`graphssl.cluster_then_label` is the hard cousin.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import logsumexp

from graphssl._optional import require

require("sklearn", "graphssl.em")

from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

from graphssl._validation import check_int, check_real, param_error  # noqa: E402
from graphssl.exceptions import ConvergenceWarning  # noqa: E402

__all__ = ["SemiSupervisedEMBase", "encode_labels"]

Array = np.ndarray[Any, Any]


def encode_labels(y: Array, owner: str) -> tuple[Array, Array]:
    """Split ``y`` (``-1`` = unlabelled) into sorted ``classes`` and codes ``0..C-1``.

    Raises:
        ValueError: when fewer than two classes carry a label.
    """
    check_classification_targets(y)
    classes = np.unique(y[y != -1])
    if classes.size < 2:
        raise param_error(
            "y",
            owner,
            "labels of at least 2 classes (-1 = unlabelled)",
            f"{classes.size} class(es): {classes.tolist()}",
        )
    codes = np.full(y.shape[0], -1, dtype=np.int64)
    lab = y != -1
    codes[lab] = np.searchsorted(classes, y[lab])
    return classes, codes


def e_step(
    log_joint: Array, allowed: Array, weight: Array, hard: bool
) -> tuple[Array, float]:
    r"""Responsibilities ``[N, K]`` and the weighted log-likelihood of one E-step.

    ``log_joint[i, k]`` is :math:`\log \pi_k p(x_i \mid \theta_k)`; ``allowed[i, k]``
    says whether sample :math:`i` may belong to component :math:`k` (its own class's
    components when labelled, all of them when not); ``weight`` is :math:`\Lambda_i`.
    """
    masked = np.where(allowed, log_joint, -np.inf)
    if hard:
        z = masked.argmax(1)
        resp = np.zeros_like(masked)
        resp[np.arange(len(z)), z] = 1.0
        per_sample = masked[np.arange(len(z)), z]
    else:
        per_sample = logsumexp(masked, axis=1)
        resp = np.exp(masked - per_sample[:, None])
    # λ = 0 must not turn a -inf sample into NaN: zero weight means "not counted"
    terms = np.where(weight > 0, weight * per_sample, 0.0)
    return resp, float(terms.sum())


class SemiSupervisedEMBase(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Shared fit / predict for the EM models; subclasses supply the mixture model.

    Hooks: ``_check_input`` (validation and dtype), ``_init_model`` (first
    parameters from the labelled samples), ``_m_step``, ``_log_joint`` (``[N, K]``),
    ``_log_prior`` and ``_seed_features`` (features for splitting a class among its
    components). Components are ordered class by class: component ``k`` belongs to
    class ``k // n_components_per_class``.

    The loop alternates E-step, recording the objective, and M-step; it stops when
    the objective gains less than ``tol`` times its magnitude (or, with ``hard=True``,
    when no assignment changes). ``n_iter_`` counts the recorded E-steps, so
    ``n_iter_ == len(log_likelihood_)``; at ``max_iter`` the parameters after the last
    M-step are scored once more and a
    :class:`~graphssl.exceptions.ConvergenceWarning` is raised.
    """

    n_components_per_class: int
    lam: float
    max_iter: int
    tol: float
    hard: bool
    random_state: int | None

    # ------------------------------------------------------------- model hooks
    def _check_input(
        self, X: Any, y: Any = None, *, reset: bool = False
    ) -> tuple[Any, Array]:  # pragma: no cover - abstract
        """Validated ``(X, y)`` at fit (``reset=True``), or queries ``X`` after it."""
        raise NotImplementedError

    def _init_model(self, X: Any, resp: Array, weight: Array) -> None:
        self._m_step(X, resp, weight)

    def _m_step(
        self, X: Any, resp: Array, weight: Array
    ) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _log_joint(self, X: Any) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def _log_prior(self) -> float:
        return 0.0

    def _seed_features(self, X: Any) -> Array:
        return np.asarray(X, dtype=np.float64)

    def _validate_params(self) -> None:
        name = type(self).__name__
        check_int(self.n_components_per_class, "n_components_per_class", name, low=1)
        check_real(self.lam, "lam", name, low=0.0, high=1.0)
        check_int(self.max_iter, "max_iter", name, low=1)
        check_real(self.tol, "tol", name, low=0.0)
        if not isinstance(self.hard, bool | np.bool_):
            raise param_error("hard", name, "a bool", self.hard, TypeError)

    # ------------------------------------------------------------------- fit
    def _initial_resp(self, X: Any, codes: Array, n_classes: int) -> Array:
        """Labelled samples' first responsibilities; unlabelled rows stay zero.

        With several components per class, each class's labelled samples are split
        among its components by k-means on :meth:`_seed_features`.
        """
        m = self.n_components_per_class
        resp = np.zeros((codes.shape[0], n_classes * m))
        for c in range(n_classes):
            idx = np.flatnonzero(codes == c)
            if m == 1:
                resp[idx, c] = 1.0
                continue
            km = KMeans(m, n_init=3, random_state=self.random_state)
            with warnings.catch_warnings():  # duplicate points: fewer distinct seeds
                warnings.simplefilter("ignore")
                sub = km.fit_predict(self._seed_features(X[idx]))
            resp[idx, c * m + sub] = 1.0
        return resp

    def fit(self, X: Any, y: Any) -> SemiSupervisedEMBase:
        """Fit the mixture by EM on ``X`` with labels ``y`` (``-1`` = unlabelled).

        Args:
            X: ``[N, F]`` features (counts for the multinomial model).
            y: ``[N]`` labels, ``-1`` for unlabelled samples.
        """
        name = type(self).__name__
        self._validate_params()
        X, y = self._check_input(X, y, reset=True)
        self.classes_, codes = encode_labels(np.asarray(y), name)
        n_classes, m = len(self.classes_), self.n_components_per_class
        lab = codes >= 0
        smallest = int(np.bincount(codes[lab], minlength=n_classes).min())
        if m > smallest:
            raise param_error(
                "n_components_per_class",
                name,
                f"at most the number of labelled samples of the rarest class "
                f"({smallest}): each component starts from labelled samples",
                m,
            )
        self.component_class_ = np.repeat(np.arange(n_classes), m)
        allowed = ~lab[:, None] | (self.component_class_[None, :] == codes[:, None])
        weight = np.where(lab, 1.0, float(self.lam))
        # Nigam et al.: the first parameters come from the labelled samples only.
        resp = self._initial_resp(X, codes, n_classes)
        self._init_model(X, resp, lab.astype(np.float64))
        history: list[float] = []
        self.converged_ = False
        for _ in range(self.max_iter):
            new_resp, ll = e_step(self._log_joint(X), allowed, weight, self.hard)
            history.append(ll + self._log_prior())
            if len(history) > 1 and (
                history[-1] - history[-2] <= self.tol * abs(history[-1])
                or (self.hard and np.array_equal(new_resp, resp))
            ):
                self.converged_ = True
                break
            resp = new_resp
            self._m_step(X, resp, weight)
        if not self.converged_:
            # the last M-step moved the parameters: record where they ended
            _, ll = e_step(self._log_joint(X), allowed, weight, self.hard)
            history.append(ll + self._log_prior())
            warnings.warn(
                f"{name} stopped at max_iter={self.max_iter} before the relative "
                f"log-likelihood gain fell below tol={self.tol}.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.log_likelihood_ = history
        self.n_iter_ = len(history)
        self.label_distributions_ = self._class_proba(self._log_joint(X))
        pred = self.classes_[self.label_distributions_.argmax(1)]
        self.transduction_ = np.where(lab, np.asarray(y), pred)
        return self

    # --------------------------------------------------------------- predict
    def _class_proba(self, log_joint: Array) -> Array:
        n_classes = len(self.classes_)
        m = self.n_components_per_class
        per_class = logsumexp(log_joint.reshape(-1, n_classes, m), axis=2)
        proba: Array = np.exp(per_class - logsumexp(per_class, axis=1, keepdims=True))
        return proba

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities ``[n_queries, C]`` (columns in ``classes_`` order)."""
        check_is_fitted(self)
        return self._class_proba(self._log_joint(self._check_input(X)[0]))

    def predict(self, X: Any) -> Array:
        """Most probable class ``[n_queries]`` for each query."""
        proba = self.predict_proba(X)  # first: it raises NotFittedError before fit
        out: Array = self.classes_[proba.argmax(1)]
        return out


# ------------------------------------------------------------------ diagnostics
