r"""Surface normals of a point cloud by principal component analysis of neighbourhoods.

The normal at a point is the direction of least variance of its ``k`` nearest
neighbours (the point included): with :math:`\mathcal{N}_i` those neighbours and

.. math::

    C_i = \frac{1}{|\mathcal{N}_i|} \sum_{j \in \mathcal{N}_i}
          (p_j - \bar p_i)(p_j - \bar p_i)^\top,
    \qquad n_i = v_{\min}(C_i),

:math:`n_i` is the unit eigenvector of the smallest eigenvalue of the covariance
:math:`C_i`. PCA gives a line, not a direction (:math:`-n_i` is as good), so the sign
is fixed by a rule that does not depend on the neighbours, which keeps the result
independent of the order of the points.
"""

from __future__ import annotations

import torch
from torch import Tensor

from graphssl._validation import (
    check_finite,
    check_float_tensor,
    check_int,
    param_error,
)
from graphssl.neighbors import knn

__all__ = ["estimate_normals", "normals_from_neighbors", "orient_normals"]

_CHUNK = 65_536  # points per covariance batch
_FLAT = 1e-5  # |component| treated as zero by the orientation rule


def _check_points(points: Tensor, owner: str) -> Tensor:
    points = check_float_tensor(points, "points", owner, ndim=2)
    if points.shape[1] != 3:
        raise param_error(
            "points", owner, "a tensor of shape [P, 3]", f"shape {list(points.shape)}"
        )
    return check_finite(points, "points", owner)


def orient_normals(
    normals: Tensor, points: Tensor | None = None, viewpoint: Tensor | None = None
) -> Tensor:
    r"""Flip normals to a consistent side.

    With a ``viewpoint`` :math:`v`, every normal faces it:
    :math:`n_i^\top (v - p_i) \ge 0`. Without one, every normal points up
    (:math:`n_z > 0`); a normal with :math:`n_z = 0` (a vertical wall; components
    below ``1e-5`` in magnitude count as 0) gets :math:`n_y > 0`, then
    :math:`n_x > 0`. Real walls with a slightly tilted normal follow the ``+z`` rule,
    so their orientation may vary; pass a ``viewpoint`` when orientation matters.

    Args:
        normals (Tensor): ``[P, 3]`` normals.
        points (Tensor, optional): ``[P, 3]`` positions, needed with ``viewpoint``.
        viewpoint (Tensor, optional): ``[3]`` position the normals should face.

    Returns:
        Tensor: ``[P, 3]``, each row ``normals[i]`` or ``-normals[i]``.
    """
    if viewpoint is not None:
        if points is None:
            raise param_error(
                "points", "orient_normals", "given with a viewpoint", None
            )
        view = viewpoint.to(normals).reshape(1, 3)
        sign = torch.sign(((view - points) * normals).sum(1))
    else:
        # The first non-zero of (z, y, x) decides: a lexicographic sign. Components
        # below _FLAT count as zero, or rounding noise would flip a vertical wall.
        s = torch.sign(normals.flip(1)) * (normals.flip(1).abs() > _FLAT)
        first = torch.argmax((s != 0).to(torch.int8), dim=1, keepdim=True)
        sign = s.gather(1, first).squeeze(1)
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    return normals * sign.unsqueeze(1)


def _covariance(pts: Tensor, index: Tensor, centre: Tensor) -> Tensor:
    """Covariances ``[B, 3, 3]`` of ``centre [B, 3]`` with its neighbours ``index``."""
    # Offsets from the point itself are small numbers (no cancellation), and six
    # element-wise products beat a batched 3 x (k+1) matmul by a wide margin.
    d = pts[index] - centre.unsqueeze(1)  # [B, k, 3]; the point itself adds zeros
    n = index.shape[1] + 1
    m = d.sum(1) / n
    outer = (d.unsqueeze(3) * d.unsqueeze(2)).sum(1) / n
    return outer - m.unsqueeze(2) * m.unsqueeze(1)


def _smallest_eigvec(cov: Tensor) -> Tensor:
    """Unit eigenvector of the smallest eigenvalue of each ``[B, 3, 3]`` matrix."""
    vecs: Tensor = torch.linalg.eigh(cov)[1]  # ascending eigenvalues
    return vecs[:, :, 0]


def estimate_normals(
    points: Tensor, k: int = 16, *, viewpoint: Tensor | None = None
) -> Tensor:
    r"""Unit normals from the PCA of each point's ``k`` nearest neighbours.

    See the module docstring for the estimator and :func:`orient_normals` for the
    sign. Where the neighbourhood spans no plane (all neighbours on a line or at one
    spot) the eigenvector is still a unit vector but its direction is arbitrary
    within the degenerate subspace.

    Args:
        points (Tensor): ``[P, 3]`` float coordinates, finite, ``P >= 3``.
        k (int, optional): neighbours per point, the point itself excluded; capped
            at ``P - 1``. (default: ``16``)
        viewpoint (Tensor, optional): ``[3]``; normals face it when given, else
            they point up (``+z``). (default: ``None``)

    Returns:
        Tensor: ``[P, 3]`` unit normals, on the device and in the dtype of ``points``.

    Raises:
        TypeError: for a non-float ``points`` or a non-int ``k``.
        ValueError: for a wrong shape, fewer than 3 points, NaN/inf or ``k < 2``.

    Example:
        >>> import torch
        >>> xy = torch.rand(200, 2)
        >>> plane = torch.cat([xy, torch.zeros(200, 1)], 1)
        >>> n = estimate_normals(plane, k=8)
        >>> bool(torch.allclose(n, torch.tensor([0.0, 0.0, 1.0]).expand(200, 3)))
        True
    """
    owner = "estimate_normals"
    points = _check_points(points, owner)
    k = check_int(k, "k", owner, low=2)
    p = points.shape[0]
    if p < 3:
        raise param_error("points", owner, "at least 3 points", f"{p} point(s)")
    if viewpoint is not None:
        viewpoint = check_float_tensor(viewpoint, "viewpoint", owner, ndim=1)
        if viewpoint.numel() != 3:
            raise param_error("viewpoint", owner, "a tensor of shape [3]", viewpoint)
        check_finite(viewpoint, "viewpoint", owner)
    index, _ = knn(points, min(k, p - 1))
    view = None if viewpoint is None else viewpoint.double()
    return normals_from_neighbors(points, index, view)


def normals_from_neighbors(
    points: Tensor, index: Tensor, viewpoint: Tensor | None = None
) -> Tensor:
    """PCA normals from a precomputed neighbour list ``index [P, k]`` (no checks)."""
    # float64 covariances: eigenvectors of nearly flat neighbourhoods in float32 are
    # noisy at the 1e-3 level. Chunks keep the [chunk, k+1, 3] gather small.
    pts = points.detach().double()
    normals = torch.empty_like(pts)
    for start in range(0, pts.shape[0], _CHUNK):
        sl = slice(start, start + _CHUNK)
        normals[sl] = _smallest_eigvec(_covariance(pts, index[sl], pts[sl]))
    normals = normals / torch.linalg.vector_norm(normals, dim=1, keepdim=True)
    view = None if viewpoint is None else viewpoint.double()
    return orient_normals(normals, pts, view).to(points.dtype)
