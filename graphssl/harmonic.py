r"""Label propagation (Zhu & Ghahramani 2002): hard clamping, the harmonic solution."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from graphssl._propagation_common import (
    SOLVERS,
    PropagationResult,
    _finish,
    _one_hot,
    _pick,
    _prepare,
)
from graphssl._validation import check_in, check_int, check_real
from graphssl.normalization import propagation_matrix
from graphssl.solvers import SolveResult, conjugate_gradient, fixed_point

__all__ = ["label_propagation"]


def label_propagation(
    graph: Any,
    y: Tensor,
    *,
    num_classes: int | None = None,
    solver: str = "auto",
    tol: float = 1e-6,
    max_iter: int = 1000,
    class_mass: bool = False,
) -> PropagationResult:
    r"""Label propagation with hard clamping (Zhu & Ghahramani 2002; the harmonic
    solution of Zhu, Ghahramani & Lafferty, ICML 2003).

    .. math::
        F_U = (I - P_{UU})^{-1} P_{UL} Y_L
        \;\Longleftrightarrow\; (D_{UU} - W_{UU}) F_U = W_{UL} Y_L

    where :math:`P = D^{-1}W` is the row-normalised graph, :math:`D` the degree
    matrix, :math:`L` / :math:`U` the labelled / unlabelled nodes and :math:`Y_L` their
    one-hot labels. Labelled nodes keep their labels. The second form is symmetric
    for symmetric :math:`W`, so CG (Jacobi-preconditioned) applies; the fixed-point
    iteration :math:`F_U \leftarrow P_{UU}F_U + P_{UL}Y_L` is Jacobi's method on it.

    Args: as :func:`label_spreading` without ``alpha`` / ``normalization``.

    Returns:
        PropagationResult
    """
    owner = "label_propagation"
    g, y, c = _prepare(graph, y, num_classes, owner)
    solver = check_in(solver, "solver", owner, SOLVERS)
    tol = check_real(tol, "tol", owner, low=0.0, closed="neither")
    max_iter = check_int(max_iter, "max_iter", owner, low=1)
    lab = y >= 0
    if bool(lab.all()):
        warnings.warn(
            f"{owner}: every node is labelled; nothing to propagate.",
            UserWarning,
            stacklevel=2,
        )
    symmetric = g.is_symmetric()
    solver = _pick(solver, g.num_nodes, symmetric)
    if solver == "cg" and not symmetric:
        raise ValueError(
            f"The 'solver' parameter of {owner} can be 'cg' only for a symmetric graph. "
            "Got 'cg' with a non-symmetric graph; use 'iterate' or 'direct'."
        )
    w = propagation_matrix(g)
    d = g.in_degree()
    y_l = _one_hot(y, c, g.dtype)
    unl = (~lab)[:, None].to(g.dtype)
    rhs = (w @ y_l) * unl
    if solver == "direct":
        sol = _direct_harmonic(w, d, rhs, lab)
    elif solver == "cg":
        inv_d = torch.where(d > 0, 1.0 / d.clamp(min=torch.finfo(d.dtype).tiny), 0.0)
        sol = conjugate_gradient(
            lambda v: (d[:, None] * v - w @ v) * unl,
            rhs,
            precond=inv_d * unl[:, 0],
            tol=tol,
            max_iter=max_iter,
        )
    else:
        inv_d = torch.where(d > 0, 1.0 / d.clamp(min=torch.finfo(d.dtype).tiny), 0.0)
        c_vec = rhs * inv_d[:, None]
        sol = fixed_point(
            lambda f: ((w @ f) * inv_d[:, None]) * unl + c_vec,
            torch.zeros_like(rhs),
            torch.linalg.vector_norm(c_vec, dim=0),
            tol=tol,
            max_iter=max_iter,
        )
    f = sol.x * unl + y_l
    return _finish(f, y, sol, solver, class_mass, owner)


def _direct_harmonic(w: Tensor, d: Tensor, rhs: Tensor, lab: Tensor) -> SolveResult:
    # Restrict to unlabelled nodes whose equation is non-trivial; components without
    # labels give a singular block with zero right-hand side, whose solution is 0.
    wd = w.to_dense()
    reach = _reachable(wd, lab)
    idx = torch.nonzero(reach & ~lab).flatten()
    x = torch.zeros_like(rhs)
    if idx.numel():
        a = torch.diag(d[idx]) - wd[idx][:, idx]
        x[idx] = torch.linalg.solve(a, rhs[idx])
    return SolveResult(x, 1, 0.0, True)


def _reachable(wd: Tensor, lab: Tensor) -> Tensor:
    """Nodes reachable from a labelled node along edges (dense, small graphs only)."""
    adj = wd > 0
    seen = lab.clone()
    frontier = lab.clone()
    while bool(frontier.any()):
        nxt = adj[:, frontier].any(1) & ~seen
        seen |= nxt
        frontier = nxt
    return seen
