r"""Graphs over voxels and super-voxels.

Voxel level (used by :class:`~pointcloud.supervoxels.VCCS`): :func:`unique_cells`,
:func:`voxel_adjacency` (26-neighbourhood of occupied cells) and :func:`components`
(connected pieces of equal label).

The super-voxel graph (:func:`supervoxel_graph`): one node per super-voxel, edges
between nearby ones.

Nodes carry descriptors pooled from their points (mean position, colour, normal and
any per-point features, plus the point count). Edges join super-voxels that

* **touch** (``adjacency='touch'``): some of their points fall in the same or in
  neighbouring cells (26-neighbourhood) of a grid of edge ``contact_radius``, so
  every pair of points closer than ``contact_radius`` is detected (and no pair
  farther apart than :math:`2\sqrt{3}` times it);
* are **k nearest** centroids of each other (``adjacency='knn'``, symmetrised), which
  also links pieces that a gap in the scan separates;
* either (``adjacency='both'``).

Edges are weighted with a Gaussian kernel (:class:`graphssl.similarity.Gaussian`) on
the distance between concatenated descriptors :math:`g_i`:

.. math::

    w_{ij} = \exp\!\left(-\frac{\lVert g_i - g_j \rVert^2}{2\sigma^2}\right).
"""

from __future__ import annotations

from collections.abc import Sequence

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
from graphssl.graph import Graph
from graphssl.neighbors import knn
from graphssl.similarity import Gaussian
from pointcloud.normals import _check_points
from pointcloud.supervoxel_metrics import check_segments

__all__ = [
    "ADJACENCY",
    "components",
    "first_by",
    "pool",
    "supervoxel_graph",
    "unique_cells",
    "unpool",
    "voxel_adjacency",
]

ADJACENCY = ("touch", "knn", "both")
_DESCRIPTORS = ("xyz", "color", "normal", "features")


def first_by(group: Tensor, num: int) -> Tensor:
    """For each group ``0..num-1`` the smallest position ``i`` with ``group[i] == g``.

    Returns ``[num]`` int64, ``-1`` for an empty group.
    """
    n = group.numel()
    pos = torch.arange(n, device=group.device)
    first = torch.full((num,), n, dtype=torch.long, device=group.device)
    first.scatter_reduce_(0, group, pos, "amin")
    return torch.where(first < n, first, torch.full_like(first, -1))


def _linear(
    cells: Tensor, owner: str, name: str = "voxel_size"
) -> tuple[Tensor, Tensor]:
    """Int64 keys of non-negative ``cells [N, 3]`` with an empty border; multipliers."""
    dims = cells.max(0).values + 3  # one empty layer on each side: no wrap-around
    if float(dims.double().prod()) >= 2.0**62:
        allowed = "large enough for int64 cell keys over the cloud's extent"
        raise param_error(name, owner, allowed, "too small")
    mult = torch.stack([dims[1] * dims[2], dims[2], torch.ones_like(dims[0])])
    return ((cells + 1) * mult).sum(1), mult


