r"""CoMatch's two batch graphs and the contrastive loss between them.

Both graphs are small dense ``[B, M]`` row-stochastic matrices: rows are this
process's unlabelled samples, columns the global batch (all processes, see
:mod:`graphssl.comatch.distributed`); extra columns can be appended, which is how the
reference's ImageNet variant extends both graphs with a queue of past strong-view
samples (:mod:`graphssl.comatch.momentum`). Row :math:`b` is a distribution over
targets, i.e. the weights of the edges
:math:`b \to j` in the convention of :class:`graphssl.Graph` (``A[i, j]`` is the
weight of edge ``i -> j``); ``graphssl.as_graph(Q)`` turns a square one into COO form.
Dense is right here: :math:`B` is a mini-batch (hundreds), and the reference builds
the same dense matrices.
"""

from __future__ import annotations

import torch
from torch import Tensor

from graphssl._validation import check_float_tensor, check_int, check_real, param_error

__all__ = ["embedding_graph", "graph_contrastive_loss", "pseudo_label_graph"]


def pseudo_label_graph(
    probs: Tensor,
    probs_cols: Tensor | None = None,
    threshold: float = 0.8,
    offset: int = 0,
) -> Tensor:
    r"""The pseudo-label graph :math:`\hat Q` (CoMatch, Eq. 5).

    .. math::
        Q_{bj} = q_b^\top q'_j, \quad Q_{b,\, o+b} = 1, \quad
        Q_{bj} \leftarrow Q_{bj}\,\mathbb{1}[Q_{bj} \ge T], \quad
        \hat Q_{bj} = \frac{Q_{bj}}{\sum_{j'} Q_{bj'}}

    where :math:`q` are the rows' pseudo-label distributions ``probs [B, C]``,
    :math:`q'` the columns' ``probs_cols [M, C]`` (default :math:`q`), :math:`o` the
    ``offset`` of row 0's own column (the process's slice of the global batch) and
    :math:`T` the threshold. The self-loop :math:`Q_{b,o+b} = 1 \ge T` keeps every
    row non-empty, so :math:`\hat Q` is row-stochastic with a positive diagonal.

    Args:
        probs (Tensor): ``[B, C]``.
        probs_cols (Tensor, optional): ``[M, C]``, ``M >= offset + B``.
        threshold (float): :math:`T \in [0, 1]`. (default: ``0.8``)
        offset (int): column of row 0's self-loop. (default: ``0``)

    Returns:
        Tensor: :math:`\hat Q` ``[B, M]``, rows summing to 1.
    """
    o = "pseudo_label_graph"
    th = check_real(threshold, "threshold", o, low=0.0, high=1.0)
    q = check_float_tensor(probs, "probs", o, ndim=2)
    qc = (
        q
        if probs_cols is None
        else check_float_tensor(probs_cols, "probs_cols", o, ndim=2)
    )
    if qc.shape[1] != q.shape[1]:
        raise param_error(
            "probs_cols", o, f"{q.shape[1]} columns like probs", list(qc.shape)
        )
    b, m = q.shape[0], qc.shape[0]
    off = check_int(offset, "offset", o, low=0, high=max(m - b, 0))
    if m < off + b:
        raise param_error("probs_cols", o, f"at least {off + b} rows", list(qc.shape))
    return _pseudo_label_graph(q, qc, th, off)


def _pseudo_label_graph(q: Tensor, qc: Tensor, threshold: float, offset: int) -> Tensor:
    graph = q @ qc.T
    graph.diagonal(offset).fill_(1.0)  # entries (b, offset + b): the self-loops
    graph.masked_fill_(graph < threshold, 0.0)
    return graph.div_(graph.sum(dim=1, keepdim=True))


def embedding_graph(
    feats: Tensor, feats_cols: Tensor, temperature: float = 0.2
) -> Tensor:
    r"""The row-normalised embedding graph :math:`\hat S` (CoMatch, Eq. 6).

    .. math::
        \hat S_{bj} = \frac{\exp(z_b^\top z'_j / t)}{\sum_{j'} \exp(z_b^\top z'_{j'} / t)}

    where :math:`z` are the strong0-view embeddings ``feats [B, D]``, :math:`z'` the
    strong1-view ones ``feats_cols [M, D]`` (global batch, then queued columns) and
    :math:`t` the temperature. Computed as a stable softmax; gradients flow to both.

    Returns:
        Tensor: ``[B, M]``, rows summing to 1.
    """
    o = "embedding_graph"
    t = check_real(temperature, "temperature", o, low=0.0, closed="neither")
    z = check_float_tensor(feats, "feats", o, ndim=2)
    zc = check_float_tensor(feats_cols, "feats_cols", o, ndim=2)
    if zc.shape[1] != z.shape[1]:
        allowed = f"embeddings of size {z.shape[1]} like feats"
        raise param_error("feats_cols", o, allowed, list(zc.shape))
    return _embedding_graph(z, zc, t)


def _embedding_graph(z: Tensor, zc: Tensor, temperature: float) -> Tensor:
    # div_ in place is safe for autograd: mm's backward needs z and zc, not its output.
    return torch.softmax(torch.mm(z, zc.T).div_(temperature), dim=1)


def graph_contrastive_loss(target: Tensor, graph: Tensor, eps: float = 1e-7) -> Tensor:
    r"""Cross-entropy between the two graphs, averaged over rows (CoMatch, Eq. 7).

    .. math::
        \mathcal{L}_c = -\frac{1}{B}\sum_b \sum_j \hat Q_{bj}\,\log(\hat S_{bj} + \epsilon)

    where :math:`\hat Q` is the target ``[B, M]`` (no gradient), :math:`\hat S` the
    embedding graph ``[B, M]`` and :math:`\epsilon = 10^{-7}` as in the reference.

    Returns:
        Tensor: scalar.
    """
    o = "graph_contrastive_loss"
    q = check_float_tensor(target, "target", o, ndim=2)
    s = check_float_tensor(graph, "graph", o, ndim=2)
    if q.shape != s.shape:
        raise param_error(
            "target", o, f"the shape of graph {list(s.shape)}", list(q.shape)
        )
    return _graph_contrastive_loss(q, s, eps)


def _graph_contrastive_loss(q: Tensor, s: Tensor, eps: float = 1e-7) -> Tensor:
    return -(q.detach() * torch.log(s + eps)).sum(dim=1).mean()
