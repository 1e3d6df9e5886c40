r"""Edge similarity kernels: distances or features on edges to non-negative weights.

A kernel is called as ``kernel(x, edge_index, dist)`` with node features ``x [N, F]``,
``edge_index [2, E]`` and the Euclidean edge lengths ``dist [E]`` (the graph builders
compute them anyway), and returns ``edge_weight [E]``. Kernels never return an
all-zero graph silently: scikit-learn's fixed ``gamma=20`` RBF underflows on raw
digits (every weight is 0 and accuracy falls to chance with no warning); here a total
underflow is an error and nodes whose weights all underflow are reported.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from graphssl._validation import check_in, check_int, check_real, param_error
from graphssl.exceptions import GraphWarning

__all__ = ["Cosine", "ExpDot", "Gaussian", "Kernel", "local_scale", "pairwise_kernel"]


class Kernel(Protocol):
    """Maps ``(x [N, F], edge_index [2, E], dist [E])`` to ``edge_weight [E]``."""

    def __call__(self, x: Tensor, edge_index: Tensor, dist: Tensor) -> Tensor: ...


def local_scale(edge_index: Tensor, dist: Tensor, num_nodes: int, k: int) -> Tensor:
    r"""Per-node scale :math:`\sigma_i`: distance from :math:`i` to its ``k``-th neighbour.

    Uses the edges pointing into :math:`i`; a node with fewer than ``k`` edges takes
    its farthest one. A zero scale (the ``k`` nearest are duplicates of :math:`i`)
    falls back to the node's farthest edge, then to the median positive edge length,
    so the kernel never divides 0 by 0 nor isolates the duplicates' neighbours.

    Returns:
        Tensor: ``[N]``; nodes without edges get the median scale.
    """
    tgt = edge_index[1]
    # Sort by distance, then stably by target: edges of each node end up contiguous and
    # in ascending distance, so the k-th one is at offset k-1 of the node's run.
    order = torch.argsort(dist, stable=True)
    order = order[torch.argsort(tgt[order], stable=True)]
    deg = torch.bincount(tgt, minlength=num_nodes)
    start = torch.cumsum(deg, 0) - deg
    pick = start + torch.clamp(torch.clamp(deg, max=k) - 1, min=0)
    has = deg > 0
    sigma = torch.zeros(num_nodes, dtype=dist.dtype, device=dist.device)
    if dist.numel():
        sigma[has] = dist[order[pick[has]]]
    pos = dist[dist > 0]
    ref = (
        pos.median()
        if pos.numel()
        else torch.ones((), dtype=dist.dtype, device=dist.device)
    )
    far = torch.zeros_like(sigma).scatter_reduce(
        0, tgt, dist, "amax", include_self=True
    )
    sigma = torch.where(sigma > 0, sigma, far)
    sigma = torch.where(sigma > 0, sigma, ref)
    sigma[~has] = ref
    return sigma


def _check_weights(w: Tensor, edge_index: Tensor, owner: str, hint: str) -> Tensor:
    if w.numel() == 0:
        return w
    # Subnormal weights (< finfo.tiny) carry no usable information and overflow
    # 1/degree in solvers; they count as underflowed.
    w = torch.where(w >= torch.finfo(w.dtype).tiny, w, torch.zeros_like(w))
    pos = w > 0
    if not bool(pos.any()):
        raise ValueError(
            f"Every edge weight of {owner} underflowed to 0 ({hint}). Use a larger scale "
            "or sigma='median' / sigma='local'."
        )
    n = int(edge_index.max()) + 1
    has_edge = torch.zeros(n, dtype=torch.bool, device=w.device)
    has_edge[edge_index[1]] = True
    has_weight = torch.zeros(n, dtype=torch.bool, device=w.device)
    has_weight[edge_index[1][pos]] = True
    lost = int((has_edge & ~has_weight).sum())
    if lost:
        warnings.warn(
            f"{lost} nodes lost all their edge weight in {owner} ({hint}: underflow "
            "or clipped negatives); they become isolated. Use a larger scale or sigma='median'/'local'.",
            GraphWarning,
            stacklevel=3,
        )
    return w


@dataclass(frozen=True)
class Gaussian:
    r"""Gaussian (heat) kernel on Euclidean edge lengths.

    .. math::
        w_{ij} = \exp\!\left(-\frac{d_{ij}^2}{2\sigma^2}\right)
        \quad\text{or, with local scaling,}\quad
        w_{ij} = \exp\!\left(-\frac{d_{ij}^2}{\sigma_i \sigma_j}\right)

    where :math:`d_{ij}` is the edge length and :math:`\sigma_i` the distance from
    :math:`i` to its ``local_k``-th neighbour (Zelnik-Manor & Perona, "Self-Tuning
    Spectral Clustering", NIPS 2004).

    Args:
        sigma (float or str): a fixed bandwidth ``> 0``; ``'median'`` for the median
            positive edge length (the median heuristic); ``'local'`` for
            :math:`\sigma_i\sigma_j`. (default: ``'median'``)
        local_k (int): neighbour rank used for :math:`\sigma_i`. (default: ``7``)
    """

    sigma: float | str = "median"
    local_k: int = 7

    def __post_init__(self) -> None:
        if isinstance(self.sigma, str):
            check_in(self.sigma, "sigma", "Gaussian", ("median", "local"))
        else:
            check_real(self.sigma, "sigma", "Gaussian", low=0.0, closed="neither")
        check_int(self.local_k, "local_k", "Gaussian", low=1)

    def resolve(self, dist: Tensor) -> float:
        """The global bandwidth: ``sigma`` itself, or the median positive length.

        All-duplicate input has no positive distance; the bandwidth is then 1 (every
        weight is exp(0) = 1). Not defined for ``sigma='local'``.
        """
        if self.sigma == "local":
            raise param_error(
                "sigma", "Gaussian.resolve", "a float or 'median'", "local"
            )
        if self.sigma == "median":
            pos = dist[dist > 0]
            return float(pos.median()) if pos.numel() else 1.0
        return float(self.sigma)

    def __call__(self, x: Tensor, edge_index: Tensor, dist: Tensor) -> Tensor:
        """Edge weights ``[E]`` from edge lengths ``dist [E]``."""
        d2 = dist * dist
        if self.sigma == "local":
            n = x.shape[0]
            s = local_scale(edge_index, dist, n, self.local_k)
            w = torch.exp(-d2 / (s[edge_index[0]] * s[edge_index[1]]))
            return _check_weights(w, edge_index, "Gaussian(sigma='local')", "local")
        sigma = self.resolve(dist)
        w = torch.exp(-d2 / (2.0 * sigma * sigma))
        return _check_weights(w, edge_index, "Gaussian", f"sigma={sigma:.3g}")


@dataclass(frozen=True)
class Cosine:
    r"""Cosine similarity raised to a power, negatives clipped.

    .. math::
        w_{ij} = \max\!\left(0, \frac{x_i^\top x_j}{\lVert x_i\rVert\,\lVert x_j\rVert}
        \right)^{\gamma}

    with :math:`\gamma` = ``power``; :math:`\gamma = 3` sharpens as in Iscen et al.,
    "Label Propagation for Deep Semi-supervised Learning", CVPR 2019.
    """

    power: float = 1.0

    def __post_init__(self) -> None:
        check_real(self.power, "power", "Cosine", low=0.0, closed="neither")

    def __call__(self, x: Tensor, edge_index: Tensor, dist: Tensor) -> Tensor:
        """Edge weights ``[E]`` from the features of both end points."""
        xn = torch.nn.functional.normalize(x, dim=1)
        cos = (xn[edge_index[0]] * xn[edge_index[1]]).sum(1)
        w = torch.clamp(cos, min=0.0) ** self.power
        return _check_weights(w, edge_index, "Cosine", f"power={self.power}")


@dataclass(frozen=True)
class ExpDot:
    r"""Exponentiated inner product with temperature (the kernel of CoMatch's graphs).

    .. math::
        w_{ij} = \exp\!\left(\frac{\langle x_i, x_j\rangle - m}{T}\right)

    with :math:`T` = ``temperature`` and :math:`m` the largest inner product over all
    edges; subtracting :math:`m` only rescales the whole graph (normalisation removes
    it) but keeps :math:`\exp` from overflowing. Rows are L2-normalised first when
    ``normalize`` is true.
    """

    temperature: float = 0.2
    normalize: bool = True

    def __post_init__(self) -> None:
        check_real(self.temperature, "temperature", "ExpDot", low=0.0, closed="neither")

    def __call__(self, x: Tensor, edge_index: Tensor, dist: Tensor) -> Tensor:
        """Edge weights ``[E]`` from the features of both end points."""
        z = torch.nn.functional.normalize(x, dim=1) if self.normalize else x
        s = (z[edge_index[0]] * z[edge_index[1]]).sum(1)
        if s.numel() == 0:
            return s
        w = torch.exp((s - s.max()) / self.temperature)
        return _check_weights(
            w, edge_index, "ExpDot", f"temperature={self.temperature}"
        )


def pairwise_kernel(kernel: Kernel, a: Tensor, b: Tensor) -> Tensor:
    """Dense kernel matrix ``[N, M]`` between rows of ``a [N, F]`` and ``b [M, F]``.

    For small inputs (tests, the dense ``kernel='rbf'`` estimator path, inductive
    prediction in blocks). ``sigma='median'`` and ``'local'`` depend on a graph and
    are not defined here; pass a fixed ``sigma``.
    """
    if isinstance(kernel, Gaussian) and isinstance(kernel.sigma, str):
        raise param_error(
            "kernel", "pairwise_kernel", "a Gaussian with a fixed float sigma", kernel
        )
    n, m = a.shape[0], b.shape[0]
    i = torch.arange(n, device=a.device).repeat_interleave(m)
    j = torch.arange(m, device=a.device).repeat(n)
    if isinstance(kernel, Gaussian):
        d = torch.cdist(a, b)
        return torch.exp(-(d * d) / (2.0 * float(kernel.sigma) ** 2))
    # Generic path: evaluate the kernel on the complete bipartite edge set.
    x = torch.cat([b, a])
    ei = torch.stack([j, i + m])
    dist = (x[ei[0]] - x[ei[1]]).norm(dim=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)
        return kernel(x, ei, dist).reshape(n, m)


def gaussian_sigma_for_gamma(gamma: float) -> float:
    r"""The :math:`\sigma` of :class:`Gaussian` equal to scikit-learn's ``exp(-γ d²)``."""
    return math.sqrt(1.0 / (2.0 * gamma))
