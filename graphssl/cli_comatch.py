"""The ``graphssl comatch`` sub-command: CoMatch (or FixMatch) on images, vectors or nodes.

``digits`` (8x8 images bundled with scikit-learn) hides all but ``--labels-per-class``
labels and scores the unlabelled images; ``cora`` / ``citeseer`` use the public
Planetoid split (20 labels per class) and score the 1000 test nodes; ``PATH.npz``
holds ``x [N, F]`` and ``y [N]`` (``-1`` unlabelled) and optionally ``y_true [N]`` for
scoring. Every hyper-parameter not given on the command line keeps its
:class:`~graphssl.comatch.CoMatchConfig` default.
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
from torch import Tensor

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
    try:
        return CoMatchConfig.fixmatch(**kw) if args.fixmatch else CoMatchConfig(**kw)
    except (TypeError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None


def _run_digits(
    args: argparse.Namespace, cfg: Any, dev: torch.device
) -> tuple[Any, tuple[float, ...], str]:
    from graphssl.comatch import CoMatch
    from graphssl.comatch.encoders import DigitsCNN
    from graphssl.comatch.presets import ImageMLP, comatch_views
    from graphssl.datasets import hide_labels, load_digits

    x, y_true = load_digits()
    x = (x / 16.0).reshape(-1, 1, 8, 8)
    try:
        y = hide_labels(y_true, per_class=args.labels_per_class, seed=args.seed)
    except ValueError as err:
        raise SystemExit(f"error: --labels-per-class: {err}") from None
    lab = y >= 0
    weak, s0, s1 = comatch_views("small_image")
    enc = DigitsCNN if args.encoder == "cnn" else (lambda: ImageMLP(64, 128))
    m = _trainer(CoMatch, enc, cfg, args, dev, weak, s0, s1)
    m.fit(x[lab], y[lab], x[~lab], y_unlabeled_true=y_true[~lab], resume=args.resume)
    acc = tuple(
        _accuracy(m.predict(x[~lab], ema=e), y_true[~lab]) for e in (True, False)
    )
    what = f"digits: {len(y)} images, {int(lab.sum())} labelled; scored on the {int((~lab).sum())} unlabelled"
    return m, acc, what


def _run_nodes(
    args: argparse.Namespace, cfg: Any, dev: torch.device
) -> tuple[Any, tuple[float, ...], str]:
    from graphssl.comatch import CoMatch
    from graphssl.comatch.encoders import GCNEncoder, NodeMLPEncoder
    from graphssl.comatch.presets import comatch_views
    from graphssl.datasets import find_planetoid_root, load_planetoid

    root = args.root or find_planetoid_root()
    if root is None:
        raise SystemExit("error: no Planetoid data found; pass --root DIR")
    data = load_planetoid(root, args.dataset, normalize_features=True)
    y = torch.where(data.train_mask, data.y, -1)
    f = data.num_features
    enc = (
        (lambda: NodeMLPEncoder(f, (64,)))
        if args.encoder == "mlp"
        else (lambda: GCNEncoder(f, 64))
    )
    weak, s0, s1 = comatch_views("graph")
    m = _trainer(CoMatch, enc, cfg, args, dev, weak, s0, s1)
    m.fit_nodes(data.x, data.edge_index, y, y_true=data.y, resume=args.resume)
    test, truth = data.test_mask, data.y[data.test_mask]
    preds = (m.predict(data.x, data.edge_index, ema=e).cpu() for e in (True, False))
    acc = tuple(_accuracy(p[test], truth) for p in preds)
    what = f"{data.name}: {data.num_nodes} nodes, {int(data.train_mask.sum())} labelled; scored on the {int(data.test_mask.sum())} test nodes"
    return m, acc, what


def _run_npz(
    args: argparse.Namespace, cfg: Any, dev: torch.device
) -> tuple[Any, tuple[float, ...], str]:
    from graphssl.comatch import CoMatch
    from graphssl.comatch.encoders import MLPEncoder
    from graphssl.comatch.presets import comatch_views

    try:
        z = np.load(args.dataset)
        x, y = torch.from_numpy(z["x"]).float(), torch.from_numpy(z["y"]).long()
        y_true = torch.from_numpy(z["y_true"]).long() if "y_true" in z else None
    except (OSError, KeyError, ValueError) as err:
        raise SystemExit(
            f"error: cannot read {args.dataset} (arrays x, y[, y_true]): {err}"
        ) from None
    lab = y >= 0
    if (
        x.dim() != 2
        or y.shape != (x.shape[0],)
        or not bool(lab.any())
        or bool(lab.all())
    ):
        raise SystemExit(
            f"error: {args.dataset}: need x [N, F] and y [N] with labelled and -1 entries"
        )
    weak, s0, s1 = comatch_views("features")
    m = _trainer(
        CoMatch,
        lambda: MLPEncoder(x.shape[1], (128, 128)),
        cfg,
        args,
        dev,
        weak,
        s0,
        s1,
    )
    yt = None if y_true is None else y_true[~lab]
    m.fit(x[lab], y[lab], x[~lab], y_unlabeled_true=yt, resume=args.resume)
    nan = float("nan")
    acc = tuple(
        nan if yt is None else _accuracy(m.predict(x[~lab], ema=e), yt)
        for e in (True, False)
    )
    return m, acc, f"{args.dataset}: {x.shape[0]} samples, {int(lab.sum())} labelled"


def _trainer(
    cls: Any,
    enc: Any,
    cfg: Any,
    args: argparse.Namespace,
    dev: torch.device,
    *views: Any,
) -> Any:
    return cls(
        enc, config=cfg, weak=views[0], strong0=views[1], strong1=views[2], seed=args.seed,
        device=dev, log_every=10, progress=not args.quiet, checkpoint=args.checkpoint,
    )  # fmt: skip


def _accuracy(pred: Tensor, truth: Tensor) -> float:
    known = truth >= 0
    return float((pred.cpu()[known] == truth[known]).double().mean())


def _cmd_comatch(args: argparse.Namespace) -> int:
    from graphssl.cli import resolve_device

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
    run = {"digits": _run_digits, "cora": _run_nodes, "citeseer": _run_nodes}.get(
        args.dataset.lower(), _run_npz
    )
    if run is _run_nodes:
        args.dataset = args.dataset.lower()
    allowed = {
        _run_digits: ("mlp", "cnn"),
        _run_nodes: ("gcn", "mlp"),
        _run_npz: ("mlp",),
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
    for flag, field, kind, text in _CONFIG_FLAGS:
        typ = _non_negative if kind is float else _positive_int
        p.add_argument(
            flag,
            dest=field,
            type=typ,
            default=None,
            help=f"{text} (default: CoMatchConfig's)",
        )
    p.add_argument("--encoder", choices=["mlp", "cnn", "gcn"], default=None,
                   help="digits: mlp (default) or cnn; Planetoid: gcn (default) or mlp")  # fmt: skip
    p.add_argument("--root", type=Path, default=None, help="Planetoid directory")
    p.add_argument(
        "--checkpoint", type=Path, default=None, help="write training state here"
    )
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_comatch)
