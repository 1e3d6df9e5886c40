"""Voxel features for :class:`pointcloud.supervoxels.VCCS` (private).

Points are binned into cubic voxels; each voxel gets its mean position, colour and a
normal (given ones averaged, or PCA over neighbouring voxel centres), and voxels are
linked to their 26 neighbours plus near kNN centres that bridge gaps in sparse scans.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from graphssl._validation import check_finite, check_float_tensor, param_error
from graphssl.neighbors import knn
from pointcloud.normals import _check_points, normals_from_neighbors
from pointcloud.supervoxel_graph import first_by, unique_cells, voxel_adjacency

__all__ = ["Voxels", "segment_centres", "voxelize"]

_NORMAL_K = 10  # voxel centroids per PCA normal: about a 2-voxel radius on a plane


@dataclass
class Voxels:
    point_voxel: Tensor  # [P] voxel of every point
    xyz: Tensor  # [V, 3] float64 mean position
    color: Tensor | None  # [V, 3] mean colour
    normal: Tensor  # [V, 3] unit normal (zeros when undefined)
    edge_index: Tensor  # [2, E] 26-adjacency, both directions


def voxelize(
    points: Tensor,
    colors: Tensor | None,
    normals: Tensor | None,
    size: float,
    bridge: float,
    owner: str,
) -> Voxels:
    """Validated inputs to voxel features and the 26-adjacency of the voxels."""
    points = _check_points(points, owner)  # also rejects an empty cloud
    for name, t in (("colors", colors), ("normals", normals)):
        if t is not None:
            t = check_finite(check_float_tensor(t, name, owner, ndim=2), name, owner)
            if t.shape != points.shape or t.device != points.device:
                allowed = f"a [{points.shape[0]}, 3] tensor on {points.device}"
                raise param_error(name, owner, allowed, f"shape {list(t.shape)}")
    p64 = points.detach().double()
    cells = torch.floor((p64 - p64.min(0).values) / size).long()
    coords, inv = unique_cells(cells, owner)
    v = coords.shape[0]
    cnt = torch.bincount(inv, minlength=v).unsqueeze(1).double()

    def mean(f: Tensor) -> Tensor:
        # float64 sums of float32 inputs are exact here: the order of points is moot.
        return p64.new_zeros(v, 3).index_add_(0, inv, f.detach().double()) / cnt

    color = None
    if colors is not None:
        color = mean(colors)
        if float(color.max()) > 1.5:  # 8-bit RGB
            color = color / 255.0
    xyz = mean(points)
    edges = voxel_adjacency(coords)
    normal = torch.zeros_like(xyz)  # fewer than 3 voxels: no plane, no normal term
    if v >= 3:
        index, dist = knn(xyz, min(_NORMAL_K, v - 1))
        if normals is None:
            normal = normals_from_neighbors(xyz, index)
        # Sparse scans leave gaps between occupied voxels; near kNN links bridge them
        # (on dense surfaces they repeat 26-neighbours and are merged away).
        near = dist <= bridge
        src = torch.arange(v, device=xyz.device).unsqueeze(1).expand_as(index)
        extra = torch.stack([src[near], index[near]])
        key = torch.cat([edges, extra, extra.flip(0)], 1)
        key = torch.unique(key[0] * v + key[1])
        edges = torch.stack([key // v, key % v])
    if normals is not None:
        normal = torch.nn.functional.normalize(mean(normals), dim=1)
    return Voxels(inv, xyz, color, normal, edges)


def segment_centres(f: Tensor, label: Tensor, num: int) -> Tensor:
    """Mean feature row of every super-voxel (``[num, 9]``, normals re-normalised)."""
    vox = torch.nonzero(label >= 0).squeeze(1)
    lab = label[vox]
    rows = f[vox].clone()
    # Normals are lines: align each to its super-voxel's first voxel before
    # averaging, or opposite orientations would cancel.
    ref = rows[first_by(lab, num).clamp(min=0), 6:]
    flip = (rows[:, 6:] * ref[lab]).sum(1) < 0
    rows[flip, 6:] = -rows[flip, 6:]
    cnt = torch.bincount(lab, minlength=num).clamp(min=1).unsqueeze(1).to(f)
    out = f.new_zeros(num, f.shape[1]).index_add_(0, lab, rows) / cnt
    out[:, 6:] = torch.nn.functional.normalize(out[:, 6:], dim=1)
    return out
