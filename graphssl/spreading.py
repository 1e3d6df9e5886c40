r"""Label spreading (Zhou et al. 2003): soft clamping, :math:`(I-\alpha S)F=(1-\alpha)Y`."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from graphssl._propagation_common import (
    SOLVERS,
    PropagationResult,
    _finish,
    _flush_subnormal,
    _one_hot,
    _pick,
    _prepare,
)
from graphssl._validation import check_in, check_int, check_real
from graphssl.graph import as_graph
from graphssl.normalization import NORMALIZATIONS, normalize, propagation_matrix
from graphssl.solvers import SolveResult, conjugate_gradient, fixed_point

__all__ = ["label_spreading", "spread_solve"]


def label_spreading(
    graph: Any,
    y: Tensor,
    *,
    alpha: float = 0.99,
    num_classes: int | None = None,
    normalization: str = "sym",
    solver: str = "auto",
    tol: float = 1e-6,
    max_iter: int = 1000,
    class_mass: bool = False,
) -> PropagationResult:
    r"""Label spreading with soft clamping (Zhou et al., "Learning with Local and
    Global Consistency", NIPS 2003).

    .. math::
        F^\star = (1-\alpha)\,(I - \alpha S)^{-1} Y,
        \qquad F^{(t+1)} = \alpha S F^{(t)} + (1-\alpha) Y

    where :math:`S` is the normalised graph (``normalization='sym'``:
    :math:`D^{-1/2}WD^{-1/2}`), :math:`Y \in \{0,1\}^{N\times C}` the one-hot labels
    (zero rows for unlabelled nodes) and :math:`\alpha \in (0, 1)` the weight on
    neighbours versus the initial labels. Labels may change (soft clamping).

    Args:
        graph: a :class:`~graphssl.graph.Graph` or anything :func:`as_graph` accepts.
        y (Tensor): ``[N]`` int64, ``-1`` for unlabelled, classes ``0..C-1``.
        alpha (float): in ``(0, 1)``. (default: ``0.99``)
        num_classes (int, optional): ``C``; inferred as ``max(y) + 1``.
        normalization (str): ``'sym'``, ``'row'``, ``'col'`` or ``'none'``.
        solver (str): ``'auto'`` (direct up to 2048 nodes, CG for symmetric
            operators, else iteration), ``'direct'``, ``'cg'``, ``'iterate'``.
        tol (float): relative-residual stop. (default: ``1e-6``)
        max_iter (int): iteration cap; a :class:`ConvergenceWarning` when hit.
        class_mass (bool): apply :func:`class_mass_normalize` before the argmax.

    Returns:
        PropagationResult
    """
    owner = "label_spreading"
    g, y, c = _prepare(graph, y, num_classes, owner)
    b = _one_hot(y, c, g.dtype)
    sol, solver = spread_solve(
        g,
        b,
        alpha=alpha,
        normalization=normalization,
        solver=solver,
        tol=tol,
        max_iter=max_iter,
        owner=owner,
    )
    return _finish(sol.x, y, sol, solver, class_mass, owner)


def spread_solve(
    graph: Any,
    values: Tensor,
    *,
    alpha: float = 0.99,
    normalization: str = "sym",
    solver: str = "auto",
    tol: float = 1e-6,
    max_iter: int = 1000,
    owner: str = "spread_solve",
) -> tuple[SolveResult, str]:
    r"""Solve :math:`(I - \alpha S)F = (1 - \alpha)B` for any right-hand side.

    The soft-clamped diffusion behind :func:`label_spreading`, for any
    ``values`` :math:`B` ``[N, D]`` (one-hot labels, class probabilities to smooth,
    features to propagate); :math:`S` is ``graph`` normalised by ``normalization``.

    Returns:
        tuple: the :class:`SolveResult` (``x`` is :math:`F`, ``[N, D]``) and the solver
        actually used. Raises :class:`FloatingPointError` instead of returning NaN.
    """
    g = _flush_subnormal(as_graph(graph))
    if values.dim() != 2 or values.shape[0] != g.num_nodes:
        allowed = f"a tensor of shape [{g.num_nodes}, D]"
        raise ValueError(
            f"The 'values' parameter of {owner} must be {allowed}. Got "
            f"shape {list(values.shape)} instead."
        )
    alpha = check_real(alpha, "alpha", owner, low=0.0, high=1.0, closed="neither")
    check_in(normalization, "normalization", owner, NORMALIZATIONS)
    solver = check_in(solver, "solver", owner, SOLVERS)
    tol = check_real(tol, "tol", owner, low=0.0, closed="neither")
    max_iter = check_int(max_iter, "max_iter", owner, low=1)
    s_graph = normalize(g, normalization)
    symmetric = normalization in ("sym", "none") and g.is_symmetric()
    solver = _pick(solver, g.num_nodes, symmetric)
    if solver == "cg" and not symmetric:
        raise ValueError(
            f"The 'solver' parameter of {owner} can be 'cg' only for a symmetric graph "
            "with normalization 'sym' or 'none'. Got 'cg' with a non-symmetric operator; "
            "use 'iterate' or 'direct'."
        )
    s = propagation_matrix(s_graph)
    b = (1.0 - alpha) * values.to(g.dtype)
    if solver == "direct":
        a = (
            torch.eye(g.num_nodes, dtype=g.dtype, device=g.device)
            - alpha * s.to_dense()
        )
        sol = SolveResult(torch.linalg.solve(a, b), 1, 0.0, True)
    elif solver == "cg":
        sol = conjugate_gradient(
            lambda v: torch.sparse.addmm(v, s, v, beta=1.0, alpha=-alpha),
            b,
            tol=tol,
            max_iter=max_iter,
        )
    else:
        sol = fixed_point(
            lambda f: alpha * (s @ f) + b,
            b.clone(),
            torch.linalg.vector_norm(b, dim=0),
            tol=tol,
            max_iter=max_iter,
        )
    if not math.isfinite(sol.residual) or not bool(torch.isfinite(sol.x).all()):
        raise FloatingPointError(
            f"{owner}: solver '{solver}' produced non-finite values after {sol.n_iter} "
            "iterations; use float64 or check the graph weights."
        )
    return sol, solver
