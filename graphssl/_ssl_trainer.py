"""The mini-batch training loop shared by TeacherStudent and CoTraining."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from graphssl._validation import (
    check_float_tensor,
    check_int,
    check_real,
    param_error,
)

ModelLike = nn.Module | Callable[[], nn.Module]


class _SSLTrainer:
    """Shared plumbing of the torch trainers: checks, batches, SGD, schedule."""

    _owner = "_SSLTrainer"

    def __init__(
        self,
        *,
        mu: int,
        batch_size: int,
        lr: float,
        momentum: float,
        nesterov: bool,
        weight_decay: float,
        steps: int,
        weak: Callable[..., Tensor] | None,
        seed: int,
        device: str | torch.device | None,
        log_every: int,
    ) -> None:
        o = self._owner
        self.mu = check_int(mu, "mu", o, low=1)
        self.batch_size = check_int(batch_size, "batch_size", o, low=1)
        self.lr = check_real(lr, "lr", o, low=0.0, closed="neither")
        self.momentum = check_real(momentum, "momentum", o, low=0.0, high=1.0)
        self.nesterov = bool(nesterov)
        self.weight_decay = check_real(weight_decay, "weight_decay", o, low=0.0)
        self.steps = check_int(steps, "steps", o, low=1)
        self.weak = weak
        self.seed = check_int(seed, "seed", o, low=0)
        self.device = device
        self.log_every = check_int(log_every, "log_every", o, low=1)

    def _check_data(
        self, x_l: Any, y_l: Any, x_u: Any, y_u: Any
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None, torch.device]:
        o = f"{type(self).__name__}.fit"
        x_l = check_float_tensor(x_l, "x_labeled", o)
        x_u = check_float_tensor(x_u, "x_unlabeled", o)
        if x_l.shape[1:] != x_u.shape[1:]:
            allowed = f"samples of shape {list(x_l.shape[1:])} like x_labeled"
            raise param_error("x_unlabeled", o, allowed, list(x_u.shape))
        ys: list[Tensor | None] = []
        for name, y, n in (
            ("y_labeled", y_l, x_l.shape[0]),
            ("y_unlabeled_true", y_u, x_u.shape[0]),
        ):
            if y is None:
                ys.append(None)
                continue
            if not isinstance(y, Tensor) or y.is_floating_point() or y.shape != (n,):
                got = list(y.shape) if isinstance(y, Tensor) else type(y).__name__
                raise param_error(name, o, f"an integer tensor of shape [{n}]", got)
            if bool((y < 0).any()):
                raise param_error(name, o, "classes >= 0 (no -1 here)", int(y.min()))
            ys.append(y.long())
        dev = torch.device(self.device) if self.device is not None else x_l.device
        if ys[0] is None:  # y_labeled is required by every fit signature
            raise TypeError("y_labeled is required.")
        y_true = None if ys[1] is None else ys[1].to(dev)
        return x_l.to(dev), ys[0].to(dev), x_u.to(dev), y_true, dev

    def _make_model(self, model: ModelLike, seed: int, dev: torch.device) -> nn.Module:
        # A private RNG scope: the factory's initialisation depends on the seed only.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            m = model() if not isinstance(model, nn.Module) else copy.deepcopy(model)
        if not isinstance(m, nn.Module):
            o = type(self).__name__
            raise param_error(
                "model_factory", o, "returning an nn.Module", m, TypeError
            )
        return m.to(dev)

    def _optimizer(self, params: list[nn.Parameter]) -> tuple[Any, Any]:
        # No weight decay on biases and norm scales, as in FixMatch's code.
        decay = [p for p in params if p.dim() > 1]
        no_decay = [p for p in params if p.dim() <= 1]
        opt = torch.optim.SGD(
            [
                {"params": decay, "weight_decay": self.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.lr,
            momentum=self.momentum,
            nesterov=self.nesterov and self.momentum > 0,
        )
        k_total = self.steps
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda k: math.cos(7 * math.pi * k / (16 * k_total))
        )
        return opt, sched

    def _batch(
        self, gen: torch.Generator, n: int, size: int, dev: torch.device
    ) -> Tensor:
        return torch.randint(n, (size,), generator=gen).to(dev)

    def _view(
        self, aug: Callable[..., Tensor] | None, x: Tensor, gen: torch.Generator
    ) -> Tensor:
        return x if aug is None else aug(x, generator=gen)

    @staticmethod
    @torch.no_grad()
    def _proba(models: list[nn.Module], x: Tensor, batch: int = 4096) -> Tensor:
        for m in models:
            m.eval()
        dev = next(iter(models[0].parameters())).device
        out = []
        for start in range(0, x.shape[0], batch):
            xb = x[start : start + batch].to(dev)
            p = torch.stack([torch.softmax(m(xb), dim=1) for m in models])
            out.append(p.mean(dim=0).to(x.device))
        return torch.cat(out)

    def _log(self, hist: dict[str, list[float]], **values: float) -> None:
        for k, v in values.items():
            hist.setdefault(k, []).append(float(v))

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_")
        )
        return f"{type(self).__name__}({args})"
