"""The demo's fallback method: kNN label spreading from the clicks alone.

Every point is linked to its ``k`` nearest neighbours in ``[xyz, λ·rgb]`` and the
clicked labels spread over that graph (:func:`graphssl.spreading.label_spreading`).
No training, so it is the quick baseline the One Thing One Click pipeline is compared
against (``graphssl demo --method propagation``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from graphssl.construction import knn_graph
from graphssl.exceptions import UnreachedNodesWarning
from graphssl.morton import morton_order
from graphssl.spreading import label_spreading

__all__ = ["COLOR_WEIGHT", "spread_clicks"]

#: λ in the kNN features ``[xyz, λ·rgb]`` (metres against colour units in [0, 1]).
#: At 100k points it stretches neighbourhoods from about 5 cm (xyz only) to about
#: 8 cm: edges stay local while a colour step of 0.1 weighs as much as 40 cm.
COLOR_WEIGHT = 4.0


def spread_clicks(
    points: Tensor,
    colors: Tensor,
    clicks: Tensor,
    num_classes: int,
    *,
    k: int,
    alpha: float,
    color_weight: float,
    step: Callable[[str, str], None],
) -> Tensor:
    """Predicted class ``[P]`` (``-1`` where no click reached) on ``points``' device.

    ``step(name, text)`` narrates the graph and the propagation steps.
    """
    # Sorting the points along a space-filling curve keeps graph neighbours close in
    # memory, which makes every sparse product of the solver cache friendly.
    order = morton_order(points)
    x = torch.cat([points, color_weight * colors], 1)[order]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # reported in the narration instead
        graph = knn_graph(x, k)
        step(
            "graph",
            f"[3/5] kNN graph on [xyz, {color_weight:g}·rgb], k={k}: "
            f"{graph.num_edges:,} edges, Gaussian weights (median σ)",
        )
        res = label_spreading(
            graph, clicks[order], alpha=alpha, num_classes=num_classes
        )
    unreached = int((~res.reached).sum())
    notes = {str(c.message) for c in caught if c.category is not UnreachedNodesWarning}
    note = "".join(f"\n        note: {m}" for m in sorted(notes))
    step(
        "propagation",
        f"[4/5] label spreading (α={alpha:g}, {res.solver}): {res.n_iter} iterations, "
        f"{unreached:,} points unreached (no click in their graph component){note}",
    )
    pred = torch.empty_like(clicks)
    pred[order] = res.prediction
    return pred
