r"""Random views of a graph for node-level CoMatch: edge dropping and feature masking."""

from __future__ import annotations

import torch
from torch import Tensor

from graphssl._validation import check_real, param_error
from graphssl.augment import GeneratorLike, as_generator, drop_edges, mask_features

__all__ = ["NodeViews"]


def _mask_sparse(x: Tensor, p: float, g: torch.Generator | None) -> Tensor:
    """:func:`graphssl.augment.mask_features` for a sparse COO ``x [N, F]``: the same
    random draw (so the same generator state masks the same columns) applied to the
    stored values only, without densifying."""
    if x.dim() != 2 or not x.is_floating_point():
        raise param_error(
            "x", "NodeViews", "a 2-D floating-point tensor", list(x.shape)
        )
    x = x.coalesce()
    dev = g.device if g is not None else x.device
    draw = torch.rand((1, x.shape[1]), generator=g, device=dev)
    keep = (draw.to(x.device, x.dtype) >= p).to(x.dtype)[0]
    v = x.values() * keep[x.indices()[1]]
    return torch.sparse_coo_tensor(
        x.indices(), v, x.shape, is_coalesced=True, check_invariants=False
    )


class NodeViews:
    r"""A random view of a graph: drop each edge with probability ``edge_p``, then
    mask whole feature columns with probability ``feature_p`` (GraphCL-style, You et
    al. 2020). :meth:`weak` (10 % masking) and :meth:`strong` (30 % edge dropping,
    30 % masking) are the graph presets of :func:`graphssl.augment.weak_strong`.

    Called as ``view(data, generator=g)`` on ``data = (x [N, F], edge_index [2, E])``
    or ``(x, edge_index, edge_weight [E])``; returns a tuple of the same length with
    ``edge_index [2, E']`` (and ``edge_weight [E']``) of the kept edges. The same
    generator state gives the same view. ``x`` may be a sparse COO tensor (bag-of-words
    features): it stays sparse, which :class:`GCNEncoder` uses directly.

    Args:
        edge_p (float): in ``[0, 1]``. (default: ``0.0``)
        feature_p (float): in ``[0, 1]``. (default: ``0.0``)
    """

    def __init__(self, edge_p: float = 0.0, feature_p: float = 0.0) -> None:
        self.edge_p = check_real(edge_p, "edge_p", "NodeViews", low=0.0, high=1.0)
        self.feature_p = check_real(
            feature_p, "feature_p", "NodeViews", low=0.0, high=1.0
        )

    @classmethod
    def weak(cls) -> NodeViews:
        """10 % feature masking, all edges kept."""
        return cls(edge_p=0.0, feature_p=0.1)

    @classmethod
    def strong(cls) -> NodeViews:
        """30 % edge dropping and 30 % feature masking."""
        return cls(edge_p=0.3, feature_p=0.3)

    def __call__(
        self, data: tuple[Tensor, ...], generator: GeneratorLike = None
    ) -> tuple[Tensor, ...]:
        """One view of ``data``."""
        if not isinstance(data, tuple | list) or len(data) not in (2, 3):
            got = type(data).__name__
            raise param_error(
                "data",
                "NodeViews",
                "a tuple (x, edge_index[, edge_weight])",
                got,
                TypeError,
            )
        x, edge_index = data[0], data[1]
        w = data[2] if len(data) == 3 else None
        g = as_generator(generator, "NodeViews")
        ei, w = drop_edges(edge_index, self.edge_p, edge_weight=w, generator=g)
        xm = _mask_sparse(x, self.feature_p, g) if x.is_sparse else None
        if xm is None:
            xm = mask_features(x, self.feature_p, generator=g)
        return (xm, ei) if len(data) == 2 else (xm, ei, w)  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"NodeViews(edge_p={self.edge_p}, feature_p={self.feature_p})"
