"""What label spreading and label propagation share: the result type, input
preparation, solver choice and the reporting of unreached nodes."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from graphssl._validation import check_int, check_labels
from graphssl._validation import check_same_device as _same_device
from graphssl.exceptions import ConvergenceWarning, UnreachedNodesWarning
from graphssl.graph import Graph, as_graph
from graphssl.solvers import SolveResult

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
