r"""Ready views and a small encoder for the modalities CoMatch ships with.

The reference pairs a weak view (shift + flip) with two different strong views:
strong0 (RandAugment) feeds the classification loss, strong1 (SimCLR-style) only the
graph loss. :func:`comatch_views` keeps that split per modality, built from
:mod:`graphssl.augment`: strong0 is the modality's FixMatch strong preset and strong1
a different corruption of similar strength.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from graphssl._validation import check_in, check_int
from graphssl.augment import (
    Compose,
    Cutout,
    DropEdges,
    FeatureDropout,
    GaussianNoise,
    MaskFeatures,
    RandomAffine,
    RandomShift,
    weak_strong,
)

__all__ = ["COMATCH_MODALITIES", "ImageMLP", "comatch_views"]

#: Modalities :func:`comatch_views` knows.
COMATCH_MODALITIES = ("small_image", "small_image_affine", "image", "features", "graph")


def comatch_views(
    modality: str,
) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """Weak, strong0 and strong1 views for ``modality``.

    ``'small_image'`` (``[B, C, 8, 8]`` in ``[0, 1]``, e.g. digits): weak = 1-pixel
    shift (zero padding); strong0 = shift, noise 0.1 and a 4-pixel cutout; strong1 =
    shift, 20 % pixel dropout and noise 0.1. ``'small_image_affine'``: the same with
    the strong views' shift replaced by a sub-pixel :class:`~graphssl.augment.RandomAffine`
    (rotation up to 15°, zoom 0.85–1.15, shear 0.3, translation up to 1 pixel).
    ``'image'`` (~32 px): the
    :func:`~graphssl.augment.weak_strong` pair, strong1 = 4-pixel shift, 10 % pixel
    dropout and noise 0.1. ``'features'`` (``[N, F]`` in about ``[0, 1]``): the
    ``weak_strong`` pair, strong1 = 20 % dropout and noise 0.1. ``'graph'``
    (``(x, edge_index)``): the ``weak_strong`` pair, strong1 = 20 % edge dropping
    and 40 % feature masking.
    """
    m = check_in(modality, "modality", "comatch_views", COMATCH_MODALITIES)
    if m == "small_image":
        shift = RandomShift(1, padding_mode="constant")
        return (
            shift,
            Compose([shift, GaussianNoise(0.1), Cutout(4)]),
            Compose([shift, FeatureDropout(0.2), GaussianNoise(0.1)]),
        )
    if m == "small_image_affine":
        shift = RandomShift(1, padding_mode="constant")
        affine = RandomAffine(15.0, (0.85, 1.15), shear=0.3, translate=1.0)
        return (
            shift,
            Compose([affine, GaussianNoise(0.1), Cutout(4)]),
            Compose([affine, FeatureDropout(0.2), GaussianNoise(0.1)]),
        )
    if m == "image":
        weak, strong = weak_strong("image")
        return (
            weak,
            strong,
            Compose([RandomShift(4), FeatureDropout(0.1), GaussianNoise(0.1)]),
        )
    if m == "features":
        weak, strong = weak_strong("features")
        return weak, strong, Compose([FeatureDropout(0.2), GaussianNoise(0.1)])
    weak, strong = weak_strong("graph")
    return weak, strong, Compose([DropEdges(0.2), MaskFeatures(0.4)])


class ImageMLP(nn.Module):
    """Flatten ``[B, ...]`` and apply two ReLU layers: features ``[B, hidden]``.

    Args:
        in_features (int): values per sample (64 for 8x8 digits).
        hidden (int): width of both layers. (default: ``128``)
    """

    def __init__(self, in_features: int, hidden: int = 128) -> None:
        super().__init__()
        n = check_int(in_features, "in_features", "ImageMLP", low=1)
        h = check_int(hidden, "hidden", "ImageMLP", low=1)
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(n, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU()
        )

    def forward(self, x: Tensor) -> Tensor:
        """Features ``[B, hidden]``."""
        out: Tensor = self.net(x)
        return out
