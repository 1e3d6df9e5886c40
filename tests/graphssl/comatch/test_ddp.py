"""DDP with 2 gloo processes (CPU) equals one process on the same global batch, for
independent samples (one forward per step) and graph nodes (one forward per view).

Each rank draws its half of a global batch fixed per step; the single process draws the
whole batch, rank 0's rows first (the order all-gathers use). After a few steps the
weights, the EMA weights, the memory bank (embeddings, probabilities, pointer) and the
alignment window must agree (and, for the ImageNet variant, the momentum encoder
and the strong-view queue). The views are deterministic, so that both runs see the
same inputs, and the settings make every term active: the bank fills after two steps
(memory smoothing runs from step 3), and the thresholds cut part of the confidence mask
and of the pseudo-label graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from graphssl.comatch import CoMatch, CoMatchConfig
from graphssl.comatch.distributed import world
from graphssl.comatch.encoders import GCNEncoder, MLPEncoder
from tests.graphssl.comatch.test_distributed import spawn_workers

STEPS = 5
PER_RANK_B = 2
CFG = CoMatchConfig(
    batch_size=PER_RANK_B,
    mu=2,
    queue_batch=2,
    steps=STEPS,
    threshold=0.36,
    contrast_th=0.335,
    ema_decay=0.9,
    da_window=3,
)


class FixedBatches(CoMatch):
    """CoMatch whose step ``k`` uses a global batch fixed by ``k``; rank ``r`` takes
    slice ``r`` of it (``_batch`` is called for the labelled, then the unlabelled
    indices of each step)."""

    _calls = 0

    def _batch(
        self, gen: torch.Generator, n: int, size: int, dev: torch.device
    ) -> torch.Tensor:
        rank, ws = world()
        step, kind = divmod(self._calls, 2)
        self._calls += 1
        g = torch.Generator().manual_seed(1000 * step + kind)
        idx = torch.randint(n, (size * ws,), generator=g)
        return idx[rank * size : (rank + 1) * size].to(dev)


def _view(shift: float) -> Any:
    def view(x: torch.Tensor, generator: Any = None) -> torch.Tensor:
        return x + shift * torch.sin(3 * x)  # same on every rank: ignores the generator

    return view


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x_l = torch.randn(12, 5, generator=g, dtype=torch.float64)
    y_l = torch.arange(12) % 3
    x_u = torch.randn(40, 5, generator=g, dtype=torch.float64)
    return x_l, y_l, x_u


def _encoder() -> MLPEncoder:
    return MLPEncoder(5, hidden=(8,))  # built by the trainer under its seed


# The ImageNet variant: the momentum encoder runs on each rank's rows; the queue takes
# the all-gathered strong1 rows (8 per global step into 12: it wraps).
MOMENTUM = dict(momentum_encoder=True, encoder_momentum=0.8, strong_queue_size=12)


def _train(batch_size: int, distributed: bool, **changes: Any) -> CoMatch:
    model = FixedBatches(
        _encoder,
        config=CFG.replace(batch_size=batch_size, **changes),
        weak=_view(0.05),
        strong0=_view(0.3),
        strong1=_view(-0.3),
        seed=3,
        distributed=distributed,
    )
    return model.fit(*_data())


def _graph() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(40, 5, generator=g, dtype=torch.float64)
    ei = torch.randint(0, 40, (2, 120), generator=g)
    y = torch.arange(40) % 3
    y[12:] = -1  # 12 labelled nodes, 28 unlabelled
    return x, torch.cat([ei, ei.flip(0)], 1), y


def _gcn() -> GCNEncoder:
    return GCNEncoder(5, hidden=8, dropout=0.0)  # dropout draws differ per rank


def _node_view(shift: float) -> Any:
    def view(data: tuple[torch.Tensor, ...], generator: Any = None) -> Any:
        return (data[0] + shift * torch.sin(3 * data[0]), data[1])

    return view


def _train_nodes(batch_size: int, distributed: bool) -> CoMatch:
    # Node mode runs the network three times per step (one per view) under DDP.
    model = FixedBatches(
        _gcn,
        config=CFG.replace(batch_size=batch_size),
        weak=_node_view(0.05),
        strong0=_node_view(0.3),
        strong1=_node_view(-0.3),
        seed=3,
        distributed=distributed,
    )
    return model.fit_nodes(*_graph())


def _state(model: CoMatch) -> dict[str, torch.Tensor]:
    out = {f"model.{k}": v for k, v in model.model_.state_dict().items()}
    out |= {f"ema.{k}": v for k, v in model.ema_.state_dict().items()}
    out |= {f"crit.{k}": v for k, v in model.criterion_.state_dict().items()}
    if model.momentum_encoder_ is not None:
        mom = model.momentum_encoder_.state_dict()
        out |= {f"momentum.{k}": v for k, v in mom.items()}
    return {k: v.detach().clone() for k, v in out.items()}


def _worker(rank: int, world_size: int, out_dir: str) -> None:
    model = _train(PER_RANK_B, distributed=True)
    torch.save(_state(model), Path(out_dir) / f"rank{rank}.pt")
    nodes = _train_nodes(PER_RANK_B, distributed=True)
    torch.save(_state(nodes), Path(out_dir) / f"nodes{rank}.pt")
    mom = _train(PER_RANK_B, distributed=True, **MOMENTUM)
    torch.save(_state(mom), Path(out_dir) / f"momentum{rank}.pt")


def test_ddp_matches_single_process(tmp_path: Path) -> None:
    spawn_workers(_worker, str(tmp_path))
    single = _train(2 * PER_RANK_B, distributed=False)
    hist = single.history_
    # the run exercises thresholds and smoothing (else the test would be too easy)
    assert any(0 < m < 1 for m in hist["mask_ratio"])
    assert any(1 < e < 2 * CFG.mu * PER_RANK_B for e in hist["edges"])
    want = _state(single)
    assert bool(want["crit.bank.probs"].abs().sum() > 0)
    want_nodes = _state(_train_nodes(2 * PER_RANK_B, distributed=False))
    want_mom = _state(_train(2 * PER_RANK_B, distributed=False, **MOMENTUM))
    assert int(want_mom["crit.strong_queue.ptr"]) == (STEPS * 8) % 12
    assert "momentum.module.classifier.weight" in want_mom
    for rank in range(2):
        refs = (("rank", want), ("nodes", want_nodes), ("momentum", want_mom))
        for prefix, ref in refs:
            got = torch.load(tmp_path / f"{prefix}{rank}.pt")
            assert got.keys() == ref.keys()
            for key, value in ref.items():
                torch.testing.assert_close(
                    got[key], value, atol=1e-10, rtol=1e-9, msg=f"{prefix}{rank} {key}"
                )
