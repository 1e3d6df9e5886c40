r"""Image augmentations for ``[B, C, H, W]`` batches: shifts, cut-out and affine warps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from graphssl._validation import (
    check_float_tensor,
    check_in,
    check_int,
    check_real,
    param_error,
)
from graphssl.augment._base import (
    GeneratorLike,
    _Augment,
    _rand,
    _randint,
    as_generator,
)

__all__ = ["Cutout", "RandomAffine", "RandomShift"]


def _check_images(x: Any, owner: str) -> Tensor:
    return check_float_tensor(x, "x", owner, ndim=4)


class RandomShift(_Augment):
    """Translate each image of ``[B, C, H, W]`` by up to ``max_pixels`` in x and y.

    The image is padded by ``max_pixels`` (``padding_mode`` as in
    :func:`torch.nn.functional.pad`: ``'reflect'``, ``'replicate'`` or ``'constant'``,
    i.e. zeros) and an ``H x W`` window is cut at a random integer offset per image.
    """

    def __init__(self, max_pixels: int = 2, padding_mode: str = "reflect") -> None:
        self.max_pixels = check_int(max_pixels, "max_pixels", "RandomShift", low=0)
        self.padding_mode = check_in(
            padding_mode,
            "padding_mode",
            "RandomShift",
            ("reflect", "replicate", "constant"),
        )

    def __call__(self, x: Tensor, generator: GeneratorLike = None) -> Tensor:
        x = _check_images(x, "RandomShift")
        g = as_generator(generator, "RandomShift")
        m = self.max_pixels
        b, _, h, w = x.shape
        if m == 0 or b == 0:
            return x.clone()
        if self.padding_mode == "reflect" and m >= min(h, w):
            allowed = f"less than the image size {min(h, w)} for reflect padding"
            raise param_error("max_pixels", "RandomShift", allowed, m)
        padded = F.pad(x, (m, m, m, m), mode=self.padding_mode)
        offsets = _randint(2 * m + 1, (b, 2), g).to(x.device)
        rows = torch.arange(h, device=x.device)[None, :] + offsets[:, :1]  # [B, H]
        cols = torch.arange(w, device=x.device)[None, :] + offsets[:, 1:]  # [B, W]
        bi = torch.arange(b, device=x.device)[:, None, None]
        out = padded.permute(0, 2, 3, 1)[bi, rows[:, :, None], cols[:, None, :]]
        return out.permute(0, 3, 1, 2).contiguous()


class Cutout(_Augment):
    """Set a ``size x size`` square at a random centre of each image to ``value``.

    The centre is uniform over the image, so the square may be clipped by the border
    (DeVries & Taylor 2017, as FixMatch's strong view uses it).
    """

    def __init__(self, size: int = 8, value: float = 0.0) -> None:
        self.size = check_int(size, "size", "Cutout", low=0)
        self.value = check_real(value, "value", "Cutout")

    def __call__(self, x: Tensor, generator: GeneratorLike = None) -> Tensor:
        x = _check_images(x, "Cutout")
        g = as_generator(generator, "Cutout")
        b, _, h, w = x.shape
        cy = _randint(h, (b, 1), g).to(x.device)
        cx = _randint(w, (b, 1), g).to(x.device)
        lo = self.size // 2
        hi = self.size - lo
        ys = torch.arange(h, device=x.device)[None, :]
        xs = torch.arange(w, device=x.device)[None, :]
        in_y = (ys >= cy - lo) & (ys < cy + hi)  # [B, H]
        in_x = (xs >= cx - lo) & (xs < cx + hi)  # [B, W]
        box = (in_y[:, :, None] & in_x[:, None, :])[:, None]  # [B, 1, H, W]
        return x.masked_fill(box, self.value)


class RandomAffine(_Augment):
    r"""Resample each image of ``[B, C, H, W]`` under its own random affine map.

    Output pixel :math:`p` (normalised coordinates in ``[-1, 1]``) takes the bilinear
    interpolation of the input at :math:`A p + t`, zero outside the image, with

    .. math::
        A = \frac{1}{s}\begin{pmatrix}\cos\theta & -\sin\theta\\
        \sin\theta & \cos\theta\end{pmatrix}
        \begin{pmatrix}1 & \gamma\\ 0 & 1\end{pmatrix}

    and, per image, :math:`\theta` uniform in :math:`\pm` ``degrees``, the zoom
    :math:`s` uniform in ``scale``, the shear :math:`\gamma` uniform in
    :math:`\pm` ``shear`` and each component of :math:`t` uniform in
    :math:`\pm` ``translate`` pixels (converted to normalised units). Meant for small
    images (8×8 digits), where an integer shift is a coarse move.
    """

    def __init__(
        self,
        degrees: float = 15.0,
        scale: tuple[float, float] = (0.9, 1.1),
        shear: float = 0.0,
        translate: float = 0.0,
    ) -> None:
        o = "RandomAffine"
        self.degrees = check_real(degrees, "degrees", o, low=0.0, high=180.0)
        if not isinstance(scale, Sequence) or len(scale) != 2:
            raise param_error("scale", o, "a pair (lo, hi) with 0 < lo <= hi", scale)
        lo = check_real(scale[0], "scale", o, low=0.0, closed="neither")
        self.scale = (lo, check_real(scale[1], "scale", o, low=lo))
        self.shear = check_real(shear, "shear", o, low=0.0)
        self.translate = check_real(translate, "translate", o, low=0.0)

    def __call__(self, x: Tensor, generator: GeneratorLike = None) -> Tensor:
        x = _check_images(x, "RandomAffine")
        g = as_generator(generator, "RandomAffine")
        b, _, h, w = x.shape
        u = 2 * _rand((b, 5), g, x) - 1  # [B, 5] uniform in [-1, 1]
        theta = math.radians(self.degrees) * u[:, 0]
        lo, hi = self.scale
        s = lo + (hi - lo) * (u[:, 1] + 1) / 2
        gam = self.shear * u[:, 2]
        cos, sin = torch.cos(theta) / s, torch.sin(theta) / s
        # R(theta) / s @ [[1, gam], [0, 1]]; t in normalised units (2 / size per px).
        mat = torch.stack(
            [
                torch.stack(
                    [cos, cos * gam - sin, 2 * self.translate / w * u[:, 3]], 1
                ),
                torch.stack(
                    [sin, sin * gam + cos, 2 * self.translate / h * u[:, 4]], 1
                ),
            ],
            1,
        )  # [B, 2, 3]
        grid = F.affine_grid(mat, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)
