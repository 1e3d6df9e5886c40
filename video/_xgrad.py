r"""One merged backward product for the many thin products with the snippet features.

The fused RSKP pass (:mod:`video._fused`) multiplies the embedded features
:math:`x` ``[B, T, D]`` by about ten thin factors (8–24 rows each). Plain autograd
gives each product its own ``[B, T, D]`` gradient and adds them up: ten products
with a short inner dimension and a large output plus nine additions, each a pass
over ``[B, T, D]`` memory (about 1 MB in the benchmark's batches, more than a core's
L2 cache). All of them have the form

.. math::
    \frac{\partial \ell}{\partial x} \mathrel{+}= L_i^\top R_i, \qquad
    L_i \in \mathbb R^{B \times k_i \times T},\ R_i \in \mathbb R^{B \times k_i \times D}

(for :math:`P = L x`: :math:`L_i = L`, :math:`R_i = \partial\ell/\partial P`; for
:math:`P = R x^\top`: :math:`L_i = \partial\ell/\partial P`, :math:`R_i = R`), so
their sum is **one** product :math:`[L_1; L_2; \dots]^\top [R_1; R_2; \dots]` with
inner dimension :math:`\sum_i k_i`.

:func:`tap` puts a node on :math:`x` whose backward runs after every product's
backward (autograd's dependency order); the products (:func:`left_product`,
:func:`right_product`) leave :math:`x`'s gradient to it and record their
:math:`(L_i, R_i)` pair instead. The tap also returns the row norms
:math:`\lVert x_t\rVert` and adds their gradient :math:`x_t\,g_t/\lVert x_t\rVert`
in the same pass. Any other use of the tapped tensor keeps its ordinary gradient,
which the tap adds too. The result equals autograd's (``tests/video/test_xgrad.py``);
double backward is refused. What it saves is measured in BENCHMARKS.md (RSKP).
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

__all__ = ["XTape", "left_product", "right_product", "tap"]


class XTape:
    """The ``(L_i, R_i)`` pairs of one forward pass, one slot per product.

    A slot is overwritten (not appended) by its product's backward and the tap
    empties all slots after use, so ``retain_graph`` reruns and partial backward
    passes never see stale pairs.
    """

    def __init__(self) -> None:
        self.pairs: list[tuple[Tensor, Tensor] | None] = []
        self.source: weakref.ref[Tensor] | None = None  # weak: no reference cycle

    def slot(self) -> int:
        self.pairs.append(None)
        return len(self.pairs) - 1


class _Tap(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, tape: XTape) -> tuple[Tensor, Tensor]:
        norm = torch.linalg.vector_norm(x, dim=-1)
        ctx.save_for_backward(x, norm)
        ctx.tape = tape
        ctx.set_materialize_grads(False)
        return x.view_as(x), norm

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad: Tensor | None, grad_norm: Tensor | None
    ) -> tuple[Tensor | None, None]:
        x, norm = ctx.saved_tensors
        tape: XTape = ctx.tape
        pairs = [p for p in tape.pairs if p is not None]
        tape.pairs = [None] * len(tape.pairs)
        if grad_norm is not None:
            # d‖x_t‖/dx_t = x_t / ‖x_t‖, and 0 on zero (padded) rows
            scale = torch.where(norm > 0, grad_norm / norm.clamp_min(1e-30), 0.0)
            g_norm = x * scale[..., None]
            grad = g_norm if grad is None else grad + g_norm
        if pairs:
            left = torch.cat([p[0] for p in pairs], dim=1)  # [B, Σk, T]
            right = torch.cat([p[1] for p in pairs], dim=1)  # [B, Σk, D]
            if grad is None:
                grad = torch.bmm(left.transpose(1, 2), right)
            else:
                grad = torch.baddbmm(grad, left.transpose(1, 2), right)
        return grad, None


class _Left(torch.autograd.Function):
    """:math:`P = L\\,x` ``[B, k, T] × [B, T, D] → [B, k, D]``."""

    @staticmethod
    def forward(ctx: Any, left: Tensor, x: Tensor, tape: XTape, slot: int) -> Tensor:
        ctx.save_for_backward(left, x)
        ctx.tape, ctx.slot = tape, slot
        return torch.bmm(left, x)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None, None]:
        left, x = ctx.saved_tensors
        ctx.tape.pairs[ctx.slot] = (left, grad)
        g_left = torch.bmm(grad, x.transpose(1, 2)) if ctx.needs_input_grad[0] else None
        return g_left, None, None, None


class _Right(torch.autograd.Function):
    """:math:`P = R\\,x^\\top` ``[B, k, D] × [B, D, T] → [B, k, T]`` (``R`` may be
    a shared ``[k, D]``)."""

    @staticmethod
    def forward(ctx: Any, right: Tensor, x: Tensor, tape: XTape, slot: int) -> Tensor:
        ctx.save_for_backward(right, x)
        ctx.tape, ctx.slot = tape, slot
        if right.dim() == 2:
            # a batched product of the expanded factor: faster on CPU than matmul's
            # folding into one [B·T, D] × [D, k] product with a thin output
            right = right.expand(x.shape[0], *right.shape)
        return torch.bmm(right, x.transpose(1, 2))

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None, None]:
        right, x = ctx.saved_tensors
        shared = right.dim() == 2
        r = right.expand(x.shape[0], *right.shape) if shared else right
        ctx.tape.pairs[ctx.slot] = (grad, r)
        if not ctx.needs_input_grad[0]:
            return None, None, None, None
        g_right = torch.bmm(grad, x)
        return (g_right.sum(0) if shared else g_right), None, None, None


def tap(x: Tensor, tape: XTape) -> tuple[Tensor, Tensor]:
    """``(x, norm)``: a view of ``x`` whose gradient sums the recorded pairs in one
    product, and its row norms ``[B, T]`` (their gradient is added there too)."""
    if not torch.is_grad_enabled() or not x.requires_grad:
        return x, torch.linalg.vector_norm(x, dim=-1)
    out, norm = _Tap.apply(x, tape)  # type: ignore[no-untyped-call]
    tape.source = weakref.ref(out)
    return out, norm


def left_product(left: Tensor, x: Tensor, tape: XTape) -> Tensor:
    """``bmm(left, x)``; ``x`` must come from :func:`tap` with the same ``tape``."""
    if tape.source is None or x is not tape.source():
        return torch.bmm(left, x)
    out: Tensor = _Left.apply(left, x, tape, tape.slot())  # type: ignore[no-untyped-call]
    return out


def right_product(right: Tensor, x: Tensor, tape: XTape) -> Tensor:
    """``matmul(right, x.mT)``; ``x`` from :func:`tap` with the same ``tape``."""
    if tape.source is None or x is not tape.source():
        return torch.matmul(right, x.transpose(1, 2))
    out: Tensor = _Right.apply(right, x, tape, tape.slot())  # type: ignore[no-untyped-call]
    return out