def unique_cells(
    cells: Tensor, owner: str, name: str = "voxel_size"
) -> tuple[Tensor, Tensor]:
    """Distinct rows of ``cells [N, 3]`` (int64, non-negative) in key order, inverse.

    ``owner`` and ``name`` (the cell-size parameter) word the error raised when the
    grid is too fine for int64 keys.
    """
    key, mult = _linear(cells, owner, name)
    # 1-D unique on linear keys: ~30x faster than torch.unique(dim=0) at 10^6 rows.
    uniq, inv = torch.unique(key, return_inverse=True)
    coords = torch.stack([uniq // mult[0], (uniq % mult[0]) // mult[1], uniq % mult[1]])
    return coords.t() - 1, inv


def voxel_adjacency(coords: Tensor) -> Tensor:
    """26-neighbourhood ``edge_index [2, E]`` (both directions) of integer cells.

    Args:
        coords (Tensor): ``[V, 3]`` int64 distinct, non-negative cell coordinates.
    """
    key, mult = _linear(coords, "voxel_adjacency")
    skey, order = torch.sort(key)
    r = torch.tensor([-1, 0, 1], device=coords.device)
    offs = (torch.cartesian_prod(r, r, r) * mult).sum(1)
    src, dst = [], []
    for off in offs[offs > 0]:  # 13 half-offsets; the reverse edges add the rest
        pos = torch.searchsorted(skey, key + off).clamp(max=skey.numel() - 1)
        hit = skey[pos] == key + off
        src.append(torch.nonzero(hit).squeeze(1))
        dst.append(order[pos[hit]])
    a, b = torch.cat(src), torch.cat(dst)
    return torch.stack([torch.cat([a, b]), torch.cat([b, a])])


def components(edge_index: Tensor, label: Tensor, num: int) -> Tensor:
    """Connected pieces of equal ``label`` over ``edge_index``, ids by first node."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    same = label[edge_index[0]] == label[edge_index[1]]
    ei = edge_index[:, same].cpu().numpy()
    adj = sp.coo_matrix(
        (np.ones(ei.shape[1], dtype=np.int8), (ei[0], ei[1])), (num, num)
    )
    _, comp = connected_components(adj, directed=False)
    comp_t = torch.from_numpy(comp.astype(np.int64)).to(label.device)
    first = first_by(comp_t, int(comp_t.max()) + 1)
    rank = torch.empty_like(first)
    rank[torch.argsort(first)] = torch.arange(first.numel(), device=first.device)
    return rank[comp_t]


def pool(values: Tensor, segments: Tensor, num_segments: int | None = None) -> Tensor:
    r"""Mean of ``values`` over the points of each super-voxel.

    .. math:: \text{out}_s = \frac{1}{|\{i: \text{seg}_i = s\}|}
              \sum_{i:\, \text{seg}_i = s} \text{values}_i

    Args:
        values (Tensor): ``[P, F]`` or ``[P]`` floating point.
        segments (Tensor): ``[P]`` ids in ``0..S-1``.
        num_segments (int, optional): ``S``; default ``max(segments) + 1``.

    Returns:
        Tensor: ``[S, F]`` (or ``[S]``); empty super-voxels get 0. Differentiable in
        ``values``.
    """
    owner = "pool"
    values = check_float_tensor(values, "values", owner)
    segments = check_segments(segments, owner, values.shape[0])
    if num_segments is None:
        num_segments = int(segments.max()) + 1
    num_segments = check_int(
        num_segments, "num_segments", owner, low=int(segments.max()) + 1
    )
    flat = values.reshape(values.shape[0], -1)
    total = flat.new_zeros(num_segments, flat.shape[1]).index_add(0, segments, flat)
    count = torch.bincount(segments, minlength=num_segments).clamp(min=1).to(flat)
    out = total / count.unsqueeze(1)
    return out.reshape(num_segments, *values.shape[1:])


def unpool(values: Tensor, segments: Tensor) -> Tensor:
    """Copy each super-voxel's row to its points: ``values[segments]``, ``[P, ...]``."""
    segments = check_segments(segments, "unpool")
    if segments.numel() and int(segments.max()) >= values.shape[0]:
        allowed = f"ids below the {values.shape[0]} rows of values"
        raise param_error("segments", "unpool", allowed, int(segments.max()))
    return values[segments]


def _touching(points: Tensor, segments: Tensor, num: int, radius: float) -> Tensor:
    """Undirected pairs ``[2, M]`` (i < j) of segments with points in adjacent cells."""
    p64 = points.detach().double()
    cells = torch.floor((p64 - p64.min(0).values) / radius).long()
    coords, cell = unique_cells(cells, "supervoxel_graph", "contact_radius")
    # Distinct (cell, segment) pairs, sorted by cell.
    pair = torch.unique(cell * num + segments)
    pc, ps = pair // num, pair % num
    ckey, mult = _linear(
        coords, "supervoxel_graph", "contact_radius"
    )  # increasing with the cell
    key = ckey[pc]
    r = torch.tensor([-1, 0, 1], device=points.device)
    offs = (torch.cartesian_prod(r, r, r) * mult).sum(1)
    out = []
    for off in offs[offs >= 0]:  # the cell itself and 13 half-offsets
        lo = torch.searchsorted(key, key + off)
        hi = torch.searchsorted(key, key + off, right=True)
        n = hi - lo
        a = torch.repeat_interleave(torch.arange(key.numel(), device=key.device), n)
        start = torch.repeat_interleave(lo - torch.cumsum(n, 0) + n, n)
        b = start + torch.arange(a.numel(), device=key.device)
        out.append(torch.stack([ps[a], ps[b]]))
    e = torch.cat(out, 1)
    e = e[:, e[0] != e[1]]
    return torch.stack([e.min(0).values, e.max(0).values])


def supervoxel_graph(
    points: Tensor,
    segments: Tensor,
    *,
    colors: Tensor | None = None,
    normals: Tensor | None = None,
    features: Tensor | None = None,
    adjacency: str = "both",
    k: int = 8,
    contact_radius: float | None = None,
    sigma: float | str = "median",
    affinity: Sequence[str] = ("xyz", "color"),
) -> tuple[Graph, dict[str, Tensor]]:
    r"""Super-voxel adjacency graph with Gaussian affinities and node descriptors.

    Args:
        points (Tensor): ``[P, 3]`` coordinates.
        segments (Tensor): ``[P]`` ids, every id of ``0..S-1`` used (see
            :func:`pointcloud.supervoxels.relabel_contiguous`).
        colors, normals (Tensor, optional): ``[P, 3]`` per-point colour / normal.
        features (Tensor, optional): ``[P, F]`` per-point features (e.g. learned).
        adjacency (str, optional): ``'touch'``, ``'knn'`` or ``'both'``.
            (default: ``'both'``)
        k (int, optional): centroid neighbours for ``'knn'``/``'both'``, capped at
            ``S - 1``. (default: ``8``)
        contact_radius (float, optional): cell edge of the contact test; ``None``
            for twice the median distance of a point to its nearest neighbour.
        sigma (float or str, optional): Gaussian bandwidth, or ``'median'`` for the
            median edge length. (default: ``'median'``)
        affinity (Sequence[str], optional): descriptors concatenated into
            :math:`g_i`, from ``'xyz'``, ``'color'``, ``'normal'``, ``'features'``;
            those not given are skipped. (default: ``('xyz', 'color')``)

    Returns:
        tuple[Graph, dict[str, Tensor]]: the symmetric graph over ``S`` nodes
        (positive weights, no self-loops, edges sorted) and the descriptors
        ``'xyz' [S, 3]``, ``'size' [S]`` and, when given, ``'color' [S, 3]``,
        ``'normal' [S, 3]`` (unit or zero), ``'features' [S, F]``.

    Raises:
        ValueError: for mismatched lengths, non-finite values, unused ids or
            unknown options.
    """
    owner = "supervoxel_graph"
    points = _check_points(points, owner)
    segments = check_segments(segments, owner, points.shape[0])
    adjacency = check_in(adjacency, "adjacency", owner, ADJACENCY)
    k = check_int(k, "k", owner, low=1)
    for name in affinity:
        check_in(name, "affinity", owner, _DESCRIPTORS)
    size = torch.bincount(segments)
    s = size.numel()
    if bool((size == 0).any()):
        allowed = "every id in 0..S-1 used (relabel with relabel_contiguous)"
        raise param_error(
            "segments", owner, allowed, f"{int((size == 0).sum())} unused ids"
        )
    desc = {"xyz": pool(points, segments, s), "size": size.to(points.dtype)}
    given = (("colors", colors), ("normals", normals), ("features", features))
    for (arg, t), name in zip(given, ("color", "normal", "features"), strict=True):
        if t is not None:
            t = check_finite(check_float_tensor(t, arg, owner, ndim=2), arg, owner)
            if t.shape[0] != points.shape[0] or t.device != points.device:
                allowed = f"{points.shape[0]} rows on {points.device}"
                raise param_error(arg, owner, allowed, f"shape {list(t.shape)}")
            desc[name] = pool(t, segments, s)
    if "normal" in desc:
        desc["normal"] = torch.nn.functional.normalize(desc["normal"], dim=1)
    pairs = []
    if adjacency in ("touch", "both") and s > 1:
        if contact_radius is None:
            d = knn(points, 1)[1] if points.shape[0] > 1 else points.new_ones(1, 1)
            contact_radius = max(2.0 * float(d.median()), 1e-12)
        radius = check_real(
            contact_radius, "contact_radius", owner, 0.0, None, "neither"
        )
        pairs.append(_touching(points, segments, s, radius))
    if adjacency in ("knn", "both") and s > 1:
        index, _ = knn(desc["xyz"], min(k, s - 1))
        src = torch.arange(s, device=points.device).repeat_interleave(index.shape[1])
        e = torch.stack([src, index.reshape(-1)])
        pairs.append(torch.stack([e.min(0).values, e.max(0).values]))
    e = torch.cat(pairs, 1) if pairs else segments.new_zeros(2, 0)
    e = torch.unique(e[0] * s + e[1])
    a, b = e // s, e % s
    g = torch.cat([desc[n] for n in affinity if n in desc], 1)
    dist = torch.linalg.vector_norm(g[a] - g[b], dim=1)
    w = Gaussian(sigma)(g, torch.stack([a, b]), dist) if e.numel() else dist
    keep = w > 0  # underflowed pairs carry no information: drop them
    a, b, w = a[keep], b[keep], w[keep]
    ei = torch.stack([torch.cat([a, b]), torch.cat([b, a])])
    order = torch.argsort(ei[0] * s + ei[1])
    graph = Graph(ei[:, order], torch.cat([w, w])[order].to(points.dtype), s)
    object.__setattr__(graph, "_symmetric", True)
    object.__setattr__(graph, "_sorted", True)
    return graph, desc
