r"""Training loop of RSKP: batched videos, warm-up, memory, checkpoint/resume.

One epoch visits every training video once in length-bucketed batches. During the
first ``warmup_epochs`` epochs the pseudo-label target is the intra-video branch; at
the start of epoch ``warmup_epochs`` the memory is filled from the whole training set
(model in eval mode), after which the inter-video branch joins the losses and every
step offers its bases to the memory. ``per_video=True`` runs the same schedule with one
video per forward pass and gradients accumulated over the batch (the reference's
loop), for speed comparisons.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from graphssl._validation import check_int, check_real, param_error
from video._api_checks import check_device, check_model, check_model_data
from video._train_checkpoint import load_checkpoint, save_checkpoint
from video.batching import VideoBatch, bucket_batches, make_batch
from video.losses import LossTerms, RSKPLossConfig, rskp_loss
from video.model import RSKPModel
from video.schedules import LRSchedule

__all__ = ["TrainConfig", "fill_memory", "train_rskp"]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (reference ``options.py`` defaults).

    Attributes:
        epochs: total epochs. (``200``)
        warmup_epochs: epochs before the memory and inter-video branch. (``100``)
        batch_size: videos per optimiser step. (``10``)
        schedule: learning-rate schedule (``lr`` is its base rate). (constant 5e-5)
        weight_decay: Adam weight decay. (``5e-4``) The reference sums the losses
            of a batch's videos; we average them, which under Adam equals the
            reference with ``batch_size`` times its weight decay (up to Adam's
            epsilon). On the synthetic validation videos 5e-4 and 5e-5 (the
            reference's effective value) did not differ measurably.
        betas: Adam betas. (``(0.9, 0.99)``)
        seed: seeds dropout and the batch order. (``2``)
        per_video: one video per forward pass (reference-style). (``False``)
        checkpoint_every: epochs between checkpoints (and always the last). (``5``)
    """

    epochs: int = 200
    warmup_epochs: int = 100
    batch_size: int = 10
    schedule: LRSchedule = field(default_factory=LRSchedule)
    weight_decay: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.99)
    seed: int = 2
    per_video: bool = False
    checkpoint_every: int = 5

    def __post_init__(self) -> None:
        owner = "TrainConfig"
        check_int(self.epochs, "epochs", owner, low=1)
        check_int(self.warmup_epochs, "warmup_epochs", owner, low=0)
        check_int(self.batch_size, "batch_size", owner, low=1)
        check_real(self.weight_decay, "weight_decay", owner, low=0.0)
        check_int(self.seed, "seed", owner)
        check_int(self.checkpoint_every, "checkpoint_every", owner, low=1)


@torch.no_grad()
def fill_memory(
    model: RSKPModel, dataset: object, batch_size: int, device: torch.device
) -> None:
    """Offer the EM bases of every training video (eval mode) to the memory."""
    was_training = model.training
    model.eval()
    labels = dataset.labels  # type: ignore[attr-defined]
    feats = [f.to(model.mu0.dtype) for f in dataset.features]  # type: ignore[attr-defined]
    for idx in bucket_batches([f.shape[0] for f in feats], batch_size, shuffle=False):
        batch = make_batch(feats, labels, idx, device)
        out = model.forward_checked(batch.features, batch.mask)
        model.memory.update(out.mu, out.mu_probs, batch.labels)
    model.memory.initialized.fill_(True)
    model.train(was_training)


def _step_losses(
    model: RSKPModel,
    batch: VideoBatch,
    loss_config: RSKPLossConfig,
    after_warmup: bool,
) -> LossTerms:
    use_memory = after_warmup and model.variant == "full"
    # the data were checked once in train_rskp; the inter-video branch (after
    # warm-up) is computed in the same fused pass as the other two
    out = model.forward_checked(
        batch.features, batch.mask, batch.labels if use_memory else None
    )
    terms = rskp_loss(
        out,
        batch.labels,
        loss_config,
        after_warmup=after_warmup,
        inter=out.inter,
        has_memory=out.has_memory,
    )
    if use_memory:
        model.memory.update(out.mu, out.mu_probs, batch.labels)
    return terms


def _check_dataset(model: RSKPModel, dataset: object) -> list[Tensor]:
    feats, _ = check_model_data(model, dataset, "train_rskp")
    check = getattr(dataset, "check_training_classes", None)
    if callable(check):
        check()  # warns for a class without training video
    return feats


