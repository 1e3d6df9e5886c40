r"""Coalescing duplicate edges and making a graph undirected."""

from __future__ import annotations

import torch
from torch import Tensor

from graphssl._validation import check_in
from graphssl.graph import Graph

__all__ = ["SYMMETRIZE", "coalesce", "remove_self_loops", "symmetrize"]

SYMMETRIZE = ("sum", "max", "mutual")


def _group(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, Tensor, Tensor]:
    """Unique edges ``[2, U]``, the group of every input edge ``[E]`` and counts ``[U]``."""
    key = edge_index[0] * num_nodes + edge_index[1]
    uniq, inv, counts = torch.unique(key, return_inverse=True, return_counts=True)
    ei = torch.stack(
        [torch.div(uniq, num_nodes, rounding_mode="floor"), uniq % num_nodes]
    )
    return ei, inv, counts


def coalesce(graph: Graph, reduce: str = "sum") -> Graph:
    """Merge duplicate edges, combining their weights with ``reduce``.

    Args:
        graph (Graph): input graph.
        reduce (str): ``'sum'``, ``'max'``, ``'min'`` or ``'mean'``. (default: ``'sum'``)

    Returns:
        Graph: edges sorted by (source, target), no duplicates.
    """
    check_in(reduce, "reduce", "coalesce", ("sum", "max", "min", "mean"))
    ei, inv, _ = _group(graph.edge_index, graph.num_nodes)
    w = graph.edge_weight
    red = {"sum": "sum", "max": "amax", "min": "amin", "mean": "mean"}[reduce]
    out = w.new_zeros(ei.shape[1]).scatter_reduce(0, inv, w, red, include_self=False)
    return Graph(ei, out, graph.num_nodes)


def remove_self_loops(graph: Graph) -> Graph:
    """Drop every edge ``i -> i``."""
    keep = graph.edge_index[0] != graph.edge_index[1]
    return Graph(graph.edge_index[:, keep], graph.edge_weight[keep], graph.num_nodes)


def symmetrize(graph: Graph, how: str = "max") -> Graph:
    r"""Make a directed graph (e.g. a kNN graph) undirected.

    With :math:`W` the weight matrix:

    * ``'sum'``: :math:`W + W^\top` (Iscen et al. 2019); pairs that chose each other
      count twice.
    * ``'max'``: :math:`\max(W, W^\top)`, the usual "i in kNN(j) or j in kNN(i)" graph.
    * ``'mutual'``: :math:`\min(W, W^\top)` on pairs present in both directions only
      (mutual kNN); may leave nodes isolated.

    Returns:
        Graph: symmetric, coalesced.
    """
    check_in(how, "symmetrize", "symmetrize", SYMMETRIZE)
    g = coalesce(graph, "sum")
    both = Graph(
        torch.cat([g.edge_index, g.edge_index.flip(0)], 1),
        torch.cat([g.edge_weight, g.edge_weight]),
        g.num_nodes,
    )
    if how == "sum":
        return coalesce(both, "sum")
    if how == "max":
        return coalesce(both, "max")
    ei, inv, counts = _group(both.edge_index, both.num_nodes)
    w = both.edge_weight
    wmin = w.new_zeros(ei.shape[1]).scatter_reduce(
        0, inv, w, "amin", include_self=False
    )
    # A self-loop appears twice in `both` by itself, so it counts as mutual.
    keep = counts == 2
    return Graph(ei[:, keep], wmin[keep], g.num_nodes)
