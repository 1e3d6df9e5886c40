r"""Where a CoMatch step gets its views: independent samples or nodes of one graph.

A source maps labelled indices ``il [B]`` and unlabelled indices ``iu [μB]`` to the
network outputs of the four views, stacked in the reference's order
``[labelled weak | unlabelled weak | strong0 | strong1]``; ``forward_momentum``
gives the same layout for the ImageNet variant, whose momentum encoder computes the
weak and strong1 rows (and the labelled embeddings). A view is any callable
``view(data, generator=g)``; ``None`` is the identity. Every random draw comes from
the one generator ``g``, in a fixed order, so a seeded run is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from graphssl._validation import (
    check_edge_index,
    check_float_tensor,
    check_labels,
    param_error,
)

__all__ = ["NodeSource", "SampleSource", "View", "node_source"]

View = Callable[..., Any] | None


def _apply(view: View, data: Any, gen: torch.Generator) -> Any:
    return data if view is None else view(data, generator=gen)


class SampleSource:
    """Independent samples ``x_labeled [n, ...]``, ``x_unlabeled [m, ...]``.

    All views of a step go through the network in ONE concatenated batch, as in the
    reference (batch-norm statistics then cover every view).
    """

    def __init__(
        self, x_l: Tensor, x_u: Tensor, weak: View, strong0: View, strong1: View
    ) -> None:
        self.x_l, self.x_u = x_l, x_u
        self.weak, self.strong0, self.strong1 = weak, strong0, strong1
        self.n_labeled, self.n_unlabeled = x_l.shape[0], x_u.shape[0]

    def forward(
        self,
        net: nn.Module,
        il: Tensor,
        iu: Tensor,
        gen: torch.Generator,
        strong1: bool,
    ) -> tuple[Tensor, Tensor]:
        """Logits and embeddings of the stacked views (strong1 only if asked)."""
        xu = self.x_u[iu]
        views = [
            _apply(self.weak, self.x_l[il], gen),
            _apply(self.weak, xu, gen),
            _apply(self.strong0, xu, gen),
        ]
        if strong1:
            views.append(_apply(self.strong1, xu, gen))
        out: tuple[Tensor, Tensor] = net(torch.cat(views))
        return out

    def forward_momentum(
        self, net: nn.Module, momentum: nn.Module, il: Tensor, iu: Tensor,
        gen: torch.Generator, strong1: bool,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """:meth:`forward` of the ImageNet variant: ``net`` runs on the labelled weak
        and strong0 views (one batch), ``momentum`` on the labelled weak, unlabelled
        weak and strong1 views (another); the views are drawn as in :meth:`forward`."""
        xu = self.x_u[iu]
        lw = _apply(self.weak, self.x_l[il], gen)
        views_m = [lw, _apply(self.weak, xu, gen)]
        s0 = _apply(self.strong0, xu, gen)
        if strong1:
            views_m.append(_apply(self.strong1, xu, gen))
        b = lw.shape[0]
        lo, zo = net(torch.cat([lw, s0]))
        return _interleave(lo[:b], lo[b:], zo[b:], momentum(torch.cat(views_m)), b)

    def inputs(self, x: Tensor) -> tuple[Tensor, ...]:
        """Network inputs for prediction on ``x``."""
        return (x,)


class NodeSource:
    """Nodes of one graph ``(x [N, F], edge_index [2, E])``; transductive.

    A view transforms the whole graph pair (e.g. :class:`graphssl.augment.DropEdges`,
    :class:`graphssl.augment.MaskFeatures`); the network runs on each viewed graph
    (weak, strong0, strong1: up to three passes per step) and the rows of the sampled
    nodes are taken from its output.
    """

    def __init__(
        self, x: Tensor, edge_index: Tensor, nodes_l: Tensor, nodes_u: Tensor,
        weak: View, strong0: View, strong1: View,
    ) -> None:  # fmt: skip
        self.x, self.edge_index = x, edge_index
        self.nodes_l, self.nodes_u = nodes_l, nodes_u
        self.weak, self.strong0, self.strong1 = weak, strong0, strong1
        self.n_labeled, self.n_unlabeled = nodes_l.numel(), nodes_u.numel()

    def forward(
        self,
        net: nn.Module,
        il: Tensor,
        iu: Tensor,
        gen: torch.Generator,
        strong1: bool,
    ) -> tuple[Tensor, Tensor]:
        """Logits and embeddings of the stacked views (strong1 only if asked)."""
        g = (self.x, self.edge_index)
        nl, nu = self.nodes_l[il], self.nodes_u[iu]
        lw, zw = net(*_apply(self.weak, g, gen))
        ls0, zs0 = net(*_apply(self.strong0, g, gen))
        logits = [lw[nl], lw[nu], ls0[nu]]
        feats = [zw[nl], zw[nu], zs0[nu]]
        if strong1:
            ls1, zs1 = net(*_apply(self.strong1, g, gen))
            logits.append(ls1[nu])
            feats.append(zs1[nu])
        return torch.cat(logits), torch.cat(feats)

    def forward_momentum(
        self, net: nn.Module, momentum: nn.Module, il: Tensor, iu: Tensor,
        gen: torch.Generator, strong1: bool,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """:meth:`forward` of the ImageNet variant: ``net`` runs on the weak and
        strong0 graphs, ``momentum`` on the weak and strong1 graphs (four passes)."""
        g = (self.x, self.edge_index)
        nl, nu = self.nodes_l[il], self.nodes_u[iu]
        weak = _apply(self.weak, g, gen)
        lw, _ = net(*weak)
        ls0, zs0 = net(*_apply(self.strong0, g, gen))
        mlw, mzw = momentum(*weak)
        logits_m, feats_m = [mlw[nl], mlw[nu]], [mzw[nl], mzw[nu]]
        if strong1:
            ls1, zs1 = momentum(*_apply(self.strong1, g, gen))
            logits_m.append(ls1[nu])
            feats_m.append(zs1[nu])
        mom = (torch.cat(logits_m), torch.cat(feats_m))
        return _interleave(lw[nl], ls0[nu], zs0[nu], mom, nl.numel())


def _interleave(
    logits_x: Tensor, logits_s0: Tensor, feats_s0: Tensor,
    momentum: tuple[Tensor, Tensor], b: int,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    r"""Stack the rows in :meth:`SampleSource.forward`'s layout
    ``[labelled weak | unlabelled weak | strong0 | strong1]``.

    The trained network gives the labelled logits (for :math:`\mathcal{L}_x`) and
    the strong0 rows; ``momentum`` (logits, embeddings) of
    ``[labelled weak | unlabelled weak | strong1]`` gives everything else, so the
    bank receives the momentum encoder's embeddings of the labelled rows too.
    """
    lm, zm = momentum
    bu = logits_s0.shape[0]
    logits = torch.cat([logits_x, lm[b : b + bu], logits_s0, lm[b + bu :]])
    feats = torch.cat([zm[:b], zm[b : b + bu], feats_s0, zm[b + bu :]])
    return logits, feats


def node_source(
    x: Tensor, edge_index: Tensor, y: Tensor, y_true: Tensor | None,
    num_classes: int | None, device: torch.device | None, views: tuple[View, View, View],
) -> tuple[NodeSource, Tensor, Tensor | None]:  # fmt: skip
    """Check node data for ``CoMatch.fit_nodes`` and build its source.

    Returns:
        tuple: the source (on ``device``, default ``x``'s), the labels of the
        labelled nodes ``[n_l]`` and the true labels of the unlabelled ones
        ``[n_u]`` (``None`` without ``y_true``).
    """
    o = "CoMatch.fit_nodes"
    x = check_float_tensor(x, "x", o, ndim=2)
    edge_index = check_edge_index(edge_index, "edge_index", o)
    y, _ = check_labels(y, "y", o, x.shape[0], num_classes)
    dev = x.device if device is None else device
    x, edge_index, y = x.to(dev), edge_index.to(dev), y.to(dev)
    nodes_l = torch.nonzero(y >= 0).flatten()
    nodes_u = torch.nonzero(y < 0).flatten()
    if nodes_u.numel() == 0:
        raise param_error("y", o, "at least one unlabelled node (-1)", "none")
    y_ut = None
    if y_true is not None:
        y_ut = check_labels(y_true, "y_true", o, x.shape[0])[0].to(dev)[nodes_u]
    src = NodeSource(x, edge_index, nodes_l, nodes_u, *views)
    return src, y[nodes_l], y_ut
