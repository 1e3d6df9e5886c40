r"""A point-voxel network in plain torch: the CPU stand-in for OTOC's sparse U-Net.

One Thing One Click trains a 7-level sparse-convolution U-Net (spconv) on 2 cm voxels.
Sparse-convolution libraries are not installable here and would not run on a laptop
CPU anyway, so this module keeps the *shape* of that network, an encoder-decoder over
a voxel pyramid with skip connections, and replaces each sparse convolution by a
k-nearest-neighbour aggregation over occupied voxel centroids:

.. math::
    h_i' = \mathrm{ReLU}\Big(\mathrm{LN}\big(W [\,h_i \,\|\, \max_{j \in
    \mathcal{N}(i)} h_j - h_i \,\|\, \tfrac{1}{|\mathcal{N}(i)|}\sum_{j \in
    \mathcal{N}(i)} h_j \,]\big)\Big)

with :math:`h_i` the feature of voxel :math:`i`, :math:`\mathcal{N}(i)` its ``k``
nearest occupied voxels (itself included), :math:`\|` concatenation and LN a layer
norm. The linear map runs once per voxel rather than once per edge (EdgeConv's
per-edge MLP is ``k`` times dearer), which is what keeps 100k-point scenes trainable on
one CPU core; the max-minus-self term still carries relative geometry because voxel
features start from mean positions.

The geometry (voxel assignments at every level and the neighbour lists) depends only
on the points, so :func:`build_pyramid` computes it once per scene and every epoch and
self-training round reuses it. Voxel order comes from ``torch.unique`` over integer
grid keys, so it does not depend on the order of the points.

Example:
    >>> import torch
    >>> from pointcloud.backbone import PointVoxelNet, build_pyramid
    >>> points = torch.rand(500, 3) * 2
    >>> pyr = build_pyramid(points, voxel_sizes=(0.2, 0.6), k=4)
    >>> net = PointVoxelNet(in_channels=3, num_classes=4, levels=2)
    >>> logits, feats = net(points, pyr)
    >>> logits.shape, feats.shape
    (torch.Size([500, 4]), torch.Size([500, 32]))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from graphssl._validation import (
    check_finite,
    check_float_tensor,
    check_int,
    check_real,
    param_error,
)
from graphssl.neighbors import knn

__all__ = ["PointVoxelNet", "Pyramid", "build_pyramid", "point_features"]


@dataclass(frozen=True)
class Pyramid:
    """Voxel levels of one scene.

    Attributes:
        assign (list[Tensor]): ``assign[l]`` ``[N_l]`` int64, the voxel of level
            ``l + 1`` holding each element of level ``l`` (level 0 are the points).
        neighbors (list[Tensor]): ``neighbors[l]`` ``[V_{l+1}, K]`` int64, the ``K``
            nearest voxels of level ``l + 1`` (itself first).
        sizes (list[int]): ``[P, V_1, V_2, ...]`` element counts per level.
    """

    assign: list[Tensor]
    neighbors: list[Tensor]
    sizes: list[int]

    def to(self, device: torch.device | str) -> Pyramid:
        """The same pyramid with every tensor on ``device``."""
        return Pyramid(
            [a.to(device) for a in self.assign],
            [n.to(device) for n in self.neighbors],
            list(self.sizes),
        )


def _scatter_mean(x: Tensor, index: Tensor, n: int) -> Tensor:
    out = x.new_zeros(n, x.shape[1]).index_add_(0, index, x)
    count = x.new_zeros(n).index_add_(0, index, x.new_ones(index.shape[0]))
    return out / count.clamp(min=1)[:, None]


def _neighbors(centroid: Tensor, k: int) -> Tensor:
    """``[V, min(k, V)]``: each voxel itself, then its nearest other voxels."""
    v = centroid.shape[0]
    self_idx = torch.arange(v, device=centroid.device)[:, None]
    if v == 1 or k == 1:
        return self_idx
    idx, _ = knn(centroid, min(k - 1, v - 1))
    return torch.cat([self_idx, idx], 1)


def build_pyramid(
    points: Tensor, voxel_sizes: Sequence[float] = (0.1, 0.3, 0.9), k: int = 8
) -> Pyramid:
    """Voxelise ``points`` at each of ``voxel_sizes`` and link the voxels by kNN.

    Args:
        points (Tensor): ``[P, 3]`` finite coordinates (metres).
        voxel_sizes (sequence of float): edge of the voxels of each level, increasing.
            (default: ``(0.1, 0.3, 0.9)``)
        k (int): neighbours per voxel, itself included; fewer where a level has
            fewer voxels. (default: ``8``)

    Returns:
        Pyramid: on the device of ``points``.
    """
    owner = "build_pyramid"
    points = check_float_tensor(points, "points", owner, ndim=2)
    check_finite(points, "points", owner)
    if points.shape[1] != 3:
        raise param_error("points", owner, "of shape [P, 3]", list(points.shape))
    k = check_int(k, "k", owner, low=1)
    if len(voxel_sizes) == 0:
        raise param_error("voxel_sizes", owner, "at least one size", voxel_sizes)
    sizes = [
        check_real(s, "voxel_sizes", owner, low=0.0, closed="neither")
        for s in voxel_sizes
    ]
    p64 = points.detach().double()
    origin = p64.min(0).values
    assign, neighbors, counts = [], [], [points.shape[0]]
    elements = p64  # positions of the previous level's elements (points first)
    point_to = torch.arange(points.shape[0], device=points.device)
    for size in sizes:
        # Keys of the previous level's centroids: every element lands in exactly one
        # voxel, so levels nest even where sizes are not exact multiples.
        keys = torch.floor((elements - origin) / size).long()
        _, inv = torch.unique(keys, dim=0, return_inverse=True)  # sorted: order-free
        v = int(inv.max()) + 1
        assign.append(inv)
        point_to = inv[point_to]
        elements = _scatter_mean(p64, point_to, v)  # centroid of the points
        neighbors.append(_neighbors(elements, k))
        counts.append(v)
    return Pyramid(assign, neighbors, counts)


def point_features(
    points: Tensor, colors: Tensor | None = None, normals: Tensor | None = None
) -> Tensor:
    r"""Network input per point: ``[x - \bar x, y - \bar y, z - z_{min}, rgb - ½,
    |n_z|, \|n_{xy}\|]``.

    Positions stay in metres (a floor is at height 0 in every scene, so height is a
    usable cue) and are only centred; colours are shifted to be zero-mean; a normal
    enters as its vertical and horizontal magnitudes, which neither its arbitrary PCA
    sign nor a rotation about the vertical axis change.

    Args:
        points (Tensor): ``[P, 3]``.
        colors (Tensor, optional): ``[P, 3]`` RGB in ``[0, 1]``; left out when ``None``.
        normals (Tensor, optional): ``[P, 3]`` unit normals; zeros when ``None``.

    Returns:
        Tensor: ``[P, 5]`` or, with colours, ``[P, 8]``, in the dtype of ``points``.
    """
    lo = points.min(0).values
    mean = points.mean(0)
    shift = torch.stack([mean[0], mean[1], lo[2]])
    parts = [points - shift]
    if colors is not None:
        parts.append(colors.to(points.dtype) - 0.5)
    if normals is None:
        normals = torch.zeros_like(points)
    n = normals.to(points.dtype)
    parts.append(torch.stack([n[:, 2].abs(), n[:, :2].norm(dim=1)], 1))
    return torch.cat(parts, 1)


class _KNNConv(nn.Module):
    """One aggregation step of the module equation, with a residual when possible."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.lin = nn.Linear(3 * cin, cout)
        self.norm = nn.LayerNorm(cout)
        self.residual = cin == cout

    def forward(self, h: Tensor, nbr: Tensor) -> Tensor:
        # index_select, not h[nbr]: the backward of advanced indexing accumulates in a
        # thread-dependent order on CPU, so two runs with >1 thread would differ.
        g = h.index_select(0, nbr.reshape(-1)).view(*nbr.shape, h.shape[1])  # [V, K, F]
        z = torch.cat([h, g.max(1).values - h, g.mean(1)], 1)
        out = torch.relu(self.norm(self.lin(z)))
        return out + h if self.residual else out


