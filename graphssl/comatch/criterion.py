r"""The CoMatch objective for one mini-batch, with its state (alignment window, bank).

.. math::
    \mathcal{L} = \mathcal{L}_x + \lambda_u \mathcal{L}_u + \lambda_c \mathcal{L}_c

:math:`\mathcal{L}_x` is the cross-entropy on the weakly augmented labelled batch;
:math:`\mathcal{L}_u = \frac{1}{\mu B}\sum_b \mathbb{1}[\max q_b \ge \tau]\,
H(q_b, p_\theta(y \mid \mathcal{A}_0(u_b)))` the soft-target loss on the strong0 view
(arg-max targets with ``hard_labels``); :math:`\mathcal{L}_c` the cross-entropy
between the pseudo-label graph and the embedding graph of the two strong views
(:mod:`graphssl.comatch.graphs`). :math:`q` comes from the weak view through
distribution alignment and memory smoothing. The step follows ``train_one_epoch`` of
``salesforce/CoMatch`` (CIFAR), but every cross-sample quantity goes through
:mod:`graphssl.comatch.distributed`, so that :math:`W` processes see the global batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphssl._validation import check_float_tensor, param_error
from graphssl.comatch.alignment import WindowedAlignment
from graphssl.comatch.config import CoMatchConfig
from graphssl.comatch.distributed import gather_nograd, gather_with_grad, world
from graphssl.comatch.graphs import (
    _embedding_graph,
    _graph_contrastive_loss,
    _pseudo_label_graph,
)
from graphssl.comatch.memory import MemoryBank
from graphssl.comatch.momentum import StrongViewQueue
from graphssl.comatch.smoothing import _memory_smoothing
from graphssl.teacher_student import fixmatch_loss

__all__ = ["CoMatchLoss", "CoMatchOutput"]

_OWNER = "CoMatchLoss"


@dataclass
class CoMatchOutput:
    """What :class:`CoMatchLoss` returns for one batch.

    Attributes:
        loss, loss_x, loss_u, loss_c (Tensor): scalars (``loss_c`` is 0 with
            :math:`\\lambda_c = 0`). probs (Tensor): pseudo-labels :math:`q`
            ``[μB, C]``. mask (Tensor): confidence mask ``[μB]`` (0./1.).
        graph (Tensor, optional): the pseudo-label graph :math:`\\hat Q` ``[μB, M]``
            (``None`` with :math:`\\lambda_c = 0`). smoothed (bool): whether the
            bank was used.
    """

    loss: Tensor
    loss_x: Tensor
    loss_u: Tensor
    loss_c: Tensor
    probs: Tensor
    mask: Tensor
    graph: Tensor | None
    smoothed: bool

    @property
    def edges(self) -> float:
        """Mean number of non-zero entries per row of :math:`\\hat Q` (NaN without
        it); computed on demand so that no training step waits for it."""
        if self.graph is None:
            return float("nan")
        return float((self.graph > 0).sum(dim=1).to(self.graph.dtype).mean())


def _all_finite(named: dict[str, Tensor]) -> None:
    # One reduction and one host sync for all inputs; the slow search for the culprit
    # runs only after a failure (a NaN or inf in any entry makes its sum non-finite).
    sums = torch.stack([t.detach().sum() for t in named.values()])
    if bool(torch.isfinite(sums).all()):
        return
    for name, t in named.items():
        bad = int((~torch.isfinite(t)).sum())
        if bad:
            raise param_error(
                name, _OWNER, "finite (no NaN or inf; training may have diverged)",
                f"a tensor with {bad} non-finite values", FloatingPointError,
            )  # fmt: skip


class CoMatchLoss(nn.Module):
    r"""CoMatch's loss with its alignment window and memory bank as sub-modules.

    Args:
        num_classes (int): :math:`C`; logits must have exactly :math:`C` columns.
        config (CoMatchConfig): hyper-parameters. (default: ``CoMatchConfig()``)
        world_size (int, optional): processes sharing the bank; default: the
            current process group's (1 without one). The bank holds
            ``config.memory_size(world_size)`` rows.

    With ``config.momentum_encoder`` (the ImageNet variant) the weak-view inputs and
    ``feats_u_s1`` are expected from the momentum encoder (``feats_u_s1`` gets no
    gradient), and ``strong_queue`` (a
    :class:`~graphssl.comatch.momentum.StrongViewQueue` of
    ``config.strong_queue_rows(world_size)`` rows, ``None`` when that is 0 or
    :math:`\lambda_c = 0`) appends past strong1 columns to both graphs.

    Shapes:
        - **logits_x** ``[B, C]``, **y_x** ``[B]``, **logits_u_w**,
          **logits_u_s0** ``[μB, C]``; **feats_x** ``[B, D]``, **feats_u_w**,
          **feats_u_s0**, **feats_u_s1** ``[μB, D]`` (unit rows,
          :math:`D` = ``proj_dim``). The strong views may be ``None`` when
          :math:`\lambda_c = 0`.
    """

    def __init__(
        self,
        num_classes: int,
        config: CoMatchConfig | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        self.config = CoMatchConfig() if config is None else config
        if not isinstance(self.config, CoMatchConfig):
            raise param_error(
                "config", _OWNER, "a CoMatchConfig", self.config, TypeError
            )
        w = world()[1] if world_size is None else world_size
        cfg = self.config
        self.alignment = WindowedAlignment(num_classes, cfg.da_window)
        self.bank = MemoryBank(cfg.memory_size(w), cfg.proj_dim, num_classes)
        self.num_classes = self.bank.num_classes
        k = cfg.strong_queue_rows(w) if cfg.lambda_c > 0 else 0
        self.strong_queue: StrongViewQueue | None = (
            StrongViewQueue(k, cfg.proj_dim, num_classes) if k else None
        )

    def _check(
        self,
        logits_x: Tensor,
        y_x: Tensor,
        logits_u: list[Tensor],
        feats: list[Tensor | None],
        world_size: int,
    ) -> None:
        c, d = self.num_classes, self.config.proj_dim
        b, bu = logits_x.shape[0], logits_u[0].shape[0]
        named: dict[str, Tensor] = {}
        for name, t in zip(
            ("logits_x", "logits_u_w", "logits_u_s0"),
            [logits_x, *logits_u],
            strict=True,
        ):
            named[name] = check_float_tensor(t, name, _OWNER, ndim=2)
            if t.shape[1] != c:
                allowed = f"{c} columns (num_classes)"
                raise param_error(name, _OWNER, allowed, list(t.shape))
        if logits_u[1].shape[0] != bu:
            raise param_error(
                "logits_u_s0",
                _OWNER,
                f"{bu} rows like logits_u_w",
                list(logits_u[1].shape),
            )
        if not isinstance(y_x, Tensor) or y_x.is_floating_point() or y_x.shape != (b,):
            raise param_error("y_x", _OWNER, f"an integer tensor of shape [{b}]", y_x)
        if bool(((y_x < 0) | (y_x >= c)).any()):
            raise param_error(
                "y_x",
                _OWNER,
                f"classes in 0..{c - 1}",
                [int(y_x.min()), int(y_x.max())],
            )
        names = ("feats_x", "feats_u_w", "feats_u_s0", "feats_u_s1")
        for name, f, n in zip(names, feats, (b, bu, bu, bu), strict=True):
            if f is None:
                continue
            named[name] = check_float_tensor(f, name, _OWNER, ndim=2)
            if f.shape != (n, d):
                allowed = (
                    f"a [{n}, {d}] tensor (embedding size proj_dim = {d}, the bank's)"
                )
                raise param_error(name, _OWNER, allowed, list(f.shape))
        _all_finite(named)
        if self.config.lambda_c > 0 and (feats[2] is None or feats[3] is None):
            raise param_error(
                "feats_u_s1", _OWNER, "given when lambda_c > 0", None, TypeError
            )
        rows, rows_u = b + bu, bu
        if world_size > 1:
            counts = torch.tensor([[rows, rows_u]], device=logits_x.device)
            rows, rows_u = (int(n) for n in gather_nograd(counts).sum(dim=0))
        if self.config.alpha < 1 and rows > self.bank.size:
            allowed = f"at most the memory size {self.bank.size} rows per global batch"
            raise param_error("logits_u_w", _OWNER, allowed, f"{rows} rows")
        sq = self.strong_queue
        if sq is not None and rows_u > sq.size:
            allowed = (
                f"at most the strong-view queue size {sq.size} rows per global batch"
            )
            raise param_error("logits_u_w", _OWNER, allowed, f"{rows_u} rows")

    def forward(
        self,
        logits_x: Tensor,
        y_x: Tensor,
        logits_u_w: Tensor,
        logits_u_s0: Tensor,
        feats_x: Tensor,
        feats_u_w: Tensor,
        feats_u_s0: Tensor | None = None,
        feats_u_s1: Tensor | None = None,
    ) -> CoMatchOutput:
        """Compute the losses and update the alignment window and the bank."""
        cfg = self.config
        rank, ws = world()  # once per step: every gather below needs it
        self._check(
            logits_x,
            y_x,
            [logits_u_w, logits_u_s0],
            [feats_x, feats_u_w, feats_u_s0, feats_u_s1],
            ws,
        )
        gather = gather_nograd if ws > 1 else Tensor.detach  # the same with one process
        loss_x = F.cross_entropy(logits_x, y_x.long())
        with torch.no_grad():
            probs = torch.softmax(logits_u_w.detach(), dim=1)
            if cfg.distribution_alignment:  # one process: the window's own batch mean
                mean = gather_nograd(probs).mean(dim=0) if ws > 1 else None
                probs = self.alignment(probs, mean)
            smoothed = cfg.alpha < 1 and self.bank.is_full
            q = probs
            if smoothed:  # the bank is read only once every row holds an entry
                q = _memory_smoothing(
                    probs, feats_u_w.detach(), self.bank.feats, self.bank.probs,
                    cfg.alpha, cfg.temperature,
                )  # fmt: skip
            mask = (q.max(dim=1).values >= cfg.threshold).to(q.dtype)
            if cfg.alpha < 1:  # unlabelled rows first, then labelled, as the reference
                self.bank.push_labeled_(
                    gather(feats_u_w), gather(probs), gather(feats_x), gather(y_x)
                )
        targets = q.argmax(dim=1) if cfg.hard_labels else q
        loss_u = fixmatch_loss(logits_u_s0, targets, mask)
        loss_c, graph_q = logits_u_s0.new_zeros(()), None
        if cfg.lambda_c > 0 and feats_u_s0 is not None and feats_u_s1 is not None:
            sq = self.strong_queue
            if cfg.momentum_encoder:  # the momentum encoder's strong1: no gradient
                s1 = gather(feats_u_s1)
            else:
                s1 = gather_with_grad(feats_u_s1) if ws > 1 else feats_u_s1
            with torch.no_grad():
                q_all, offset = gather(q), 0
                if ws > 1:  # this process's rows start after those of lower ranks
                    sizes = gather_nograd(torch.tensor([q.shape[0]], device=q.device))
                    offset = int(sizes[:rank].sum())
                cols_z, cols_q = (s1, q_all) if sq is None else sq.extend(s1, q_all)
                graph_q = _pseudo_label_graph(q, cols_q, cfg.contrast_th, offset)
            graph_s = _embedding_graph(feats_u_s0, cols_z, cfg.temperature)
            loss_c = _graph_contrastive_loss(graph_q, graph_s)
            if sq is not None:  # after both graphs: no sample meets itself twice
                sq.push_(s1, q_all)
        loss = loss_x
        for weight, term in ((cfg.lambda_u, loss_u), (cfg.lambda_c, loss_c)):
            if (
                weight
            ):  # w * t is t exactly for w = 1 and adds 0 for w = 0: skip the ops
                loss = loss + (term if weight == 1.0 else weight * term)
        return CoMatchOutput(loss, loss_x, loss_u, loss_c, q, mask, graph_q, smoothed)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, config={self.config}"
