r"""Similarity graphs from features or points: exact kNN and ε-neighbourhood graphs.

Both builders run an exact neighbour search (:mod:`graphssl.neighbors`: scipy
``cKDTree`` or open3d for low dimension on CPU, blocked torch matmul + top-k for high
dimension and on GPU, never an ``N x N`` matrix), weight the edges with a
:class:`~graphssl.similarity.Kernel`, drop self-loops and symmetrise.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from graphssl._validation import (
    check_finite,
    check_float_tensor,
    check_in,
    check_int,
    check_real,
    param_error,
)
from graphssl.exceptions import GraphWarning
from graphssl.graph import Graph
from graphssl.neighbors import knn, radius
from graphssl.similarity import Gaussian, Kernel
from graphssl.symmetrize import SYMMETRIZE, symmetrize

__all__ = ["epsilon_graph", "graph_from_neighbors", "knn_graph"]


def _check_x(x: Tensor, owner: str) -> Tensor:
    x = check_float_tensor(x, "x", owner, ndim=2)
    return check_finite(x, "x", owner)


def _finish(
    x: Tensor, edge_index: Tensor, dist: Tensor, kernel: Kernel | None, how: str | None
) -> Graph:
    kern: Kernel = Gaussian() if kernel is None else kernel
    w = kern(x, edge_index, dist).to(x.dtype)
    g = Graph(edge_index, w, x.shape[0])
    g = symmetrize(g, how) if how is not None else g
    isolated = int((g.in_degree() <= 0).sum())
    if isolated:
        warnings.warn(
            f"{isolated} of {g.num_nodes} nodes have no edge with positive weight; "
            "propagation leaves them unreached.",
            GraphWarning,
            stacklevel=3,
        )
    return g


def knn_graph(
    x: Tensor,
    k: int,
    *,
    kernel: Kernel | None = None,
    symmetrize: str | None = "max",
    metric: str = "euclidean",
    backend: str = "auto",
    memory_budget: int | None = None,
) -> Graph:
    r"""Exact k-nearest-neighbour graph, self-loops excluded.

    Every node :math:`i` receives an edge :math:`j \to i` from each of its ``k``
    nearest neighbours :math:`j \in \mathcal{N}_k(i)`, weighted by ``kernel``; the
    graph is then symmetrised (see :func:`graphssl.symmetrize.symmetrize`).

    Args:
        x (Tensor): features or points ``[N, F]``, float32/float64 (float16 is upcast).
        k (int): neighbours per node, ``1 <= k <= N - 1``.
        kernel (Kernel, optional): edge weights; default :class:`Gaussian` with the
            median heuristic.
        symmetrize (str, optional): ``'sum'``, ``'max'``, ``'mutual'`` or ``None`` to
            keep the directed graph. (default: ``'max'``)
        metric (str): ``'euclidean'`` or ``'cosine'`` (neighbours by cosine
            similarity). (default: ``'euclidean'``)
        backend (str): ``'auto'``, ``'kdtree'``, ``'open3d'`` or ``'torch'``.
        memory_budget (int, optional): bytes the blocked torch search may use.

    Returns:
        Graph: on ``x``'s device, weights in ``x``'s dtype.

    Example:
        >>> import torch
        >>> g = knn_graph(torch.randn(100, 3), k=8)
        >>> g.num_nodes, g.is_symmetric()
        (100, True)
    """
    owner = "knn_graph"
    x = _check_x(x, owner)
    n = x.shape[0]
    if n < 2:
        raise param_error("x", owner, "at least 2 rows", f"{n} row(s)")
    k = check_int(k, "k", owner, low=1, high=n - 1)
    if symmetrize is not None:
        check_in(symmetrize, "symmetrize", owner, SYMMETRIZE)
    index, dist = knn(x, k, backend=backend, metric=metric, memory_budget=memory_budget)
    return graph_from_neighbors(x, index, dist, kernel=kernel, symmetrize=symmetrize)


def graph_from_neighbors(
    x: Tensor,
    index: Tensor,
    dist: Tensor,
    *,
    kernel: Kernel | None = None,
    symmetrize: str | None = "max",
) -> Graph:
    """Weighted graph from a precomputed neighbour search (as :func:`knn_graph`).

    Args:
        x (Tensor): features ``[N, F]`` (kernels on features read them).
        index (Tensor): ``[N, k]`` neighbour indices, as returned by
            :func:`graphssl.neighbors.knn`.
        dist (Tensor): ``[N, k]`` Euclidean distances.
        kernel, symmetrize: as in :func:`knn_graph`.
    """
    n, k = index.shape
    target = torch.arange(n, device=x.device).repeat_interleave(k)
    edge_index = torch.stack([index.reshape(-1), target])
    return _finish(x, edge_index, dist.reshape(-1), kernel, symmetrize)


def epsilon_graph(
    x: Tensor,
    eps: float,
    *,
    max_neighbors: int | None = None,
    kernel: Kernel | None = None,
    symmetrize: str | None = "max",
    metric: str = "euclidean",
    backend: str = "auto",
    memory_budget: int | None = None,
) -> Graph:
    r"""ε-neighbourhood graph: an edge :math:`j \to i` whenever
    :math:`\lVert x_i - x_j \rVert \le \varepsilon`, :math:`i \ne j`.

    Args:
        x (Tensor): features or points ``[N, F]``.
        eps (float): radius ``> 0``.
        max_neighbors (int, optional): keep only the nearest ``max_neighbors`` per
            node (bounds memory in dense regions); the cap makes the graph directed,
            so it is symmetrised afterwards.
        kernel, symmetrize, metric, backend, memory_budget: as in :func:`knn_graph`.

    Returns:
        Graph: nodes with no neighbour within ``eps`` are isolated (a
        :class:`GraphWarning` reports how many).
    """
    owner = "epsilon_graph"
    x = _check_x(x, owner)
    eps = check_real(eps, "eps", owner, low=0.0, closed="neither")
    if max_neighbors is not None:
        max_neighbors = check_int(max_neighbors, "max_neighbors", owner, low=1)
    if symmetrize is not None:
        check_in(symmetrize, "symmetrize", owner, SYMMETRIZE)
    edge_index, dist = radius(
        x,
        eps,
        max_neighbors=max_neighbors,
        backend=backend,
        metric=metric,
        memory_budget=memory_budget,
    )
    return _finish(x, edge_index, dist, kernel, symmetrize)
