"""PyTorch Geometric entry: propagate the labels of a ``Data`` object."""

from __future__ import annotations

from typing import Any

import torch

from graphssl._validation import check_int, param_error
from graphssl.construction import knn_graph
from graphssl.graph import Graph, as_graph
from graphssl.propagation import PropagationResult, propagate

__all__ = ["propagate_data"]


def propagate_data(
    data: Any,
    *,
    method: str = "spreading",
    mask_attr: str = "train_mask",
    k: int = 10,
    dtype: torch.dtype = torch.float64,
    **kwargs: Any,
) -> PropagationResult:
    """Propagate ``data.y`` from the nodes in ``data.train_mask`` to all nodes.

    Uses ``data.edge_index`` (with ``data.edge_weight`` or a 1-D ``data.edge_attr``
    when present, else unit weights); a ``Data`` with features ``x`` but no
    ``edge_index`` gets an exact kNN graph on ``x`` with ``k`` neighbours. Labels
    outside the mask are hidden (set to ``-1``), so nothing leaks from validation or
    test nodes.

    Args:
        data: a ``torch_geometric.data.Data`` with ``y [N]`` and a boolean mask.
        method (str): ``'spreading'`` or ``'propagation'``.
        mask_attr (str): name of the boolean mask of known labels.
        k (int): neighbours when a kNN graph must be built.
        dtype (torch.dtype): dtype of the solve. float64 by default: label mass decays
            geometrically with hops, and float32 loses far nodes to underflow.
        **kwargs: passed to :func:`graphssl.propagation.propagate` (``alpha``,
            ``solver``, ``tol``, ...).
    """
    owner = "propagate_data"
    y = getattr(data, "y", None)
    mask = getattr(data, mask_attr, None)
    if y is None or mask is None:
        raise param_error(
            "data", owner, f"a Data with 'y' and '{mask_attr}'", "missing attributes"
        )
    if mask.dtype != torch.bool or mask.shape != y.shape[:1]:
        raise param_error(
            mask_attr, owner, f"a bool tensor of shape [{y.shape[0]}]", mask.dtype
        )
    graph: Graph
    if getattr(data, "edge_index", None) is not None:
        graph = as_graph(data).to(dtype=dtype)
    elif getattr(data, "x", None) is not None:
        graph = knn_graph(data.x.to(dtype), check_int(k, "k", owner, low=1))
    else:
        raise param_error("data", owner, "a Data with 'edge_index' or 'x'", "neither")
    y_obs = torch.where(mask, y.view(-1).long(), -1)
    return propagate(graph, y_obs, method=method, **kwargs)
