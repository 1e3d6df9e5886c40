"""Checkpoints of RSKP training: model (memory included), optimizer, RNG, history."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer

__all__ = ["load_checkpoint", "load_model", "save_checkpoint"]


def save_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: Optimizer,
    epoch: int,
    history: list[dict[str, float]],
    config: dict[str, Any],
) -> None:
    """Write atomically (a crash mid-write leaves the previous checkpoint intact)."""
    state = {
        "format": "graphssl-rskp-1",
        "model": model.state_dict(),
        "hparams": dict(getattr(model, "hparams", {})),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "history": history,
        "config": config,
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"RSKP checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # corrupt or foreign file: say which one
        raise ValueError(f"Cannot read RSKP checkpoint {path}: {err}") from err
    if not isinstance(state, dict) or state.get("format") != "graphssl-rskp-1":
        raise ValueError(f"{path} is not an RSKP checkpoint written by graphssl")
    return state


def load_model(path: Path | str, device: torch.device | str = "cpu") -> nn.Module:
    """Rebuild the :class:`~video.model.RSKPModel` of a checkpoint, in eval mode."""
    from video.model import RSKPModel

    state = load_checkpoint(path)
    hp = dict(state["hparams"])
    model = RSKPModel(int(hp.pop("in_dim")), int(hp.pop("num_classes")), **hp)
    model.load_state_dict(state["model"])
    return model.to(device).eval()
