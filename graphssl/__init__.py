"""graphssl: graph-centric semi-supervised learning on CPU and CUDA."""

from __future__ import annotations

from graphssl.exceptions import ConvergenceWarning, GraphWarning, UnreachedNodesWarning
from graphssl.graph import Graph, as_graph

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "Graph",
    "GraphWarning",
    "UnreachedNodesWarning",
    "__version__",
    "as_graph",
]
