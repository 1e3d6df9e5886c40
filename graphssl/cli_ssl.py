"""Sub-commands of the ``graphssl`` command for the model-based SSL methods.

``self-train``, ``teacher-student``, ``co-train``, ``em`` and ``rounds`` each hide all
but ``--labels-per-class`` labels of a small bundled data set (digits, wine, breast
cancer: nothing is downloaded), train a supervised-only baseline with the same model,
then the method, and print both accuracies on the unlabelled samples together with
the method's own facts (rounds and why they stopped, mask ratio, log-likelihood
monotonicity, the unlabelled-data diagnostic). Needs scikit-learn.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["register"]

DATASETS = ("digits", "wine", "breast_cancer")


# ------------------------------------------------------------------ arguments
def _unit_interval(text: str) -> float:
    """``argparse`` type: a float in ``[0, 1]``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {value:g}")
    return value


def _positive_int(text: str) -> int:
    """``argparse`` type: an integer ``>= 1``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative(text: str) -> float:
    """``argparse`` type: a float ``>= 0``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value:g}")
    return value


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="bundled data set (default: %(default)s)",
    )
    p.add_argument(
        "--labels-per-class",
        type=_positive_int,
        default=5,
        help="labels kept per class, the rest are hidden (default: %(default)s)",
    )


# ----------------------------------------------------------------------- data
class _Data:
    """Features ``x [N, F]`` (float32), true labels ``[N]``, labels with ``-1``."""

    def __init__(self, args: argparse.Namespace) -> None:
        from graphssl.datasets import (
            hide_labels,
            load_breast_cancer,
            load_digits,
            load_wine,
        )

        if args.dataset == "digits":
            x, y_true = load_digits()
            x = x / 16.0  # pixel values 0..16 -> [0, 1], the range augmentations expect
        else:
            loader = load_wine if args.dataset == "wine" else load_breast_cancer
            x, y_true = loader(standardize=True)
        self.name: str = args.dataset
        self.x, self.y_true = x, y_true
        try:
            self.y = hide_labels(
                y_true, per_class=args.labels_per_class, seed=args.seed
            )
        except ValueError as err:  # more labels asked for than a class holds
            raise SystemExit(f"error: --labels-per-class: {err}") from None
        self.lab = self.y >= 0
        self.num_classes = int(y_true.max()) + 1

    def accuracy(self, pred: Any) -> float:
        """Accuracy of ``pred [N]`` (tensor or array) on the unlabelled samples."""
        p = torch.as_tensor(
            np.asarray(pred.cpu() if isinstance(pred, Tensor) else pred)
        )
        hidden = ~self.lab
        return float((p[hidden] == self.y_true[hidden]).double().mean())

    def describe(self, method: str, device: object) -> None:
        print(
            f"{method} on {self.name}: {self.x.shape[0]} samples, "
            f"{self.x.shape[1]} features, {self.num_classes} classes, "
            f"{int(self.lab.sum())} labelled, {int((~self.lab).sum())} unlabelled; "
            f"device {device}"
        )


def _report(baseline: float, method: str, acc: float, seconds: float) -> None:
    print(f"supervised-only baseline accuracy on unlabelled: {baseline:.4f}")
    print(
        f"{method} accuracy on unlabelled: {acc:.4f} "
        f"({acc - baseline:+.4f}; {seconds:.1f} s)"
    )


