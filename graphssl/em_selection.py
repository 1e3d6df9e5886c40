r"""Does unlabelled data help a generative model, and how much should it weigh?

Nigam et al. (2000) weigh unlabelled samples by :math:`\lambda \in [0, 1]` and warn
that when the mixture model is wrong, unlabelled data can pull the components away
from the classes. Both functions here answer with held-out accuracy on the
*labelled* samples: stratified folds split the labelled samples only; every fold
trains on the remaining labelled samples plus all unlabelled ones (the held-out
samples are left out of training altogether) and scores the held-out ones.

- :func:`unlabeled_data_diagnostic` compares :math:`\lambda = 0` (the supervised fit)
  with a chosen :math:`\lambda` and warns when unlabelled data makes things worse;
- :func:`select_lambda` picks :math:`\lambda` from a grid (the paper's EM-λ tuned by
  cross-validation), preferring the smaller :math:`\lambda` on ties.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphssl._optional import require

require("sklearn", "graphssl.em_selection")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from graphssl._validation import check_int, check_real, param_error  # noqa: E402
from graphssl.em import SemiSupervisedEMBase, encode_labels  # noqa: E402

__all__ = ["cross_validate_lambda", "select_lambda", "unlabeled_data_diagnostic"]


def cross_validate_lambda(
    estimator: SemiSupervisedEMBase,
    X: Any,
    y: Any,
    lams: Sequence[float],
    *,
    cv: int = 5,
    random_state: int | None = 0,
    owner: str = "cross_validate_lambda",
) -> tuple[dict[float, list[float]], int]:
    """Held-out accuracy of every λ in ``lams`` on the same folds.

    Args:
        estimator: an EM model; cloned with each ``lam``, never modified.
        X: ``[N, F]`` features (dense or scipy sparse).
        y: ``[N]`` labels, ``-1`` for unlabelled.
        lams: the λ values, each in ``[0, 1]``.
        cv: number of folds, capped by the rarest class's labelled count.
        random_state: seed of the fold shuffle.
        owner: the public function named in error messages.

    Returns:
        ``({λ: [accuracy per fold]}, number of folds)``.
    """
    values = [check_real(v, "lam", owner, 0.0, 1.0) for v in lams]
    if not values:
        raise param_error("lams", owner, "a non-empty sequence of floats", lams)
    check_int(cv, "cv", owner, low=2)
    y_arr = np.asarray(y)
    _, codes = encode_labels(y_arr, owner)
    labelled = np.flatnonzero(codes >= 0)
    rarest = int(np.bincount(codes[labelled]).min())
    if rarest < 2:
        raise param_error(
            "y", owner, "at least 2 labelled samples in every class", rarest
        )
    n_splits = min(cv, rarest)
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    acc: dict[float, list[float]] = {v: [] for v in values}
    X_arr = X.tocsr() if hasattr(X, "tocsr") else np.asarray(X)
    for _, test in folds.split(labelled, codes[labelled]):
        held = labelled[test]
        keep = np.ones(len(y_arr), dtype=bool)
        keep[held] = False
        for value in acc:
            model = clone(estimator).set_params(lam=value)
            model.fit(X_arr[keep], y_arr[keep])
            acc[value].append(float(model.score(X_arr[held], y_arr[held])))
    return acc, n_splits


def unlabeled_data_diagnostic(
    estimator: SemiSupervisedEMBase,
    X: Any,
    y: Any,
    *,
    lam: float | None = None,
    cv: int = 5,
    random_state: int | None = 0,
) -> dict[str, Any]:
    """Does unlabelled data help? Cross-validate λ = 0 against λ on the labelled data.

    Args:
        estimator: an unfitted or fitted EM model; it is cloned, never modified.
        X: ``[N, F]`` features.
        y: ``[N]`` labels, ``-1`` for unlabelled.
        lam: the λ to test. (default: ``estimator.lam``)
        cv: number of folds, capped by the rarest class's labelled count.
        random_state: seed of the fold shuffle.

    Returns:
        ``{"lam", "accuracy_supervised", "accuracy_semi_supervised",
        "fold_accuracies_supervised", "fold_accuracies_semi_supervised", "n_splits",
        "gain", "gain_se", "verdict"}`` with ``gain`` the mean paired per-fold
        accuracy gain of λ over λ = 0, ``gain_se`` its standard error, and
        ``verdict`` one of ``'helps'``, ``'hurts'``, ``'no change'`` (the sign of
        ``gain``; with few labelled samples, compare it with ``gain_se``).

    Warns:
        UserWarning: when the chosen λ gives lower mean held-out accuracy than λ = 0.
    """
    owner = "unlabeled_data_diagnostic"
    lam_ = check_real(estimator.lam if lam is None else lam, "lam", owner, 0.0, 1.0)
    acc, n_splits = cross_validate_lambda(
        estimator, X, y, [0.0, lam_], cv=cv, random_state=random_state, owner=owner
    )
    sup, semi = float(np.mean(acc[0.0])), float(np.mean(acc[lam_]))
    # paired over folds (same held-out samples): the spread of the per-fold gains
    # says whether a few held-out samples decided the verdict
    gains = np.asarray(acc[lam_]) - np.asarray(acc[0.0])
    gain_se = float(gains.std(ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else 0.0
    verdict = "helps" if semi > sup else "hurts" if semi < sup else "no change"
    if verdict == "hurts":
        warnings.warn(
            f"unlabelled data made held-out accuracy worse: {semi:.4f} with "
            f"lam={lam_} against {sup:.4f} with lam=0 over {n_splits} folds; the "
            "generative model may be mis-specified, try a smaller lam.",
            UserWarning,
            stacklevel=2,
        )
    return {
        "lam": lam_,
        "accuracy_supervised": sup,
        "accuracy_semi_supervised": semi,
        "fold_accuracies_supervised": acc[0.0],
        "fold_accuracies_semi_supervised": acc[lam_],
        "n_splits": n_splits,
        "gain": semi - sup,
        "gain_se": gain_se,
        "verdict": verdict,
    }


def select_lambda(
    estimator: SemiSupervisedEMBase,
    X: Any,
    y: Any,
    *,
    grid: Sequence[float] = (0.0, 0.01, 0.1, 0.3, 1.0),
    cv: int = 5,
    random_state: int | None = 0,
) -> tuple[float, dict[float, float]]:
    """Pick λ by cross-validated accuracy on the labelled samples.

    λ = 0 is always among the candidates, so the pick never does worse on the
    folds than ignoring the unlabelled data; ties go to the smaller λ (less trust
    in a model that may be mis-specified).

    Args:
        estimator: an EM model; cloned with each λ, never modified.
        X: ``[N, F]`` features.
        y: ``[N]`` labels, ``-1`` for unlabelled.
        grid: candidate λ values in ``[0, 1]``. (default: ``(0, 0.01, 0.1, 0.3, 1)``)
        cv: number of folds, capped by the rarest class's labelled count.
        random_state: seed of the fold shuffle.

    Returns:
        ``(best λ, {λ: mean held-out accuracy})``.

    Example:
        >>> import numpy as np
        >>> from graphssl.em_gaussian import SemiSupervisedGMM
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(4, 1, (60, 2))]
        >>> y = np.r_[[0] * 5, [-1] * 55, [1] * 5, [-1] * 55]
        >>> lam, scores = select_lambda(SemiSupervisedGMM(), X, y, cv=3)
        >>> sorted(scores) == [0.0, 0.01, 0.1, 0.3, 1.0]
        True
    """
    owner = "select_lambda"
    candidates = sorted({0.0, *(float(v) for v in grid)})
    acc, _ = cross_validate_lambda(
        estimator, X, y, candidates, cv=cv, random_state=random_state, owner=owner
    )
    means = {v: float(np.mean(a)) for v, a in acc.items()}
    best = max(candidates, key=lambda v: (means[v], -v))
    return best, means
