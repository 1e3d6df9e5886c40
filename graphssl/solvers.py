r"""Linear solvers for propagation, all with several right-hand sides at once.

Every solver works on ``b [N, C]`` (one column per class) and stops on a scale-free
criterion, the relative residual :math:`\max_c \lVert b_c - A x_c\rVert /
\lVert b_c \rVert`, so the same ``tol`` means the same thing for 10 or 10⁷ nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["SolveResult", "conjugate_gradient", "fixed_point"]

MatVec = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class SolveResult:
    """Solution ``x [N, C]`` with the iterations used and final relative residual."""

    x: Tensor
    n_iter: int
    residual: float
    converged: bool


def _col_norm(t: Tensor) -> Tensor:
    out: Tensor = torch.linalg.vector_norm(t, dim=0)
    return out


def _rel(r_norm: Tensor, b_norm: Tensor) -> float:
    # Columns with b = 0 have the exact solution x = 0 and count as converged.
    safe = torch.where(b_norm > 0, b_norm, torch.ones_like(b_norm))
    rel = torch.where(b_norm > 0, r_norm / safe, torch.zeros_like(r_norm))
    return float(rel.max()) if rel.numel() else 0.0


def conjugate_gradient(
    matvec: MatVec,
    b: Tensor,
    *,
    x0: Tensor | None = None,
    precond: Tensor | None = None,
    tol: float = 1e-6,
    max_iter: int = 1000,
) -> SolveResult:
    r"""Preconditioned conjugate gradient for symmetric positive (semi-)definite ``A``.

    Solves :math:`A x_c = b_c` for every column :math:`c` of ``b [N, C]`` in one
    batched loop: each column has its own step sizes :math:`\alpha_c, \beta_c`, and the
    matrix product is shared. On a consistent singular system (a graph component with
    no label has :math:`b = 0` there) iterates started at 0 stay 0 on that block.

    Args:
        matvec (callable): ``v [N, C] -> A v [N, C]``.
        b (Tensor): right-hand sides ``[N, C]``.
        x0 (Tensor, optional): initial guess (default zeros).
        precond (Tensor, optional): ``[N]`` diagonal of :math:`M^{-1}` (Jacobi).
        tol (float): relative-residual stop; with ``precond`` on the preconditioned
            residual :math:`\lVert M^{-1}r\rVert / \lVert M^{-1}b\rVert`.
        max_iter (int): iteration cap.
    """
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    r = b - matvec(x) if x0 is not None else b.clone()
    pc = precond[:, None] if precond is not None else None
    # With a preconditioner the stop uses the preconditioned residual M^-1 r: for
    # Jacobi on a graph Laplacian that is the per-node residual of the row-normalised
    # system, so low-degree regions are not drowned by high-degree ones.
    b_norm = _col_norm(b * pc if pc is not None else b)
    z = r * pc if pc is not None else r
    p = z.clone()
    rz = (r * z).sum(0)
    res = _rel(_col_norm(z), b_norm)
    it = 0
    tiny = torch.finfo(b.dtype).tiny
    while res > tol and it < max_iter and math.isfinite(res):
        ap = matvec(p)
        pap = (p * ap).sum(0)
        # Converged or zero columns have p = 0: step 0 instead of 0/0.
        alpha = torch.where(pap.abs() > tiny, rz / pap.clamp(min=tiny), 0.0)
        x.addcmul_(p, alpha)
        r.addcmul_(ap, alpha, value=-1.0)
        it += 1
        z = r * pc if pc is not None else r
        res = _rel(_col_norm(z), b_norm)
        rz_new = (r * z).sum(0)
        beta = torch.where(rz.abs() > tiny, rz_new / rz.clamp(min=tiny), 0.0)
        p = p.mul_(beta).add_(z)
        rz = rz_new
    return SolveResult(x, it, res, res <= tol)


def fixed_point(
    step: Callable[[Tensor], Tensor],
    x0: Tensor,
    b_norm: Tensor,
    *,
    tol: float = 1e-6,
    max_iter: int = 1000,
) -> SolveResult:
    r"""Iterate :math:`x \leftarrow g(x)` for an affine map :math:`g(x) = Mx + c`.

    For the systems here :math:`g(x) - x` is exactly the residual :math:`c - (I-M)x`,
    so the stop uses :math:`\max_c \lVert g(x)_c - x_c\rVert / \lVert c_c\rVert`
    with ``b_norm`` the column norms :math:`\lVert c_c\rVert`.
    """
    x = x0
    res = float("inf")
    it = 0
    while it < max_iter:
        nxt = step(x)
        res = _rel(_col_norm(nxt - x), b_norm)
        x = nxt
        it += 1
        if res <= tol or not math.isfinite(res):
            break
    return SolveResult(x, it, res, res <= tol)
