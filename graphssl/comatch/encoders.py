r"""Feature encoders for CoMatch, one per modality, and node views for graphs.

An encoder maps a batch to features ``[N, D]``; :class:`~graphssl.comatch.CoMatchNet`
adds the linear classifier and the projection head. Every encoder stores :math:`D` as
``num_features`` (pass it as ``CoMatch(feature_dim=...)`` to skip the probe forward).

* :class:`MLPEncoder` — feature vectors ``[N, F]``.
* :class:`DigitsCNN` — 8×8 grey images ``[N, 1, 8, 8]`` or flattened ``[N, 64]``
  (scikit-learn's digits).
* :class:`WideResNet` — WRN-28-2 (Zagoruyko & Komodakis 2016) for 32×32 RGB images in
  the FixMatch/CoMatch variant: pre-activation blocks, batch-norm momentum 0.001,
  LeakyReLU(0.1). With a 10-class linear classifier it has 1,467,610 parameters.
* :class:`GCNEncoder` and :class:`NodeMLPEncoder` — graph nodes, called on the whole
  graph as ``(x [N, F], edge_index [2, E], edge_weight [E] | None)``, one row per node.
* :class:`NodeViews` — graph views by edge dropping and feature-column masking
  (:func:`graphssl.augment.drop_edges`, :func:`graphssl.augment.mask_features`).

Batch-norm statistics are per process: under DDP convert the model with
:meth:`torch.nn.SyncBatchNorm.convert_sync_batchnorm` to match single-process training.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphssl._optional import require
from graphssl._validation import check_edge_index, check_int, check_real, param_error
from graphssl.comatch._inputs import _check_input

__all__ = [
    "DigitsCNN",
    "GCNEncoder",
    "MLPEncoder",
    "NodeMLPEncoder",
    "NodeViews",
    "WideResNet",
]


def _check_dropout(p: Any, owner: str) -> float:
    return check_real(p, "dropout", owner, low=0.0, high=1.0, closed="left")


def _input_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout on the GCN input, as a sparse COO tensor when ``x`` is mostly zeros.

    Same distribution as :func:`torch.nn.functional.dropout` (zeros stay zero either
    way), but random numbers are drawn for the non-zero entries only and the first
    layer's matrix product runs sparse: bag-of-words node features are ~1 % non-zero,
    and dense dropout on Cora's ``[2708, 1433]`` dominated a CoMatch step (4× slower).
    """
    if x.requires_grad:
        return F.dropout(x, p, training)
    xs = x.coalesce() if x.is_sparse else x.to_sparse()
    if not x.is_sparse and 4 * xs._nnz() > x.numel():  # dense: plain kernels win
        return F.dropout(x, p, training)
    if not training or p == 0.0:
        return xs
    v = xs.values()
    keep = (torch.rand(v.shape, device=v.device) >= p).to(v.dtype) / (1.0 - p)
    return torch.sparse_coo_tensor(
        xs.indices(), v * keep, xs.shape, is_coalesced=True, check_invariants=False
    )


class MLPEncoder(nn.Module):
    r"""Multi-layer perceptron :math:`h = \phi(W_L \cdots \phi(W_1 x))`, with
    :math:`\phi` = ReLU followed by dropout and :math:`W_l` affine maps.

    Args:
        in_features (int): :math:`F`.
        hidden (Sequence[int]): widths of the layers, at least one; the last is
            :math:`D`. (default: ``(128,)``)
        dropout (float): in ``[0, 1)``. (default: ``0.0``)

    Shapes:
        ``x [N, F]`` → ``features [N, D]``.
    """

    def __init__(
        self, in_features: int, hidden: Sequence[int] = (128,), dropout: float = 0.0
    ) -> None:
        super().__init__()
        o = type(self).__name__
        self.in_features = check_int(in_features, "in_features", o, low=1)
        if isinstance(hidden, int) or len(hidden) == 0:
            raise param_error("hidden", o, "a non-empty sequence of ints", hidden)
        widths = [check_int(h, "hidden", o, low=1) for h in hidden]
        self.dropout = _check_dropout(dropout, o)
        dims = [self.in_features, *widths]
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in itertools.pairwise(dims)
        )
        self.num_features = widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        """Features ``[N, D]``."""
        h = _check_input(x, type(self).__name__, ("N", self.in_features))
        for layer in self.layers:
            h = F.dropout(F.relu(layer(h)), self.dropout, self.training)
        return h


