r"""Small, seedable augmentations for teacher–student and co-training methods.

Every augmentation is a callable built with its hyper-parameters and called with the
data and an optional ``generator`` (a :class:`torch.Generator` or an int seed), so a
view is reproducible: the same generator state gives the same view on every device.
Random numbers are drawn on the generator's device and moved to the data's device;
the data's device and dtype are kept.

Modalities: feature vectors ``x [N, F]`` (:class:`GaussianNoise`,
:class:`FeatureDropout`), images ``[B, C, H, W]`` (:class:`RandomShift`,
:class:`RandomAffine`, :class:`Cutout`, noise), graphs as an ``(x [N, F], edge_index [2, E])`` pair
(:func:`drop_edges`, :func:`mask_features`, :class:`DropEdges`,
:class:`MaskFeatures`) and point clouds ``[P, 3]`` (:class:`Jitter`,
:class:`RandomRotationZ`, :class:`RandomScale`). :func:`weak_strong` returns a weak and
a strong preset per modality, the two views FixMatch-style methods need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphssl._validation import check_in
from graphssl.augment._base import (
    Compose,
    FeatureDropout,
    GaussianNoise,
    GeneratorLike,
    as_generator,
)
from graphssl.augment.graphs import DropEdges, MaskFeatures, drop_edges, mask_features
from graphssl.augment.images import Cutout, RandomAffine, RandomShift
from graphssl.augment.points import Jitter, RandomRotationZ, RandomScale

__all__ = [
    "MODALITIES",
    "Compose",
    "Cutout",
    "DropEdges",
    "FeatureDropout",
    "GaussianNoise",
    "GeneratorLike",
    "Jitter",
    "MaskFeatures",
    "RandomAffine",
    "RandomRotationZ",
    "RandomScale",
    "RandomShift",
    "as_generator",
    "drop_edges",
    "mask_features",
    "weak_strong",
]

#: Modalities :func:`weak_strong` knows.
MODALITIES = ("features", "image", "graph", "points")


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
