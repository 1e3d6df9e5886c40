r"""Exact neighbour-search backends behind :mod:`graphssl.neighbors`.

Inputs are validated by the caller: ``x [N, F]`` is a finite float32/float64 tensor,
``k`` is in ``[1, N-1]``, ``eps > 0``. Every backend returns distances computed in
float64 directly as :math:`\|x_i - x_j\|` (never through the expanded form), so all
backends agree on the distances and on which pairs lie within ``eps``.

``torch`` backend: for a block of query rows it ranks all points by the key

.. math::

    \kappa_{ij} = \|x_j\|^2 - 2\, x_i^\top x_j = d_{ij}^2 - \|x_i\|^2,

one matrix product on centred data. The key is cheap but suffers from cancellation:
its absolute error stays below
:math:`\delta_i = 4(F+4)\,u\,(\|x_i\|^2 + \max_j \|x_j\|^2)`, with :math:`u` the
unit round-off of the product. The best ``k + extra`` candidates are
re-ranked by exact distances; a row is certified when every point left out satisfies
:math:`\kappa_{ij} + \|x_i\|^2 - \delta_i \ge d_{(k)}^2`. Uncertified rows (near ties
within :math:`\delta_i`) are redone by a direct float64 scan. Low-precision products
(TF32, bfloat16) are avoided by screening in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphssl._optional import require
from graphssl.morton import _argsort as _morton_argsort

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "MORTON_MIN_POINTS",
    "knn_kdtree",
    "knn_open3d",
    "knn_torch",
    "radius_kdtree",
    "radius_open3d",
    "radius_torch",
]

#: Default bytes of scratch memory per block of the torch backend (256 MiB).
DEFAULT_MEMORY_BUDGET = 256 * 2**20
#: Inputs with at least this many points (and ``F <= 3``) are Morton-sorted before a
#: k-d tree is built. Measured for k=16 on uniform 3-D points (2-core EPYC): the
#: sort costs 6% at 1e5 points, saves 5% at 1.5e5, 33% at 2e5 and 55% at 1e6.
MORTON_MIN_POINTS = 120_000

Pairs = tuple[Tensor, Tensor]
_NP_DTYPE = {torch.float32: np.float32, torch.float64: np.float64}


# ---------------------------------------------------------------- shared helpers
def _drop_self(idx: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove row ``i``'s own index ``i`` from ``idx [N, k+1]`` (and from ``dist``).

    With duplicate points the query may not come first, so the column is found by
    value; when it is missing (more than ``k`` exact duplicates) the last column goes.
    """
    n, k = idx.shape[0], idx.shape[1] - 1
    rows = np.arange(n)
    if bool((idx[:, 0] == rows).all()):  # the usual case, answered by a view
        return idx[:, 1:], dist[:, 1:]
    is_self = idx == rows[:, None]
    pos = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    # Output column c reads column c before the self column and c + 1 after it.
    cols = np.arange(k)[None, :]
    cols = cols + (cols >= pos[:, None])
    return np.take_along_axis(idx, cols, 1), np.take_along_axis(dist, cols, 1)


