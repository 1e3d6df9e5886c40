"""Set-up of :class:`~pointcloud.otoc.OneThingOneClick`: scenes, networks, model files."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from graphssl._validation import check_real, param_error
from pointcloud._otoc_data import (
    ClicksLike,
    Prepared,
    as_scene,
    prepare_scene,
    split_clicks,
)
from pointcloud._otoc_train import Networks
from pointcloud.backbone import PointVoxelNet
from pointcloud.relation import PrototypeRelation

if TYPE_CHECKING:
    from pointcloud.otoc import OneThingOneClick

__all__ = ["build_networks", "load_model", "prepare_all", "save_model"]

#: Constructor arguments a saved model keeps (not device, checkpoint, log, progress).
SAVED = (
    "num_classes", "rounds", "epochs", "epochs_next", "lr", "lr_next", "cosine",
    "class_weight_power", "weight_decay", "hidden",
    "feature_dim", "levels", "voxel_sizes", "k", "relation_weight", "momentum",
    "temperature", "threshold", "select", "mf_steps", "mf_weight", "use_color",
    "supervoxel_kwargs", "seed", "relation_backbone", "predict_supervoxel_kwargs",
)  # fmt: skip


def positive(value: float, name: str) -> float:
    """A real ``> 0`` parameter of :class:`~pointcloud.otoc.OneThingOneClick`."""
    return check_real(value, name, "OneThingOneClick", 0.0, None, "neither")


def nonneg(value: float, name: str) -> float:
    """A real ``>= 0`` parameter of :class:`~pointcloud.otoc.OneThingOneClick`."""
    return check_real(value, name, "OneThingOneClick", low=0.0)


def kwargs_or_none(value: Any, name: str) -> dict[str, Any] | None:
    """A copy of a dict parameter, or ``None``."""
    if value is None or isinstance(value, dict):
        return None if value is None else dict(value)
    raise param_error(name, "OneThingOneClick", "a dict or None", value, TypeError)


def _infer_classes(
    model: OneThingOneClick, scenes: list[Any], clicks: Sequence[ClicksLike]
) -> int:
    if model.num_classes is not None:
        return model.num_classes
    names = max((s.num_classes for s in scenes), default=0)
    if names:  # named classes: a click beyond them is an unknown class
        return int(names)
    top = -1
    for s, ck in zip(scenes, clicks, strict=True):
        if isinstance(ck, Tensor):
            top = max(top, int(ck.max()) if ck.numel() else -1)
        elif isinstance(ck, tuple):
            top = max(top, int(ck[1].max()) if ck[1].numel() else -1)
        elif s.labels is not None:
            top = max(top, int(s.labels.max()))
    return max(top + 1, 1)


def prepare_all(
    model: OneThingOneClick,
    scenes: Sequence[Any],
    clicks: Sequence[ClicksLike] | None,
    owner: str,
    vccs: dict[str, Any] | None = None,
) -> list[Prepared]:
    """Validate scenes and clicks; fix ``num_classes_``/``use_color_`` on first use.
    ``vccs`` overrides ``model.supervoxel_kwargs``."""
    from tqdm import tqdm

    if isinstance(scenes, str | bytes) or len(scenes) == 0:
        raise param_error("scenes", owner, "a non-empty sequence of scenes", scenes)
    sc = [as_scene(s, owner) for s in scenes]
    if clicks is not None and len(clicks) != len(sc):
        raise param_error(
            "clicks", owner, f"one entry per scene ({len(sc)})", len(clicks)
        )
    cl: Sequence[ClicksLike] = clicks if clicks is not None else [None] * len(sc)
    dev = torch.device(model.device) if model.device is not None else sc[0].device
    sc = [s.to(dev) for s in sc]
    if not hasattr(model, "num_classes_"):
        model.num_classes_ = _infer_classes(model, sc, cl)
        model.use_color_ = model.use_color and all(s.colors is not None for s in sc)
        if model.use_color and not model.use_color_:
            msg = "some scenes have no colours; the network uses geometry only"
            warnings.warn(msg, UserWarning, stacklevel=4)
    c = model.num_classes_
    out = []
    pairs = list(zip(sc, cl, strict=True))
    for i, (s, ck) in enumerate(
        tqdm(pairs, desc="super-voxels", disable=not model.progress)
    ):
        idx, cls = split_clicks(ck, s, c, model.seed + i, owner)
        out.append(prepare_scene(
            s, idx, cls, num_classes=c, use_color=model.use_color_,
            voxel_sizes=model.voxel_sizes, k=model.k,
            vccs=model.supervoxel_kwargs if vccs is None else vccs,
        ))  # fmt: skip
    return out


def build_networks(model: OneThingOneClick, device: torch.device) -> Networks:
    """Backbone and relation head, initialised from ``model.seed`` alone."""
    in_ch = 5 + 3 * int(model.use_color_)
    with torch.random.fork_rng(devices=[]):  # leave the caller's random state alone
        torch.manual_seed(model.seed)
        bb = PointVoxelNet(
            in_ch, model.num_classes_, hidden=model.hidden,
            feature_dim=model.feature_dim, levels=model.levels,
        )  # fmt: skip
        rel = PrototypeRelation(
            model.feature_dim, model.num_classes_, momentum=model.momentum,
            temperature=model.temperature,
        )  # fmt: skip
        # built last so that the shared layout's initial weights stay as they were
        rb = None
        if model.relation_backbone == "separate":
            rb = PointVoxelNet(
                in_ch, model.num_classes_, hidden=model.hidden,
                feature_dim=model.feature_dim, levels=model.levels,
            )  # fmt: skip
    return Networks(bb, rel, rb).to(device)


def save_model(model: OneThingOneClick, path: str | os.PathLike[str]) -> None:
    """Write hyper-parameters, fitted attributes and network state to ``path``."""
    params = {k: getattr(model, k) for k in SAVED}
    params["voxel_sizes"] = list(model.voxel_sizes)
    state = {
        "params": params,
        "num_classes_": model.num_classes_,
        "use_color_": model.use_color_,
        "nets": {k: v.cpu() for k, v in model.nets_.state_dict().items()},
        "history": [asdict(h) for h in model.history_],
    }
    torch.save(state, path)


def load_model(
    model: OneThingOneClick,
    path: str | os.PathLike[str],
    device: str | torch.device | None,
) -> None:
    """Fill ``model`` (a default instance) from a file written by :func:`save_model`."""
    from pointcloud._otoc_fit import OTOCRoundLog

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.__init__(**state["params"], device=device)  # type: ignore[misc]
        model.num_classes_ = int(state["num_classes_"])
        model.use_color_ = bool(state["use_color_"])
        model.nets_ = build_networks(model, torch.device(device or "cpu"))
        model.nets_.load_state_dict(state["nets"])
        model.history_ = [OTOCRoundLog(**h) for h in state["history"]]
    except Exception as err:  # unpickling, missing keys, shape mismatches
        raise ValueError(
            f"Cannot read a OneThingOneClick model from {os.fspath(path)!r}: {err}"
        ) from err
