r"""Label spreading (Zhou et al.) and label propagation (Zhu & Ghahramani) on a graph.

Both are linear systems over all classes at once (``C`` right-hand sides), solved by
a direct dense solve (small graphs), conjugate gradient (symmetric graphs) or the
classical fixed-point iteration. Nodes that no label mass reaches are reported in
``reached`` and predicted ``-1``, never silently class 0 (scikit-learn #3218, #9292).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from graphssl._propagation_common import (
    DIRECT_LIMIT,
    DIRECT_MAX_NODES,
    SOLVERS,
    PropagationResult,
    class_mass_normalize,
)
from graphssl._validation import check_in
from graphssl.harmonic import label_propagation
from graphssl.spreading import label_spreading, spread_solve

__all__ = [
    "DIRECT_LIMIT",
    "DIRECT_MAX_NODES",
    "SOLVERS",
    "PropagationResult",
    "class_mass_normalize",
    "label_propagation",
    "label_spreading",
    "propagate",
    "spread_solve",
]


def propagate(
    graph: Any, y: Tensor, *, method: str = "spreading", **kwargs: Any
) -> PropagationResult:
    """Functional entry: ``method='spreading'`` (:func:`label_spreading`, soft clamping)
    or ``'propagation'`` (:func:`label_propagation`, hard clamping); ``kwargs`` go to it.
    """
    check_in(method, "method", "propagate", ("spreading", "propagation"))
    fn = label_spreading if method == "spreading" else label_propagation
    return fn(graph, y, **kwargs)
