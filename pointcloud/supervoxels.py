r"""VCCS-style super-voxels: an over-segmentation of a point cloud into small patches.

Voxel Cloud Connectivity Segmentation (Papon et al., CVPR 2013), written with
vectorised tensor operations (no Python loop over voxels or points):

1. **Voxelise** on a grid of ``voxel_size``; voxel :math:`v` gets the mean position
   :math:`x_v`, mean colour :math:`c_v` and a unit normal :math:`n_v` (the mean of given
   point normals, else the PCA normal of the voxel centroids).
2. **Adjacency**: voxels sharing a face, edge or corner (26-neighbourhood), plus
   links from each voxel to its 10 nearest voxel centroids closer than :math:`R`,
   which bridge the gaps a sparse scan leaves between occupied voxels (without them
   a cloud sampled more coarsely than ``voxel_size`` falls apart into single voxels).
3. **Seeds**: one per cell of a grid of ``seed_resolution`` :math:`R`, the voxel
   nearest the centroid of the cell's voxels; cells with fewer than
   ``min_seed_voxels`` voxels get none (sparse, noisy areas). Each seed moves to the
   voxel of lowest feature gradient among itself and its neighbours.
4. **Flow**: super-voxels grow from their seeds over the adjacency, breadth first
   for :math:`\lceil 1.8 R / \text{voxel\_size} \rceil` layers; a voxel goes to the
   neighbouring super-voxel :math:`s` that minimises

   .. math::

       D(v, s) = w_x \frac{\lVert x_v - \bar x_s \rVert}{R}
               + w_c \lVert c_v - \bar c_s \rVert
               + w_n \bigl(1 - \lvert n_v^\top \bar n_s \rvert\bigr)

   with :math:`(\bar x_s, \bar c_s, \bar n_s)` the centre of :math:`s` (its seed in
   the first round, then the mean of its voxels) and :math:`w_x, w_c, w_n` the
   spatial, colour and normal weights. Each seed is then reset to the voxel nearest
   its centre; ``max_iter`` rounds.
5. **Clean-up**: voxels no layer reached join neighbouring super-voxels (unbounded
   flow); islands without any seed become super-voxels of their own; a super-voxel
   split into disconnected pieces becomes one super-voxel per piece.

Points take their voxel's id. Ids are numbered in the order of the smallest voxel
coordinate they contain, so the partition does not depend on the order of the points.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from graphssl._validation import (
    check_int,
    check_real,
    param_error,
)
from pointcloud._voxels import Voxels, segment_centres, voxelize
from pointcloud.supervoxel_graph import components, first_by, unique_cells

__all__ = ["VCCS", "relabel_contiguous", "supervoxels"]


def relabel_contiguous(segments: Tensor) -> Tensor:
    """Map arbitrary integer ids (e.g. ScanNet ``segIndices``) to ``0..S-1``, in order."""
    if not isinstance(segments, Tensor) or segments.is_floating_point():
        raise param_error(
            "segments", "relabel_contiguous", "an integer tensor", segments, TypeError
        )
    inverse: Tensor = torch.unique(segments, return_inverse=True)[1]
    return inverse.reshape(segments.shape)


class VCCS:
    r"""Voxel Cloud Connectivity Segmentation (see the module docstring).

    Args:
        voxel_size (float, optional): edge of the voxel grid (scene units: metres for
            the synthetic scenes). (default: ``0.05``)
        seed_resolution (float, optional): spacing :math:`R` of the seed grid, about
            the diameter of a super-voxel; ``>= voxel_size``. (default: ``0.25``)
        spatial_weight (float, optional): :math:`w_x`. (default: ``1.0``)
        color_weight (float, optional): :math:`w_c`, on RGB in ``[0, 1]`` (8-bit
            colours are divided by 255); unused without colours. (default: ``2.0``)
        normal_weight (float, optional): :math:`w_n`. (default: ``1.0``)
        max_iter (int, optional): rounds of flow and centre updates. (default: ``5``)
        min_seed_voxels (int, optional): voxels a seed cell needs to get a seed;
            ``None`` for a tenth of a flat cell, :math:`\lceil 0.1 (R/v)^2 \rceil`.
            (default: ``None``)

    Example:
        >>> import torch
        >>> points = torch.rand(5_000, 3) * torch.tensor([2.0, 2.0, 0.0])
        >>> seg = VCCS(voxel_size=0.1, seed_resolution=0.5)(points)
        >>> seg.shape, int(seg.min()), 10 <= int(seg.max()) + 1 <= 40
        (torch.Size([5000]), 0, True)
    """

    def __init__(
        self,
        voxel_size: float = 0.05,
        seed_resolution: float = 0.25,
        spatial_weight: float = 1.0,
        color_weight: float = 2.0,
        normal_weight: float = 1.0,
        max_iter: int = 5,
        min_seed_voxels: int | None = None,
    ) -> None:
        owner = "VCCS"
        self.voxel_size = check_real(
            voxel_size, "voxel_size", owner, 0.0, None, "right"
        )
        self.seed_resolution = check_real(
            seed_resolution, "seed_resolution", owner, low=self.voxel_size
        )
        self.spatial_weight = check_real(spatial_weight, "spatial_weight", owner, 0.0)
        self.color_weight = check_real(color_weight, "color_weight", owner, 0.0)
        self.normal_weight = check_real(normal_weight, "normal_weight", owner, 0.0)
        self.max_iter = check_int(max_iter, "max_iter", owner, low=1)
        ratio = self.seed_resolution / self.voxel_size
        self.min_seed_voxels = (
            max(1, math.ceil(0.1 * ratio * ratio))
            if min_seed_voxels is None
            else check_int(min_seed_voxels, "min_seed_voxels", owner, low=1)
        )

    def __repr__(self) -> str:
        names = (
            "voxel_size", "seed_resolution", "spatial_weight", "color_weight",
            "normal_weight", "max_iter", "min_seed_voxels",
        )  # fmt: skip
        return "VCCS(" + ", ".join(f"{n}={getattr(self, n)}" for n in names) + ")"

    def __call__(
        self,
        points: Tensor,
        colors: Tensor | None = None,
        normals: Tensor | None = None,
    ) -> Tensor:
        """Super-voxel id of every point.

        Args:
            points (Tensor): ``[P, 3]`` float coordinates, finite, ``P >= 1``.
            colors (Tensor, optional): ``[P, 3]`` RGB; ``None`` for geometry only.
            normals (Tensor, optional): ``[P, 3]`` point normals; ``None`` estimates
                voxel normals by PCA.

        Returns:
            Tensor: ``[P]`` int64 ids in ``0..S-1``, every id used, on the device of
            ``points``.

        Raises:
            TypeError: for non-float inputs.
            ValueError: for an empty cloud, wrong shapes or NaN/inf values.
        """
        bridge = self.seed_resolution
        g = voxelize(points, colors, normals, self.voxel_size, bridge, "VCCS")
        # One float32 row per voxel, [w_x x / R, w_c c, n]: D(v, s) reads one gather.
        color = g.color if g.color is not None else torch.zeros_like(g.xyz)
        f = torch.cat(
            [
                g.xyz * (self.spatial_weight / self.seed_resolution),
                color * self.color_weight,
                g.normal,
            ],
            dim=1,
        ).float()
        seeds = self._seeds(g, f)
        centres = f[seeds]
        depth = math.ceil(1.8 * self.seed_resolution / self.voxel_size)
        for it in range(self.max_iter):
            label = self._grow(g.edge_index, f, *self._start(f, seeds, centres), depth)
            centres = segment_centres(f, label, seeds.numel())
            if it + 1 < self.max_iter:
                seeds, keep = _reseed(self, f, label, centres)
                centres = centres[keep]
        # Unbounded flow from the last labelling reaches every voxel connected to one.
        has = label >= 0
        dist = torch.full_like(f[:, 0], math.inf)
        dist[has] = self._distance(f[has], centres[label[has]])
        label = self._grow(g.edge_index, f, label, dist, has, centres, None)
        label = components(g.edge_index, label, label.numel())
        return label[g.point_voxel]

    def _distance(self, a: Tensor, b: Tensor) -> Tensor:
        """:math:`D` between feature rows ``a [E, 9]`` and centre rows ``b [E, 9]``."""
        d = a - b
        dx = torch.linalg.vector_norm(d[:, :3], dim=1)
        dc = torch.linalg.vector_norm(d[:, 3:6], dim=1)
        cos = (a[:, 6:] * b[:, 6:]).sum(1).abs()
        out: Tensor = dx + dc + self.normal_weight * (1.0 - cos)
        return out

    def _start(
        self, f: Tensor, seeds: Tensor, centres: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        label = torch.full((f.shape[0],), -1, dtype=torch.long, device=f.device)
        label[seeds] = torch.arange(seeds.numel(), device=f.device)
        dist = torch.full_like(f[:, 0], math.inf)
        dist[seeds] = self._distance(f[seeds], centres)
        return label, dist, label >= 0, centres

    def _grow(
        self,
        edge_index: Tensor,
        f: Tensor,
        label: Tensor,
        dist: Tensor,
        frontier: Tensor,
        centres: Tensor,
        depth: int | None,
    ) -> Tensor:
        """Layer-by-layer flow from ``frontier``; ``depth=None`` runs to a fixed point."""
        src, dst = edge_index
        top = torch.iinfo(torch.long).max
        step = 0
        while (depth is None or step < depth) and bool(frontier.any()):
            step += 1
            # An edge inside one super-voxel offers the owner's own distance: skip it.
            e = frontier[src] & (label[src] != label[dst])
            ed, cand = dst[e], label[src[e]]
            d = self._distance(f[ed], centres[cand])
            better = d < dist[ed]  # strict: the flow stops at a fixed point
            ed, cand, d = ed[better], cand[better], d[better]
            best = dist.clone().scatter_reduce_(0, ed, d, "amin")
            win = d == best[ed]
            # Ties go to the smallest super-voxel id: deterministic and order-free.
            lab = torch.full_like(label, top).scatter_reduce_(
                0, ed[win], cand[win], "amin"
            )
            frontier = lab < top
            label = torch.where(frontier, lab, label)
            dist = torch.where(frontier, best, dist)
        return label

    def _seeds(self, g: Voxels, f: Tensor) -> Tensor:
        """Initial seed voxels: one per well-populated seed cell, moved downhill."""
        xyz = g.xyz
        cell = torch.floor((xyz - xyz.min(0).values) / self.seed_resolution).long()
        inv = unique_cells(cell, "VCCS")[1]
        counts = torch.bincount(inv)
        c = counts.numel()
        centroid = xyz.new_zeros(c, 3).index_add_(0, inv, xyz) / counts.unsqueeze(1)
        near = torch.linalg.vector_norm(xyz - centroid[inv], dim=1)
        order = torch.argsort(near, stable=True)
        seed = order[first_by(inv[order], c)]
        seed = seed[counts >= self.min_seed_voxels]
        # Gradient: mean colour + normal distance of a voxel to its neighbours.
        src, dst = g.edge_index
        flat = f.clone()
        flat[:, :3] = 0.0
        pair = self._distance(flat[src], flat[dst])
        deg = torch.bincount(dst, minlength=f.shape[0]).clamp(min=1)
        grad = f.new_zeros(f.shape[0]).index_add_(0, dst, pair) / deg
        # Each seed moves to the lowest-gradient voxel among itself and its neighbours.
        slot = torch.full((f.shape[0],), -1, dtype=torch.long, device=f.device)
        slot[seed] = torch.arange(seed.numel(), device=f.device)
        cand_s = torch.cat([slot[seed], slot[src]])
        cand_v = torch.cat([seed, dst])
        cand_s, cand_v = cand_s[cand_s >= 0], cand_v[cand_s >= 0]
        order = torch.argsort(grad[cand_v], stable=True)
        moved = cand_v[order][first_by(cand_s[order], seed.numel())]
        seeds: Tensor = torch.unique(moved)
        return seeds


def _reseed(
    vccs: VCCS, f: Tensor, label: Tensor, centres: Tensor
) -> tuple[Tensor, Tensor]:
    """Per super-voxel the voxel nearest its centre; emptied ones are dropped."""
    vox = torch.nonzero(label >= 0).squeeze(1)
    d = vccs._distance(f[vox], centres[label[vox]])
    order = torch.argsort(d, stable=True)
    pick = first_by(label[vox][order], centres.shape[0])
    keep = pick >= 0
    return vox[order][pick[keep]], keep


def supervoxels(
    points: Tensor,
    colors: Tensor | None = None,
    normals: Tensor | None = None,
    **kwargs: Any,
) -> Tensor:
    """Functional form of :class:`VCCS`: ``VCCS(**kwargs)(points, colors, normals)``."""
    return VCCS(**kwargs)(points, colors, normals)
