r"""Small, seedable augmentations for teacher–student and co-training methods.

Every augmentation is a callable built with its hyper-parameters and called with the
data and an optional ``generator`` (a :class:`torch.Generator` or an int seed), so a
view is reproducible: the same generator state gives the same view on every device.
Random numbers are drawn on the generator's device and moved to the data's device;
the data's device and dtype are kept.

Modalities: feature vectors ``x [N, F]`` (:class:`GaussianNoise`,
:class:`FeatureDropout`), images ``[B, C, H, W]`` (:class:`RandomShift`,
:class:`Cutout`, noise), graphs as an ``(x [N, F], edge_index [2, E])`` pair
(:func:`drop_edges`, :func:`mask_features`, :class:`DropEdges`,
:class:`MaskFeatures`) and point clouds ``[P, 3]`` (:class:`Jitter`,
:class:`RandomRotationZ`, :class:`RandomScale`). :func:`weak_strong` returns a weak and
a strong preset per modality, the two views FixMatch-style methods need.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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

__all__ = [
    "MODALITIES",
    "Compose",
    "Cutout",
    "DropEdges",
    "FeatureDropout",
    "GaussianNoise",
    "Jitter",
    "MaskFeatures",
    "RandomRotationZ",
    "RandomScale",
    "RandomShift",
    "as_generator",
    "drop_edges",
    "mask_features",
    "weak_strong",
]

GeneratorLike = torch.Generator | int | None
#: Modalities :func:`weak_strong` knows.
MODALITIES = ("features", "image", "graph", "points")


def as_generator(generator: Any, owner: str = "as_generator") -> torch.Generator | None:
    """Return ``generator`` as a :class:`torch.Generator` (an int seeds a CPU one)."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    seed = check_int(generator, "generator", owner, low=0)
    return torch.Generator().manual_seed(seed)


def _rand(shape: Sequence[int], g: torch.Generator | None, like: Tensor) -> Tensor:
    # Draw on the generator's device, then move: one seed gives one view everywhere.
    dev = g.device if g is not None else like.device
    return torch.rand(tuple(shape), generator=g, device=dev).to(like.device, like.dtype)


def _randn(shape: Sequence[int], g: torch.Generator | None, like: Tensor) -> Tensor:
    dev = g.device if g is not None else like.device
    out = torch.randn(tuple(shape), generator=g, device=dev)
    return out.to(like.device, like.dtype)


def _randint(high: int, shape: Sequence[int], g: torch.Generator | None) -> Tensor:
    dev = g.device if g is not None else torch.device("cpu")
    return torch.randint(high, tuple(shape), generator=g, device=dev)


