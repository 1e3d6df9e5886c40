"""The optimisation loop of :class:`~graphssl.comatch.CoMatch` (private).

One step: draw the batches, run the views (through the trained network alone, or
through it and the momentum encoder for the ImageNet variant), compute
:class:`~graphssl.comatch.CoMatchLoss`, take an SGD step, update the EMA copy, log and
checkpoint.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING, cast

import torch
from torch import Tensor, nn

from graphssl.comatch.checkpoint import TrainingParts, save_training
from graphssl.comatch.criterion import CoMatchLoss, CoMatchOutput
from graphssl.comatch.distributed import world
from graphssl.comatch.momentum import MomentumEncoder
from graphssl.comatch.sources import NodeSource, SampleSource
from graphssl.teacher_student import EMATeacher

if TYPE_CHECKING:
    from graphssl.comatch.trainer import CoMatch


def run_steps(
    trainer: CoMatch, src: SampleSource | NodeSource, fwd: nn.Module,
    parts: TrainingParts, y_l: Tensor, y_ut: Tensor | None,
    hist: dict[str, list[float]], start: int, stop: int, dev: torch.device,
) -> None:  # fmt: skip
    """Steps ``start .. stop - 1`` of ``trainer``'s run; ``fwd`` is the trained
    network, possibly wrapped in ``DistributedDataParallel``."""
    from tqdm import tqdm

    net, opt, sched, gen = parts.net, parts.optimizer, parts.scheduler, parts.generator
    ema, crit = cast(EMATeacher, parts.ema), cast(CoMatchLoss, parts.criterion)
    mom = cast(MomentumEncoder | None, parts.momentum)
    b, bu = trainer.batch_size, trainer.mu * trainer.batch_size
    need_s1 = trainer.config.lambda_c > 0  # strong1 feeds only the graph loss
    sizes = [b, bu, bu, bu] if need_s1 else [b, bu, bu]
    bar = tqdm(total=trainer.steps, initial=start, desc="CoMatch",
               disable=not trainer.progress, file=sys.stderr)  # fmt: skip
    clock, last = time.perf_counter(), start - 1
    for k in range(start, stop):
        il = trainer._batch(gen, src.n_labeled, b, dev)
        iu = trainer._batch(gen, src.n_unlabeled, bu, dev)
        net.train()
        if mom is None:
            logits, feats = src.forward(fwd, il, iu, gen, need_s1)
        else:  # updated before its forward, as the reference: it trails the last step
            mom.update(net)
            mom.train()
            logits, feats = src.forward_momentum(fwd, mom, il, iu, gen, need_s1)
        lg, ft = torch.split(logits, sizes), torch.split(feats, sizes)
        s1 = ft[3] if need_s1 else None
        out = crit(lg[0], y_l[il], lg[1], lg[2], ft[0], ft[1], ft[2], s1)
        if not bool(torch.isfinite(out.loss)):
            raise FloatingPointError(
                f"CoMatch: the loss became {float(out.loss)} at step {k}; the learning "
                "rate may be too high for this model."
            )
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        ema.update(net)
        bar.update()
        if k % trainer.log_every == 0 or k == stop - 1:
            now = time.perf_counter()
            hist.setdefault("seconds_per_step", []).append((now - clock) / (k - last))
            record(trainer, hist, k, lr, out, None if y_ut is None else y_ut[iu])
            clock, last = time.perf_counter(), k
            bar.set_postfix(
                loss=f"{hist['loss'][-1]:.3f}", mask=f"{hist['mask_ratio'][-1]:.2f}"
            )
        due = (k + 1) % trainer.checkpoint_every == 0 or k + 1 == stop
        if trainer.checkpoint is not None and due and world()[0] == 0:
            save_training(  # rank 0 only: every rank holds the same state
                trainer.checkpoint, parts, step=k + 1, history=hist, device=dev,
                **trainer._identity(crit.num_classes),
            )  # fmt: skip
    bar.close()


def record(
    trainer: CoMatch, hist: dict[str, list[float]], k: int, lr: float,
    out: CoMatchOutput, truth: Tensor | None,
) -> None:  # fmt: skip
    """Append step ``k``'s entries to ``hist`` (pseudo-label accuracies with
    ``truth``, the true labels of the unlabelled batch, ``-1`` where unknown)."""
    extra: dict[str, float] = {}
    if truth is not None:
        known = (truth >= 0).to(out.mask)
        hit = (out.probs.argmax(1) == truth).to(out.mask) * known
        n_conf = float((out.mask * known).sum())
        extra["pseudo_acc"] = (
            float((hit * out.mask).sum()) / n_conf if n_conf else math.nan
        )
        n_known = float(known.sum())
        extra["teacher_acc"] = float(hit.sum()) / n_known if n_known else math.nan
    trainer._log(
        hist, step=k, lr=lr, loss=float(out.loss.detach()), loss_x=float(out.loss_x.detach()),
        loss_u=float(out.loss_u.detach()), loss_c=float(out.loss_c.detach()),
        mask_ratio=float(out.mask.mean()), edges=out.edges, **extra,
    )  # fmt: skip
