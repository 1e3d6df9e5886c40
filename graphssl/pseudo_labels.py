r"""Pseudo-label selection: which unlabelled samples a self-training round accepts.

Three selectors work on the class probabilities ``proba [M, C]`` of the ``M``
unlabelled samples and return a :class:`Selection` (a mask and the predicted labels):
confidence threshold, top-1/top-2 margin and class-balanced k-best.
:func:`graph_pseudo_labels` instead labels every node by label spreading over a
cosine kNN graph of embeddings (Iscen et al., CVPR 2019) and scores each label with an
entropy-based certainty.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from graphssl._validation import (
    check_finite,
    check_float_tensor,
    check_int,
    check_labels,
    check_real,
    check_same_device,
    param_error,
)
from graphssl.construction import knn_graph
from graphssl.propagation import label_spreading
from graphssl.similarity import Cosine

__all__ = [
    "GraphPseudoLabels",
    "Selection",
    "graph_pseudo_labels",
    "select_k_best",
    "select_margin",
    "select_threshold",
]


class Selection(NamedTuple):
    """Output of the selectors.

    Attributes:
        mask (Tensor): ``[M]`` bool, the samples accepted as pseudo-labelled.
        labels (Tensor): ``[M]`` int64, the predicted class (argmax) of every sample.
    """

    mask: Tensor
    labels: Tensor


def _check_proba(proba: Tensor, owner: str) -> Tensor:
    proba = check_float_tensor(proba, "proba", owner, ndim=2, allow_empty=True)
    return check_finite(proba, "proba", owner)


def select_threshold(proba: Tensor, threshold: float) -> Selection:
    r"""Accept the samples whose top class probability reaches ``threshold``.

    .. math::
        \text{mask}_i = \left[\max_c p_{ic} \ge \tau\right]

    with :math:`p_{ic}` the probability of class :math:`c` for sample :math:`i` and
    :math:`\tau` = ``threshold``.

    Args:
        proba (Tensor): ``[M, C]`` class probabilities of the unlabelled samples.
        threshold (float): :math:`\tau \in (0, 1]`.

    Returns:
        Selection: ``mask [M]`` and ``labels [M]``.
    """
    owner = "select_threshold"
    proba = _check_proba(proba, owner)
    tau = check_real(threshold, "threshold", owner, low=0.0, high=1.0, closed="right")
    top, labels = proba.max(dim=1) if proba.numel() else _empty(proba)
    return Selection(top >= tau, labels)


def select_margin(proba: Tensor, margin: float) -> Selection:
    r"""Accept the samples whose two most likely classes are ``margin`` apart.

    .. math::
        \text{mask}_i = \left[p_{i,(1)} - p_{i,(2)} \ge m\right]

    with :math:`p_{i,(1)} \ge p_{i,(2)}` the two largest probabilities of sample
    :math:`i` and :math:`m` = ``margin``. With one class the margin is :math:`p_{i,(1)}`.

    Args:
        proba (Tensor): ``[M, C]`` class probabilities of the unlabelled samples.
        margin (float): :math:`m \in [0, 1]`.

    Returns:
        Selection: ``mask [M]`` and ``labels [M]``.
    """
    owner = "select_margin"
    proba = _check_proba(proba, owner)
    m = check_real(margin, "margin", owner, low=0.0, high=1.0)
    if proba.numel() == 0:
        top, labels = _empty(proba)
        return Selection(top >= m, labels)
    top2 = torch.topk(proba, min(2, proba.shape[1]), dim=1)
    second = top2.values[:, 1] if proba.shape[1] > 1 else torch.zeros_like(proba[:, 0])
    return Selection(top2.values[:, 0] - second >= m, top2.indices[:, 0])


def select_k_best(proba: Tensor, k: int, per_class: bool = True) -> Selection:
    r"""Accept the ``k`` most confident samples, per predicted class by default.

    With ``per_class=True`` each class :math:`c` contributes the ``k`` samples
    predicted as :math:`c` with the largest :math:`\max_c p_{ic}` (fewer when fewer are
    predicted as :math:`c`), so a dominant class cannot crowd out the others; with
    ``per_class=False`` the ``k`` most confident samples overall. Ties keep the lower
    index.

    Args:
        proba (Tensor): ``[M, C]`` class probabilities of the unlabelled samples.
        k (int): samples per class (or in total), ``k >= 1``.
        per_class (bool): class-balanced selection. (default: ``True``)

    Returns:
        Selection: ``mask [M]`` and ``labels [M]``.

    Warns:
        UserWarning: when ``k`` exceeds the number ``M`` of unlabelled samples; all of
            them are then accepted.
    """
    owner = "select_k_best"
    proba = _check_proba(proba, owner)
    k = check_int(k, "k", owner, low=1)
    m = proba.shape[0]
    if k > m:
        warnings.warn(
            f"k={k} exceeds the {m} unlabelled samples available to {owner}; "
            "all of them are selected.",
            UserWarning,
            stacklevel=2,
        )
    if m == 0:
        top, labels = _empty(proba)
        return Selection(top > 0, labels)
    top, labels = proba.max(dim=1)
    mask = torch.zeros(m, dtype=torch.bool, device=proba.device)
    groups = torch.unique(labels) if per_class else labels.new_zeros(1)
    for c in groups:
        idx = (labels == c).nonzero().flatten() if per_class else torch.arange(m)
        idx = idx.to(proba.device)
        # stable sort: equal confidences keep index order, so the result is reproducible
        order = torch.sort(top[idx], descending=True, stable=True).indices
        mask[idx[order[:k]]] = True
    return Selection(mask, labels)


def _empty(proba: Tensor) -> tuple[Tensor, Tensor]:
    return (
        proba.new_zeros(0),
        torch.zeros(0, dtype=torch.long, device=proba.device),
    )


@dataclass(frozen=True)
class GraphPseudoLabels:
    """Output of :func:`graph_pseudo_labels`.

    Attributes:
        labels (Tensor): ``[N]`` int64 pseudo-labels; given labels unchanged, ``-1``
            for nodes no label mass reached.
        certainty (Tensor): ``[N]`` in ``[0, 1]``; 1 for the given labels, 0 for
            unreached nodes.
        class_weights (Tensor): ``[C]`` summing to 1, inversely proportional to the
            size of each pseudo-class (0 for an empty class).
        distribution (Tensor): ``[N, C]`` row-normalised class-size-balanced scores
            (uniform where unreached).
    """

    labels: Tensor
    certainty: Tensor
    class_weights: Tensor
    distribution: Tensor


def graph_pseudo_labels(
    embeddings: Tensor,
    y: Tensor,
    *,
    k: int = 50,
    power: float = 3.0,
    alpha: float = 0.99,
    tol: float = 1e-6,
    num_classes: int | None = None,
) -> GraphPseudoLabels:
    r"""Pseudo-labels by label spreading on an embedding graph (Iscen, Tolias,
    Avrithis, Chum, "Label Propagation for Deep Semi-supervised Learning", CVPR 2019).

    The embeddings are L2-normalised and joined by an exact cosine kNN graph with
    weights :math:`w_{ij} = \max(0, \cos(x_i, x_j))^{\gamma}`, symmetrised as
    :math:`W + W^\top`. Label spreading solves

    .. math::
        (I - \alpha S)\,Z = (1 - \alpha)\,\tilde Y, \qquad
        \tilde Y_{ic} = \frac{[y_i = c]}{|L_c|}

    with :math:`S = D^{-1/2} W D^{-1/2}`, :math:`|L_c|` the number of labelled nodes of
    class :math:`c` (so every class injects the same total mass). Negative scores are
    clipped, :math:`\hat y_i = \arg\max_c Z_{ic}`, and with :math:`\hat z_i` the row
    :math:`Z_i` normalised to sum 1 the certainty is

    .. math::
        \omega_i = 1 - \frac{H(\hat z_i)}{\log C}, \qquad
        H(\hat z) = -\textstyle\sum_c \hat z_c \log \hat z_c.

    Class weights are :math:`\zeta_c \propto 1/|\{i : \hat y_i = c\}|`, normalised to
    sum 1. Unlike the reference code, :math:`\omega` is not divided by its maximum,
    so a threshold on it means the same thing from one call to the next.

    Args:
        embeddings (Tensor): ``[N, D]`` features; device and dtype follow it.
        y (Tensor): ``[N]`` int64, ``-1`` for unlabelled, classes ``0..C-1``.
        k (int): neighbours per node (capped at ``N - 1``). (default: ``50``)
        power (float): :math:`\gamma`. (default: ``3.0``)
        alpha (float): :math:`\alpha \in (0, 1)`. (default: ``0.99``)
        tol (float): relative residual of the solve. (default: ``1e-6``)
        num_classes (int, optional): ``C``; inferred as ``max(y) + 1``.

    Returns:
        GraphPseudoLabels
    """
    owner = "graph_pseudo_labels"
    x = check_finite(
        check_float_tensor(embeddings, "embeddings", owner, ndim=2), "embeddings", owner
    )
    n = x.shape[0]
    y, c = check_labels(y, "y", owner, n, num_classes)
    check_same_device(owner, embeddings=x, y=y)
    k = check_int(k, "k", owner, low=1)
    if n < 2:
        raise param_error("embeddings", owner, "a tensor with at least 2 rows", n)
    x = torch.nn.functional.normalize(x, dim=1)
    graph = knn_graph(
        x, min(k, n - 1), kernel=Cosine(power), metric="cosine", symmetrize="sum"
    )
    res = label_spreading(graph, y, alpha=alpha, num_classes=c, tol=tol)
    # The system is linear in its right-hand side, so solving with the one-hot Y and
    # dividing column c by |L_c| equals solving with y_c = 1/|L_c| directly.
    counts = torch.bincount(y[y >= 0], minlength=c).to(res.scores.dtype)
    z = res.scores.clamp(min=0.0) / counts.clamp(min=1.0)
    mass = z.sum(dim=1, keepdim=True)
    reached = mass.squeeze(1) > 0
    zhat = torch.where(mass > 0, z / mass.clamp(min=torch.finfo(z.dtype).tiny), 1 / c)
    entropy = -(zhat * torch.log(zhat.clamp(min=torch.finfo(z.dtype).tiny))).sum(1)
    certainty = (1.0 - entropy / math.log(c)).clamp(0.0, 1.0)
    labels = torch.where(reached, z.argmax(dim=1), -1)
    given = y >= 0
    labels = torch.where(given, y, labels)
    certainty = torch.where(given, torch.ones_like(certainty), certainty)
    weights = _class_weights(labels, c).to(x.dtype)
    return GraphPseudoLabels(labels, certainty, weights, zhat)


def _class_weights(labels: Tensor, c: int) -> Tensor:
    """Weights ``[C]`` inversely proportional to the pseudo-class sizes, sum 1."""
    size = torch.bincount(labels[labels >= 0], minlength=c).double()
    w = torch.where(size > 0, 1.0 / size.clamp(min=1.0), 0.0)
    return (w / w.sum()).to(labels.device)