class _Augment:
    """Base: ``repr`` lists the hyper-parameters stored on the instance."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose(_Augment):
    """Apply augmentations in order, all drawing from the one ``generator``."""

    def __init__(self, transforms: Sequence[Callable[..., Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any, generator: GeneratorLike = None) -> Any:
        g = as_generator(generator, "Compose")
        for t in self.transforms:
            x = t(x, generator=g)
        return x


class GaussianNoise(_Augment):
    r"""Add i.i.d. noise, :math:`x' = x + \sigma\varepsilon` with
    :math:`\varepsilon \sim \mathcal{N}(0, 1)`; any shape (features, images, points).
    """

    def __init__(self, std: float = 0.1) -> None:
        self.std = check_real(std, "std", "GaussianNoise", low=0.0)

    def __call__(self, x: Tensor, generator: GeneratorLike = None) -> Tensor:
        x = check_float_tensor(x, "x", "GaussianNoise")
        g = as_generator(generator, "GaussianNoise")
        return x + self.std * _randn(x.shape, g, x)


class FeatureDropout(_Augment):
    """Zero each entry independently with probability ``p`` (no rescaling)."""

    def __init__(self, p: float = 0.1) -> None:
        self.p = check_real(p, "p", "FeatureDropout", low=0.0, high=1.0)

    def __call__(self, x: Tensor, generator: GeneratorLike = None) -> Tensor:
        x = check_float_tensor(x, "x", "FeatureDropout")
        g = as_generator(generator, "FeatureDropout")
        return x * (_rand(x.shape, g, x) >= self.p).to(x.dtype)


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


def drop_edges(
    edge_index: Tensor,
    p: float,
    *,
    edge_weight: Tensor | None = None,
    generator: GeneratorLike = None,
) -> tuple[Tensor, Tensor | None]:
    """Keep each edge of ``edge_index [2, E]`` independently with probability ``1-p``.

    Returns:
        tuple: the kept ``edge_index [2, E']`` (a subset, order preserved) and the
        matching ``edge_weight [E']`` (``None`` when none was given).
    """
    owner = "drop_edges"
    p = check_real(p, "p", owner, low=0.0, high=1.0)
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2:
        raise param_error("edge_index", owner, "a [2, E] tensor", edge_index)
    if edge_index.shape[0] != 2:
        raise param_error("edge_index", owner, "a [2, E] tensor", edge_index.shape)
    e = edge_index.shape[1]
    if edge_weight is not None and edge_weight.shape != (e,):
        raise param_error("edge_weight", owner, f"a [{e}] tensor", edge_weight.shape)
    g = as_generator(generator, owner)
    dev = g.device if g is not None else edge_index.device
    keep = (torch.rand(e, generator=g, device=dev) >= p).to(edge_index.device)
    w = edge_weight[keep] if edge_weight is not None else None
    return edge_index[:, keep], w


def mask_features(x: Tensor, p: float, *, generator: GeneratorLike = None) -> Tensor:
    """Zero whole feature columns of ``x [N, F]``, each with probability ``p``.

    One mask is shared by all nodes, as in GraphCL's attribute masking (You et al.
    2020): a dropped feature is absent from the whole graph view.
    """
    owner = "mask_features"
    p = check_real(p, "p", owner, low=0.0, high=1.0)
    x = check_float_tensor(x, "x", owner, ndim=2)
    keep = _rand((1, x.shape[1]), as_generator(generator, owner), x) >= p
    return x * keep.to(x.dtype)


GraphView = tuple[Tensor, Tensor]


class DropEdges(_Augment):
    """:func:`drop_edges` on an ``(x, edge_index)`` pair; ``x`` is unchanged."""

    def __init__(self, p: float = 0.2) -> None:
        self.p = check_real(p, "p", "DropEdges", low=0.0, high=1.0)

    def __call__(self, data: GraphView, generator: GeneratorLike = None) -> GraphView:
        x, edge_index = data
        kept, _ = drop_edges(edge_index, self.p, generator=generator)
        return x, kept


class MaskFeatures(_Augment):
    """:func:`mask_features` on an ``(x, edge_index)`` pair; edges are unchanged."""

    def __init__(self, p: float = 0.2) -> None:
        self.p = check_real(p, "p", "MaskFeatures", low=0.0, high=1.0)

    def __call__(self, data: GraphView, generator: GeneratorLike = None) -> GraphView:
        x, edge_index = data
        return mask_features(x, self.p, generator=generator), edge_index


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


def weak_strong(modality: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """A weak and a strong augmentation preset for ``modality``.

    ``'features'`` (``x [N, F]`` scaled to about ``[0, 1]``): weak = small Gaussian
    noise; strong = feature dropout 0.3 then noise 0.15. ``'image'`` (``[B, C, H, W]``,
    ~32 px): weak = shift by 2 px; strong = shift, noise 0.05 and a 16 px cutout.
    ``'graph'`` (``(x, edge_index)``): weak = 10 % feature masking; strong = 30 % edge
    dropping and 30 % masking. ``'points'`` (``[P, 3]``): weak = z-rotation and small
    jitter; strong = rotation, scaling ``[0.8, 1.25]`` and larger jitter.
    """
    m = check_in(modality, "modality", "weak_strong", MODALITIES)
    if m == "features":
        return GaussianNoise(0.05), Compose([FeatureDropout(0.3), GaussianNoise(0.15)])
    if m == "image":
        weak = RandomShift(2)
        return weak, Compose([RandomShift(2), GaussianNoise(0.05), Cutout(16)])
    if m == "graph":
        return MaskFeatures(0.1), Compose([DropEdges(0.3), MaskFeatures(0.3)])
    weak_pts = Compose([RandomRotationZ(), Jitter(0.01, 0.05)])
    strong_pts = Compose(
        [RandomRotationZ(), RandomScale(0.8, 1.25), Jitter(0.02, 0.05)]
    )
    return weak_pts, strong_pts