def _pair_dist(x64: Tensor, src: Tensor, dst: Tensor, budget: int) -> Tensor:
    """Exact ``||x64[src] - x64[dst]||`` for index vectors ``src, dst [E]``.

    ``x64`` is the float64 copy of the points; ``budget`` bounds each chunk's bytes.
    """
    out = torch.empty(src.shape, dtype=torch.float64, device=x64.device)
    step = max(1, budget // (16 * x64.shape[1] + 16))
    for a in range(0, src.numel(), step):
        diff = x64[src[a : a + step]] - x64[dst[a : a + step]]
        out[a : a + step] = torch.linalg.vector_norm(diff, dim=1)
    return out


def _finish_pairs(
    x64: Tensor, src: Tensor, dst: Tensor, eps: float, cap: int | None, budget: int
) -> tuple[Tensor, Tensor]:
    """Keep candidate pairs with exact distance ``<= eps``, sort, cap per target.

    Returns ``edge_index [2, E]`` and float64 ``dist [E]``.
    """
    d = _pair_dist(x64, src, dst, budget)
    ok = (d <= eps) & (src != dst)
    src, dst, d = src[ok], dst[ok], d[ok]
    # Two stable sorts give the lexicographic order (target, distance).
    order = torch.sort(d, stable=True).indices
    order = order[torch.sort(dst[order], stable=True).indices]
    src, dst, d = src[order], dst[order], d[order]
    if cap is not None and d.numel():
        counts = torch.bincount(dst, minlength=x64.shape[0])
        first = torch.cumsum(counts, 0) - counts
        rank = torch.arange(d.numel(), device=d.device) - first[dst]
        keep = rank < cap
        src, dst, d = src[keep], dst[keep], d[keep]
    return torch.stack([src, dst]), d


def _radius_slack(eps: float, x: Tensor) -> float:
    """A radius a little larger than ``eps`` so no float rounding loses a pair."""
    u = 2.0**-53 if x.dtype == torch.float64 else 2.0**-24
    return eps * (1.0 + 8.0 * (x.shape[1] + 4) * u) + 1e-300


# ------------------------------------------------------------------- k-d tree
def _tree_points(x: Tensor) -> tuple[np.ndarray, np.ndarray | None]:
    """float64 host points for cKDTree, Morton-sorted when large and low-dimensional.

    Returns the points and the permutation applied (``None`` when not sorted).
    """
    p = x.detach().cpu().numpy()
    perm = None
    if p.shape[1] <= 3 and p.shape[0] >= MORTON_MIN_POINTS:
        perm = _morton_argsort(p)
        p = p[perm]
    return np.ascontiguousarray(p, dtype=np.float64), perm


def knn_kdtree(x: Tensor, k: int) -> Pairs:
    """k nearest neighbours with scipy's ``cKDTree`` on all cores."""
    from scipy.spatial import cKDTree

    pts, perm = _tree_points(x)
    # A sliding-midpoint tree builds faster than a median one and queries as fast;
    # copy_data=False is safe because ``pts`` is our own array.
    tree = cKDTree(pts, balanced_tree=False, copy_data=False)
    d, i = tree.query(pts, k + 1, workers=-1)
    i, d = _drop_self(i.astype(np.int64, copy=False), d)
    d = np.ascontiguousarray(d, dtype=_NP_DTYPE[x.dtype])
    if perm is None:
        i = np.ascontiguousarray(i)
    else:  # row r and index j of the sorted problem are points perm[r] and perm[j]
        inv = np.empty_like(perm)
        inv[perm] = np.arange(perm.size)
        i = perm.take(i).take(inv, axis=0)  # take() is faster than fancy indexing
        d = d.take(inv, axis=0)
    return torch.from_numpy(i).to(x.device), torch.from_numpy(d).to(x.device)


def radius_kdtree(x: Tensor, eps: float, cap: int | None, budget: int) -> Pairs:
    """Pairs within ``eps`` with ``cKDTree`` (``query`` when capped, else pairs)."""
    from scipy.spatial import cKDTree

    pts, perm = _tree_points(x)
    n = pts.shape[0]
    tree = cKDTree(pts, balanced_tree=False, copy_data=False)
    r = _radius_slack(eps, x)
    if cap is not None:
        kq = min(cap + 1, n)
        _, i = tree.query(pts, kq, distance_upper_bound=r, workers=-1)
        j = np.asarray(i, dtype=np.int64).reshape(n, kq)
        found = j < n  # missing neighbours come back as index n
        pairs = np.stack([j[found], np.nonzero(found)[0]], axis=1)
    else:
        pairs = tree.query_pairs(r, output_type="ndarray").astype(np.int64)
        pairs = np.concatenate([pairs, pairs[:, ::-1]])
    if perm is not None:
        pairs = perm[pairs]
    src, dst = torch.from_numpy(np.ascontiguousarray(pairs.T))
    ei, d = _finish_pairs(x.cpu().double(), src, dst, eps, cap, budget)
    return ei.to(x.device), d.to(device=x.device, dtype=x.dtype)


# --------------------------------------------------------------------- open3d
def _o3d_search(x: Tensor, feature: str) -> tuple[Any, Any]:
    """An open3d ``NearestNeighborSearch`` over ``x`` and the query tensor."""
    o3d = require("open3d", feature)
    pts = o3d.core.Tensor.from_numpy(x.detach().cpu().contiguous().numpy())
    return o3d.core.nns.NearestNeighborSearch(pts), pts


def knn_open3d(x: Tensor, k: int, budget: int) -> Pairs:
    """k nearest neighbours with ``open3d.core.nns``, re-ranked exactly.

    open3d ranks by squared distances summed in x's dtype, whose relative error is
    below :math:`2(F+4)u`; the returned ranking is certified against that bound.
    """
    nns, pts = _o3d_search(x, "knn(backend='open3d')")
    n = x.shape[0]
    kk = min(n - 1, k + 4)
    nns.knn_index()
    i, d2 = nns.knn_search(pts, kk + 1)
    i_np, d2_np = _drop_self(i.numpy(), d2.numpy())
    idx, d2 = torch.from_numpy(i_np).long(), torch.from_numpy(d2_np).double()
    u = 2.0**-53 if x.dtype == torch.float64 else 2.0**-24
    lower = d2.max(dim=1).values * (1.0 - 4.0 * (x.shape[1] + 4) * u)
    x64 = x.cpu().double()
    out_i, out_d = _certified(x64, torch.arange(n), idx, lower, k, budget)
    return out_i.to(x.device), out_d.to(device=x.device, dtype=x.dtype)


def radius_open3d(x: Tensor, eps: float, cap: int | None, budget: int) -> Pairs:
    """Pairs within ``eps`` with open3d's fixed-radius (or hybrid, when capped) search.

    Measured on open3d 0.20: both searches take the radius itself (not squared),
    return squared distances, exclude points at exactly the radius, and
    ``fixed_radius_search`` returns ``(indices, distances, splits)``.
    """
    nns, pts = _o3d_search(x, "radius(backend='open3d')")
    n = x.shape[0]
    r = _radius_slack(eps, x)
    if cap is not None:
        kq = min(cap + 1, n)
        nns.hybrid_index(r)
        i, _, _ = nns.hybrid_search(pts, r, kq)
        idx = torch.from_numpy(i.numpy()).long().view(n, kq)
        dst = torch.arange(n)[:, None].expand_as(idx)
        found = idx >= 0  # missing neighbours come back as -1
        src, dst = idx[found], dst[found]
    else:
        nns.fixed_radius_index(r)
        i, _, splits = nns.fixed_radius_search(pts, r, sort=False)
        src = torch.from_numpy(i.numpy()).long()
        counts = torch.from_numpy(splits.numpy()).long().diff()
        dst = torch.repeat_interleave(torch.arange(n), counts)
    ei, d = _finish_pairs(x.cpu().double(), src, dst, eps, cap, budget)
    return ei.to(x.device), d.to(device=x.device, dtype=x.dtype)


# ---------------------------------------------------------------------- torch
def _unit_roundoff(dtype: torch.dtype, device: torch.device) -> float:
    """Unit round-off of a matrix product in ``dtype`` under torch's precision flags."""
    if dtype == torch.float64:
        return 2.0**-53
    tf32 = device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32
    precision = torch.get_float32_matmul_precision()
    if precision == "medium":
        return 2.0**-8  # bfloat16 products may be used
    return 2.0**-11 if tf32 or precision == "high" else 2.0**-24


def _screen_dtype(x: Tensor) -> torch.dtype:
    """x's dtype, or float64 when torch would multiply float32 in lower precision.

    Low-precision products (TF32, bfloat16) would leave most rows uncertified.
    """
    return x.dtype if _unit_roundoff(x.dtype, x.device) <= 2.0**-24 else torch.float64


class _Screen:
    """The centred, augmented data used to rank candidates by the key ``κ``."""

    def __init__(self, x: Tensor, dtype: torch.dtype) -> None:
        xc = x.detach().to(dtype)
        xc = xc - xc.mean(dim=0)  # centring shrinks the norms, hence the error
        self.sq = xc.square().sum(dim=1)  # [N]
        # [x_i, 1] @ [-2 x_j, ||x_j||²]^T is the key in one product, no extra pass.
        self.lhs = torch.cat([xc, torch.ones_like(xc[:, :1])], dim=1)  # [N, F+1]
        self.rhs_t = torch.cat([-2.0 * xc, self.sq[:, None]], dim=1).t()  # [F+1, N]
        u = _unit_roundoff(dtype, x.device)
        self.slack = 4.0 * (x.shape[1] + 4) * u * (self.sq + self.sq.max())  # [N]


def _certified(
    x64: Tensor, rows: Tensor, cand: Tensor, lower: Tensor, k: int, budget: int
) -> Pairs:
    """Exact top ``k`` of ``rows`` from candidates ``cand [R, kk]`` (self excluded).

    ``lower [R]`` bounds from below the squared distance of every point missing from
    ``cand``. Rows where it does not exceed the exact ``k``-th squared distance may
    have lost a neighbour and are redone by :func:`_knn_direct`.
    """
    r, kk = cand.shape
    idx = torch.empty(r, k, dtype=torch.long, device=x64.device)
    dist = torch.empty(r, k, dtype=torch.float64, device=x64.device)
    step = max(1, budget // (kk * (8 * x64.shape[1] + 32)))
    for a in range(0, r, step):
        c = cand[a : a + step]
        # Direct distances [B, 1, kk]: cdist's direct mode never stores x_i - x_j,
        # which makes it faster than gather-subtract-norm.
        q = x64[rows[a : a + step]][:, None, :]
        d = torch.cdist(q, x64[c], compute_mode="donot_use_mm_for_euclid_dist")[:, 0]
        d, order = torch.sort(d, dim=1)
        idx[a : a + step], dist[a : a + step] = c.gather(1, order[:, :k]), d[:, :k]
    if kk < x64.shape[0] - 1:  # with every point a candidate, nothing can be lost
        kth = dist[:, k - 1]
        # Nothing can be strictly closer than a k-th distance of 0 (duplicates).
        bad = torch.nonzero((lower < kth.square()) & (kth > 0)).view(-1)
        if bad.numel():
            idx[bad], dist[bad] = _knn_direct(x64, rows[bad], k, budget)
    return idx, dist


def _knn_direct(x64: Tensor, rows: Tensor, k: int, budget: int) -> Pairs:
    """Exact kNN of ``rows`` by a direct float64 scan (the last-resort path)."""
    step = max(1, budget // (16 * x64.shape[0]))
    idx, dist = [], []
    for a in range(0, rows.numel(), step):
        r = rows[a : a + step]
        d = torch.cdist(x64[r], x64, compute_mode="donot_use_mm_for_euclid_dist")
        d[torch.arange(r.numel(), device=x64.device), r] = float("inf")
        v, i = torch.topk(d, k, dim=1, largest=False, sorted=True)
        idx.append(i)
        dist.append(v)
    return torch.cat(idx), torch.cat(dist)


def knn_torch(x: Tensor, k: int, budget: int) -> Pairs:
    """k nearest neighbours by blocked matrix products, never ``N x N`` at once."""
    n = x.shape[0]
    kk = min(n - 1, k + 4 + k // 8)  # 4 spare candidates left no row uncertified
    scr = _Screen(x, _screen_dtype(x))
    x64 = x.double()  # one copy for every block's exact distances
    step = max(1, min(n, budget // (n * scr.sq.element_size() + kk * 24)))
    buf = torch.empty(step, n, dtype=scr.sq.dtype, device=x.device)
    idx = torch.empty(n, k, dtype=torch.long, device=x.device)
    dist = torch.empty(n, k, dtype=torch.float64, device=x.device)
    for a in range(0, n, step):
        r = torch.arange(a, min(a + step, n), device=x.device)
        key = torch.mm(scr.lhs[a : a + step], scr.rhs_t, out=buf[: r.numel()])
        key[torch.arange(r.numel(), device=x.device), r] = float("inf")  # no self
        kval, cand = torch.topk(key, kk, dim=1, largest=False, sorted=False)
        # Every point left out has a key >= max(kval), so a true d² >= this bound.
        lower = kval.max(dim=1).values.double() + scr.sq[r].double() - scr.slack[r]
        out = _certified(x64, r, cand, lower, k, budget)
        idx[a : a + step], dist[a : a + step] = out
    return idx, dist.to(x.dtype)


def radius_torch(x: Tensor, eps: float, cap: int | None, budget: int) -> Pairs:
    """Pairs within ``eps`` by blocked matrix products, screened with slack."""
    n = x.shape[0]
    scr = _Screen(x, _screen_dtype(x))
    x64 = x.double()
    step = max(1, min(n, budget // (n * (scr.sq.element_size() + 1))))
    buf = torch.empty(step, n, dtype=scr.sq.dtype, device=x.device)
    edges, dists = [], []
    for a in range(0, n, step):
        r = torch.arange(a, min(a + step, n), device=x.device)
        key = torch.mm(scr.lhs[a : a + step], scr.rhs_t, out=buf[: r.numel()])
        key[torch.arange(r.numel(), device=x.device), r] = float("inf")
        # key <= bound keeps every pair whose exact distance is <= eps.
        bound = eps * eps - scr.sq[r] + scr.slack[r]
        qi, src = torch.nonzero(key <= bound[:, None], as_tuple=True)
        # Blocks are ranges of targets, so per-block sorting sorts globally.
        ei, d = _finish_pairs(x64, src, r[qi], eps, cap, budget)
        edges.append(ei)
        dists.append(d)
    return torch.cat(edges, dim=1), torch.cat(dists).to(x.dtype)