def _flat(conf: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in conf.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = list(v) if isinstance(v, tuple) else v
    return out


def _warn_changed(saved: dict[str, object], now: dict[str, object], path: Path) -> None:
    """Warn when a resumed run continues with other settings than it started with."""
    old, new = _flat(saved), _flat(now)
    # more epochs (or another checkpoint interval) is how a run is extended; the
    # schedule's length matters only to the cosine schedule
    skip = {"epochs", "checkpoint_every"}
    if new.get("schedule.kind") != "cosine":
        skip.add("schedule.total_epochs")
    changed = [k for k in sorted(set(old) & set(new) - skip) if old[k] != new[k]]
    if changed:
        diffs = "; ".join(f"{k}: {old[k]!r} -> {new[k]!r}" for k in changed)
        warnings.warn(
            f"resuming {path} with settings that differ from the ones it was "
            f"trained with ({diffs}); the result will not equal an uninterrupted run",
            UserWarning,
            stacklevel=3,
        )


def _check_shapes(
    saved: Mapping[str, object], now: Mapping[str, object], path: Path
) -> None:
    # these set the parameter and memory shapes: such a checkpoint cannot be loaded
    keys = ("in_dim", "num_classes", "dim", "num_bases", "memory_slots")
    diff = [k for k in keys if k in saved and saved[k] != now[k]]
    if diff:
        raise param_error(
            "checkpoint", "train_rskp",
            "a checkpoint of a model of this shape (" +
            ", ".join(f"{k}={now[k]}" for k in diff) + ")",
            f"{path} with " + ", ".join(f"{k}={saved[k]}" for k in diff),
        )  # fmt: skip


def train_rskp(
    model: RSKPModel,
    dataset: object,
    *,
    config: TrainConfig | None = None,
    loss_config: RSKPLossConfig | None = None,
    device: torch.device | str | None = None,
    checkpoint: Path | str | None = None,
    resume: bool = False,
    progress: bool = False,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` on a :class:`~video.datasets.VideoDataset` (video labels only).

    Args:
        model (RSKPModel): the network (its ``variant`` picks the ablation).
        dataset (VideoDataset): training videos; segments are not used.
        config (TrainConfig, optional): optimisation settings.
        loss_config (RSKPLossConfig, optional): loss weights.
        device: where to train (default: the model's device).
        checkpoint (Path, optional): file written every ``checkpoint_every`` epochs
            and at the end (model with memory, optimizer, RNG state, history, and
            the training and loss settings under ``"config"``).
        resume (bool): continue from ``checkpoint`` when it exists; the result equals
            an uninterrupted run.
        progress (bool): tqdm bar on stderr.
        on_epoch (callable, optional): ``(epoch, record)`` after each epoch.

    Returns:
        list[dict]: one record per epoch: mean ``loss``, ``fore``, ``back``, ``att``,
        ``spl``, ``lr`` and wall time ``seconds``.
    """
    cfg = config or TrainConfig()
    lcfg = loss_config or RSKPLossConfig()
    model = check_model(model, "train_rskp")
    feats = _check_dataset(model, dataset)
    dev = check_device(device, "train_rskp", model.mu0.device)
    model.to(dev).train()
    opt = torch.optim.Adam(
        model.parameters(),
        lr=cfg.schedule.lr,
        betas=cfg.betas,
        weight_decay=cfg.weight_decay,
        foreach=True,  # one multi-tensor update instead of a loop over parameters
    )
    history: list[dict[str, float]] = []
    start = 0
    ckpt = Path(checkpoint) if checkpoint is not None else None
    conf = {
        **asdict(cfg),
        "schedule": asdict(cfg.schedule),
        "loss": asdict(lcfg),
        "model": dict(model.hparams),
    }
    if resume and ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt)
        _check_shapes(state.get("hparams", {}), model.hparams, ckpt)
        _warn_changed(state.get("config", {}), conf, ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, history = int(state["epoch"]), list(state["history"])
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
    else:
        torch.manual_seed(cfg.seed)
    labels = dataset.labels  # type: ignore[attr-defined]
    lengths = [f.shape[0] for f in feats]
    from tqdm import tqdm

    bar = tqdm(
        range(start, cfg.epochs),
        desc="rskp",
        disable=not progress,
        file=sys.stderr,
        initial=start,
        total=cfg.epochs,
    )
    for epoch in bar:
        after = epoch >= cfg.warmup_epochs
        if after and model.variant == "full" and not bool(model.memory.initialized):
            fill_memory(model, dataset, cfg.batch_size, dev)
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        batches = bucket_batches(lengths, cfg.batch_size, generator=gen)
        keys = ("loss", "fore", "back", "att", "spl")
        sums = torch.zeros(len(keys), dtype=torch.float64, device=dev)
        t0 = time.perf_counter()
        lr = 0.0
        for i, idx in enumerate(batches):
            lr = cfg.schedule.apply(opt, epoch + i / len(batches))
            opt.zero_grad(set_to_none=True)
            groups = [[j] for j in idx] if cfg.per_video else [idx]
            for g in groups:
                batch = make_batch(feats, labels, g, dev)
                terms = _step_losses(model, batch, lcfg, after)
                loss = terms.total * (len(g) / len(idx))
                loss.backward()  # type: ignore[no-untyped-call]
                # accumulated on the device: no host sync per step
                parts = (terms.total.detach(), terms.fore, terms.back, terms.att,
                         terms.spl)  # fmt: skip
                sums += torch.stack(parts).to(sums.dtype) * (len(g) / len(lengths))
            opt.step()
        means = sums.tolist()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        rec = {**dict(zip(keys, means, strict=True)), "lr": lr}
        rec["seconds"] = time.perf_counter() - t0
        history.append(rec)
        bar.set_postfix(loss=f"{rec['loss']:.3f}")
        if on_epoch is not None:
            on_epoch(epoch, rec)
        last = epoch + 1 == cfg.epochs
        if ckpt is not None and ((epoch + 1) % cfg.checkpoint_every == 0 or last):
            save_checkpoint(ckpt, model, opt, epoch + 1, history, conf)
    bar.close()
    return history
