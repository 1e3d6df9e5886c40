"""Warning classes raised by graphssl."""

from __future__ import annotations

__all__ = ["ConvergenceWarning", "GraphWarning", "UnreachedNodesWarning"]


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at ``max_iter`` before reaching ``tol``."""


class UnreachedNodesWarning(UserWarning):
    """Some nodes received no label mass (a component without labelled nodes)."""


class GraphWarning(UserWarning):
    """Legal but suspicious graph input: isolated nodes, duplicate points, ..."""
