"""graphssl: graph-centric semi-supervised learning on CPU and CUDA."""

from __future__ import annotations

from typing import Any

from graphssl.construction import epsilon_graph, graph_from_neighbors, knn_graph
from graphssl.exceptions import ConvergenceWarning, GraphWarning, UnreachedNodesWarning
from graphssl.graph import Graph, as_graph
from graphssl.neighbors import knn, radius
from graphssl.normalization import normalize, propagation_matrix
from graphssl.propagation import (
    PropagationResult,
    class_mass_normalize,
    label_propagation,
    label_spreading,
    propagate,
)
from graphssl.similarity import Cosine, ExpDot, Gaussian, Kernel
from graphssl.symmetrize import coalesce, remove_self_loops, symmetrize

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "Cosine",
    "ExpDot",
    "Gaussian",
    "Graph",
    "GraphWarning",
    "Kernel",
    "LabelPropagation",
    "LabelSpreading",
    "PropagationResult",
    "UnreachedNodesWarning",
    "__version__",
    "as_graph",
    "class_mass_normalize",
    "coalesce",
    "epsilon_graph",
    "graph_from_neighbors",
    "knn",
    "knn_graph",
    "label_propagation",
    "label_spreading",
    "normalize",
    "propagate",
    "propagation_matrix",
    "radius",
    "remove_self_loops",
    "symmetrize",
]


def __getattr__(name: str) -> Any:
    # The estimators need scikit-learn, an optional dependency: import on first use.
    if name in ("LabelSpreading", "LabelPropagation"):
        from graphssl import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'graphssl' has no attribute {name!r}")
