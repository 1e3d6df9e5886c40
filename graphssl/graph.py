r"""The :class:`Graph` type and conversions from the forms users already have.

A graph is ``edge_index [2, E]`` (PyG order: row 0 is the source :math:`j`, row 1 the
target :math:`i` of a message :math:`j \to i`), ``edge_weight [E]`` and ``num_nodes``.
As a matrix, :math:`A_{ji} = w_{j \to i}` (``A[edge_index[0], edge_index[1]]``), the
same layout as ``torch_geometric.utils.to_scipy_sparse_matrix``. Propagation
aggregates over incoming edges, :math:`(A^\top F)_i = \sum_j w_{j\to i} F_j`; for the
symmetric graphs label spreading uses the two readings coincide.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphssl._validation import check_finite, param_error

__all__ = ["Graph", "as_graph"]


@dataclass(frozen=True)
class Graph:
    """A weighted directed graph in COO form.

    Args:
        edge_index (Tensor): ``[2, E]`` int64, ``edge_index[0]`` sources,
            ``edge_index[1]`` targets.
        edge_weight (Tensor): ``[E]`` floating point, non-negative.
        num_nodes (int): number of nodes ``N`` (nodes may be isolated).
    """

    edge_index: Tensor
    edge_weight: Tensor
    num_nodes: int
    # Cached facts about an immutable graph: whether it is symmetric, and whether its
    # edges are sorted by (source, target) without duplicates (a ready CSR layout).
    _symmetric: bool | None = field(default=None, init=False, repr=False, compare=False)
    _sorted: bool | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = "Graph"
        ei, w = self.edge_index, self.edge_weight
        if not isinstance(ei, Tensor) or ei.dim() != 2 or ei.shape[0] != 2:
            raise param_error(
                "edge_index", owner, "a tensor of shape [2, E]", _shape(ei)
            )
        if ei.is_floating_point():
            raise param_error(
                "edge_index", owner, "an integer tensor", ei.dtype, TypeError
            )
        if not isinstance(w, Tensor) or w.dim() != 1 or w.numel() != ei.shape[1]:
            allowed = f"a tensor of shape [{ei.shape[1]}] (one weight per edge)"
            raise param_error("edge_weight", owner, allowed, _shape(w))
        if not w.is_floating_point():
            raise param_error(
                "edge_weight", owner, "a float tensor", w.dtype, TypeError
            )
        if w.device != ei.device:
            raise ValueError(
                f"Graph tensors must be on one device. Got edge_index on {ei.device}, "
                f"edge_weight on {w.device}."
            )
        if isinstance(self.num_nodes, bool) or not isinstance(self.num_nodes, int):
            raise param_error("num_nodes", owner, "an int", self.num_nodes, TypeError)
        if self.num_nodes < 0:
            raise param_error("num_nodes", owner, "an int >= 0", self.num_nodes)
        if ei.numel():
            lo, hi = int(ei.min()), int(ei.max())
            if lo < 0 or hi >= self.num_nodes:
                allowed = f"node indices in [0, {self.num_nodes - 1}]"
                raise param_error("edge_index", owner, allowed, f"[{lo}, {hi}]")
        check_finite(w, "edge_weight", owner)
        if w.numel() and bool((w < 0).any()):
            raise param_error("edge_weight", owner, "non-negative", "negative weights")
        if ei.dtype != torch.long:
            object.__setattr__(self, "edge_index", ei.long())
        if w.dtype in (torch.float16, torch.bfloat16):
            object.__setattr__(self, "edge_weight", w.float())

    # ------------------------------------------------------------------ basics
    @property
    def num_edges(self) -> int:
        """Number of stored (directed) edges ``E``."""
        return int(self.edge_index.shape[1])

    @property
    def device(self) -> torch.device:
        """Device of the graph tensors."""
        return self.edge_index.device

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the edge weights."""
        return self.edge_weight.dtype

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Graph:
        """Return a copy on ``device`` with weights cast to ``dtype``."""
        return Graph(
            self.edge_index.to(device),
            self.edge_weight.to(device=device, dtype=dtype),
            self.num_nodes,
        )

    def in_degree(self) -> Tensor:
        r"""Weighted in-degree :math:`d_i = \sum_j w_{j\to i}`, shape ``[N]``."""
        deg = self.edge_weight.new_zeros(self.num_nodes)
        return deg.index_add_(0, self.edge_index[1], self.edge_weight)

    def out_degree(self) -> Tensor:
        r"""Weighted out-degree :math:`d_j = \sum_i w_{j\to i}`, shape ``[N]``."""
        deg = self.edge_weight.new_zeros(self.num_nodes)
        return deg.index_add_(0, self.edge_index[0], self.edge_weight)

    def is_symmetric(self, atol: float = 1e-6) -> bool:
        """True when every edge ``j -> i`` has a reverse ``i -> j`` of equal weight.

        The answer is cached (graphs are immutable); builders that produce symmetric
        graphs record it, so large graphs are not re-checked.
        """
        if self._symmetric is True:
            return True
        result = self._check_symmetric(atol)
        if atol == 1e-6:
            object.__setattr__(self, "_symmetric", result)
        return result

    def is_sorted(self) -> bool:
        """True when edges are sorted by (source, target) with no duplicates."""
        if self._sorted is None:
            src, dst = self.edge_index
            key = src * self.num_nodes + dst
            ok = key.numel() < 2 or bool((key[1:] > key[:-1]).all())
            object.__setattr__(self, "_sorted", ok)
        return bool(self._sorted)

    def with_weights(self, edge_weight: Tensor, *, symmetric: bool = False) -> Graph:
        """Same edges, new weights; ``symmetric=True`` records a known symmetric result."""
        g = Graph(self.edge_index, edge_weight, self.num_nodes)
        object.__setattr__(g, "_sorted", self._sorted)
        if symmetric:
            object.__setattr__(g, "_symmetric", True)
        return g

    def _check_symmetric(self, atol: float) -> bool:
        n = self.num_nodes
        src, dst = self.edge_index
        w = self.edge_weight
        # Compare the edge list with its transpose after sorting both by a linear key;
        # duplicates are merged first so (i, j) appears once in each list.
        key, inv = torch.unique(src * n + dst, return_inverse=True)
        ws = w.new_zeros(key.numel()).index_add_(0, inv, w)
        tkey = (key % n) * n + torch.div(key, n, rounding_mode="floor")
        tkey, order = torch.sort(tkey)
        return bool(torch.equal(key, tkey) and torch.allclose(ws, ws[order], atol=atol))

    # ------------------------------------------------------------- conversions
    def to_torch_coo(self) -> Tensor:
        """Sparse COO tensor ``A [N, N]`` with ``A[j, i] = w_{j->i}``."""
        n = self.num_nodes
        return torch.sparse_coo_tensor(
            self.edge_index, self.edge_weight, (n, n), check_invariants=False
        )

    def to_torch_csr(self) -> Tensor:
        """Sparse CSR tensor ``A [N, N]`` with ``A[j, i] = w_{j->i}`` (duplicates summed)."""
        with warnings.catch_warnings():  # "sparse CSR support is in beta"
            warnings.simplefilter("ignore", UserWarning)
            return self.to_torch_coo().coalesce().to_sparse_csr()

    def to_scipy(self) -> Any:
        """``scipy.sparse.csr_matrix`` ``A [N, N]`` with ``A[j, i] = w_{j->i}``."""
        import scipy.sparse as sp

        ei = self.edge_index.detach().cpu().numpy()
        w = self.edge_weight.detach().cpu().numpy()
        n = self.num_nodes
        return sp.coo_matrix((w, (ei[0], ei[1])), shape=(n, n)).tocsr()

    def to_dense(self) -> Tensor:
        """Dense ``A [N, N]``; for tests and small graphs only."""
        return self.to_torch_coo().to_dense()

    def to_pyg(self, **attrs: Any) -> Any:
        """A ``torch_geometric.data.Data`` carrying this graph and ``attrs``."""
        from torch_geometric.data import Data

        return Data(
            edge_index=self.edge_index,
            edge_weight=self.edge_weight,
            num_nodes=self.num_nodes,
            **attrs,
        )


