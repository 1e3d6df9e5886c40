r"""Teacher–student pseudo-labelling for node classification on one graph.

The node-level form of :class:`~graphssl.teacher_student.TeacherStudent`: a graph
neural network sees the whole graph in every step (full batch, as GCN training
does), a teacher without gradient — the current model (FixMatch) or an EMA copy
(Mean Teacher) — labels every unlabelled node from a *weak* view of the graph, and
confident labels supervise the student on a *strong* view:

.. math::
    \mathcal{L} = \frac{1}{|L|}\sum_{i \in L} \mathrm{CE}(y_i, f_\theta(\alpha(G))_i)
    + \lambda_u \frac{1}{|U|}\sum_{i \in U}
      \mathbb{1}[\max q_i \ge \tau]\, \mathrm{CE}(\hat q_i, f_\theta(\mathcal{A}(G))_i)

where :math:`G = (X, E)` is the graph (node features ``x [N, F]`` and
``edge_index [2, E]``), :math:`L` / :math:`U` the labelled / unlabelled nodes,
:math:`q_i = \mathrm{softmax}(f_{\theta'}(\alpha(G))_i)` the teacher's prediction on
the weak view :math:`\alpha`, :math:`\hat q_i` its arg-max (or :math:`q_i` for soft
targets), :math:`\mathcal{A}` the strong view and :math:`\tau` the threshold. Views
are callables on ``(x, edge_index)`` pairs such as
:class:`~graphssl.augment.DropEdges` and :class:`~graphssl.augment.MaskFeatures`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphssl._ssl_trainer import ModelLike
from graphssl._validation import (
    check_edge_index,
    check_finite,
    check_float_tensor,
    check_in,
    check_int,
    check_labels,
    check_real,
    param_error,
)
from graphssl.augment import weak_strong
from graphssl.teacher_student import EMATeacher, fixmatch_loss, pseudo_label_targets

__all__ = ["GraphTeacherStudent"]

GraphView = tuple[Tensor, Tensor]


class GraphTeacherStudent:
    r"""FixMatch / Mean-Teacher pseudo-labelling of the nodes of one graph.

    Args:
        model (nn.Module or callable): a model (deep-copied) or a factory returning
            one, called as ``model(x, edge_index)`` and returning logits ``[N, C]``.
        teacher (str): ``'self'`` (FixMatch) or ``'ema'`` (Mean Teacher).
            (default: ``'self'``)
        threshold (float): confidence :math:`\tau` in ``[0, 1]``. (default: ``0.9``)
        lambda_u (float): weight :math:`\lambda_u \ge 0`. (default: ``1.0``)
        steps (int): full-graph optimiser steps. (default: ``200``)
        lr (float): Adam learning rate. (default: ``0.01``)
        weight_decay (float): Adam L2 penalty. (default: ``5e-4``)
        ema_decay (float): decay of the EMA copy. (default: ``0.99``)
        soft (bool): soft targets instead of arg-max. (default: ``False``)
        weak, strong (callable, optional): views ``f((x, edge_index), generator=g)``;
            ``None`` takes :func:`~graphssl.augment.weak_strong` ``('graph')``:
            10 % feature masking, and 30 % edge dropping with 30 % masking.
        seed (int): seeds initialisation, dropout and views. (default: ``0``)
        device: where to train; ``None`` follows ``x``. (default: ``None``)

    Attributes:
        model_ (nn.Module): the trained student.
        ema_ (EMATeacher): its moving average.
        n_classes_ (int): classes seen in ``y``.
        history_ (dict): lists per step: ``step``, ``loss``, ``loss_x``, ``loss_u``,
            ``mask_ratio`` and, with ``y_true``, ``pseudo_acc`` (accuracy of the
            confident pseudo-labels, NaN when none).

    Example:
        >>> import torch
        >>> from torch_geometric.nn import GCNConv
        >>> class GCN(torch.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = GCNConv(4, 2)
        ...     def forward(self, x, edge_index):
        ...         return self.conv(x, edge_index)
        >>> x = torch.randn(6, 4)
        >>> edge_index = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 0, 3, 2, 5, 4]])
        >>> y = torch.tensor([0, -1, 1, -1, -1, -1])
        >>> ts = GraphTeacherStudent(GCN, steps=5).fit(x, edge_index, y)
        >>> ts.predict(x, edge_index).shape
        torch.Size([6])
    """

    def __init__(
        self,
        model: ModelLike,
        *,
        teacher: str = "self",
        threshold: float = 0.9,
        lambda_u: float = 1.0,
        steps: int = 200,
        lr: float = 0.01,
        weight_decay: float = 5e-4,
        ema_decay: float = 0.99,
        soft: bool = False,
        weak: Callable[..., GraphView] | None = None,
        strong: Callable[..., GraphView] | None = None,
        seed: int = 0,
        device: str | torch.device | None = None,
    ) -> None:
        o = "GraphTeacherStudent"
        self.model = model
        self.teacher = check_in(teacher, "teacher", o, ("self", "ema"))
        self.threshold = check_real(threshold, "threshold", o, low=0.0, high=1.0)
        self.lambda_u = check_real(lambda_u, "lambda_u", o, low=0.0)
        self.steps = check_int(steps, "steps", o, low=0)
        self.lr = check_real(lr, "lr", o, low=0.0, closed="neither")
        self.weight_decay = check_real(weight_decay, "weight_decay", o, low=0.0)
        self.ema_decay = check_real(ema_decay, "ema_decay", o, low=0.0, high=1.0)
        self.soft = bool(soft)
        default_weak, default_strong = weak_strong("graph")
        self.weak = default_weak if weak is None else weak
        self.strong = default_strong if strong is None else strong
        self.seed = check_int(seed, "seed", o, low=0)
        self.device = device

    def _check(
        self, x: Any, edge_index: Any, y: Any, y_true: Any
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        o = "GraphTeacherStudent.fit"
        dev = torch.device(self.device) if self.device is not None else None
        x = check_finite(check_float_tensor(x, "x", o, ndim=2), "x", o)
        dev = dev or x.device
        n = x.shape[0]
        ei = check_edge_index(edge_index, "edge_index", o, n).long()
        y, _ = check_labels(y, "y", o, num_nodes=n)
        if y_true is not None:
            y_true, _ = check_labels(y_true, "y_true", o, num_nodes=n)
            y_true = y_true.to(dev)
        return x.to(dev), ei.to(dev), y.to(dev), y_true

    def fit(
        self, x: Tensor, edge_index: Tensor, y: Tensor, *, y_true: Tensor | None = None
    ) -> GraphTeacherStudent:
        """Train on node features ``x [N, F]``, ``edge_index [2, E]``, ``y [N]``.

        ``y`` holds ``-1`` for unlabelled nodes; ``y_true [N]`` (optional, never
        trained on) only scores the pseudo-labels in ``history_``.
        """
        x, ei, y, y_true = self._check(x, edge_index, y, y_true)
        lab, unl = y >= 0, y < 0
        c = int(y.max()) + 1
        gen = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng(devices=[x.device] if x.is_cuda else []):
            torch.manual_seed(self.seed)  # initialisation and dropout
            model = _instantiate(self.model).to(x.device)
            ema = EMATeacher(model, self.ema_decay)
            opt = torch.optim.Adam(
                model.parameters(), lr=self.lr, weight_decay=self.weight_decay
            )
            hist: dict[str, list[float]] = {}
            for k in range(self.steps):
                xw, ew = self.weak((x, ei), generator=gen)
                xs, es = self.strong((x, ei), generator=gen)
                model.train()
                logits_x = model(xw, ew)
                _check_logits(logits_x, x.shape[0], c)
                with torch.no_grad():
                    # The teacher runs in eval mode: dropout noise would only blur
                    # the confidence the threshold reads.
                    t_model: nn.Module = ema.module if self.teacher == "ema" else model
                    t_model.eval()
                    t_logits = t_model(xw, ew)[unl]
                    model.train()
                    targets, mask = pseudo_label_targets(
                        t_logits, self.threshold, soft=self.soft
                    )
                loss_x = F.cross_entropy(logits_x[lab], y[lab])
                loss_u = fixmatch_loss(model(xs, es)[unl], targets, mask)
                loss = loss_x + self.lambda_u * loss_u
                if not bool(torch.isfinite(loss)):
                    raise FloatingPointError(
                        f"GraphTeacherStudent.fit: the loss became {float(loss.detach())} at "
                        f"step {k}; lower lr (now {self.lr})."
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
                ema.update(model)
                _log(hist, k, loss, loss_x, loss_u, mask, t_logits, y_true, unl)
        self.model_, self.ema_, self.history_, self.n_classes_ = model, ema, hist, c
        return self

    @torch.no_grad()
    def predict_proba(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Class probabilities ``[N, C]`` (the EMA model when ``teacher='ema'``)."""
        if not hasattr(self, "model_"):
            raise RuntimeError("This GraphTeacherStudent is not fitted yet.")
        o = "GraphTeacherStudent.predict_proba"
        x = check_float_tensor(x, "x", o, ndim=2)
        ei = check_edge_index(edge_index, "edge_index", o, x.shape[0]).long()
        m: nn.Module = self.ema_.module if self.teacher == "ema" else self.model_
        m.eval()
        dev = next(iter(m.parameters())).device
        return torch.softmax(m(x.to(dev), ei.to(dev)), dim=1).to(x.device)

    def predict(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Predicted classes ``[N]`` (int64)."""
        return self.predict_proba(x, edge_index).argmax(dim=1)


def _instantiate(model: ModelLike) -> nn.Module:
    """A deep copy of a module, or a factory's product."""
    m = copy.deepcopy(model) if isinstance(model, nn.Module) else model()
    if not isinstance(m, nn.Module):
        raise param_error(
            "model", "GraphTeacherStudent", "an nn.Module or a factory returning one",
            m, TypeError,
        )  # fmt: skip
    return m


def _check_logits(logits: Tensor, n: int, c: int) -> None:
    if logits.dim() != 2 or logits.shape[0] != n or logits.shape[1] < c:
        raise param_error(
            "model", "GraphTeacherStudent.fit",
            f"returning logits [{n}, >= {c}] (one row per node, a column per class)",
            list(logits.shape),
        )  # fmt: skip


def _log(
    hist: dict[str, list[float]],
    k: int,
    loss: Tensor,
    loss_x: Tensor,
    loss_u: Tensor,
    mask: Tensor,
    t_logits: Tensor,
    y_true: Tensor | None,
    unl: Tensor,
) -> None:
    row = {
        "step": float(k),
        "loss": float(loss.detach()),
        "loss_x": float(loss_x.detach()),
        "loss_u": float(loss_u.detach()),
        "mask_ratio": float(mask.mean()) if mask.numel() else 0.0,
    }
    if y_true is not None:
        hit = (t_logits.argmax(1) == y_true[unl]).to(mask)
        n_conf = float(mask.sum())
        row["pseudo_acc"] = float((hit * mask).sum()) / n_conf if n_conf else math.nan
    for key, v in row.items():
        hist.setdefault(key, []).append(v)
