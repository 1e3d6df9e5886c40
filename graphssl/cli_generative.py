"""Sub-commands for the generative methods: ``graphssl em`` and ``cluster-then-label``.

``em`` fits a semi-supervised mixture (Gaussian with full or diagonal covariances,
or multinomial naive Bayes on the raw non-negative features) with the unlabelled
samples weighted by λ — a number, or ``auto`` for λ picked by cross-validation on the
labelled samples — and compares it with λ = 0, the supervised fit of the same model.
``cluster-then-label`` is the hard variant: cluster everything, name each cluster by
its labelled members' majority. Both print accuracy on the unlabelled samples. Needs
scikit-learn. Registered by :func:`graphssl.cli_ssl.register`.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from graphssl._cli_ssl_common import (
    Data,
    Option,
    count,
    non_negative,
    positive_int,
    report,
    since,
    unit_interval,
)

__all__ = ["COMMANDS", "OPTIONS"]


def _lam(text: str) -> float | str:
    """``auto`` or a float in [0, 1]."""
    return "auto" if text == "auto" else unit_interval(text)


def _model(args: argparse.Namespace, lam: float) -> Any:
    common: dict[str, Any] = {
        "lam": lam,
        "n_components_per_class": args.components_per_class,
        "hard": args.hard,
        "max_iter": args.max_iter,
        "random_state": args.seed,
    }
    if args.model == "multinomial":
        from graphssl.em_multinomial import SemiSupervisedMultinomialNB

        return SemiSupervisedMultinomialNB(alpha=args.smoothing, **common)
    from graphssl.em_gaussian import SemiSupervisedGMM

    cov = "diag" if args.model == "gmm-diag" else "full"
    return SemiSupervisedGMM(covariance_type=cov, reg_covar=args.reg_covar, **common)


def _pick_lambda(args: argparse.Namespace, x: Any, y: Any) -> float | None:
    """``args.lam``, or the cross-validated pick for ``auto`` (None: no folds)."""
    if args.lam != "auto":
        return float(args.lam)
    from graphssl.em_selection import select_lambda

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fold fits may stop at max_iter; scored anyway
        try:
            lam, scores = select_lambda(_model(args, 0.0), x, y, random_state=args.seed)
        except ValueError as err:  # e.g. one label per class: no folds
            print(f"λ = auto needs 2 labels per class for its folds: {err}")
            return None
    table = ", ".join(f"{v:g}: {a:.3f}" for v, a in scores.items())
    print(f"λ picked by cross-validation on the labelled samples: {lam:g} ({table})")
    return lam


def _cmd_em(args: argparse.Namespace) -> int:
    from graphssl.em_selection import unlabeled_data_diagnostic
    from graphssl.exceptions import ConvergenceWarning

    multinomial = args.model == "multinomial"
    data = Data(args, raw=multinomial)  # counts must stay non-negative
    data.describe(f"semi-supervised EM ({args.model}, λ = {args.lam})", "cpu (numpy)")
    x, y = data.x.double().numpy(), data.y.numpy()
    lam = _pick_lambda(args, x, y)
    if lam is None:
        return 2
    with warnings.catch_warnings(record=True) as caught:  # printed below instead
        warnings.simplefilter("always", ConvergenceWarning)
        sup = _model(args, 0.0).fit(x, y)
        t = time.perf_counter()
        em = _model(args, lam).fit(x, y)
    baseline = data.accuracy(sup.transduction_)
    report(baseline, "semi-supervised EM", data.accuracy(em.transduction_), since(t))
    ll = np.asarray(em.log_likelihood_)
    monotone = bool(np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:])))
    print(
        f"EM iterations: {em.n_iter_}, converged: {em.converged_}, "
        f"log-likelihood {ll[0]:.1f} -> {ll[-1]:.1f}, monotone: {monotone}"
    )
    for w in caught:
        print(f"{type(w.message).__name__}: {w.message}")
    if args.diagnose and lam > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the verdict is printed instead
            try:
                d = unlabeled_data_diagnostic(_model(args, lam), x, y)
            except ValueError as err:  # e.g. one label per class: no folds
                print(f"diagnostic skipped: {err}")
                return 0
        print(
            f"diagnostic ({d['n_splits']}-fold on the labelled samples): λ = 0 "
            f"{d['accuracy_supervised']:.4f}, λ = {lam:g} "
            f"{d['accuracy_semi_supervised']:.4f} -> unlabelled data {d['verdict']} "
            f"(paired gain {d['gain']:+.4f} ± {d['gain_se']:.4f} s.e."
            + (", within noise)" if abs(d["gain"]) < 2 * d["gain_se"] else ")")
        )
    return 0


def _cmd_cluster_then_label(args: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegression

    from graphssl.cluster_then_label import cluster_then_label

    data = Data(args)
    n_clusters = args.clusters or data.num_classes
    data.describe(f"cluster then label ({args.method}, {n_clusters} clusters)", "cpu")
    x, y, lab = data.x.double().numpy(), data.y.numpy(), data.lab.numpy()
    logreg = LogisticRegression(max_iter=1000).fit(x[lab], y[lab])
    baseline = data.accuracy(logreg.predict(x))
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:  # printed below instead
        warnings.simplefilter("always", UserWarning)
        res = cluster_then_label(x, y, n_clusters, args.seed, method=args.method)
    report(baseline, "cluster then label", data.accuracy(res.labels), since(t))
    n_none = len(res.unlabelled_clusters)
    print(
        f"clusters without a labelled member: {n_none} of {n_clusters} "
        f"({int(np.isin(res.cluster, res.unlabelled_clusters).sum())} samples "
        "left at -1, counted as errors); the baseline is logistic regression"
    )
    for w in caught:
        print(f"{type(w.message).__name__}: {w.message}")
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str, str]] = {
    "em": (
        _cmd_em,
        "semi-supervised EM for a Gaussian mixture or naive Bayes classifier",
        "A mixture with one or more components per class fitted by EM to labelled "
        "and λ-weighted unlabelled samples (Nigam et al. 2000); the baseline is "
        "λ = 0. --lam auto picks λ by cross-validation on the labelled samples.",
    ),
    "cluster-then-label": (
        _cmd_cluster_then_label,
        "cluster all samples, label each cluster by its labelled majority",
        "k-means or a Gaussian mixture over all samples; each cluster takes the "
        "majority class of its labelled members (hard EM's cousin). The baseline is "
        "logistic regression on the labels alone.",
    ),
}

OPTIONS: dict[str, list[Option]] = {
    "em": [
        ("--model", ["gmm", "gmm-diag", "multinomial"], "gmm", "full or diagonal "
         "covariance Gaussians, or multinomial naive Bayes on the raw counts; on "
         "digits full lifts 0.864 to 0.908, diag falls from 0.801 to 0.787"),
        ("--lam", _lam, 1.0, "weight λ in [0, 1] of the unlabelled samples, or auto"),
        ("--components-per-class", positive_int, 1, "mixture components per class"),
        ("--hard", bool, False, "classification EM (argmax responsibilities)"),
        ("--reg-covar", non_negative, 1e-2, "gmm: ridge on the covariance diagonals"),
        ("--smoothing", non_negative, 1.0, "multinomial: Laplace smoothing α > 0"),
        ("--max-iter", positive_int, 100, "most EM iterations"),
        ("--diagnose", bool, False, "cross-validate λ against λ = 0 on the "
         "labelled samples"),
    ],
    "cluster-then-label": [
        ("--method", ["kmeans", "gmm"], "kmeans", "clustering"),
        ("--clusters", count, 0, "number of clusters; 0: one per class"),
    ],
}  # fmt: skip
