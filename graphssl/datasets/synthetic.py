r"""Seeded toy data as torch tensors: two moons, Gaussian blobs, and label hiding.

Every generator draws from its own ``torch.Generator`` seeded by ``seed``, so results do
not depend on (or disturb) the global RNG, and it builds samples directly in their
shuffled order, so ``n = 10**7`` needs little more memory than the output itself.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from graphssl._validation import check_int, check_real, param_error

__all__ = ["hide_labels", "make_blobs", "make_moons"]


def make_moons(
    n: int,
    noise: float = 0.1,
    *,
    shuffle: bool = True,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    r"""Two interleaving half circles (scikit-learn's ``make_moons``).

    Class 0 lies on the upper unit half circle, :math:`(\cos t, \sin t)`, class 1 on
    the lower one shifted right and down, :math:`(1 - \cos t, \tfrac12 - \sin t)`, with
    :math:`t` evenly spaced in :math:`[0, \pi]`; Gaussian noise of standard deviation
    ``noise`` is added to both coordinates. Class 0 gets ``n // 2`` samples, class 1
    the rest.

    Args:
        n (int): number of samples, ``n >= 2``.
        noise (float): standard deviation of the noise, ``>= 0``. (default: ``0.1``)
        shuffle (bool): random sample order; otherwise class 0 first, each class in
            order of :math:`t`. (default: ``True``)
        seed (int): seed of the private generator. (default: ``0``)
        dtype (torch.dtype): float32 or float64 for ``x``. (default: ``torch.float32``)

    Returns:
        tuple: points ``x [n, 2]`` and labels ``y [n]`` (int64, 0 or 1).

    Example:
        >>> x, y = make_moons(100, noise=0.05, seed=1)
        >>> x.shape, int(y.sum())
        (torch.Size([100, 2]), 50)
    """
    owner = "make_moons"
    n = check_int(n, "n", owner, low=2)
    noise = check_real(noise, "noise", owner, low=0.0)
    _check_dtype(dtype, owner)
    gen = _generator(seed, owner)
    n_out = n // 2
    # order[i] is the position of sample i in the unshuffled layout: which class it
    # belongs to and where on its half circle it sits.
    order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
    # The noise buffer doubles as the output, saving an [n, 2] temporary.
    if noise > 0:
        x = torch.randn(n, 2, generator=gen, dtype=dtype).mul_(noise)
    else:
        x = torch.zeros(n, 2, dtype=dtype)
    lower = order >= n_out
    t = order.to(dtype)
    del order
    shift = lower.to(dtype)  # 1 on the lower moon, 0 on the upper one
    step = (_step(n - n_out, dtype), _step(n_out, dtype))
    t.sub_(shift, alpha=n_out).mul_(torch.where(lower, *step))
    sign = shift.mul(-2.0).add_(1.0)
    x[:, 0].add_(torch.cos(t).mul_(sign)).add_(shift)
    x[:, 1].add_(torch.sin(t).mul_(sign)).add_(shift, alpha=0.5)
    return x, lower.long()


def make_blobs(
    n: int,
    centers: int | Tensor = 3,
    *,
    num_features: int | None = None,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    shuffle: bool = True,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    r"""Isotropic Gaussian blobs (scikit-learn's ``make_blobs``), classes balanced.

    Class ``c`` is drawn from :math:`\mathcal{N}(\mu_c, \sigma^2 I)`. With an int
    ``centers`` the means :math:`\mu_c` are uniform in ``center_box``; class sizes
    differ by at most one (the first ``n % C`` classes get the extra sample).

    Args:
        n (int): number of samples, at least the number of classes ``C``.
        centers (int or Tensor): number of classes ``C >= 1``, or the means
            ``[C, F]`` themselves. (default: ``3``)
        num_features (int, optional): ``F``; default 2 for an int ``centers``, and
            when given with a tensor it must match its width. (default: ``None``)
        cluster_std (float): :math:`\sigma >= 0`. (default: ``1.0``)
        center_box (tuple): ``(low, high)`` for random means. (default: ``(-10, 10)``)
        shuffle (bool): random sample order; otherwise sorted by class.
            (default: ``True``)
        seed (int): seed of the private generator. (default: ``0``)
        dtype (torch.dtype): float32 or float64 for ``x``. (default: ``torch.float32``)

    Returns:
        tuple: points ``x [n, F]`` and labels ``y [n]`` (int64 in ``0..C-1``).
    """
    owner = "make_blobs"
    n = check_int(n, "n", owner, low=1)
    std = check_real(cluster_std, "cluster_std", owner, low=0.0)
    _check_dtype(dtype, owner)
    gen = _generator(seed, owner)
    means = _blob_centers(centers, num_features, center_box, gen, dtype, owner)
    c = means.shape[0]
    if n < c:
        raise param_error("n", owner, f"an int >= the number of classes ({c})", n)
    sizes = torch.full((c,), n // c)
    sizes[: n % c] += 1
    y = torch.repeat_interleave(torch.arange(c), sizes)
    if shuffle:
        y = y[torch.randperm(n, generator=gen)]
    x = torch.randn(n, means.shape[1], generator=gen, dtype=dtype).mul_(std)
    return x.add_(means[y]), y


def hide_labels(
    y: Tensor,
    per_class: int | None = None,
    fraction: float | None = None,
    *,
    seed: int = 0,
) -> Tensor:
    """Keep a random labelled subset of ``y`` and set every other entry to ``-1``.

    Give exactly one of ``per_class`` (that many labels kept in every class) or
    ``fraction`` (stratified: a class of ``n_c`` samples keeps ``fraction * n_c``
    labels, halves rounded up, and at least one). Entries already ``-1`` stay
    unlabelled and are not counted.

    Args:
        y (Tensor): labels ``[N]``, integer, ``-1`` for unlabelled.
        per_class (int, optional): labels kept per class, ``>= 1``.
        fraction (float, optional): share of each class kept, in ``(0, 1]``.
        seed (int): seed of the private generator. (default: ``0``)

    Returns:
        Tensor: a new ``[N]`` int64 tensor on ``y``'s device.

    Raises:
        ValueError: when both or neither of ``per_class`` and ``fraction`` are given,
            or a class has fewer than ``per_class`` samples.

    Example:
        >>> y = torch.tensor([0, 0, 0, 1, 1, 1])
        >>> (hide_labels(y, per_class=1) >= 0).sum().item()
        2
    """
    owner = "hide_labels"
    y_cpu = _check_label_vector(y, owner).cpu()
    if per_class is not None and fraction is not None:
        allowed = "None when 'fraction' is given (pass exactly one of them)"
        raise param_error("per_class", owner, allowed, per_class)
    if per_class is None and fraction is None:
        allowed = "an int >= 1 when 'fraction' is None (pass exactly one of them)"
        raise param_error("per_class", owner, allowed, per_class)
    gen = _generator(seed, owner)
    labelled = torch.nonzero(y_cpu >= 0).squeeze(1)
    labelled = labelled[torch.randperm(labelled.numel(), generator=gen)]
    cls, order = torch.sort(y_cpu[labelled], stable=True)
    # labelled[order] lists samples grouped by class, randomly ordered within each.
    classes, counts = torch.unique_consecutive(cls, return_counts=True)
    if per_class is not None:
        k = check_int(per_class, "per_class", owner, low=1)
        small = int(counts.argmin())
        if int(counts[small]) < k:
            allowed = (
                f"at most {int(counts[small])}, the size of the smallest class "
                f"(class {int(classes[small])})"
            )
            raise param_error("per_class", owner, allowed, k)
        keep_per_class = torch.full_like(counts, k)
    else:
        f = check_real(fraction, "fraction", owner, low=0.0, high=1.0, closed="right")
        keep_per_class = torch.floor(counts * f + 0.5).long().clamp_(min=1)
    starts = torch.cumsum(counts, 0) - counts
    class_pos = torch.repeat_interleave(torch.arange(counts.numel()), counts)
    rank = torch.arange(cls.numel()) - starts[class_pos]
    kept = labelled[order[rank < keep_per_class[class_pos]]]
    out = torch.full_like(y_cpu, -1)
    out[kept] = y_cpu[kept]
    return out.to(y.device)


def _check_label_vector(y: Any, owner: str) -> Tensor:
    if not isinstance(y, Tensor):
        raise param_error("y", owner, "a torch.Tensor", type(y).__name__, TypeError)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        allowed = "an integer tensor (-1 for unlabelled)"
        raise param_error("y", owner, allowed, y.dtype, TypeError)
    if y.dim() != 1:
        raise param_error("y", owner, "a 1-D tensor", f"shape {list(y.shape)}")
    labels: Tensor = y.to(torch.long)
    if not bool((labels >= 0).any()):
        allowed = "a tensor with at least one labelled entry"
        raise param_error("y", owner, allowed, "no entry >= 0")
    low = int(labels.min())
    if low < -1:
        raise param_error("y", owner, "-1 (unlabelled) or a class >= 0", low)
    return labels


def _check_dtype(dtype: Any, owner: str) -> None:
    # Half precision is refused: sample indices above 2048 are not exact in float16.
    if dtype not in (torch.float32, torch.float64):
        allowed = "torch.float32 or torch.float64"
        raise param_error("dtype", owner, allowed, dtype, TypeError)


def _generator(seed: Any, owner: str) -> torch.Generator:
    return torch.Generator().manual_seed(check_int(seed, "seed", owner, low=0))


def _step(m: int, dtype: torch.dtype) -> Tensor:
    """Angle between consecutive points of an ``m``-point half circle."""
    return torch.tensor(math.pi / (m - 1) if m > 1 else 0.0, dtype=dtype)


def _blob_centers(
    centers: Any,
    num_features: int | None,
    box: tuple[float, float],
    gen: torch.Generator,
    dtype: torch.dtype,
    owner: str,
) -> Tensor:
    if isinstance(centers, Tensor):
        if not centers.is_floating_point() or centers.dim() != 2 or not len(centers):
            got = f"shape {list(centers.shape)}, dtype {centers.dtype}"
            raise param_error("centers", owner, "a float tensor [C, F]", got)
        if num_features is not None and num_features != centers.shape[1]:
            allowed = f"None or {centers.shape[1]} (the width of centers)"
            raise param_error("num_features", owner, allowed, num_features)
        return centers.detach().to(device="cpu", dtype=dtype)
    c = check_int(centers, "centers", owner, low=1)
    f = 2 if num_features is None else check_int(num_features, "num_features", owner, 1)
    lo, hi = (check_real(b, "center_box", owner) for b in box)
    if not lo < hi:
        raise param_error(
            "center_box", owner, "a pair (low, high) with low < high", box
        )
    return torch.rand(c, f, generator=gen, dtype=dtype).mul_(hi - lo).add_(lo)
