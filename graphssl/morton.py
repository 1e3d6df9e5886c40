r"""Morton (Z-order) codes: a space-filling-curve ordering of 1-, 2- and 3-D points.

A Morton code interleaves the bits of the quantised coordinates. For 3-D points with
:math:`b` bits per axis,

.. math::

    m = \sum_{l=0}^{b-1} 2^{3l} \left( x_l + 2 y_l + 4 z_l \right),

where :math:`x_l, y_l, z_l` are bit :math:`l` of the quantised coordinates. Points that
are close in space tend to be close along the curve, so sorting by :math:`m` groups
neighbours in memory. The k-d tree backend of :func:`graphssl.neighbors.knn` sorts
large low-dimensional inputs this way before building and querying, which keeps the
tree's leaves and the query stream cache friendly.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from graphssl._validation import check_finite, check_float_tensor, param_error

__all__ = ["BITS_PER_AXIS", "morton_codes", "morton_order"]

#: Quantisation bits per axis, chosen so that ``D * bits`` fits in a non-negative int64.
BITS_PER_AXIS = {1: 62, 2: 31, 3: 21}


def _spread2(v: np.ndarray) -> np.ndarray:
    """Put a zero bit after each of the low 31 bits of ``v`` (``abc -> a0b0c``)."""
    v = v & 0x7FFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & 0x5555555555555555


def _spread3(v: np.ndarray) -> np.ndarray:
    """Put two zero bits after each of the low 21 bits of ``v`` (``ab -> a00b``)."""
    v = v & 0x1FFFFF
    v = (v | (v << 32)) & 0x001F00000000FFFF
    v = (v | (v << 16)) & 0x001F0000FF0000FF
    v = (v | (v << 8)) & 0x100F00F00F00F00F
    v = (v | (v << 4)) & 0x10C30C30C30C30C3
    return (v | (v << 2)) & 0x1249249249249249


def _quantise(p: np.ndarray, bits: int) -> np.ndarray:
    """Map ``p [P, D]`` to int64 in ``[0, 2**bits - 1]`` on a common cube.

    One scale for all axes (the largest extent) keeps cells cubic, so the curve's
    locality is the same along every axis. float64 is needed: 31 bits exceed the
    24-bit float32 mantissa.
    """
    q = p.astype(np.float64)  # always a copy, scaled in place below
    q -= q.min(axis=0)
    extent = float(q.max())
    top = float(2**bits - 1)
    if extent > 0:
        q *= top / extent
    return np.clip(q, 0.0, top, out=q).astype(np.int64)


def _codes(p: np.ndarray) -> np.ndarray:
    """Morton codes of a finite host array ``p [P, D]``, ``D <= 3`` (no checks).

    numpy rather than torch: torch's integer bit operations with Python scalars are
    about 100x slower on CPU (measured with torch 2.13).
    """
    d = p.shape[1]
    q = _quantise(p, BITS_PER_AXIS[d])
    codes: np.ndarray
    if d == 1:
        codes = np.ascontiguousarray(q[:, 0])
    elif d == 2:
        codes = _spread2(q[:, 0]) | (_spread2(q[:, 1]) << 1)
    else:
        codes = _spread3(q[:, 0]) | (_spread3(q[:, 1]) << 1) | (_spread3(q[:, 2]) << 2)
    return codes


def _argsort(p: np.ndarray) -> np.ndarray:
    """Stable Morton permutation of a finite host array ``p [P, D]`` (no checks)."""
    perm: np.ndarray = np.argsort(_codes(p), kind="stable")
    return perm


def _host_points(points: Tensor, owner: str) -> np.ndarray:
    """Validate ``points [P, D]`` and return them as a host array."""
    points = check_float_tensor(points, "points", owner, ndim=2)
    check_finite(points, "points", owner)
    if points.shape[1] not in BITS_PER_AXIS:
        shape = list(points.shape)
        allowed = "a tensor of shape [P, D] with D in 1..3"
        raise param_error("points", owner, allowed, shape)
    return points.detach().cpu().numpy()


def morton_codes(points: Tensor) -> Tensor:
    """Morton codes of ``points [P, D]`` with ``D`` in ``{1, 2, 3}``.

    Coordinates are quantised onto a common cube spanning the points, with
    :data:`BITS_PER_AXIS` bits per axis (21 for 3-D, 31 for 2-D), then their bits are
    interleaved, axis 0 in the lowest bit. The work is done on the host.

    Args:
        points (Tensor): ``[P, D]`` floating point, finite.

    Returns:
        Tensor: ``[P]`` int64, non-negative, on ``points``' device.

    Raises:
        TypeError: when ``points`` is not a floating-point tensor.
        ValueError: for a wrong shape, an empty tensor or non-finite values.
    """
    codes = _codes(_host_points(points, "morton_codes"))
    return torch.from_numpy(codes).to(points.device)


def morton_order(points: Tensor) -> Tensor:
    """The permutation sorting ``points [P, D]`` (``D <= 3``) along the Z-order curve.

    ``points[morton_order(points)]`` is the sorted point set; ties (points in one
    quantisation cell) keep their input order, so the result is deterministic.

    Args:
        points (Tensor): ``[P, D]`` floating point, finite, ``D`` in ``{1, 2, 3}``.

    Returns:
        Tensor: ``[P]`` int64 permutation of ``0..P-1``, on ``points``' device.

    Raises:
        TypeError: when ``points`` is not a floating-point tensor.
        ValueError: for a wrong shape, an empty tensor or non-finite values.

    Example:
        >>> import torch
        >>> from graphssl.morton import morton_order
        >>> morton_order(torch.tensor([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
        tensor([1, 2, 3, 0])
    """
    perm = _argsort(_host_points(points, "morton_order"))
    return torch.from_numpy(perm.astype(np.int64, copy=False)).to(points.device)