def _mlp(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cin, cout), nn.LayerNorm(cout), nn.ReLU())


class PointVoxelNet(nn.Module):
    r"""Encoder-decoder over a voxel pyramid, returning per-point logits and features.

    Points are embedded by a shared MLP, mean-pooled into the voxels of level 1,
    aggregated by two :class:`_KNNConv` steps, pooled into level 2, and so on; the
    decoder gathers each level back to the one below and fuses it with that level's
    skip feature; a last MLP maps points to ``feature_dim`` features and a linear layer
    to class logits.

    Args:
        in_channels (int): input features per point (see :func:`point_features`).
        num_classes (int): classes ``C``.
        hidden (int, optional): width at the point level; voxel levels use twice it.
            (default: ``32``)
        feature_dim (int, optional): width ``F`` of the returned point features.
            (default: ``32``)
        levels (int, optional): voxel levels; must match the pyramid. (default: ``3``)

    Shapes:
        - input: ``x [P, in_channels]``, a :class:`Pyramid` of ``levels`` levels.
        - output: ``logits [P, C]``, ``features [P, F]``.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        hidden: int = 32,
        feature_dim: int = 32,
        levels: int = 3,
    ) -> None:
        super().__init__()
        owner = "PointVoxelNet"
        self.in_channels = check_int(in_channels, "in_channels", owner, low=1)
        self.num_classes = check_int(num_classes, "num_classes", owner, low=1)
        self.hidden = check_int(hidden, "hidden", owner, low=1)
        self.feature_dim = check_int(feature_dim, "feature_dim", owner, low=1)
        self.levels = check_int(levels, "levels", owner, low=1)
        h, w = self.hidden, 2 * self.hidden
        self.embed = nn.Sequential(_mlp(in_channels, h), _mlp(h, h))
        self.down = nn.ModuleList(
            [
                nn.ModuleList([_KNNConv(h if i == 0 else w, w), _KNNConv(w, w)])
                for i in range(levels)
            ]
        )
        self.up = nn.ModuleList([_mlp(2 * w, w) for _ in range(levels - 1)])
        self.head = nn.Sequential(
            _mlp(h + w, feature_dim), _mlp(feature_dim, feature_dim)
        )
        self.classifier = nn.Linear(feature_dim, num_classes)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(in_channels={self.in_channels}, "
            f"num_classes={self.num_classes}, hidden={self.hidden}, "
            f"feature_dim={self.feature_dim}, levels={self.levels})"
        )

    def forward(self, x: Tensor, pyramid: Pyramid) -> tuple[Tensor, Tensor]:
        if len(pyramid.assign) != self.levels:
            raise param_error(
                "pyramid", type(self).__name__, f"a pyramid of {self.levels} levels",
                len(pyramid.assign),
            )  # fmt: skip
        if (
            x.dim() != 2
            or x.shape[0] != pyramid.sizes[0]
            or x.shape[1] != self.in_channels
        ):
            allowed = f"x of shape [{pyramid.sizes[0]}, {self.in_channels}]"
            raise param_error("x", type(self).__name__, allowed, list(x.shape))
        p = self.embed(x)
        h, skips = p, []
        for lvl, convs in enumerate(self.down):
            idx, nbr = pyramid.assign[lvl], pyramid.neighbors[lvl]
            h = _scatter_mean(h, idx, pyramid.sizes[lvl + 1])
            for conv in convs:  # type: ignore[attr-defined]
                h = conv(h, nbr)
            skips.append(h)
        for lvl in range(self.levels - 2, -1, -1):  # decoder: coarse to fine
            up = h.index_select(0, pyramid.assign[lvl + 1])
            h = self.up[lvl](torch.cat([skips[lvl], up], 1))
        feats = self.head(torch.cat([p, h.index_select(0, pyramid.assign[0])], 1))
        return self.classifier(feats), feats
