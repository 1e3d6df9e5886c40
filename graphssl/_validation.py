"""Input checks shared by every public entry point.

All errors use one message shape (scikit-learn's wording): the parameter in quotes, the
function or class that owns it, what is allowed, and what was received::

    The 'k' parameter of knn_graph must be an int in the range [1, 99]. Got 0 instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "check_edge_index",
    "check_finite",
    "check_float_tensor",
    "check_in",
    "check_int",
    "check_labels",
    "check_real",
    "check_same_device",
    "param_error",
]


def param_error(
    name: str, owner: str, allowed: str, got: object, cls: type[Exception] = ValueError
) -> Exception:
    """Build the project-wide parameter error."""
    return cls(
        f"The '{name}' parameter of {owner} must be {allowed}. Got {got!r} instead."
    )


def _describe(value: object) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {list(value.shape)} and dtype {value.dtype}"
    return repr(value)


def check_int(
    value: Any, name: str, owner: str, low: int | None = None, high: int | None = None
) -> int:
    """Return ``value`` as ``int`` when it is an integer in ``[low, high]``."""
    lo = "-inf" if low is None else str(low)
    hi = "inf" if high is None else str(high)
    allowed = f"an int in the range [{lo}, {hi}]"
    if isinstance(value, bool) or not isinstance(value, int | torch.SymInt):
        try:
            import numpy as np

            if not isinstance(value, np.integer):
                raise param_error(name, owner, allowed, value, TypeError)
        except ImportError:  # pragma: no cover - numpy is a hard dependency
            raise param_error(name, owner, allowed, value, TypeError) from None
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise param_error(name, owner, allowed, v)
    return v


def check_real(
    value: Any,
    name: str,
    owner: str,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> float:
    """Return ``value`` as ``float`` when it is a finite real number in the interval.

    ``closed`` is one of ``'both'``, ``'left'``, ``'right'``, ``'neither'``.
    """
    lb = "[" if closed in ("both", "left") else "("
    rb = "]" if closed in ("both", "right") else ")"
    allowed = (
        f"a real number in the range {lb}{'-inf' if low is None else low}, "
        f"{'inf' if high is None else high}{rb}"
    )
    if isinstance(value, bool | str | bytes) or not isinstance(value, int | float):
        # numpy / torch scalars convert; strings must not ("1" is not a number here)
        if isinstance(value, bool | str | bytes):
            raise param_error(name, owner, allowed, value, TypeError)
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise param_error(name, owner, allowed, value, TypeError) from None
    else:
        v = float(value)
    if not math.isfinite(v):
        raise param_error(name, owner, allowed, v)
    if low is not None and (v < low or (v == low and closed in ("right", "neither"))):
        raise param_error(name, owner, allowed, v)
    if high is not None and (v > high or (v == high and closed in ("left", "neither"))):
        raise param_error(name, owner, allowed, v)
    return v


def check_in(value: Any, name: str, owner: str, options: Sequence[str]) -> str:
    """Return ``value`` when it is one of the string ``options``."""
    allowed = "one of " + ", ".join(repr(o) for o in options)
    if not isinstance(value, str) or value not in options:
        raise param_error(name, owner, allowed, value)
    return value


def check_float_tensor(
    x: Any, name: str, owner: str, ndim: int | None = None, allow_empty: bool = False
) -> Tensor:
    """Check a floating-point feature tensor and return it (float16 is upcast).

    Integer inputs are rejected rather than cast silently: distances between integer
    codes are rarely what the user meant, and ``torch.cdist`` refuses them anyway.
    float16/bfloat16 are upcast to float32 because squared distances overflow in half
    precision (65504 is reached by coordinates of ~256).
    """
    if not isinstance(x, Tensor):
        raise param_error(name, owner, "a torch.Tensor", type(x).__name__, TypeError)
    if not x.is_floating_point():
        raise param_error(
            name,
            owner,
            "a floating-point tensor (float32 or float64)",
            x.dtype,
            TypeError,
        )
    if ndim is not None and x.dim() != ndim:
        raise param_error(name, owner, f"a {ndim}-D tensor", _describe(x))
    if not allow_empty and x.numel() == 0:
        raise param_error(name, owner, "a non-empty tensor", _describe(x))
    t: Tensor = x
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t


def check_finite(x: Tensor, name: str, owner: str) -> Tensor:
    """Raise when ``x`` holds NaN or infinity."""
    if x.numel() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise param_error(
            name,
            owner,
            "finite (no NaN or inf)",
            f"a tensor with {bad} non-finite values",
        )
    return x


def check_edge_index(
    edge_index: Any, name: str, owner: str, num_nodes: int | None = None
) -> Tensor:
    """Check an integer ``edge_index [2, E]``; with ``num_nodes``, also that every
    index lies in ``[0, num_nodes)``."""
    ok = (
        isinstance(edge_index, Tensor)
        and edge_index.dim() == 2
        and edge_index.shape[0] == 2
        and not edge_index.is_floating_point()
    )
    if not ok:
        raise param_error(
            name, owner, "an integer [2, E] tensor", _describe(edge_index)
        )
    ei: Tensor = edge_index
    if num_nodes is not None and ei.numel():
        lo, hi = int(ei.min()), int(ei.max())
        if lo < 0 or hi >= num_nodes:
            allowed = f"node indices in [0, {num_nodes})"
            raise param_error(name, owner, allowed, f"[{lo}, {hi}]")
    return ei


def check_same_device(owner: str, **tensors: Tensor | None) -> torch.device:
    """Return the common device of ``tensors`` or raise naming the mismatch."""
    devices = {n: t.device for n, t in tensors.items() if t is not None}
    if len(set(devices.values())) > 1:
        got = ", ".join(f"{n} on {d}" for n, d in devices.items())
        raise ValueError(
            f"All tensors passed to {owner} must be on one device. Got {got}."
        )
    return next(iter(devices.values())) if devices else torch.device("cpu")


def check_labels(
    y: Any,
    name: str,
    owner: str,
    num_nodes: int,
    num_classes: int | None = None,
) -> tuple[Tensor, int]:
    """Check ``y [N]`` with ``-1`` for unlabelled and ``0..C-1`` for classes.

    Returns the labels as int64 and the number of classes ``C`` (inferred as
    ``max(y) + 1`` when not given).

    Raises:
        TypeError: when ``y`` is not an integer tensor.
        ValueError: for a wrong length, values outside ``{-1, 0..C-1}``, no labelled
            node, or fewer than two classes among the labelled nodes.
    """
    if not isinstance(y, Tensor):
        raise param_error(name, owner, "a torch.Tensor", type(y).__name__, TypeError)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise param_error(
            name, owner, "an integer tensor (-1 for unlabelled)", y.dtype, TypeError
        )
    if y.dim() != 1 or y.numel() != num_nodes:
        raise param_error(
            name, owner, f"a 1-D tensor of length {num_nodes}", _describe(y)
        )
    y = y.long()
    labelled = y >= 0
    if not bool(labelled.any()):
        raise param_error(
            name, owner, "a tensor with at least one labelled entry", "all -1"
        )
    bad = (y < -1) | (y >= num_classes if num_classes is not None else y < -1)
    if bool(bad.any()):
        hi = "C-1" if num_classes is None else str(num_classes - 1)
        vals = torch.unique(y[bad])[:5].tolist()
        raise param_error(name, owner, f"-1 (unlabelled) or a class in 0..{hi}", vals)
    c = int(y.max()) + 1 if num_classes is None else num_classes
    n_present = int(torch.unique(y[labelled]).numel())
    if n_present < 2:
        raise param_error(
            name,
            owner,
            "labels of at least 2 classes among the labelled entries",
            f"1 class (class {int(y[labelled][0])})",
        )
    return y, c
