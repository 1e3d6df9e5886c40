r"""All-gather helpers for multi-process (DDP) CoMatch training.

CoMatch pushes the weak-view embeddings and class probabilities of the *global* batch
into its memory bank, and the pseudo-label and embedding graphs of the ImageNet variant
span the global batch too. Both need the rows of every process, concatenated in rank
order:

* :func:`gather_nograd` for quantities that carry no gradient (memory-bank updates,
  pseudo-label targets);
* :func:`gather_with_grad` for embeddings that a loss differentiates through.

Outside ``torch.distributed`` (not compiled in, or no process group initialised) both
are the identity, so single-process code calls them unconditionally.

Gradient convention of :func:`gather_with_grad`: the gradient that reaches rank
:math:`r`'s input is the **sum over all ranks** of the gradient of their losses with
respect to rank :math:`r`'s slice, i.e. the gradient of :math:`\sum_s \mathcal{L}_s`.
DDP then averages parameter gradients over the :math:`W` ranks, which gives the gradient
of :math:`\frac{1}{W}\sum_s \mathcal{L}_s`: exactly the single-process gradient on the
global batch when every rank's loss is a mean over its (equally sized) local rows.

Unequal first dimensions are supported: each call first all-gathers a small metadata
vector (number of dimensions, shape, dtype code), pads every tensor to the largest
first dimension, gathers, and trims. The metadata check also turns a mismatch of
trailing dimensions or dtype between ranks into the same :class:`ValueError` on every
rank instead of a hang inside the collective. (A non-tensor or 0-D argument is rejected
locally, before any communication; the other ranks then wait for the process group's
timeout, as with any collective one rank skips.)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from graphssl._validation import param_error

__all__ = ["gather_nograd", "gather_with_grad", "world"]

# Metadata is sent as a fixed-length vector so that one collective suffices.
_MAX_DIMS = 8
_DTYPES = (
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.int32,
    torch.int16,
    torch.int8,
    torch.uint8,
    torch.bool,
)


def world() -> tuple[int, int]:
    """Return ``(rank, world_size)`` of the default process group.

    Returns:
        ``(0, 1)`` when ``torch.distributed`` is unavailable or not initialised.
    """
    if not dist.is_available() or not dist.is_initialized():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def _check_tensor(t: Any, owner: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise param_error("t", owner, "a torch.Tensor", type(t).__name__, TypeError)
    if t.dim() < 1 or t.dim() > _MAX_DIMS:
        raise param_error(
            "t",
            owner,
            f"a tensor with 1 to {_MAX_DIMS} dimensions",
            f"a tensor of shape {list(t.shape)}",
        )
    return t


def _gather_sizes(t: Tensor, world_size: int, owner: str) -> list[int]:
    """All-gather ``t``'s metadata; return every rank's first dimension."""
    code = _DTYPES.index(t.dtype) if t.dtype in _DTYPES else len(_DTYPES)
    meta = torch.full((2 + _MAX_DIMS,), -1, dtype=torch.long, device=t.device)
    meta[0] = t.dim()
    meta[1] = code
    meta[2 : 2 + t.dim()] = torch.tensor(t.shape, dtype=torch.long)
    metas = [torch.empty_like(meta) for _ in range(world_size)]
    dist.all_gather(metas, meta)
    rows = torch.stack(metas).cpu()
    # Everything but the first dimension must agree; all ranks see the same rows and
    # therefore raise together.
    if not bool((rows[:, :2] == rows[0, :2]).all()) or not bool(
        (rows[:, 3:] == rows[0, 3:]).all()
    ):
        shapes = [(r[2 : 2 + int(r[0])].tolist(), _dtype_name(int(r[1]))) for r in rows]
        raise param_error(
            "t",
            owner,
            "tensors of one dtype and equal trailing dimensions on every rank",
            f"(shape, dtype) per rank {shapes}",
        )
    return [int(n) for n in rows[:, 2]]


def _dtype_name(code: int) -> str:
    return str(_DTYPES[code]) if code < len(_DTYPES) else "other"


def _all_gather(t: Tensor, sizes: list[int]) -> Tensor:
    """Concatenate every rank's ``t`` (first dimensions ``sizes``) in rank order."""
    n_max = max(sizes)
    t = t.contiguous()
    if t.shape[0] < n_max:
        pad = t.new_zeros((n_max - t.shape[0], *t.shape[1:]))
        t = torch.cat([t, pad])
    parts = [torch.empty_like(t) for _ in sizes]
    dist.all_gather(parts, t)
    return torch.cat([p[:n] for p, n in zip(parts, sizes, strict=True)])


def gather_nograd(t: Tensor) -> Tensor:
    """Concatenate ``t`` over all ranks along dim 0, in rank order, without gradient.

    Args:
        t (Tensor): ``[n_r, *]`` on rank ``r``; the first dimension may differ between
            ranks, the others and the dtype must agree.

    Returns:
        Tensor: ``[sum_r n_r, *]``, detached. With one process it is ``t.detach()``
        (detached too, so that single- and multi-process runs see the same graph).

    Raises:
        TypeError: when ``t`` is not a tensor.
        ValueError: for a 0-D tensor, more than 8 dimensions, or trailing dimensions or
            dtypes that differ between ranks.
    """
    t = _check_tensor(t, "gather_nograd")
    _, world_size = world()
    if world_size == 1:
        return t.detach()
    with torch.no_grad():
        sizes = _gather_sizes(t, world_size, "gather_nograd")
        return _all_gather(t.detach(), sizes)


class _GatherWithGrad(torch.autograd.Function):
    """All-gather whose backward sums the gradient of each slice over ranks."""

    @staticmethod
    def forward(ctx: Any, t: Tensor, sizes: list[int], rank: int) -> Tensor:
        ctx.sizes = sizes
        ctx.rank = rank
        return _all_gather(t, sizes)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        # Every rank's loss may depend on every slice: sum the incoming gradients over
        # ranks, then keep this rank's rows. (gloo has no reduce_scatter; all_reduce is
        # portable and the gathered tensor is small — a batch of embeddings.)
        total = grad.contiguous().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[: ctx.rank])
        return total[start : start + ctx.sizes[ctx.rank]], None, None


def gather_with_grad(t: Tensor) -> Tensor:
    r"""Concatenate ``t`` over all ranks along dim 0, with gradients flowing back.

    The gradient reaching rank :math:`r`'s ``t`` is the sum over ranks of the gradients
    with respect to rank :math:`r`'s slice (see the module docstring for why this makes
    DDP match single-process training on the global batch).

    Args:
        t (Tensor): ``[n_r, *]`` floating point; first dimensions may differ between
            ranks, the others and the dtype must agree.

    Returns:
        Tensor: ``[sum_r n_r, *]``; ``t`` itself with one process.

    Raises:
        TypeError: when ``t`` is not a floating-point tensor.
        ValueError: as :func:`gather_nograd`.
    """
    t = _check_tensor(t, "gather_with_grad")
    if not t.is_floating_point():
        raise param_error(
            "t", "gather_with_grad", "a floating-point tensor", t.dtype, TypeError
        )
    rank, world_size = world()
    if world_size == 1:
        return t
    with torch.no_grad():
        sizes = _gather_sizes(t, world_size, "gather_with_grad")
    out: Tensor = _GatherWithGrad.apply(t, sizes, rank)  # type: ignore[no-untyped-call]
    return out