class NodeMLPEncoder(MLPEncoder):
    """:class:`MLPEncoder` with the graph-encoder call ``(x, edge_index, edge_weight)``;
    the edges are ignored (the graph-free baseline for node classification)."""

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor | None = None,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        """Features ``[N, D]`` of all nodes."""
        return super().forward(x)


class GCNEncoder(nn.Module):
    r"""Graph convolutional network (Kipf & Welling 2017) for node features.

    .. math::
        H^{(l+1)} = \hat D^{-1/2} \hat A \hat D^{-1/2} H^{(l)} W^{(l)},
        \qquad l = 0, \dots, L - 1

    with ReLU between layers (not after the last), dropout before every layer (a
    mostly-zero input goes through the first layer as a sparse tensor),
    :math:`H^{(0)} = x`, :math:`\hat A = A + I` the (weighted) adjacency with self-loops
    and :math:`\hat D` its degree matrix. The features are :math:`H^{(L)}`; with the
    linear classifier of :class:`~graphssl.comatch.CoMatchNet` on top, ``num_layers=2``
    is the usual two-layer GCN (its output layer factored through :math:`D` units).
    Uses :class:`torch_geometric.nn.GCNConv` (no compiled extension needed) without
    caching, because views change the edges.

    Args:
        in_features (int): :math:`F`.
        hidden (int): :math:`D`. (default: ``64``)
        num_layers (int): :math:`L \ge 1`. (default: ``2``)
        dropout (float): in ``[0, 1)``. (default: ``0.5``)

    Shapes:
        ``x [N, F]``, ``edge_index [2, E]``, ``edge_weight [E]`` → ``features [N, D]``.
    """

    def __init__(
        self,
        in_features: int,
        hidden: int = 64,
        num_layers: int = 2,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        o = type(self).__name__
        conv = require("torch_geometric.nn", o).GCNConv
        self.in_features = check_int(in_features, "in_features", o, low=1)
        self.num_features = check_int(hidden, "hidden", o, low=1)
        n = check_int(num_layers, "num_layers", o, low=1)
        self.dropout = _check_dropout(dropout, o)
        dims = [self.in_features] + [self.num_features] * n
        self.convs = nn.ModuleList(conv(a, b) for a, b in itertools.pairwise(dims))

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None
    ) -> Tensor:
        """Features ``[N, D]`` of all nodes."""
        o = type(self).__name__
        h = _check_input(x, o, ("N", self.in_features))
        check_edge_index(edge_index, "edge_index", o)
        e = edge_index.shape[1]
        if edge_weight is not None and tuple(edge_weight.shape) != (e,):
            raise param_error("edge_weight", o, f"a [{e}] tensor", edge_weight.shape)
        for i, conv in enumerate(self.convs):
            if i:
                h = F.dropout(F.relu(h), self.dropout, self.training)
            else:
                h = _input_dropout(h, self.dropout, self.training)
            h = conv(h, edge_index, edge_weight)
        return h


class DigitsCNN(nn.Module):
    r"""Small CNN for 8×8 grey images: three 3×3 conv–BN–ReLU layers (32, 64, 128
    channels, a 2×2 max-pool after the second) and global average pooling.

    Shapes:
        ``x [N, 1, 8, 8]`` or ``[N, 64]`` → ``features [N, 128]``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.num_features = 128

        def block(a: int, b: int) -> list[nn.Module]:
            return [
                nn.Conv2d(a, b, 3, padding=1, bias=False),
                nn.BatchNorm2d(b),
                nn.ReLU(),
            ]

        self.body = nn.Sequential(
            *block(1, 32), *block(32, 64), nn.MaxPool2d(2), *block(64, 128)
        )

    def forward(self, x: Tensor) -> Tensor:
        """Features ``[N, 128]``."""
        if isinstance(x, Tensor) and x.dim() == 2:
            x = _check_input(x, "DigitsCNN", ("N", 64)).view(-1, 1, 8, 8)
        x = _check_input(x, "DigitsCNN", ("N", 1, 8, 8))
        h: Tensor = self.body(x).mean(dim=(2, 3))
        return h


# Re-exported: each has its own module, this one lists every encoder.
from graphssl.comatch.node_views import NodeViews  # noqa: E402
from graphssl.comatch.wide_resnet import WideResNet  # noqa: E402
