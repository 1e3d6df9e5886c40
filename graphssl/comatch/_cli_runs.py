"""Dataset runners of ``graphssl comatch`` (private): each builds its encoder and
views, fits :class:`~graphssl.comatch.CoMatch` and scores it.

Each returns the fitted trainer, the accuracies of the EMA and of the trained
network, and a one-line description of the data.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["run_digits", "run_nodes", "run_npz"]


def run_digits(
    args: argparse.Namespace, cfg: Any, dev: torch.device
) -> tuple[Any, tuple[float, ...], str]:
    """scikit-learn's 8x8 digits, ``--labels-per-class`` labels kept."""
    from graphssl.comatch import CoMatch
    from graphssl.comatch.digits_cnn import SmallDigitsCNN
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
    preset = "small_image_affine" if args.views == "affine" else "small_image"
    weak, s0, s1 = comatch_views(preset)
    encoders = {"cnn": DigitsCNN, "small-cnn": SmallDigitsCNN}
    enc = encoders.get(args.encoder, lambda: ImageMLP(64, 128))
    m = _trainer(CoMatch, enc, cfg, args, dev, weak, s0, s1)
    m.fit(x[lab], y[lab], x[~lab], y_unlabeled_true=y_true[~lab], resume=args.resume)
    acc = tuple(
        _accuracy(m.predict(x[~lab], ema=e), y_true[~lab]) for e in (True, False)
    )
    what = f"digits: {len(y)} images, {int(lab.sum())} labelled; scored on the {int((~lab).sum())} unlabelled"
    return m, acc, what


def run_nodes(
    args: argparse.Namespace, cfg: Any, dev: torch.device
) -> tuple[Any, tuple[float, ...], str]:
    """Cora or CiteSeer, public Planetoid split, scored on the test nodes."""
    from graphssl.comatch import CoMatch
    from graphssl.comatch.encoders import GCNEncoder, NodeMLPEncoder
    from graphssl.comatch.presets import comatch_views
    from graphssl.datasets import find_planetoid_root, load_planetoid

    root = args.root or find_planetoid_root()
    if root is None:
        raise SystemExit("error: no Planetoid data found; pass --root DIR")
    # raw 0/1 bag-of-words, the benchmark's input: row-normalised rows (entries
    # about 1/18) shrink the first layer's gradients so much that SGD at these
    # rates stays at chance level for the whole default run
    data = load_planetoid(root, args.dataset)
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


def run_npz(
    args: argparse.Namespace, cfg: Any, dev: torch.device
) -> tuple[Any, tuple[float, ...], str]:
    """Feature vectors from ``PATH.npz`` (``x``, ``y`` with -1, optional ``y_true``)."""
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
