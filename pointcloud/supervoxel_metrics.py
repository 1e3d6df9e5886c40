r"""Quality of an over-segmentation against ground-truth labels.

* :func:`purity` — how well super-voxels respect classes (what one-click labelling
  relies on: a clicked super-voxel passes its label to all of its points).
* :func:`boundary_recall` — how many ground-truth class boundaries a super-voxel
  boundary follows closely.
"""

from __future__ import annotations

import torch
from torch import Tensor

from graphssl._validation import check_int, check_real, param_error
from graphssl.neighbors import knn
from pointcloud.normals import _check_points

__all__ = ["boundary_recall", "check_segments", "purity"]


def check_segments(
    segments: Tensor, owner: str, num_points: int | None = None
) -> Tensor:
    """Validate ``segments [P]``: integer ids ``>= 0``; returns them as int64."""
    if not isinstance(segments, Tensor) or segments.is_floating_point():
        got = (
            segments.dtype if isinstance(segments, Tensor) else type(segments).__name__
        )
        raise param_error("segments", owner, "an integer tensor", got, TypeError)
    if segments.dim() != 1 or (
        num_points is not None and segments.numel() != num_points
    ):
        n = "P" if num_points is None else str(num_points)
        raise param_error(
            "segments",
            owner,
            f"a 1-D tensor of length {n}",
            f"shape {list(segments.shape)}",
        )
    if segments.numel() and int(segments.min()) < 0:
        raise param_error("segments", owner, "ids >= 0", int(segments.min()))
    return segments.long()


def _check_labels(labels: Tensor, owner: str, num_points: int) -> Tensor:
    if not isinstance(labels, Tensor) or labels.is_floating_point():
        got = labels.dtype if isinstance(labels, Tensor) else type(labels).__name__
        raise param_error("labels", owner, "an integer tensor", got, TypeError)
    if labels.dim() != 1 or labels.numel() != num_points:
        allowed = f"a 1-D tensor of length {num_points} (one label per point)"
        raise param_error("labels", owner, allowed, f"shape {list(labels.shape)}")
    return labels.long().to(labels.device)


def purity(segments: Tensor, labels: Tensor, ignore_index: int = -1) -> float:
    r"""Share of labelled points that carry their super-voxel's majority label.

    .. math::

        \text{purity} = \frac{1}{|L|} \sum_{s} \max_c \,
        \bigl|\{i \in L : \text{seg}_i = s,\ y_i = c\}\bigr|

    with :math:`L` the points whose label is not ``ignore_index``. 1.0 means every
    super-voxel lies inside one class.

    Args:
        segments (Tensor): ``[P]`` integer super-voxel ids ``>= 0``.
        labels (Tensor): ``[P]`` integer classes.
        ignore_index (int, optional): label of points left out. (default: ``-1``)

    Returns:
        float: in ``(0, 1]``.

    Raises:
        ValueError: for mismatched lengths or no labelled point.

    Example:
        >>> import torch
        >>> purity(torch.tensor([0, 0, 0, 1]), torch.tensor([2, 2, 5, 5]))
        0.75
    """
    owner = "purity"
    segments = check_segments(segments, owner)
    labels = _check_labels(labels, owner, segments.numel())
    ignore_index = check_int(ignore_index, "ignore_index", owner)
    keep = labels != ignore_index
    if not bool(keep.any()):
        raise param_error("labels", owner, "at least one labelled point", "none")
    seg: Tensor = segments[keep]
    lab: Tensor = labels[keep]
    # Compact both id ranges: sparse ids (ScanNet segIndices) would blow up bincount.
    seg = torch.unique(seg, return_inverse=True)[1]
    lab = torch.unique(lab, return_inverse=True)[1]
    c = int(lab.max()) + 1
    counts = torch.bincount(seg * c + lab, minlength=(int(seg.max()) + 1) * c)
    return float(counts.view(-1, c).max(1).values.sum()) / seg.numel()


def _boundary(
    points: Tensor, index: Tensor, dist: Tensor, ids: Tensor, radius: float
) -> Tensor:
    """Points with a neighbour within ``radius`` whose id differs, ``[P]`` bool."""
    near = dist <= radius
    differ = (
        (ids[index] != ids.unsqueeze(1)) & (ids[index] >= 0) & (ids.unsqueeze(1) >= 0)
    )
    return (near & differ).any(1)


def boundary_recall(
    points: Tensor,
    segments: Tensor,
    labels: Tensor,
    *,
    radius: float = 0.05,
    k: int = 8,
    ignore_index: int = -1,
) -> float:
    r"""Share of ground-truth boundary points within ``radius`` of a super-voxel boundary.

    A point is on a boundary of a labelling when one of its ``k`` nearest neighbours
    lies within ``radius`` and has another label (ignored points never make a
    boundary). With :math:`B_y` the class-boundary points and :math:`B_s` the
    super-voxel-boundary points,

    .. math::

        \text{recall} = \frac{|\{i \in B_y : \min_{j \in B_s}
        \lVert p_i - p_j \rVert \le r\}|}{|B_y|}.

    Args:
        points (Tensor): ``[P, 3]`` coordinates.
        segments (Tensor): ``[P]`` super-voxel ids.
        labels (Tensor): ``[P]`` classes.
        radius (float, optional): :math:`r`, in the units of ``points``; about the
            voxel size. (default: ``0.05``)
        k (int, optional): neighbours examined per point. (default: ``8``)
        ignore_index (int, optional): label of unlabelled points. (default: ``-1``)

    Returns:
        float: in ``[0, 1]``; ``1.0`` when there is no class boundary to recall.
    """
    owner = "boundary_recall"
    points = _check_points(points, owner)
    segments = check_segments(segments, owner, points.shape[0])
    labels = _check_labels(labels, owner, points.shape[0])
    radius = check_real(radius, "radius", owner, low=0.0, closed="neither")
    k = check_int(k, "k", owner, low=1)
    ignore_index = check_int(ignore_index, "ignore_index", owner)
    if points.shape[0] < 2:
        return 1.0
    index, dist = knn(points, min(k, points.shape[0] - 1))
    lab = torch.where(labels == ignore_index, -1, labels)
    lab = torch.where(lab < 0, -1, lab)
    on_y = _boundary(points, index, dist, lab, radius)
    on_s = _boundary(points, index, dist, segments, radius)
    if not bool(on_y.any()):
        return 1.0
    if not bool(on_s.any()):
        return 0.0
    from scipy.spatial import cKDTree

    tree = cKDTree(points[on_s].detach().double().cpu().numpy())
    d, _ = tree.query(points[on_y].detach().double().cpu().numpy(), k=1)
    return float((torch.from_numpy(d) <= radius).double().mean())
