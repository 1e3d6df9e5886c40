r"""The augmentation base: seeded generators, :class:`Compose`, and the feature-vector
augmentations (:class:`GaussianNoise`, :class:`FeatureDropout`) that apply to any shape."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from graphssl._validation import check_float_tensor, check_int, check_real

__all__ = [
    "Compose",
    "FeatureDropout",
    "GaussianNoise",
    "GeneratorLike",
    "as_generator",
]

GeneratorLike = torch.Generator | int | None


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
