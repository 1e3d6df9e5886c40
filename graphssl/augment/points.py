r"""Point-cloud augmentations on ``points [P, 3]``: jitter, rotation about z, scaling."""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from graphssl._validation import check_float_tensor, check_real, param_error
from graphssl.augment._base import GeneratorLike, _Augment, _rand, _randn, as_generator

__all__ = ["Jitter", "RandomRotationZ", "RandomScale"]


def _check_points(x: Any, owner: str) -> Tensor:
    pts = check_float_tensor(x, "points", owner, ndim=2)
    if pts.shape[1] != 3:
        raise param_error("points", owner, "a [P, 3] tensor", list(pts.shape))
    return pts


class Jitter(_Augment):
    r"""Clipped Gaussian noise per point of ``[P, 3]``.

    :math:`p' = p + \mathrm{clip}(\sigma\varepsilon, -c, c)` with
    :math:`\varepsilon \sim \mathcal{N}(0, 1)`, :math:`\sigma` the ``sigma`` and
    :math:`c` the ``clip``.
    """

    def __init__(self, sigma: float = 0.01, clip: float = 0.05) -> None:
        self.sigma = check_real(sigma, "sigma", "Jitter", low=0.0)
        self.clip = check_real(clip, "clip", "Jitter", low=0.0)

    def __call__(self, points: Tensor, generator: GeneratorLike = None) -> Tensor:
        points = _check_points(points, "Jitter")
        noise = self.sigma * _randn(
            points.shape, as_generator(generator, "Jitter"), points
        )
        return points + noise.clamp(-self.clip, self.clip)


class RandomRotationZ(_Augment):
    """Rotate ``[P, 3]`` about the z (up) axis by an angle uniform in ``[0, 2π)``."""

    def __call__(self, points: Tensor, generator: GeneratorLike = None) -> Tensor:
        points = _check_points(points, "RandomRotationZ")
        g = as_generator(generator, "RandomRotationZ")
        angle = 2 * math.pi * float(_rand((1,), g, points))
        c, s = math.cos(angle), math.sin(angle)
        rot = points.new_tensor([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
        return points @ rot


class RandomScale(_Augment):
    """Scale ``[P, 3]`` isotropically by a factor uniform in ``[lo, hi]``."""

    def __init__(self, lo: float = 0.8, hi: float = 1.25) -> None:
        self.lo = check_real(lo, "lo", "RandomScale", low=0.0, closed="neither")
        self.hi = check_real(hi, "hi", "RandomScale", low=self.lo)

    def __call__(self, points: Tensor, generator: GeneratorLike = None) -> Tensor:
        points = _check_points(points, "RandomScale")
        u = float(_rand((1,), as_generator(generator, "RandomScale"), points))
        return points * (self.lo + (self.hi - self.lo) * u)
