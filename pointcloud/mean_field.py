r"""Mean-field label propagation on the super-voxel graph (One Thing One Click, §3.3).

OTOC (Liu, Qi, Fu, CVPR 2021) refines per-super-voxel class beliefs with a dense-CRF
style mean-field update over super-voxels :math:`i` and classes :math:`c`:

.. math::

    Q^{(t+1)}_{ic} = \frac{\exp\bigl(\log \max(Q^{0}_{ic}, \epsilon)
                     + \lambda \sum_j K_{ji} Q^{(t)}_{jc}\bigr)}
                     {\sum_{c'} \exp\bigl(\log \max(Q^{0}_{ic'}, \epsilon)
                     + \lambda \sum_j K_{ji} Q^{(t)}_{jc'}\bigr)},
    \qquad Q^{(0)} = Q^0 \text{ with rows normalised},

where :math:`Q^0 \in [0, \infty)^{S \times C}` is the unary belief (the networks'
pooled probabilities), :math:`K_{ji}` the affinity of edge :math:`j \to i`,
:math:`\lambda` the pairwise ``weight`` and :math:`\epsilon` the floor of the log.
The pairwise term is a Potts model: a neighbour's belief in class :math:`c` raises
the evidence for :math:`c` in proportion to the affinity.

Defaults and pitfalls (see ``methods.md`` §1.2):

* The official code uses :math:`\lambda = 100/S` with a **dense** Gaussian kernel over
  all :math:`S` super-voxels of a scene, 5 steps. With a sparse graph (k neighbours
  per node) the sum :math:`\sum_j K_{ji} Q_j` has about :math:`k` terms instead of
  :math:`S`, so the same :math:`\lambda` gives a much weaker pairwise term; scale
  ``weight`` up (e.g. ``weight = 100 / k``) to compare with the paper.
* The official unary is min–max rescaled, so its smallest entry is exactly 0 and
  :math:`\log Q^0` is :math:`-\infty`; the floor :math:`\epsilon` keeps a row that is
  zero everywhere finite (it becomes uniform evidence) and never yields NaN.
* Clamped rows (e.g. clicked super-voxels) keep :math:`Q^{(0)}` at every step and
  still send messages to their neighbours.

The sum over edges is a scatter (``index_add``): memory :math:`O(E C)`, never the
dense :math:`S \times S` kernel.
"""

from __future__ import annotations

import torch
from torch import Tensor

from graphssl._validation import (
    check_finite,
    check_float_tensor,
    check_int,
    check_real,
    param_error,
)

__all__ = ["mean_field"]


def _check_edges(edge_index: Tensor, edge_weight: Tensor, s: int, owner: str) -> None:
    if (
        not isinstance(edge_index, Tensor)
        or edge_index.dim() != 2
        or edge_index.shape[0] != 2
    ):
        got = list(edge_index.shape) if isinstance(edge_index, Tensor) else edge_index
        raise param_error("edge_index", owner, "a tensor of shape [2, E]", got)
    if edge_index.is_floating_point():
        raise param_error(
            "edge_index", owner, "an integer tensor", edge_index.dtype, TypeError
        )
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= s):
        raise param_error(
            "edge_index",
            owner,
            f"node ids in [0, {s - 1}]",
            f"[{int(edge_index.min())}, {int(edge_index.max())}]",
        )
    check_float_tensor(edge_weight, "edge_weight", owner, ndim=1, allow_empty=True)
    if edge_weight.numel() != edge_index.shape[1]:
        allowed = f"a tensor of shape [{edge_index.shape[1]}] (one weight per edge)"
        raise param_error(
            "edge_weight", owner, allowed, f"shape {list(edge_weight.shape)}"
        )
    check_finite(edge_weight, "edge_weight", owner)


def mean_field(
    unary: Tensor,
    edge_index: Tensor,
    edge_weight: Tensor,
    *,
    steps: int = 5,
    weight: float | None = None,
    eps: float = 1e-8,
    clamp: Tensor | None = None,
) -> Tensor:
    r"""Refine super-voxel class beliefs by ``steps`` mean-field updates.

    See the module docstring for the update and its pitfalls.

    Args:
        unary (Tensor): ``[S, C]`` non-negative beliefs :math:`Q^0` (probabilities,
            or any non-negative scores: rows are normalised).
        edge_index (Tensor): ``[2, E]`` edges :math:`j \to i` (source row 0).
        edge_weight (Tensor): ``[E]`` affinities :math:`K_{ji}` (negative ones make a
            repulsive term; use non-negative weights for the Potts model).
        steps (int, optional): number of updates; ``0`` returns :math:`Q^{(0)}`.
            (default: ``5``)
        weight (float, optional): :math:`\lambda`; ``None`` for :math:`100 / S` as in
            the paper. (default: ``None``)
        eps (float, optional): floor :math:`\epsilon` inside the log. (default: ``1e-8``)
        clamp (Tensor, optional): ``[S]`` bool; rows held at :math:`Q^{(0)}`.

    Returns:
        Tensor: ``[S, C]`` rows summing to 1, in the dtype and on the device of
        ``unary``; differentiable in ``unary`` and ``edge_weight``.

    Raises:
        TypeError: for non-float ``unary``/``edge_weight`` or a non-bool ``clamp``.
        ValueError: for wrong shapes, negative or non-finite beliefs, node ids out
            of range or a non-positive ``eps``.

    Example:
        >>> import torch
        >>> unary = torch.tensor([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]])
        >>> ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
        >>> q = mean_field(unary, ei, torch.ones(4), weight=0.0)
        >>> bool(torch.allclose(q, unary))
        True
    """
    owner = "mean_field"
    unary = check_float_tensor(unary, "unary", owner, ndim=2)
    check_finite(unary, "unary", owner)
    if bool((unary < 0).any()):
        raise param_error("unary", owner, "non-negative beliefs", "negative entries")
    s = unary.shape[0]
    _check_edges(edge_index, edge_weight, s, owner)
    steps = check_int(steps, "steps", owner, low=0)
    lam = 100.0 / s if weight is None else check_real(weight, "weight", owner)
    eps = check_real(eps, "eps", owner, low=0.0, closed="neither")
    if clamp is not None:
        if not isinstance(clamp, Tensor) or clamp.dtype != torch.bool:
            raise param_error("clamp", owner, "a bool tensor", clamp, TypeError)
        if clamp.shape != (s,):
            raise param_error(
                "clamp", owner, f"a tensor of shape [{s}]", list(clamp.shape)
            )
    log_u = torch.log(unary.clamp(min=eps))
    q0 = torch.softmax(log_u, dim=1)  # the row-normalised unary, eps-floored
    q = q0
    src, dst = edge_index[0].long(), edge_index[1].long()
    w = edge_weight.to(unary.dtype).unsqueeze(1)
    for _ in range(steps):
        msg = torch.zeros_like(q).index_add(0, dst, w * q[src])
        q = torch.softmax(log_u + lam * msg, dim=1)
        if clamp is not None:
            q = torch.where(clamp.unsqueeze(1), q0, q)
    return q