def _shape(t: object) -> str:
    return f"shape {list(t.shape)}" if isinstance(t, Tensor) else type(t).__name__


def _from_sparse_matrix(rows: Any, cols: Any, vals: Any, n: int) -> Graph:
    ei = torch.stack([torch.as_tensor(rows), torch.as_tensor(cols)]).long()
    w = torch.as_tensor(vals)
    if not w.is_floating_point():
        w = w.to(torch.get_default_dtype())
    return Graph(ei, w, n)


def as_graph(graph: Any, num_nodes: int | None = None, name: str = "graph") -> Graph:
    """Coerce any supported graph form into a :class:`Graph`.

    Accepted: :class:`Graph`; a PyG ``Data`` (``edge_index`` with ``edge_weight`` or a
    1-D ``edge_attr``); a torch sparse COO/CSR tensor; a ``scipy.sparse`` matrix; a
    dense square tensor or array (small graphs); or a tuple ``(edge_index,
    edge_weight)`` / ``(edge_index,)``. Weights default to 1.

    Raises:
        TypeError: for anything else.
    """
    owner = "as_graph"
    if isinstance(graph, Graph):
        return graph
    if hasattr(graph, "edge_index") and hasattr(graph, "num_nodes"):  # PyG Data
        ei = graph.edge_index
        w = getattr(graph, "edge_weight", None)
        if w is None:
            attr = getattr(graph, "edge_attr", None)
            w = attr if attr is not None and attr.dim() == 1 else None
        n = int(graph.num_nodes) if num_nodes is None else num_nodes
        if w is None:
            w = torch.ones(ei.shape[1], device=ei.device)
        return Graph(ei, w, n)
    if isinstance(graph, tuple):
        ei = graph[0]
        w = graph[1] if len(graph) > 1 and graph[1] is not None else None
        if not isinstance(ei, Tensor):
            raise param_error(
                name, owner, "(edge_index, edge_weight)", type(ei).__name__
            )
        if w is None:
            w = torch.ones(ei.shape[1], device=ei.device)
        n = (
            num_nodes
            if num_nodes is not None
            else (int(ei.max()) + 1 if ei.numel() else 0)
        )
        return Graph(ei, w, n)
    if isinstance(graph, Tensor):
        if graph.layout in (torch.sparse_csr, torch.sparse_coo):
            coo = graph.to_sparse().coalesce()
            idx = coo.indices()
            return Graph(idx, coo.values(), int(graph.shape[0]))
        if graph.dim() == 2 and graph.shape[0] == graph.shape[1]:
            idx = graph.nonzero().t()
            w = graph[idx[0], idx[1]]
            if not w.is_floating_point():
                w = w.to(torch.get_default_dtype())
            return Graph(idx, w, int(graph.shape[0]))
    try:
        import scipy.sparse as sp

        if sp.issparse(graph):
            coo = sp.coo_matrix(graph)
            return _from_sparse_matrix(coo.row, coo.col, coo.data, coo.shape[0])
    except ImportError:  # pragma: no cover - scipy is a hard dependency
        pass
    if (
        isinstance(graph, np.ndarray)
        and graph.ndim == 2
        and graph.shape[0] == graph.shape[1]
    ):
        r, c = np.nonzero(graph)
        return _from_sparse_matrix(r, c, graph[r, c], graph.shape[0])
    allowed = (
        "a Graph, PyG Data, torch sparse tensor, scipy.sparse matrix, square dense "
        "matrix or (edge_index, edge_weight) tuple"
    )
    raise param_error(name, owner, allowed, type(graph).__name__, TypeError)
