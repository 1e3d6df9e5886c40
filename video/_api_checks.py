"""Argument checks shared by ``train_rskp``, ``predict`` and ``evaluate`` (one format)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from graphssl._validation import param_error

if TYPE_CHECKING:
    from video.model import RSKPModel

__all__ = ["check_device", "check_model", "check_model_data"]


def check_device(
    device: torch.device | str | None, owner: str, default: torch.device
) -> torch.device:
    """``device`` as a ``torch.device`` that exists here (``None``: ``default``)."""
    if device is None:
        return default
    if not isinstance(device, str | torch.device):
        raise param_error(
            "device", owner, "a torch.device, a string or None",
            type(device).__name__, TypeError,
        )  # fmt: skip
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise param_error(
            "device", owner, "a torch device such as 'cpu', 'cuda' or 'cuda:1'", device
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise param_error(
            "device", owner, "a device of this machine (CUDA is not available)", device
        )
    return dev


def check_model(model: object, owner: str) -> RSKPModel:
    """``model`` must be an :class:`~video.model.RSKPModel` (not a checkpoint path)."""
    from video.model import RSKPModel

    if not isinstance(model, RSKPModel):
        hint = (
            " (load a checkpoint with video.load_model(path))"
            if isinstance(model, str | Path)
            else ""
        )
        raise param_error(
            "model", owner, f"an RSKPModel{hint}", type(model).__name__, TypeError
        )
    return model


def check_model_data(
    model: RSKPModel, dataset: object, owner: str, *, classes: bool = True
) -> tuple[list[Tensor], Tensor]:
    """Features (in the model's dtype) and labels of a dataset that fits ``model``.

    Raises for a dataset without videos, of another feature size or (with
    ``classes``) another number of classes, or with a video of fewer than 2 snippets
    or non-finite features: checked once here instead of in every forward pass.
    """
    feats: Any = getattr(dataset, "features", None)
    labels: Any = getattr(dataset, "labels", None)
    if not isinstance(feats, list | tuple) or not isinstance(labels, Tensor):
        raise param_error(
            "dataset", owner, "a VideoDataset", type(dataset).__name__, TypeError
        )
    if len(feats) == 0:
        raise param_error("dataset", owner, "a non-empty VideoDataset", "0 videos")
    if classes and (labels.dim() != 2 or labels.shape[1] != model.num_classes):
        raise param_error(
            "dataset", owner, f"a dataset with {model.num_classes} classes (the model's)",
            f"labels of shape {list(labels.shape)}",
        )  # fmt: skip
    dtype = model.mu0.dtype
    out = []
    for i, f in enumerate(feats):
        if not isinstance(f, Tensor) or not f.is_floating_point() or f.dim() != 2:
            got = f"video {i}: {type(f).__name__} {getattr(f, 'dtype', '')}"
            raise param_error(
                "dataset", owner, "videos of [T, D] float features", got, TypeError
            )
        if f.shape[1] != model.in_dim:
            raise param_error(
                "dataset", owner, f"features of size {model.in_dim} (the model's in_dim)",
                f"size {f.shape[1]} in video {i}",
            )  # fmt: skip
        if f.shape[0] < 2 or not bool(torch.isfinite(f).all()):
            raise param_error(
                "dataset", owner, "videos of at least 2 snippets with finite features",
                f"video {i} of shape {list(f.shape)}",
            )  # fmt: skip
        out.append(f.to(dtype))
    return out, labels
