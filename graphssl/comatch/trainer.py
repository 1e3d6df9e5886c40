r"""The :class:`CoMatch` trainer: views, SGD with the cosine schedule, EMA, checkpoints."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import torch
from torch import Tensor, nn

from graphssl._ssl_trainer import ModelLike, _SSLTrainer
from graphssl._validation import (
    check_float_tensor,
    check_int,
    param_error,
)
from graphssl.comatch._steps import run_steps
from graphssl.comatch.checkpoint import TrainingParts, restore_training
from graphssl.comatch.config import CoMatchConfig
from graphssl.comatch.criterion import CoMatchLoss
from graphssl.comatch.distributed import world
from graphssl.comatch.model import CoMatchNet
from graphssl.comatch.momentum import MomentumEncoder
from graphssl.comatch.sources import NodeSource, SampleSource, View, node_source
from graphssl.teacher_student import EMATeacher

__all__ = ["CoMatch"]

Source = SampleSource | NodeSource


class CoMatch(_SSLTrainer):
    r"""CoMatch (Li, Xiong, Hoi, ICCV 2021) around any feature encoder.

    Each step draws ``B`` labelled and ``μB`` unlabelled samples (or nodes), runs the
    weak view of both and two strong views of the unlabelled ones, minimises
    :class:`~graphssl.comatch.criterion.CoMatchLoss` with SGD (Nesterov, weight decay
    on weight matrices only) under :math:`\eta\cos(7\pi k / 16K)` and updates an EMA
    copy used for prediction. FixMatch is the same path with
    ``CoMatchConfig.fixmatch()``. With ``config.momentum_encoder`` (the reference's
    ImageNet variant, e.g. ``CoMatchConfig.imagenet()``) a
    :class:`~graphssl.comatch.MomentumEncoder` runs the weak and strong1 views and a
    :class:`~graphssl.comatch.StrongViewQueue` extends both graphs; the trained
    network then runs only the labelled weak and strong0 views. All
    hyper-parameters live in ``config``.

    Args:
        encoder (nn.Module or callable): features ``[n, F]`` from a batch (or from
            ``(x, edge_index)`` for :meth:`fit_nodes`); a module (deep-copied) or a
            factory returning one, called under the seed.
        config (CoMatchConfig, optional): hyper-parameters. (default: ``CoMatchConfig()``)
        feature_dim (int, optional): :math:`F`; when ``None``, the encoder's
            ``num_features`` attribute or the width of one forward's output.
        weak, strong0, strong1 (callable, optional): views ``v(data, generator=g)``;
            ``None`` is the identity.
        seed (int): seeds initialisation, batches, views and dropout. (default: ``0``)
        device: where to train; ``None`` follows the data. (default: ``None``)
        log_every (int): steps between entries of ``history_``. (default: ``1``)
        progress (bool): show a tqdm progress bar on stderr. (default: ``False``)
        checkpoint (str or os.PathLike, optional): file written every
            ``checkpoint_every`` steps and when ``fit`` returns. (default: ``None``)
        checkpoint_every (int): steps between checkpoints. (default: ``100``)
        distributed (bool): wrap the network in ``DistributedDataParallel`` when a
            process group with more than one process is initialised. (default: ``False``)

    Attributes:
        model_ (CoMatchNet), ema_ (EMATeacher), criterion_ (CoMatchLoss: alignment
        window, memory bank, strong-view queue), momentum_encoder_
        (MomentumEncoder or ``None``), n_classes_, feature_dim_, n_steps_ (steps done),
        history_ (dict of lists per logged step: ``step``, ``lr``, ``loss``,
        ``loss_x``, ``loss_u``, ``loss_c``, ``mask_ratio``, ``edges``,
        ``seconds_per_step`` (wall time since the previous entry, per step) and, with true
        labels, ``pseudo_acc`` (of the confident pseudo-labels, NaN when none) and
        ``teacher_acc`` (of all)).
    """

    _owner = "CoMatch"

    def __init__(
        self,
        encoder: ModelLike,
        *,
        config: CoMatchConfig | None = None,
        feature_dim: int | None = None,
        weak: View = None,
        strong0: View = None,
        strong1: View = None,
        seed: int = 0,
        device: str | torch.device | None = None,
        log_every: int = 1,
        progress: bool = False,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 100,
        distributed: bool = False,
    ) -> None:
        cfg = CoMatchConfig() if config is None else config
        if not isinstance(cfg, CoMatchConfig):
            raise param_error("config", "CoMatch", "a CoMatchConfig", cfg, TypeError)
        super().__init__(
            mu=cfg.mu, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
            nesterov=cfg.nesterov, weight_decay=cfg.weight_decay, steps=cfg.steps,
            weak=weak, seed=seed, device=device, log_every=log_every,
        )  # fmt: skip
        self.encoder, self.config = encoder, cfg
        self.feature_dim = (
            None
            if feature_dim is None
            else check_int(feature_dim, "feature_dim", "CoMatch", low=1)
        )
        self.strong0, self.strong1 = strong0, strong1
        self.progress = bool(progress)
        self.checkpoint = checkpoint
        self.checkpoint_every = check_int(
            checkpoint_every, "checkpoint_every", "CoMatch", low=1
        )
        self.distributed = bool(distributed)

    # ---------------------------------------------------------------- entry points
    def fit(
        self,
        x_labeled: Tensor,
        y_labeled: Tensor,
        x_unlabeled: Tensor,
        *,
        y_unlabeled_true: Tensor | None = None,
        num_classes: int | None = None,
        resume: bool = False,
        max_steps: int | None = None,
    ) -> CoMatch:
        """Train on labelled ``x [n, ...]``, ``y [n]`` and unlabelled ``[m, ...]``.

        ``resume`` continues from ``checkpoint`` when the file exists;
        ``max_steps`` stops this call after that many steps (the schedule still
        spans ``config.steps``), leaving a checkpoint to resume from.
        """
        x_l, y_l, x_u, y_ut, dev = self._check_data(
            x_labeled, y_labeled, x_unlabeled, y_unlabeled_true
        )
        src = SampleSource(x_l, x_u, self.weak, self.strong0, self.strong1)
        return self._fit(
            src, (x_l[:2],), y_l, y_ut, num_classes, dev, resume, max_steps
        )

    def fit_nodes(
        self,
        x: Tensor,
        edge_index: Tensor,
        y: Tensor,
        *,
        y_true: Tensor | None = None,
        num_classes: int | None = None,
        resume: bool = False,
        max_steps: int | None = None,
    ) -> CoMatch:
        """Train on the nodes of one graph: features ``x [N, F]``, ``edge_index
        [2, E]``, labels ``y [N]`` with ``-1`` for the unlabelled nodes (all of which
        form the unlabelled pool). ``y_true [N]`` (``-1`` where unknown) scores the
        pseudo-labels in ``history_``."""
        views = (self.weak, self.strong0, self.strong1)
        dev = torch.device(self.device) if self.device is not None else None
        src, y_l, y_ut = node_source(x, edge_index, y, y_true, num_classes, dev, views)
        probe = (src.x, src.edge_index)
        return self._fit(
            src, probe, y_l, y_ut, num_classes, src.x.device, resume, max_steps
        )

    @torch.no_grad()
    def predict_proba(
        self, *inputs: Tensor, ema: bool = True, batch: int = 4096
    ) -> Tensor:
        """Class probabilities ``[n, C]`` of the EMA network (``ema=False``: the
        trained one) on a batch ``x [n, ...]`` or a graph ``(x, edge_index)``."""
        if not hasattr(self, "model_"):
            raise RuntimeError("This CoMatch is not fitted yet; call fit first.")
        net: nn.Module = self.ema_.module if ema else self.model_
        net.eval()
        dev = next(iter(net.parameters())).device
        if len(inputs) != 1:
            return torch.softmax(net(*(t.to(dev) for t in inputs))[0], dim=1)
        x = check_float_tensor(inputs[0], "x", "CoMatch.predict_proba")
        parts = [
            torch.softmax(net(x[i : i + batch].to(dev))[0], dim=1)
            for i in range(0, x.shape[0], batch)
        ]
        return torch.cat(parts).to(x.device)

    def predict(self, *inputs: Tensor, ema: bool = True) -> Tensor:
        """Predicted classes ``[n]`` (int64)."""
        return self.predict_proba(*inputs, ema=ema).argmax(dim=1)

    # ------------------------------------------------------------------- training
    def _build(
        self, probe: tuple[Tensor, ...], c: int, dev: torch.device, dtype: torch.dtype
    ) -> CoMatchNet:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)  # initialisation depends on the seed only
            enc = self._make_model(self.encoder, self.seed, dev).to(dtype=dtype)
            f = self.feature_dim
            nf = getattr(enc, "num_features", None)  # graphssl.comatch.encoders have it
            if f is None and isinstance(nf, int):
                f = nf
            if f is None:
                was = enc.training
                enc.eval()
                with torch.no_grad():
                    f = int(enc(*probe).shape[-1])
                enc.train(was)
            return CoMatchNet(enc, f, c, self.config.proj_dim).to(dev, dtype)

    def _fit(
        self, src: Source, probe: tuple[Tensor, ...], y_l: Tensor, y_ut: Tensor | None,
        num_classes: int | None, dev: torch.device, resume: bool, max_steps: int | None,
    ) -> CoMatch:  # fmt: skip
        o = f"{type(self).__name__}.fit"
        c = int(y_l.max()) + 1
        if num_classes is not None:
            if check_int(num_classes, "num_classes", o, low=2) < c:
                raise param_error(
                    "num_classes", o, f"at least {c} (max label + 1)", num_classes
                )
            c = num_classes
        stop_after = (
            None if max_steps is None else check_int(max_steps, "max_steps", o, low=1)
        )
        rank, ws = world()
        dtype = probe[0].dtype
        net = self._build(probe, c, dev, dtype)
        crit = CoMatchLoss(c, self.config, ws).to(dev, dtype)
        ema = EMATeacher(net, self.config.ema_decay)
        mom = None
        if self.config.momentum_encoder:  # the ImageNet variant
            mom = MomentumEncoder(net, self.config.encoder_momentum)
        opt, sched = self._optimizer(list(net.parameters()))
        gen = torch.Generator().manual_seed(self.seed + 1_000_003 * rank)
        parts = TrainingParts(net, ema, crit, opt, sched, gen, mom)
        state: dict[str, Any] = {"hist": {}, "step": 0, "rng": None}
        if resume and self.checkpoint is not None and os.path.exists(self.checkpoint):
            state = restore_training(self.checkpoint, parts, **self._identity(c))
        fwd: nn.Module = net
        if self.distributed and ws > 1:  # gradients averaged over processes by DDP
            fwd = nn.parallel.DistributedDataParallel(net)
        self.model_, self.ema_, self.criterion_ = net, ema, crit
        self.momentum_encoder_ = mom
        self.n_classes_, self.feature_dim_ = c, net.classifier.in_features
        hist: dict[str, list[float]] = state["hist"]
        start = int(state["step"])
        stop = self.steps if stop_after is None else min(self.steps, start + stop_after)
        devs = [dev] if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=devs):
            if state["rng"] is None:
                torch.manual_seed(self.seed + rank)  # dropout inside the model
            else:
                torch.set_rng_state(state["rng"])
                if devs and state.get("cuda_rng") is not None:
                    torch.cuda.set_rng_state(state["cuda_rng"], dev)
            self._loop(src, fwd, parts, y_l, y_ut, hist, start, stop, dev)
        self.n_steps_, self.history_ = stop, hist
        return self

    def _loop(
        self, src: Source, fwd: nn.Module, parts: TrainingParts, y_l: Tensor,
        y_ut: Tensor | None, hist: dict[str, list[float]], start: int, stop: int,
        dev: torch.device,
    ) -> None:  # fmt: skip
        run_steps(self, src, fwd, parts, y_l, y_ut, hist, start, stop, dev)

    def _identity(self, n_classes: int) -> dict[str, Any]:
        # What a checkpoint must agree on to be resumed by this trainer.
        config = dataclasses.asdict(self.config)
        return {"config": config, "seed": self.seed, "n_classes": n_classes}
