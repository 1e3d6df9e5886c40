"""Sub-commands of the ``graphssl`` command for the model-based SSL methods.

``self-train``, ``teacher-student``, ``co-train`` and ``rounds`` (here) and ``em`` and
``cluster-then-label`` (:mod:`graphssl.cli_generative`) each hide all
but ``--labels-per-class`` labels of a small bundled data set (digits, wine, breast
cancer: nothing is downloaded), train a supervised-only baseline with the same model,
then the method, and print both accuracies on the unlabelled samples together with
the method's own facts (rounds and why they stopped, mask ratio, log-likelihood
monotonicity, the unlabelled-data diagnostic). Needs scikit-learn.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphssl._cli_ssl_common import (
    Data,
    Option,
    add_data_args,
    add_option,
    count,
    limited,
    mlp_factory,
    non_negative,
    positive_int,
    report,
    since,
    unit_interval,
)

__all__ = ["register"]


# ----------------------------------------------------------------- self-train
def _cmd_self_train(args: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegression

    from graphssl.cli import resolve_device
    from graphssl.self_training import SelfTraining
    from graphssl.torch_adapter import TorchClassifier, mlp

    dev = resolve_device(args.device)
    data = Data(args)
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
    report(baseline, "self-training", data.accuracy(st.predict(x)), since(t))
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

    if args.graph is not None:
        from graphssl.cli_graph import run_teacher_student_graph

        return run_teacher_student_graph(args)
    dev = resolve_device(args.device)
    data = Data(args)
    data.describe(f"teacher-student (teacher {args.teacher})", dev)
    weak, strong = weak_strong("features")
    x_l, y_l, x_u = data.x[data.lab], data.y[data.lab], data.x[~data.lab]
    accs, fitted, t = [], None, 0.0
    for lam in (0.0, 1.0):  # λ_u = 0: the same training, labelled loss only
        t = time.perf_counter()
        ts = TeacherStudent(
            mlp_factory(data.x.shape[1], data.num_classes),
            teacher=args.teacher, threshold=args.threshold, lambda_u=lam,
            ema_decay=args.ema_decay,
            steps=args.steps, batch_size=16, mu=4, weak=weak, strong=strong,
            distribution_alignment=args.distribution_alignment, seed=args.seed,
            consistency=args.consistency, rampup_steps=args.rampup_steps,
            device=dev, log_every=10,
        )  # fmt: skip
        ts.fit(x_l, y_l, x_u, y_unlabeled_true=data.y_true[~data.lab])
        accs.append(data.accuracy(ts.predict(data.x)))
        fitted = ts
    if fitted is None:  # the loop above always runs twice
        raise RuntimeError("no model was trained")
    report(accs[0], "teacher-student", accs[1], since(t))
    mask = fitted.history_["mask_ratio"]
    last = mask[-max(1, len(mask) // 10) :]
    print(
        f"steps: {args.steps}, mask ratio (share of unlabelled batch above "
        f"threshold {args.threshold:g}): first {mask[0]:.2f}, "
        f"last {float(np.mean(last)):.2f}"
    )
    return 0


# ------------------------------------------------------------------- co-train
def _two_views(data: Data) -> tuple[Any, Any, str]:
    """Two feature views of the bundled data: image halves, or feature halves."""
    x = data.x.double().numpy()
    if data.name == "digits":  # 8 x 8 images: left 4 columns vs right 4 columns
        img = x.reshape(-1, 8, 8)
        return img[:, :, :4].reshape(-1, 32), img[:, :, 4:].reshape(-1, 32), "halves"
    half = x.shape[1] // 2
    return x[:, :half], x[:, half:], "first / second half of the features"


def _cmd_co_train_views(args: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegression

    from graphssl.co_training_views import TwoViewCoTraining

    data = Data(args)
    xa, xb, how = _two_views(data)
    data.describe(f"two-view co-training (logistic regression; views: {how})", "cpu")
    y = data.y.numpy()
    accs = []
    for rounds in (0, args.max_iter):  # 0 rounds: the two views' supervised fits
        t = time.perf_counter()
        est = LogisticRegression(max_iter=1000)
        ct = TwoViewCoTraining(est, est, k_per_round=args.k_per_round, max_iter=rounds)
        ct.fit(xa, xb, y)
        accs.append(data.accuracy(ct.predict(xa, xb)))
    report(accs[0], "two-view co-training", accs[1], since(t))
    grown = int((ct.labeled_iter_ > 0).sum())
    print(
        f"rounds: {ct.n_iter_}, stopped: {ct.termination_condition_}, samples "
        f"labelled by the other view: {grown}"
    )
    return 0


def _cmd_co_train(args: argparse.Namespace) -> int:
    from graphssl.cli import resolve_device
    from graphssl.co_training import CoTraining

    if args.views == "two":
        return _cmd_co_train_views(args)
    dev = resolve_device(args.device)
    data = Data(args)
    data.describe("co-training (cross pseudo supervision, two MLPs)", dev)
    x_l, y_l, x_u = data.x[data.lab], data.y[data.lab], data.x[~data.lab]
    accs, fitted, t = [], None, 0.0
    for lam in (0.0, args.lambda_cps):  # λ = 0: two supervised MLPs, averaged
        t = time.perf_counter()
        ct = CoTraining(
            mlp_factory(data.x.shape[1], data.num_classes),
            lambda_cps=lam, threshold=args.threshold, steps=args.steps,
            batch_size=16, mu=2, lr=0.05, seed=args.seed, device=dev, log_every=10,
        )  # fmt: skip
        ct.fit(x_l, y_l, x_u, y_unlabeled_true=data.y_true[~data.lab])
        accs.append(data.accuracy(ct.predict(data.x)))
        fitted = ct
    if fitted is None:  # the loop above always runs twice
        raise RuntimeError("no model was trained")
    report(accs[0], "co-training", accs[1], since(t))
    agree = fitted.history_["agreement"]
    print(
        f"steps: {args.steps}, agreement of the two models on the unlabelled "
        f"batch: first {agree[0]:.2f}, last {agree[-1]:.2f}"
    )
    return 0


# --------------------------------------------------------------------- rounds
def _cmd_rounds(args: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegression

    from graphssl.cli import resolve_device
    from graphssl.construction import knn_graph
    from graphssl.rounds import RefineRetrain, graph_consistency

    dev = resolve_device(args.device)
    data = Data(args)
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
    report(baseline, "refine-retrain", data.accuracy(res.model.predict(xn)), since(t))
    for h in res.history:
        prec = "n/a" if h.precision is None else f"{h.precision:.3f}"
        print(
            f"round {h.round}: {h.n_pseudo} pseudo-labels (precision {prec}), "
            f"coverage {h.coverage:.2f}, entropy {h.entropy_rough:.2f} -> "
            f"{h.entropy_refined:.2f} nats"
        )
    print(f"stopped: {res.termination_condition}")
    return 0


# ------------------------------------------------------------------- register
_unit, _pos, _nonneg = unit_interval, positive_int, non_negative


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
        "co-training: two MLPs (cross pseudo supervision) or two feature views",
        "Two differently initialised MLPs train on each other's predictions for "
        "the unlabelled samples (baseline: the same pair with --lambda-cps 0); or, "
        "with --views two, two classifiers on two feature views label samples for "
        "each other (baseline: the two views' supervised fits).",
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
        ("--consistency", ["pseudo_label", "mse"], "pseudo_label", "unlabelled "
         "term: thresholded pseudo-labels (FixMatch) or Mean Teacher's softmax MSE"),
        ("--rampup-steps", count, 0, "sigmoid ramp-up of the unlabelled "
         "weight over this many steps (0: none)"),
        ("--graph", ["cora", "citeseer"], None, "train a GCN on this Planetoid "
         "graph's standard split instead of an MLP on --dataset"),
        ("--root", str, None, "--graph: Planetoid directory; None: searched for"),
    ],
    "co-train": [
        ("--views", ["one", "two"], "one", "one: cross pseudo supervision of two "
         "MLPs on all features; two: Blum-Mitchell co-training of two logistic "
         "regressions on two feature views"),
        ("--lambda-cps", _nonneg, 1.5, "one: weight of the cross pseudo "
         "supervision loss"),
        ("--threshold", _unit, 0.0, "one: confidence of the cross targets"),
        ("--steps", _pos, 300, "one: optimiser steps"),
        ("--k-per-round", _pos, 5, "two: samples per class each view labels per "
         "round"),
        ("--max-iter", _pos, 10, "two: co-training rounds"),
    ],
    "rounds": [
        ("--rounds", _pos, 3, "refine rounds before the final retrain"),
        ("--threshold", _unit, 0.5, "refined confidence a pseudo-label needs"),
        ("--k", _pos, 10, "neighbours of the kNN graph"),
    ],
}  # fmt: skip


def register(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    parents: list[argparse.ArgumentParser],
) -> None:
    """Add ``self-train``, ``teacher-student``, ``co-train``, ``rounds``, and the
    generative ``em`` and ``cluster-then-label`` of :mod:`graphssl.cli_generative`.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers``.
        parents: parsers whose options the commands share (``--device``, ``--seed``).
    """
    from graphssl import cli_generative

    commands = {**_COMMANDS, **cli_generative.COMMANDS}
    options = {**_OPTIONS, **cli_generative.OPTIONS}
    for name, (func, summary, description) in commands.items():
        p: argparse.ArgumentParser = subparsers.add_parser(
            name, parents=parents, help=summary, description=description
        )
        add_data_args(p)
        for option in options[name]:
            add_option(p, option)
        p.set_defaults(func=limited(func))