@contextlib.contextmanager
def _one_thread(device: torch.device) -> Iterator[None]:
    """Run torch and the BLAS libraries on one CPU thread, restoring them after.

    The models here are small, so thread synchronisation costs more than it saves;
    on 2 busy shared cores 300 FixMatch steps took 100 s with 2 threads and 1.7 s
    with 1, and a logistic regression on digits 6.5 s against 0.08 s.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    saved = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(saved)


def _limited(
    func: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """``func`` run under :func:`_one_thread` on the device of ``--device``."""

    def run(args: argparse.Namespace) -> int:
        from graphssl.cli import resolve_device

        if args.seed < 0:
            raise SystemExit(f"error: --seed must be >= 0, got {args.seed}")
        with _one_thread(resolve_device(args.device)):
            return func(args)

    return run


def _mlp_factory(n_features: int, n_classes: int) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        return nn.Sequential(
            nn.Linear(n_features, 64), nn.ReLU(), nn.Linear(64, n_classes)
        )

    return make


# ----------------------------------------------------------------- self-train
def _cmd_self_train(args: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegression

    from graphssl.cli import resolve_device
    from graphssl.self_training import SelfTraining
    from graphssl.torch_adapter import TorchClassifier, mlp

    dev = resolve_device(args.device)
    data = _Data(args)
    data.describe(f"self-training ({args.base}, criterion {args.criterion})", dev)
    base: Any = (
        LogisticRegression(max_iter=1000)
        if args.base == "logreg"
        else TorchClassifier(mlp(64), epochs=100, seed=args.seed, device=str(dev))
    )
    x, y, lab = data.x.numpy(), data.y.numpy(), data.lab.numpy()
    st = SelfTraining(
        base,
        criterion=args.criterion,
        threshold=args.threshold,
        margin=args.margin,
        k_best=args.k_best,
        max_iter=args.max_iter,
    )
    baseline = data.accuracy(base.fit(x[lab], y[lab]).predict(x))
    t = time.perf_counter()
    st.fit(x, y, y_true=data.y_true.numpy())
    _report(baseline, "self-training", data.accuracy(st.predict(x)), _since(t))
    hits = [h["pseudo_accuracy"] for h in st.history_[1:]]
    n_new = [h["n_new"] for h in st.history_[1:]]
    scored = [(a, n) for a, n in zip(hits, n_new, strict=True) if a is not None]
    prec = (
        f"{sum(a * n for a, n in scored) / sum(n for _, n in scored):.3f}"
        if scored
        else "n/a"
    )
    print(
        f"rounds: {st.n_iter_}, stopped: {st.termination_condition_}, "
        f"pseudo-labelled: {int((st.labeled_iter_ > 0).sum())} (precision {prec})"
    )
    return 0


# ------------------------------------------------------------ teacher-student
def _cmd_teacher_student(args: argparse.Namespace) -> int:
    from graphssl.augment import weak_strong
    from graphssl.cli import resolve_device
    from graphssl.teacher_student import TeacherStudent

    dev = resolve_device(args.device)
    data = _Data(args)
    data.describe(f"teacher-student (teacher {args.teacher})", dev)
    weak, strong = weak_strong("features")
    x_l, y_l, x_u = data.x[data.lab], data.y[data.lab], data.x[~data.lab]
    accs, fitted, t = [], None, 0.0
    for lam in (0.0, 1.0):  # λ_u = 0: the same training, labelled loss only
        t = time.perf_counter()
        ts = TeacherStudent(
            _mlp_factory(data.x.shape[1], data.num_classes),
            teacher=args.teacher, threshold=args.threshold, lambda_u=lam,
            ema_decay=args.ema_decay,
            steps=args.steps, batch_size=16, mu=4, weak=weak, strong=strong,
            distribution_alignment=args.distribution_alignment, seed=args.seed,
            device=dev, log_every=10,
        )  # fmt: skip
        ts.fit(x_l, y_l, x_u, y_unlabeled_true=data.y_true[~data.lab])
        accs.append(data.accuracy(ts.predict(data.x)))
        fitted = ts
    if fitted is None:  # the loop above always runs twice
        raise RuntimeError("no model was trained")
    _report(accs[0], "teacher-student", accs[1], _since(t))
    mask = fitted.history_["mask_ratio"]
    last = mask[-max(1, len(mask) // 10) :]
    print(
        f"steps: {args.steps}, mask ratio (share of unlabelled batch above "
        f"threshold {args.threshold:g}): first {mask[0]:.2f}, "
        f"last {float(np.mean(last)):.2f}"
    )
    return 0


# ------------------------------------------------------------------- co-train
def _cmd_co_train(args: argparse.Namespace) -> int:
    from graphssl.cli import resolve_device
    from graphssl.co_training import CoTraining

    dev = resolve_device(args.device)
    data = _Data(args)
    data.describe("co-training (cross pseudo supervision, two MLPs)", dev)
    x_l, y_l, x_u = data.x[data.lab], data.y[data.lab], data.x[~data.lab]
    accs, fitted, t = [], None, 0.0
    for lam in (0.0, args.lambda_cps):  # λ = 0: two supervised MLPs, averaged
        t = time.perf_counter()
        ct = CoTraining(
            _mlp_factory(data.x.shape[1], data.num_classes),
            lambda_cps=lam, threshold=args.threshold, steps=args.steps,
            batch_size=16, mu=2, lr=0.05, seed=args.seed, device=dev, log_every=10,
        )  # fmt: skip
        ct.fit(x_l, y_l, x_u, y_unlabeled_true=data.y_true[~data.lab])
        accs.append(data.accuracy(ct.predict(data.x)))
        fitted = ct
    if fitted is None:  # the loop above always runs twice
        raise RuntimeError("no model was trained")
    _report(accs[0], "co-training", accs[1], _since(t))
    agree = fitted.history_["agreement"]
    print(
        f"steps: {args.steps}, agreement of the two models on the unlabelled "
        f"batch: first {agree[0]:.2f}, last {agree[-1]:.2f}"
    )
    return 0


# ------------------------------------------------------------------------- em
def _cmd_em(args: argparse.Namespace) -> int:
    from graphssl.em import unlabeled_data_diagnostic
    from graphssl.em_gaussian import SemiSupervisedGMM
    from graphssl.exceptions import ConvergenceWarning

    data = _Data(args)
    data.describe(f"semi-supervised EM ({args.model}, λ = {args.lam:g})", "cpu (numpy)")
    cov = "diag" if args.model == "gmm-diag" else "full"
    x, y = data.x.double().numpy(), data.y.numpy()
    kw: dict[str, Any] = {"covariance_type": cov, "reg_covar": args.reg_covar}
    kw.update(max_iter=args.max_iter, random_state=args.seed)
    with warnings.catch_warnings(record=True) as caught:  # printed below instead
        warnings.simplefilter("always", ConvergenceWarning)
        sup = SemiSupervisedGMM(lam=0.0, **kw).fit(x, y)
        t = time.perf_counter()
        gmm = SemiSupervisedGMM(lam=args.lam, **kw).fit(x, y)
    baseline = data.accuracy(sup.transduction_)
    _report(baseline, "semi-supervised EM", data.accuracy(gmm.transduction_), _since(t))
    ll = np.asarray(gmm.log_likelihood_)
    monotone = bool(np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:])))
    print(
        f"EM iterations: {gmm.n_iter_}, converged: {gmm.converged_}, "
        f"log-likelihood {ll[0]:.1f} -> {ll[-1]:.1f}, monotone: {monotone}"
    )
    for w in caught:
        print(f"{type(w.message).__name__}: {w.message}")
    if args.diagnose:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the verdict is printed instead
            try:
                d = unlabeled_data_diagnostic(
                    SemiSupervisedGMM(lam=args.lam, **kw), x, y
                )
            except ValueError as err:  # e.g. one label per class: no folds
                print(f"diagnostic skipped: {err}")
                return 0
        print(
            f"diagnostic ({d['n_splits']}-fold on the labelled samples): λ = 0 "
            f"{d['accuracy_supervised']:.4f}, λ = {args.lam:g} "
            f"{d['accuracy_semi_supervised']:.4f} -> unlabelled data {d['verdict']}"
        )
    return 0


# --------------------------------------------------------------------- rounds
def _cmd_rounds(args: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegression

    from graphssl.cli import resolve_device
    from graphssl.construction import knn_graph
    from graphssl.rounds import RefineRetrain, graph_consistency

    dev = resolve_device(args.device)
    data = _Data(args)
    data.describe("refine-retrain rounds (logistic regression, kNN votes)", dev)
    xn = data.x.double().numpy()

    def train(labels: Tensor) -> LogisticRegression:
        m = (labels >= 0).cpu().numpy()
        return LogisticRegression(max_iter=1000).fit(xn[m], labels.cpu().numpy()[m])

    def predict(model: LogisticRegression) -> Tensor:
        return torch.from_numpy(model.predict_proba(xn)).to(dev)

    baseline = data.accuracy(train(data.y).predict(xn))
    t = time.perf_counter()
    refine = graph_consistency(knn_graph(data.x.double().to(dev), args.k))
    res = RefineRetrain(rounds=args.rounds, threshold=args.threshold).run(
        data.y.to(dev), train=train, predict=predict, refine=refine, y_true=data.y_true
    )
    _report(baseline, "refine-retrain", data.accuracy(res.model.predict(xn)), _since(t))
    for h in res.history:
        prec = "n/a" if h.precision is None else f"{h.precision:.3f}"
        print(
            f"round {h.round}: {h.n_pseudo} pseudo-labels (precision {prec}), "
            f"coverage {h.coverage:.2f}, entropy {h.entropy_rough:.2f} -> "
            f"{h.entropy_refined:.2f} nats"
        )
    print(f"stopped: {res.termination_condition}")
    return 0


def _since(t: float) -> float:
    return time.perf_counter() - t


# ------------------------------------------------------------------- register
# (flag, type or list of choices, default, help); "%(default)s" keeps one default.
Option = tuple[str, Any, Any, str]
_unit, _pos, _nonneg = _unit_interval, _positive_int, _non_negative

_COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str, str]] = {
    "self-train": (
        _cmd_self_train,
        "self-training around logistic regression or an MLP",
        "Fit a classifier on the few labels, accept its surest predictions on the "
        "unlabelled samples, refit, repeat; compare with the classifier trained on "
        "the labels alone.",
    ),
    "teacher-student": (
        _cmd_teacher_student,
        "FixMatch-style teacher-student training of an MLP",
        "A self or EMA teacher labels a weak view of the unlabelled samples; its "
        "confident labels supervise the student on a strong view. The baseline is "
        "the same training without the unlabelled term.",
    ),
    "co-train": (
        _cmd_co_train,
        "cross pseudo supervision of two MLPs",
        "Two differently initialised MLPs train on each other's predictions for "
        "the unlabelled samples; the baseline is the same pair with --lambda-cps 0.",
    ),
    "em": (
        _cmd_em,
        "semi-supervised EM for a Gaussian mixture classifier",
        "One Gaussian per class fitted by EM to labelled and λ-weighted unlabelled "
        "samples (Nigam et al. 2000); the baseline is λ = 0.",
    ),
    "rounds": (
        _cmd_rounds,
        "refine-retrain rounds with kNN-graph consistency",
        "Train logistic regression, refine its predictions by votes over a kNN "
        "graph, keep the confident ones as pseudo-labels, retrain; repeat.",
    ),
}

_OPTIONS: dict[str, list[Option]] = {
    "self-train": [
        ("--base", ["logreg", "mlp"], "logreg", "base classifier"),
        ("--criterion", ["threshold", "margin", "k_best", "graph"], "k_best",
         "pseudo-label selection; on digits with 5 labels per class, threshold "
         "0.75 accepts too many wrong labels and ends below the baseline"),
        ("--threshold", _unit, 0.75, "threshold: confidence; graph: certainty "
         "relative to the most certain sample"),
        ("--margin", _unit, 0.2, "margin: top-1 minus top-2 probability"),
        ("--k-best", _pos, 10, "k_best: samples per class and round"),
        ("--max-iter", _pos, 10, "rounds of pseudo-labelling"),
    ],
    "teacher-student": [
        ("--teacher", ["self", "ema"], "self", "self: FixMatch, ema: moving average"),
        ("--threshold", _unit, 0.8, "teacher confidence a pseudo-label needs"),
        ("--ema-decay", _unit, 0.99, "decay of the moving average; 0.999 keeps 74 "
         "%% of the initial weights after 300 steps"),
        ("--steps", _pos, 300, "optimiser steps"),
        ("--distribution-alignment", bool, False, "align teacher predictions with "
         "the labelled class frequencies"),
    ],
    "co-train": [
        ("--lambda-cps", _nonneg, 1.5, "weight of the cross pseudo supervision loss"),
        ("--threshold", _unit, 0.0, "confidence of the cross targets"),
        ("--steps", _pos, 300, "optimiser steps"),
    ],
    "em": [
        ("--model", ["gmm", "gmm-diag"], "gmm", "full or diagonal covariances; "
         "on digits full lifts 0.864 to 0.908, diag falls from 0.801 to 0.787"),
        ("--lam", _unit, 1.0, "weight λ of the unlabelled samples"),
        ("--reg-covar", _nonneg, 1e-2, "ridge on the covariance diagonals"),
        ("--max-iter", _pos, 100, "most EM iterations"),
        ("--diagnose", bool, False, "cross-validate λ against λ = 0 on the "
         "labelled samples"),
    ],
    "rounds": [
        ("--rounds", _pos, 3, "refine rounds before the final retrain"),
        ("--threshold", _unit, 0.5, "refined confidence a pseudo-label needs"),
        ("--k", _pos, 10, "neighbours of the kNN graph"),
    ],
}  # fmt: skip


def _add_option(p: argparse.ArgumentParser, option: Option) -> None:
    flag, kind, default, text = option
    if kind is bool:
        p.add_argument(flag, action="store_true", help=text)
    elif isinstance(kind, list):
        p.add_argument(
            flag, choices=kind, default=default, help=f"{text} (default: %(default)s)"
        )
    else:
        p.add_argument(
            flag, type=kind, default=default, help=f"{text} (default: %(default)s)"
        )


def register(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    parents: list[argparse.ArgumentParser],
) -> None:
    """Add ``self-train``, ``teacher-student``, ``co-train``, ``em`` and ``rounds``.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers``.
        parents: parsers whose options the commands share (``--device``, ``--seed``).
    """
    for name, (func, summary, description) in _COMMANDS.items():
        p: argparse.ArgumentParser = subparsers.add_parser(
            name, parents=parents, help=summary, description=description
        )
        _add_data_args(p)
        for option in _OPTIONS[name]:
            _add_option(p, option)
        p.set_defaults(func=_limited(func))
