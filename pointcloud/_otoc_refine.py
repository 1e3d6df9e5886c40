r"""Fusion and propagation of One Thing One Click, per scene on its super-voxel graph.

Liu, Qi and Fu (CVPR 2021), the "merge" step of the released code. With :math:`U`
``[S, C]`` the backbone's softmax averaged over each super-voxel and :math:`U'` the
relation probabilities,

.. math::
    \tilde Q = \operatorname{softmax}(5\, U \odot U'), \qquad
    Q^0_{ic} = \frac{\tilde Q_{ic} - \min \tilde Q}{\max \tilde Q - \min \tilde Q},

(the min and max run over the whole matrix), rows of :math:`Q^0` are renormalised,
and the mean-field update :math:`Q \leftarrow \operatorname{softmax}(\log Q^0 +
w\,K Q)` runs for 5 steps (:func:`pointcloud.mean_field.mean_field`, which clamps the
logarithm) with :math:`w` = ``mf_weight`` (1; ``None`` gives the paper's 100/S).
:math:`K` is the super-voxel graph of
:func:`pointcloud.supervoxel_graph.supervoxel_graph` (touching and nearest
super-voxels, Gaussian weights on position, colour and normal) with every weight
multiplied by a Gaussian of the distance between the super-voxels' mean learned
features, so that the affinity is the Gaussian of the concatenated descriptors as in
the paper; the released code uses a dense :math:`K` over all pairs, which is
:math:`O(S^2)` and is replaced by this sparse graph. Clicked super-voxels enter as
one-hot rows and are held fixed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from graphssl.graph import Graph
from pointcloud._otoc_data import Prepared

__all__ = ["fuse", "propagate", "scene_graph"]


def fuse(unary: Tensor, relation: Tensor, sharpness: float = 5.0) -> Tensor:
    """Fused belief :math:`Q^0` ``[S, C]`` (rows sum to one) of the module equation."""
    q = torch.softmax(sharpness * unary * relation, 1)
    lo, hi = q.min(), q.max()
    if float(hi - lo) <= 0:  # every entry equal: nothing to rescale
        return torch.full_like(q, 1.0 / q.shape[1])
    q = (q - lo) / (hi - lo)
    mass = q.sum(1, keepdim=True)
    uniform = torch.full_like(q, 1.0 / q.shape[1])
    return torch.where(mass > 0, q / mass.clamp(min=1e-30), uniform)


def scene_graph(d: Prepared) -> Graph:
    """The super-voxel graph of a scene from positions, colours and normals."""
    from pointcloud.supervoxel_graph import supervoxel_graph

    s = d.scene
    if d.num_segments < 2:
        empty = torch.zeros(2, 0, dtype=torch.long, device=s.device)
        return Graph(empty, torch.zeros(0, device=s.device), d.num_segments)
    affinity = ("xyz", "normal") + (("color",) if s.colors is not None else ())
    graph, _ = supervoxel_graph(
        s.points, d.segments, colors=s.colors, normals=d.normals, affinity=affinity
    )
    return graph


def _feature_weights(graph: Graph, feats: Tensor) -> Tensor:
    """Edge weights times a Gaussian of the learned-feature distance (median σ)."""
    if graph.num_edges == 0:
        return graph.edge_weight
    src, dst = graph.edge_index
    dist2 = (feats[src] - feats[dst]).pow(2).sum(1).to(graph.edge_weight.dtype)
    sigma2 = dist2.median().clamp(min=1e-12)
    return graph.edge_weight * torch.exp(-dist2 / (2 * sigma2))


def propagate(
    d: Prepared,
    graph: Graph,
    unary: Tensor,
    relation: Tensor,
    feats: Tensor,
    *,
    steps: int,
    weight: float | None,
    clicked: Tensor | None,
) -> Tensor:
    """Propagated beliefs ``[S, C]`` of one scene.

    Args:
        d (Prepared): the scene.
        graph (Graph): its super-voxel graph (:func:`scene_graph`).
        unary (Tensor): ``[S, C]`` backbone probabilities per super-voxel.
        relation (Tensor): ``[S, C]`` relation probabilities.
        feats (Tensor): ``[S, F]`` mean learned features.
        steps (int): mean-field steps.
        weight (float, optional): pairwise weight, ``None`` for ``100/S``.
        clicked (Tensor, optional): ``[S]`` clicked classes (``-1`` elsewhere) held
            fixed as one-hot rows.
    """
    from pointcloud.mean_field import mean_field

    q0 = fuse(unary, relation)
    clamp: Any = None
    if clicked is not None and bool((clicked >= 0).any()):
        clamp = clicked >= 0
        q0 = q0.clone()
        q0[clamp] = torch.nn.functional.one_hot(clicked[clamp], q0.shape[1]).to(
            q0.dtype
        )
    if graph.num_edges == 0:
        return q0
    w = _feature_weights(graph, feats)
    return mean_field(q0, graph.edge_index, w, steps=steps, weight=weight, clamp=clamp)
