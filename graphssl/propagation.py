r"""Label spreading (Zhou et al.) and label propagation (Zhu & Ghahramani) on a graph.

Both are linear systems over all classes at once (``C`` right-hand sides), solved by
a direct dense solve (small graphs), conjugate gradient (symmetric graphs) or the
classical fixed-point iteration. Nodes that no label mass reaches are reported in
``reached`` and predicted ``-1``, never silently class 0 (scikit-learn #3218, #9292).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from graphssl._validation import check_in, check_int, check_labels, check_real
from graphssl._validation import check_same_device as _same_device
from graphssl.exceptions import ConvergenceWarning, UnreachedNodesWarning
from graphssl.graph import Graph, as_graph
from graphssl.normalization import NORMALIZATIONS, normalize, propagation_matrix
from graphssl.solvers import SolveResult, conjugate_gradient, fixed_point

__all__ = [
    "SOLVERS",
    "PropagationResult",
    "class_mass_normalize",
    "label_propagation",
    "label_spreading",
    "propagate",
]

SOLVERS = ("auto", "direct", "cg", "iterate")
#: Graphs up to this many nodes are solved densely by ``solver='auto'``.
DIRECT_MAX_NODES = 2048
#: ``solver='direct'`` builds a dense N x N matrix: refused above this size.
DIRECT_LIMIT = 20_000


@dataclass(frozen=True)
class PropagationResult:
    """Output of :func:`label_spreading` / :func:`label_propagation`.

    Attributes:
        distribution (Tensor): ``[N, C]`` class distributions, rows sum to 1 (uniform
            for unreached nodes).
        scores (Tensor): ``[N, C]`` raw solution :math:`F` before normalisation.
        prediction (Tensor): ``[N]`` int64 argmax, ``-1`` where no label mass arrived.
        reached (Tensor): ``[N]`` bool, whether any label mass reached the node.
        n_iter (int): solver iterations (1 for the direct solve).
        residual (float): final relative residual.
        converged (bool): whether ``residual <= tol``.
        solver (str): the solver actually used.
    """

    distribution: Tensor
    scores: Tensor
    prediction: Tensor
    reached: Tensor
    n_iter: int
    residual: float
    converged: bool
    solver: str


def class_mass_normalize(
    scores: Tensor, prior: Tensor, mask: Tensor | None = None
) -> Tensor:
    r"""Class mass normalisation (Zhu, Ghahramani & Lafferty, ICML 2003).

    .. math::
        \tilde F_{uk} = q_k \, \frac{F_{uk}}{\sum_{u'} F_{u'k}}

    with :math:`q_k` the class prior ``prior [C]`` and the sum over the rows selected by
    ``mask [N]`` (default all). Corrects the bias toward classes with more graph mass.
    """
    rows = scores if mask is None else scores[mask]
    mass = rows.sum(0)
    scale = torch.where(
        mass > 0, prior / mass.clamp(min=torch.finfo(mass.dtype).tiny), 0.0
    )
    return scores * scale


def _one_hot(y: Tensor, c: int, dtype: torch.dtype) -> Tensor:
    out = torch.zeros(y.numel(), c, dtype=dtype, device=y.device)
    lab = y >= 0
    out[lab, y[lab]] = 1.0
    return out


def _flush_subnormal(g: Graph) -> Graph:
    # Weights below finfo.tiny are noise that overflows 1/degree in the solvers.
    w = g.edge_weight
    tiny = torch.finfo(w.dtype).tiny
    if w.numel() == 0 or bool((w == 0).logical_or(w >= tiny).all()):
        return g
    flushed = torch.where(w >= tiny, w, torch.zeros_like(w))
    return g.with_weights(flushed, symmetric=g._symmetric is True)


def _prepare(
    graph: Any, y: Tensor, num_classes: int | None, owner: str
) -> tuple[Any, Tensor, int]:
    g = _flush_subnormal(as_graph(graph))
    if g.num_nodes == 0:
        raise ValueError(
            f"The 'graph' parameter of {owner} must have at least 1 node. Got 0."
        )
    if num_classes is not None:
        num_classes = check_int(num_classes, "num_classes", owner, low=2)
    if isinstance(y, Tensor):
        _same_device(owner, edge_index=g.edge_index, y=y)
    y, c = check_labels(y, "y", owner, g.num_nodes, num_classes)
    return g, y, c


def _finish(
    f: Tensor,
    y: Tensor,
    sol: SolveResult,
    solver: str,
    class_mass: bool,
    owner: str,
) -> PropagationResult:
    if not math.isfinite(sol.residual) or not bool(torch.isfinite(f).all()):
        raise FloatingPointError(
            f"{owner}: solver '{solver}' produced non-finite values after {sol.n_iter} "
            f"iterations: the edge weights span too wide a range for {f.dtype}. Use "
            "float64, a larger kernel bandwidth, or drop near-zero edges."
        )
    # CG round-off can leave tiny negative entries; mass is non-negative by theory.
    f = f.clamp(min=0.0)
    c = f.shape[1]
    if class_mass:
        lab = y >= 0
        prior = torch.bincount(y[lab], minlength=c).to(f.dtype)
        f = class_mass_normalize(f, prior / prior.sum(), ~lab)
    mass = f.sum(1)
    reached = mass > 0
    dist = torch.where(
        reached[:, None],
        f / mass.clamp(min=torch.finfo(f.dtype).tiny)[:, None],
        1.0 / c,
    )
    pred = torch.where(reached, f.argmax(1), -1)
    lost = int((~reached).sum())
    if lost:
        warnings.warn(
            f"{owner}: {lost} of {f.shape[0]} nodes received no label mass (components "
            "without a labelled node, isolated nodes, or underflow); their prediction is "
            "-1 and their distribution uniform. See `reached`.",
            UnreachedNodesWarning,
            stacklevel=3,
        )
    if not sol.converged:
        warnings.warn(
            f"{owner}: solver '{solver}' stopped at max_iter={sol.n_iter} with relative "
            f"residual {sol.residual:.2e}; increase max_iter or use solver='cg'.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return PropagationResult(
        dist, f, pred, reached, sol.n_iter, sol.residual, sol.converged, solver
    )


def _pick(solver: str, n: int, symmetric: bool) -> str:
    if solver == "direct" and n > DIRECT_LIMIT:
        raise ValueError(
            f"The 'solver' parameter can be 'direct' (a dense N x N solve) only up to "
            f"{DIRECT_LIMIT} nodes. Got 'direct' with {n} nodes; use 'cg' or 'iterate'."
        )
    if solver != "auto":
        return solver
    if n <= DIRECT_MAX_NODES:
        return "direct"
    return "cg" if symmetric else "iterate"


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
    b = (1.0 - alpha) * _one_hot(y, c, g.dtype)
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
    return _finish(sol.x, y, sol, solver, class_mass, owner)


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


def propagate(
    graph: Any, y: Tensor, *, method: str = "spreading", **kwargs: Any
) -> PropagationResult:
    """Functional entry: ``method='spreading'`` (:func:`label_spreading`, soft clamping)
    or ``'propagation'`` (:func:`label_propagation`, hard clamping); ``kwargs`` go to it.
    """
    check_in(method, "method", "propagate", ("spreading", "propagation"))
    fn = label_spreading if method == "spreading" else label_propagation
    return fn(graph, y, **kwargs)
