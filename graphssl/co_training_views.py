r"""Classical co-training on two feature views (Blum & Mitchell, COLT 1998).

"Combining Labeled and Unlabeled Data with Co-Training": two scikit-learn-style
classifiers, each on its own feature view, label their most confident unlabelled
samples for each other. The deep, single-view form (cross pseudo supervision) is
:class:`graphssl.co_training.CoTraining`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphssl._optional import require
from graphssl._validation import check_int, param_error

__all__ = ["TwoViewCoTraining"]


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
