"""The ``graphssl comatch`` sub-command: CoMatch (or FixMatch) on images, vectors or nodes.

``digits`` (8x8 images bundled with scikit-learn) hides all but ``--labels-per-class``
labels and scores the unlabelled images; ``cora`` / ``citeseer`` use the public
Planetoid split (20 labels per class) and score the 1000 test nodes; ``PATH.npz``
holds ``x [N, F]`` and ``y [N]`` (``-1`` unlabelled) and optionally ``y_true [N]`` for
scoring. Every hyper-parameter not given on the command line keeps its
:class:`~graphssl.comatch.CoMatchConfig` default. ``--momentum-encoder`` trains the
reference's ImageNet variant (momentum encoder for the weak and strong1 views, a queue
of past strong1 samples extending both graphs) with the other settings unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["register"]

# (flag, CoMatchConfig field, type, help): None on the command line keeps the default.
_CONFIG_FLAGS = [
    ("--alpha", "alpha", float, "memory-smoothing weight of the own prediction"),
    ("--threshold", "threshold", float, "confidence a pseudo-label needs"),
    ("--contrast-th", "contrast_th", float, "pseudo-label graph threshold"),
    ("--temperature", "temperature", float, "softmax temperature"),
    ("--lambda-u", "lambda_u", float, "weight of the unlabelled loss"),
    ("--lambda-c", "lambda_c", float, "weight of the graph contrastive loss"),
    ("--lr", "lr", float, "SGD learning rate"),
    ("--ema-decay", "ema_decay", float, "decay of the evaluation EMA"),
    ("--proj-dim", "proj_dim", int, "embedding size"),
    (
        "--encoder-momentum",
        "encoder_momentum",
        float,
        "momentum m of the momentum encoder",
    ),
]


def _number(kind: Callable[[str], Any], low: float) -> Callable[[str], Any]:
    """``argparse`` type: a ``kind`` number ``>= low``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value >= low:
            raise argparse.ArgumentTypeError(f"must be >= {low:g}, got {text}")
        return value

    return parse


_positive_int, _non_negative = _number(int, 1), _number(float, 0.0)
_count = _number(int, 0)


