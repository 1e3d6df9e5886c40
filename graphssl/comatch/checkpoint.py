"""Atomic save and checked load of CoMatch training state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = [
    "TrainingParts",
    "load_state",
    "restore_training",
    "save_state",
    "save_training",
]

_FORMAT = "graphssl.comatch/1"


def save_state(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` through a temporary file and an atomic rename, so a
    crash never leaves half a checkpoint behind."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, p)


def load_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_state` (tensors loaded on the CPU).

    Raises:
        ValueError: naming the file when it is not a CoMatch checkpoint.
    """
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch errors all mean "corrupt"
        raise ValueError(
            f"Cannot read the CoMatch checkpoint {str(path)!r}: {err}"
        ) from err
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(
            f"{str(path)!r} is not a CoMatch checkpoint (no 'format' key)."
        )
    return state


@dataclass
class TrainingParts:
    """Everything a CoMatch run updates: saved and restored together."""

    net: nn.Module
    ema: nn.Module
    criterion: nn.Module
    optimizer: Any
    scheduler: Any
    generator: torch.Generator
    momentum: nn.Module | None = None  # the ImageNet variant's momentum encoder


def save_training(
    path: str | os.PathLike[str],
    parts: TrainingParts,
    *,
    config: dict[str, Any],
    seed: int,
    n_classes: int,
    step: int,
    history: dict[str, list[float]],
    device: torch.device,
) -> None:
    """Checkpoint ``parts`` after ``step`` steps, with both RNG states (CPU, CUDA)."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    extra = {} if parts.momentum is None else {"momentum": parts.momentum.state_dict()}
    save_state(path, extra | {
        "format": _FORMAT, "step": step, "config": config, "seed": seed,
        "n_classes": n_classes, "history": history,
        "model": parts.net.state_dict(), "ema": parts.ema.state_dict(),
        "criterion": parts.criterion.state_dict(),
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
        "generator": parts.generator.get_state(), "rng": torch.get_rng_state(),
        "cuda_rng": cuda,
    })  # fmt: skip


def restore_training(
    path: str | os.PathLike[str],
    parts: TrainingParts,
    *,
    config: dict[str, Any],
    seed: int,
    n_classes: int,
) -> dict[str, Any]:
    """Load ``path`` into ``parts``; return ``step``, ``hist``, ``rng``, ``cuda_rng``.

    Raises:
        ValueError: naming the file when it is unreadable or was written with another
            configuration, seed or class count.
    """
    st = load_state(path)
    if st["config"] != config or st["seed"] != seed or st["n_classes"] != n_classes:
        raise ValueError(
            f"The checkpoint {str(path)!r} was written with another configuration, "
            "seed or class count; resume with the same settings or a new file."
        )
    parts.net.load_state_dict(st["model"])
    parts.ema.load_state_dict(st["ema"])
    parts.criterion.load_state_dict(st["criterion"])
    parts.optimizer.load_state_dict(st["optimizer"])
    parts.scheduler.load_state_dict(st["scheduler"])
    parts.generator.set_state(st["generator"])
    if parts.momentum is not None:  # the config check above guarantees the entry
        parts.momentum.load_state_dict(st["momentum"])
    keys = ("step", "history", "rng", "cuda_rng")
    return dict(
        zip(("step", "hist", "rng", "cuda_rng"), (st[k] for k in keys), strict=True)
    )
