"""Shared pieces of the model-based SSL sub-commands (``graphssl self-train`` etc.).

Argument types, the bundled-data loader that hides labels, the report lines and the
one-thread context every command runs under. Private: the commands live in
:mod:`graphssl.cli_ssl` and :mod:`graphssl.cli_generative`.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

DATASETS = ("digits", "wine", "breast_cancer")

# (flag, type or list of choices, default, help); "%(default)s" keeps one default.
Option = tuple[str, Any, Any, str]


# ------------------------------------------------------------------ arguments
def unit_interval(text: str) -> float:
    """``argparse`` type: a float in ``[0, 1]``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {value:g}")
    return value


def positive_int(text: str) -> int:
    """``argparse`` type: an integer ``>= 1``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def count(text: str) -> int:
    """``argparse`` type: an integer ``>= 0`` (``0`` usually meaning "off" or "auto")."""
    return 0 if text.strip() == "0" else positive_int(text)


def non_negative(text: str) -> float:
    """``argparse`` type: a float ``>= 0``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value:g}")
    return value


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="bundled data set (default: %(default)s)",
    )
    p.add_argument(
        "--labels-per-class",
        type=positive_int,
        default=5,
        help="labels kept per class, the rest are hidden (default: %(default)s)",
    )


# ----------------------------------------------------------------------- data
class Data:
    """Features ``x [N, F]`` (float32), true labels ``[N]``, labels with ``-1``.

    ``raw=True`` keeps the non-negative source values (digits' pixel counts 0..16,
    unstandardised wine and breast-cancer measurements) that count models need.
    """

    def __init__(self, args: argparse.Namespace, *, raw: bool = False) -> None:
        from graphssl.datasets import (
            hide_labels,
            load_breast_cancer,
            load_digits,
            load_wine,
        )

        if args.dataset == "digits":
            x, y_true = load_digits()
            if not raw:  # pixel counts 0..16 -> [0, 1], the range augmentations expect
                x = x / 16.0
        else:
            loader = load_wine if args.dataset == "wine" else load_breast_cancer
            x, y_true = loader(standardize=not raw)
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


def report(
    baseline: float,
    method: str,
    acc: float,
    seconds: float,
    scored: str = "unlabelled",
) -> None:
    """Print the baseline and the method's accuracy on the ``scored`` samples."""
    print(f"supervised-only baseline accuracy on {scored}: {baseline:.4f}")
    print(
        f"{method} accuracy on {scored}: {acc:.4f} "
        f"({acc - baseline:+.4f}; {seconds:.1f} s)"
    )


@contextlib.contextmanager
def one_thread(device: torch.device) -> Iterator[None]:
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


def limited(
    func: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """``func`` run under :func:`one_thread` on the device of ``--device``."""

    def run(args: argparse.Namespace) -> int:
        from graphssl.cli import resolve_device

        if args.seed < 0:
            raise SystemExit(f"error: --seed must be >= 0, got {args.seed}")
        with one_thread(resolve_device(args.device)):
            return func(args)

    return run


def mlp_factory(n_features: int, n_classes: int) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        return nn.Sequential(
            nn.Linear(n_features, 64), nn.ReLU(), nn.Linear(64, n_classes)
        )

    return make


def since(t: float) -> float:
    return time.perf_counter() - t


def add_option(p: argparse.ArgumentParser, option: Option) -> None:
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