@contextlib.contextmanager
def _one_thread(device: torch.device) -> Iterator[None]:
    """One CPU thread for the small models here (threads only add contention)."""
    saved = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def _config(args: argparse.Namespace) -> Any:
    from graphssl.comatch import CoMatchConfig

    kw: dict[str, Any] = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "mu": args.mu,
    }
    for _, field, _, _ in _CONFIG_FLAGS:
        if getattr(args, field) is not None:
            kw[field] = getattr(args, field)
    if args.hard_labels:
        kw["hard_labels"] = True
    if args.no_da:
        kw["distribution_alignment"] = False
    if args.momentum_encoder:
        kw["momentum_encoder"] = True
    if args.strong_queue_size is not None:
        kw["strong_queue_size"] = args.strong_queue_size
    try:
        return CoMatchConfig.fixmatch(**kw) if args.fixmatch else CoMatchConfig(**kw)
    except (TypeError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None


def _cmd_comatch(args: argparse.Namespace) -> int:
    from graphssl.cli import resolve_device
    from graphssl.comatch._cli_runs import run_digits, run_nodes, run_npz

    if args.seed < 0:
        raise SystemExit(f"error: --seed must be >= 0, got {args.seed}")
    if args.resume and args.checkpoint is None:
        raise SystemExit("error: --resume needs --checkpoint PATH")
    dev = resolve_device(args.device)
    cfg = _config(args)
    method = (
        "FixMatch (CoMatch path: lambda_c 0, alpha 1, hard labels, no DA)"
        if args.fixmatch
        else "CoMatch"
    )
    if cfg.momentum_encoder:
        method += f" with a momentum encoder (m {cfg.encoder_momentum:g}) and a strong-view queue of {cfg.strong_queue_rows()} rows"
    run = {"digits": run_digits, "cora": run_nodes, "citeseer": run_nodes}.get(
        args.dataset.lower(), run_npz
    )
    if run is run_nodes:
        args.dataset = args.dataset.lower()
    allowed = {
        run_digits: ("mlp", "cnn", "small-cnn"),
        run_nodes: ("gcn", "mlp"),
        run_npz: ("mlp",),
    }
    if args.encoder is not None and args.encoder not in allowed[run]:
        ok = ", ".join(allowed[run])
        raise SystemExit(f"error: --encoder {args.encoder}: use {ok} for this dataset")
    t = time.perf_counter()
    with _one_thread(dev):
        m, acc, what = run(args, cfg, dev)
    h = m.history_
    print(
        f"{method} on {what}; device {dev}; {m.n_steps_} of {cfg.steps} steps in {time.perf_counter() - t:.1f} s"
    )
    tail = max(1, len(h["mask_ratio"]) // 10)
    pa = [v for v in h.get("pseudo_acc", [])[-tail:] if v == v]
    pseudo = f"{np.mean(pa):.3f}" if pa else "n/a"
    print(
        f"last logged: loss {h['loss'][-1]:.3f}, mask ratio {np.mean(h['mask_ratio'][-tail:]):.2f}, pseudo-label accuracy {pseudo}"
    )
    print(f"accuracy (EMA model): {acc[0]:.4f}; trained model: {acc[1]:.4f}")
    if args.checkpoint is not None:
        print(f"checkpoint: {args.checkpoint}")
    return 0


def register(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    parents: list[argparse.ArgumentParser],
) -> None:
    """Add the ``comatch`` sub-command (``--device`` and ``--seed`` come from ``parents``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "comatch", parents=parents, help="CoMatch / FixMatch on digits, Planetoid nodes or a .npz",
        description=__doc__.splitlines()[0],
    )  # fmt: skip
    p.add_argument(
        "dataset",
        help="digits | cora | citeseer | PATH.npz (x, y with -1, optional y_true)",
    )
    p.add_argument(
        "--labels-per-class",
        type=_positive_int,
        default=4,
        help="digits: labels kept per class (default: %(default)s)",
    )
    p.add_argument(
        "--steps",
        type=_positive_int,
        default=1000,
        help="optimiser steps (default: %(default)s)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=16,
        help="labelled batch B (default: %(default)s)",
    )
    p.add_argument(
        "--mu",
        type=_positive_int,
        default=3,
        help="unlabelled batch is mu*B (default: %(default)s)",
    )
    p.add_argument(
        "--fixmatch",
        action="store_true",
        help="FixMatch: lambda_c 0, alpha 1, hard labels, no DA",
    )
    p.add_argument(
        "--hard-labels",
        action="store_true",
        help="arg-max pseudo-labels in the unlabelled loss",
    )
    p.add_argument("--no-da", action="store_true", help="no distribution alignment")
    p.add_argument(
        "--momentum-encoder",
        action="store_true",
        help="ImageNet variant: momentum encoder + strong-view queue extending both graphs",
    )
    p.add_argument(
        "--strong-queue-size",
        type=_count,
        default=None,
        help="rows of the strong-view queue, 0 for none (default: the memory size)",
    )
    for flag, field, kind, text in _CONFIG_FLAGS:
        typ = _non_negative if kind is float else _positive_int
        p.add_argument(
            flag,
            dest=field,
            type=typ,
            default=None,
            help=f"{text} (default: CoMatchConfig's)",
        )
    p.add_argument("--encoder", choices=["mlp", "cnn", "small-cnn", "gcn"], default=None,
                   help="digits: mlp (default), cnn or small-cnn (the benchmark's); Planetoid: gcn (default) or mlp")  # fmt: skip
    p.add_argument("--views", choices=["shift", "affine"], default="shift",
                   help="digits: strong views with pixel shifts (default) or sub-pixel affine warps (the benchmark's)")  # fmt: skip
    p.add_argument("--root", type=Path, default=None, help="Planetoid directory")
    p.add_argument(
        "--checkpoint", type=Path, default=None, help="write training state here"
    )
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_comatch)
