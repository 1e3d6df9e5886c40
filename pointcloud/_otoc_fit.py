"""The round loop of :class:`~pointcloud.otoc.OneThingOneClick`, with checkpoints."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from graphssl._validation import param_error
from graphssl.metrics import mean_iou
from pointcloud._otoc_data import Prepared
from pointcloud._otoc_train import train_round

if TYPE_CHECKING:
    from pointcloud.otoc import OneThingOneClick

__all__ = [
    "OTOCRoundLog", "fit_rounds", "fit_supervised", "load_checkpoint", "run_rounds",
    "save_checkpoint",
]  # fmt: skip


@dataclass(frozen=True)
class OTOCRoundLog:
    """One round over the training scenes.

    ``coverage`` and ``point_coverage`` are the labelled shares of super-voxels and
    points after the round; ``precision`` the share of pseudo-labels (clicks excluded)
    equal to their super-voxel's majority ground truth, and ``miou`` the mIoU of the
    propagated prediction over all training points; both ``None`` without ground truth.
    """

    round: int
    n_pseudo: int
    coverage: float
    point_coverage: float
    precision: float | None
    miou: float | None
    loss: float
    seconds: float


def _fingerprint(data: list[Prepared], c: int) -> list[int]:
    """What a checkpoint must match: class count, then points and super-voxels per scene."""
    return [c] + [v for d in data for v in (d.scene.num_points, d.num_segments)]


def save_checkpoint(
    path: Path, model: OneThingOneClick, data: list[Prepared], r: int,
    labels: list[Tensor], gen: torch.Generator,
) -> None:  # fmt: skip
    """Write round ``r``'s state atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "round": r,
        "fingerprint": _fingerprint(data, model.num_classes_),
        "use_color": model.use_color_,
        "nets": {k: v.cpu() for k, v in model.nets_.state_dict().items()},
        "labels": [lab.cpu() for lab in labels],
        "history": [asdict(h) for h in model.history_],
        "generator": gen.get_state(),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(
    path: Path, model: OneThingOneClick, data: list[Prepared], gen: torch.Generator
) -> tuple[int, list[Tensor]] | None:
    """Restore a checkpoint into ``model`` and ``gen``; ``None`` when there is none."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, weights_only=True)
        fp = [int(v) for v in state["fingerprint"]]
    except Exception as err:  # unreadable or foreign file
        raise ValueError(
            f"Checkpoint {path} cannot be read ({err}); remove it."
        ) from err
    separate = any(k.startswith("relation_backbone.") for k in state["nets"])
    if (
        fp != _fingerprint(data, model.num_classes_)
        or bool(state["use_color"]) != model.use_color_
        or separate != (model.relation_backbone == "separate")
    ):
        raise ValueError(
            f"Checkpoint {path} belongs to other scenes, classes or settings; "
            "remove it or pass another checkpoint path."
        )
    dev = data[0].x.device
    model.nets_.load_state_dict(state["nets"])
    model.nets_.to(dev)
    model.history_ = [OTOCRoundLog(**h) for h in state["history"]]
    gen.set_state(state["generator"])
    return int(state["round"]), [lab.to(dev) for lab in state["labels"]]


def _pseudo_labels(
    model: OneThingOneClick, data: list[Prepared]
) -> tuple[list[Tensor], list[Tensor]]:
    """New super-voxel labels and point predictions of every training scene."""
    labels, preds = [], []
    for d in data:
        _, q, own = model._refine(d, d.clicked)
        conf, arg = q.max(1)
        if model.select == "unary":
            conf = own
        clicked = d.clicked >= 0
        new = torch.where(
            clicked, d.clicked, torch.where(conf >= model.threshold, arg, -1)
        )
        labels.append(new)
        preds.append(arg[d.segments])
    return labels, preds


def _log_round(
    model: OneThingOneClick, data: list[Prepared], r: int, labels: list[Tensor],
    preds: list[Tensor], loss: float, seconds: float,
) -> OTOCRoundLog:  # fmt: skip
    n_sv = sum(d.num_segments for d in data)
    n_pt = sum(d.scene.num_points for d in data)
    covered = sum(int((lab >= 0).sum()) for lab in labels)
    pts = sum(
        int((lab[d.segments] >= 0).sum()) for d, lab in zip(data, labels, strict=True)
    )
    pseudo = [(lab >= 0) & (d.clicked < 0) for d, lab in zip(data, labels, strict=True)]
    n_pseudo = sum(int(p.sum()) for p in pseudo)
    precision = miou = None
    truths = [d.sv_truth for d in data]
    if all(t is not None for t in truths):
        hit = sum(
            int((lab[p] == t[p]).sum())
            for t, lab, p in zip(truths, labels, pseudo, strict=True)
            if t is not None
        )
        precision = hit / n_pseudo if n_pseudo else None
        truth = torch.cat([d.scene.labels.cpu() for d in data])  # type: ignore[union-attr]
        miou = mean_iou(torch.cat([p.cpu() for p in preds]), truth, model.num_classes_)
    return OTOCRoundLog(
        r, n_pseudo, covered / n_sv, pts / n_pt, precision, miou, loss, seconds
    )


def _describe(h: OTOCRoundLog) -> str:
    prec = "n/a" if h.precision is None else f"{100 * h.precision:.1f} %"
    miou = "n/a" if h.miou is None else f"{100 * h.miou:.1f} %"
    return (
        f"round {h.round}: loss {h.loss:.3f}, {h.n_pseudo} pseudo-labels, coverage "
        f"{100 * h.coverage:.1f} % of super-voxels ({100 * h.point_coverage:.1f} % of "
        f"points), precision {prec}, train mIoU {miou}  [{h.seconds:.1f} s]"
    )


def _progress(bar: Any) -> Callable[[float], None]:
    def step(loss: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}")

    return step


def run_rounds(
    model: OneThingOneClick, data: list[Prepared], *, resume: bool,
    callback: Callable[[int, OneThingOneClick], None] | None,
) -> None:  # fmt: skip
    """Train, propagate and relabel for ``model.rounds`` rounds (see the module)."""
    from tqdm import tqdm

    gen = torch.Generator().manual_seed(model.seed)
    labels = [d.clicked.clone() for d in data]
    model.history_ = []
    start = 1
    if model.checkpoint is not None and resume:
        loaded = load_checkpoint(model.checkpoint, model, data, gen)
        if loaded is not None:
            start, labels = loaded[0] + 1, loaded[1]
            for h in model.history_:
                model._say(_describe(h) + " (from checkpoint)")
    for r in range(start, model.rounds + 1):
        t = time.perf_counter()
        epochs = model.epochs if r == 1 else model.epochs_next
        steps = epochs * sum(bool((lab >= 0).any()) for lab in labels)
        with tqdm(
            total=steps, desc=f"round {r}/{model.rounds}", disable=not model.progress
        ) as bar:
            lr = model.lr if r == 1 or model.lr_next is None else model.lr_next
            loss = train_round(
                model.nets_, data, labels, epochs=epochs, lr=lr,
                weight_decay=model.weight_decay, relation_weight=model.relation_weight,
                generator=gen, step=_progress(bar), cosine=model.cosine,
                class_weight_power=model.class_weight_power,
            )  # fmt: skip
        labels, preds = _pseudo_labels(model, data)
        h = _log_round(model, data, r, labels, preds, loss, time.perf_counter() - t)
        model.history_.append(h)
        model.labels_ = labels
        model._say(_describe(h))
        if model.checkpoint is not None:
            save_checkpoint(model.checkpoint, model, data, r, labels, gen)
        if callback is not None:
            callback(r, model)
    model.labels_ = labels


def fit_rounds(
    model: OneThingOneClick, scenes: Sequence[Any], clicks: Sequence[Any] | None, *,
    resume: bool, callback: Callable[[int, OneThingOneClick], None] | None,
) -> None:  # fmt: skip
    """Validate, build the networks and run the rounds (see
    :meth:`OneThingOneClick.fit`)."""
    from pointcloud.clicks import warn_missing_classes

    for attr in ("num_classes_", "use_color_"):
        model.__dict__.pop(attr, None)
    data = model._prepare(scenes, clicks, "OneThingOneClick.fit")
    if not any(bool((d.clicked >= 0).any()) for d in data):
        raise param_error(
            "clicks", "OneThingOneClick.fit", "at least one click", "none"
        )
    clicked = torch.cat([d.clicked[d.clicked >= 0].cpu() for d in data])
    warn_missing_classes(clicked, model.num_classes_)
    model.nets_ = model._networks(data[0].x.device)
    run_rounds(model, data, resume=resume, callback=callback)


def fit_supervised(model: OneThingOneClick, scenes: Sequence[Any]) -> None:
    """Train ``model``'s networks on every labelled point (see
    :meth:`OneThingOneClick.fit_supervised`)."""
    from pointcloud._otoc_data import as_scene

    owner = "OneThingOneClick.fit_supervised"
    sc = [as_scene(s, owner) for s in scenes]
    if not sc or any(s.labels is None for s in sc):
        allowed = "a non-empty sequence of labelled scenes"
        raise param_error("scenes", owner, allowed, len(sc))
    # every point its own super-voxel: the labels become point labels
    own = [replace(s, segments=torch.arange(s.num_points, device=s.device)) for s in sc]
    for attr in ("num_classes_", "use_color_"):
        model.__dict__.pop(attr, None)
    data = model._prepare(own, [s.labels for s in own], owner)
    model.nets_ = model._networks(data[0].x.device)
    gen = torch.Generator().manual_seed(model.seed)
    train_round(
        model.nets_, data, [d.clicked for d in data], lr=model.lr,
        epochs=model.epochs + (model.rounds - 1) * model.epochs_next,
        weight_decay=model.weight_decay, relation_weight=model.relation_weight,
        generator=gen, cosine=model.cosine,
        class_weight_power=model.class_weight_power,
    )  # fmt: skip
    model.history_, model.labels_ = [], [d.clicked for d in data]
