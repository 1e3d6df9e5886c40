r"""Graph augmentations on ``(x [N, F], edge_index [2, E])``: edge dropping and
feature-column masking."""

from __future__ import annotations

import torch
from torch import Tensor

from graphssl._validation import check_float_tensor, check_real, param_error
from graphssl.augment._base import GeneratorLike, _Augment, _rand, as_generator

__all__ = ["DropEdges", "GraphView", "MaskFeatures", "drop_edges", "mask_features"]


def drop_edges(
    edge_index: Tensor,
    p: float,
    *,
    edge_weight: Tensor | None = None,
    generator: GeneratorLike = None,
) -> tuple[Tensor, Tensor | None]:
    """Keep each edge of ``edge_index [2, E]`` independently with probability ``1-p``.

    Returns:
        tuple: the kept ``edge_index [2, E']`` (a subset, order preserved) and the
        matching ``edge_weight [E']`` (``None`` when none was given).
    """
    owner = "drop_edges"
    p = check_real(p, "p", owner, low=0.0, high=1.0)
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2:
        raise param_error("edge_index", owner, "a [2, E] tensor", edge_index)
    if edge_index.shape[0] != 2:
        raise param_error("edge_index", owner, "a [2, E] tensor", edge_index.shape)
    e = edge_index.shape[1]
    if edge_weight is not None and edge_weight.shape != (e,):
        raise param_error("edge_weight", owner, f"a [{e}] tensor", edge_weight.shape)
    g = as_generator(generator, owner)
    dev = g.device if g is not None else edge_index.device
    keep = (torch.rand(e, generator=g, device=dev) >= p).to(edge_index.device)
    w = edge_weight[keep] if edge_weight is not None else None
    return edge_index[:, keep], w


def mask_features(x: Tensor, p: float, *, generator: GeneratorLike = None) -> Tensor:
    """Zero whole feature columns of ``x [N, F]``, each with probability ``p``.

    One mask is shared by all nodes, as in GraphCL's attribute masking (You et al.
    2020): a dropped feature is absent from the whole graph view.
    """
    owner = "mask_features"
    p = check_real(p, "p", owner, low=0.0, high=1.0)
    x = check_float_tensor(x, "x", owner, ndim=2)
    keep = _rand((1, x.shape[1]), as_generator(generator, owner), x) >= p
    return x * keep.to(x.dtype)


GraphView = tuple[Tensor, Tensor]


class DropEdges(_Augment):
    """:func:`drop_edges` on an ``(x, edge_index)`` pair; ``x`` is unchanged."""

    def __init__(self, p: float = 0.2) -> None:
        self.p = check_real(p, "p", "DropEdges", low=0.0, high=1.0)

    def __call__(self, data: GraphView, generator: GeneratorLike = None) -> GraphView:
        x, edge_index = data
        kept, _ = drop_edges(edge_index, self.p, generator=generator)
        return x, kept


class MaskFeatures(_Augment):
    """:func:`mask_features` on an ``(x, edge_index)`` pair; edges are unchanged."""

    def __init__(self, p: float = 0.2) -> None:
        self.p = check_real(p, "p", "MaskFeatures", low=0.0, high=1.0)

    def __call__(self, data: GraphView, generator: GeneratorLike = None) -> GraphView:
        x, edge_index = data
        return mask_features(x, self.p, generator=generator), edge_index
