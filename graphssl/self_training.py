"""Self-training (pseudo-labelling) around any probabilistic scikit-learn classifier.

Each round fits the base estimator on the labelled samples, predicts the unlabelled
ones, accepts the pseudo-labels a criterion selects (confidence threshold, top-1/top-2
margin, class-balanced k-best, or graph certainty after Iscen et al. 2019) and refits
on the union. The loop stops after ``max_iter`` rounds, when a round accepts nothing,
or when every sample is labelled; ``labeled_iter_`` and ``termination_condition_``
record when each sample was labelled and why the loop stopped.

Needs scikit-learn (``pip install scikit-learn``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from graphssl._optional import require

require("sklearn", "graphssl.self_training")

from sklearn.base import BaseEstimator, ClassifierMixin, clone  # noqa: E402
from sklearn.utils import get_tags  # noqa: E402
from sklearn.utils.metaestimators import available_if  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402
from sklearn.utils.validation import (  # noqa: E402
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)

from graphssl._validation import check_in, check_int, check_real, param_error  # noqa: E402
from graphssl.pseudo_labels import (  # noqa: E402
    Selection,
    graph_pseudo_labels,
    select_k_best,
    select_margin,
    select_threshold,
)

__all__ = ["CRITERIA", "SelfTraining"]

CRITERIA = ("threshold", "margin", "k_best", "graph")


def _base_has(name: str) -> Any:
    return lambda self: hasattr(self.base_estimator, name)


class SelfTraining(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Self-training classifier: the base estimator labels its own unlabelled data.

    Args:
        base_estimator: a scikit-learn classifier with ``predict_proba``; fitted as a
            clone, the argument itself is never modified.
        criterion (str): how a round picks pseudo-labels: ``'threshold'`` (top
            probability ``>= threshold``), ``'margin'`` (top-1 minus top-2 ``>=
            margin``), ``'k_best'`` (the ``k_best`` most confident per predicted
            class) or ``'graph'`` (label spreading on a cosine kNN graph of the base
            estimator's ``transform``/``embed`` output, else of ``X``; certainty
            ``>= threshold`` times the largest certainty among the unlabelled
            samples; refits weight each class by the inverse of its labelled
            count when the base estimator's ``fit`` takes ``sample_weight``. The
            graph is built on cosine similarity, so raw ``X`` suits
            it only when directions carry the classes, e.g. non-negative or
            high-dimensional features). (default: ``'threshold'``)
        threshold (float): in ``(0, 1]``. (default: ``0.75``)
        margin (float): in ``[0, 1]``. (default: ``0.2``)
        k_best (int): samples per class and round for ``'k_best'``. (default: ``10``)
        max_iter (int): rounds of pseudo-labelling; ``0`` is the plain supervised fit.
            (default: ``10``)
        graph_k (int): neighbours of the ``'graph'`` criterion. (default: ``50``)
        verbose (bool): print one line per round. (default: ``False``)

    Attributes:
        base_estimator_: the fitted clone. classes_ ``[C]``.
        transduction_ ``[n]``: given labels (unchanged), accepted pseudo-labels, ``-1``
            for samples never labelled.
        labeled_iter_ ``[n]``: ``0`` for given labels, ``k`` for samples labelled in
            round ``k``, ``-1`` for never.
        n_iter_ (int): rounds run; ``max(labeled_iter_) <= n_iter_ <= max_iter``.
        termination_condition_ (str): ``'max_iter'``, ``'no_change'`` (a round
            accepted nothing) or ``'all_labeled'``.
        history_ (list of dict): per round (round 0 is the supervised start)
            ``round``, ``n_new``, ``n_labeled``, ``pseudo_accuracy`` (of the new
            pseudo-labels, when ``fit`` got ``y_true``) and ``val_accuracy`` (of the
            refitted model, when ``fit`` got ``X_val``/``y_val``), else ``None``.
    """

    def __init__(
        self,
        base_estimator: Any,
        *,
        criterion: str = "threshold",
        threshold: float = 0.75,
        margin: float = 0.2,
        k_best: int = 10,
        max_iter: int = 10,
        graph_k: int = 50,
        verbose: bool = False,
    ) -> None:
        self.base_estimator = base_estimator
        self.criterion = criterion
        self.threshold = threshold
        self.margin = margin
        self.k_best = k_best
        self.max_iter = max_iter
        self.graph_k = graph_k
        self.verbose = verbose

    def _validate(self) -> None:
        name = type(self).__name__
        if not hasattr(self.base_estimator, "predict_proba"):
            raise param_error(
                "base_estimator",
                name,
                "a classifier with predict_proba (e.g. SVC(probability=True))",
                self.base_estimator,
                TypeError,
            )
        check_in(self.criterion, "criterion", name, CRITERIA)
        check_real(self.threshold, "threshold", name, 0.0, 1.0, closed="right")
        check_real(self.margin, "margin", name, 0.0, 1.0)
        check_int(self.k_best, "k_best", name, low=1)
        check_int(self.max_iter, "max_iter", name, low=0)
        check_int(self.graph_k, "graph_k", name, low=1)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # sparse X is passed through: accepted exactly when the base estimator takes it
        tags.input_tags.sparse = get_tags(self.base_estimator).input_tags.sparse
        return tags

    # ------------------------------------------------------------------- fit
    def fit(
        self,
        X: Any,
        y: Any,
        *,
        y_true: Any = None,
        X_val: Any = None,
        y_val: Any = None,
        classes: Any = None,
    ) -> SelfTraining:
        """Self-train on ``X`` with labels ``y`` (``-1`` = unlabelled).

        Args:
            X: ``[n_samples, n_features]`` features (dense or scipy CSR).
            y: ``[n_samples]`` integer labels, ``-1`` for unlabelled samples.
            y_true: optional ``[n_samples]`` true labels of all samples, used only to
                log the accuracy of each round's new pseudo-labels in ``history_``.
            X_val, y_val: optional held-out set scored after every refit.
            classes: optional expected classes; each needs a labelled sample.
        """
        self._validate()
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"])
        check_classification_targets(y)
        has = y != -1
        self.classes_ = self._classes(y[has], classes)
        n = len(y)
        truth = None if y_true is None else self._truth(y_true, n)
        if (X_val is None) != (y_val is None):
            raise param_error(
                "X_val", "SelfTraining.fit", "given together with y_val", "one of them"
            )
        self.transduction_ = y.copy()
        self.labeled_iter_ = np.where(has, 0, -1)
        self.history_: list[dict[str, Any]] = []
        self.n_iter_ = 0
        est = clone(self.base_estimator)
        if has.all():
            warnings.warn(
                "y contains no unlabelled sample (-1): SelfTraining only fits "
                "base_estimator on the given labels.",
                UserWarning,
                stacklevel=2,
            )
        est.fit(X[has], y[has])
        self._log(est, 0, int(has.sum()), has, None, X_val, y_val)
        condition = "max_iter"
        while self.n_iter_ < self.max_iter and not has.all():
            self.n_iter_ += 1
            idx, labels = self._select(est, X, np.flatnonzero(~has))
            acc = None if truth is None or not idx.size else _mean(truth[idx] == labels)
            if idx.size == 0:
                condition = "no_change"
                self._log(est, self.n_iter_, 0, has, None, X_val, y_val)
                break
            self.transduction_[idx] = labels
            self.labeled_iter_[idx] = self.n_iter_
            has[idx] = True
            self._refit(est, X, has)
            self._log(est, self.n_iter_, idx.size, has, acc, X_val, y_val)
        self.termination_condition_ = "all_labeled" if has.all() else condition
        self.base_estimator_ = est
        return self

    def _refit(self, est: Any, X: Any, has: np.ndarray) -> None:
        """Refit ``est`` on the given and accepted labels (fit() resets its state)."""
        y_fit = self.transduction_[has]
        if self.criterion != "graph" or not has_fit_parameter(est, "sample_weight"):
            est.fit(X[has], y_fit)
            return
        # Iscen et al. weight each pseudo-class by 1/|class|: the most certain graph
        # labels gather in a few compact classes, and an unweighted refit drifts
        # towards them (digits, 5 labels/class: 0.76 unweighted, 0.85 weighted).
        _, code, count = np.unique(y_fit, return_inverse=True, return_counts=True)
        weight = len(y_fit) / (len(count) * count[code])
        est.fit(X[has], y_fit, sample_weight=weight)

    def _classes(self, labelled: np.ndarray, classes: Any) -> np.ndarray:
        present = np.unique(labelled)
        if present.size == 0:
            raise param_error(
                "y",
                "SelfTraining.fit",
                "at least one labelled sample (!= -1)",
                "all -1",
            )
        if classes is None:
            return present
        wanted = np.unique(np.asarray(classes))
        missing = np.setdiff1d(wanted, present)
        extra = np.setdiff1d(present, wanted)
        if missing.size or extra.size:
            raise param_error(
                "classes",
                "SelfTraining.fit",
                "the classes of the labelled samples (a class without a labelled "
                "sample cannot be learnt)",
                f"{wanted.tolist()} with labels of {present.tolist()}",
            )
        return wanted

    @staticmethod
    def _truth(y_true: Any, n: int) -> np.ndarray:
        t = np.asarray(y_true)
        if t.shape != (n,):
            raise param_error("y_true", "SelfTraining.fit", f"of shape ({n},)", t.shape)
        return t

    def _log(
        self,
        est: Any,
        k: int,
        n_new: int,
        has: np.ndarray,
        acc: float | None,
        X_val: Any,
        y_val: Any,
    ) -> None:
        val = None if X_val is None else float(est.score(X_val, y_val))
        entry = {
            "round": k,
            "n_new": n_new,
            "n_labeled": int(has.sum()),
            "pseudo_accuracy": acc,
            "val_accuracy": val,
        }
        self.history_.append(entry)
        if self.verbose:
            print(f"SelfTraining round {k}: {n_new} new, {entry['n_labeled']} labelled")

    # ------------------------------------------------------------- selection
    def _select(
        self, est: Any, X: Any, unlabelled: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices into ``X`` of the accepted samples and their labels."""
        if self.criterion == "graph":
            return self._select_graph(est, X, unlabelled)
        proba = torch.as_tensor(np.asarray(est.predict_proba(X[unlabelled]), float))
        sel: Selection
        if self.criterion == "threshold":
            sel = select_threshold(proba, self.threshold)
        elif self.criterion == "margin":
            sel = select_margin(proba, self.margin)
        else:
            sel = select_k_best(proba, self.k_best)
        mask = sel.mask.numpy()
        return unlabelled[mask], est.classes_[sel.labels.numpy()[mask]]

    def _select_graph(
        self, est: Any, X: Any, unlabelled: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if hasattr(est, "transform"):
            emb = est.transform(X)
        elif hasattr(est, "embed"):
            emb = est.embed(X)
        else:
            emb = X
        emb = emb.toarray() if hasattr(emb, "toarray") else emb
        codes = np.full(len(self.transduction_), -1, dtype=np.int64)
        lab = self.labeled_iter_ >= 0
        codes[lab] = np.searchsorted(self.classes_, self.transduction_[lab])
        res = graph_pseudo_labels(
            torch.as_tensor(np.asarray(emb, dtype=np.float64)),
            torch.from_numpy(codes),
            k=self.graph_k,
            num_classes=max(len(self.classes_), 2),
        )
        labels = res.labels.numpy()[unlabelled]
        cert = res.certainty.numpy()[unlabelled]
        # Relative to the most certain unlabelled node, as the reference code
        # normalises: with α = 0.99 and k = 50 the raw ω rarely exceeds 0.3, so an
        # absolute threshold would accept nothing.
        top = cert.max(initial=0.0)
        mask = (cert >= self.threshold * top) & (top > 0) & (labels >= 0)
        return unlabelled[mask], self.classes_[labels[mask]]

    # ------------------------------------------------------------ prediction
    def _check_X(self, X: Any) -> Any:
        check_is_fitted(self)
        return validate_data(self, X, reset=False, accept_sparse=["csr", "csc"])

    def predict(self, X: Any) -> np.ndarray:
        """Labels ``[n_samples]`` from the final base estimator."""
        X = self._check_X(X)
        out: np.ndarray = self.base_estimator_.predict(X)
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``[n_samples, C]`` from the final base estimator."""
        X = self._check_X(X)
        out: np.ndarray = self.base_estimator_.predict_proba(X)
        return out

    @available_if(_base_has("decision_function"))  # type: ignore[untyped-decorator]
    def decision_function(self, X: Any) -> np.ndarray:
        """The final base estimator's ``decision_function`` (when it has one)."""
        X = self._check_X(X)
        out: np.ndarray = self.base_estimator_.decision_function(X)
        return out


def _mean(hits: np.ndarray) -> float:
    return float(np.mean(hits))
