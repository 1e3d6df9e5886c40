"""Input check shared by the CoMatch encoders (private)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from graphssl._validation import check_float_tensor, param_error


def _check_input(x: Any, owner: str, shape: Sequence[int | str]) -> Tensor:
    """``x`` must be floating point with ``len(shape)`` dims; int entries are fixed,
    str entries are free sizes named in the error message."""
    t = check_float_tensor(x, "x", owner)
    if t.dim() != len(shape) or any(
        isinstance(s, int) and d != s for d, s in zip(t.shape, shape, strict=True)
    ):
        want = "[" + ", ".join(str(s) for s in shape) + "]"
        raise param_error("x", owner, f"a {want} tensor", list(t.shape))
    return t
