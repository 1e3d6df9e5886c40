"""The CoMatch trainer: bitwise resume, modalities, devices and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from graphssl.augment import GaussianNoise
from graphssl.comatch import CoMatch, CoMatchConfig
from graphssl.comatch.presets import ImageMLP, comatch_views


def _blobs(n: int = 60, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.tensor([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    return centres[y] + 0.4 * torch.randn(n, 2, generator=g), y


def _mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 16), nn.ReLU()
    )


CFG = CoMatchConfig(batch_size=4, mu=2, steps=12, proj_dim=8, queue_batch=2,
                    threshold=0.6, lr=0.05)  # fmt: skip


def _trainer(config: CoMatchConfig = CFG, **kw: Any) -> CoMatch:
    weak, strong = GaussianNoise(0.05), GaussianNoise(0.2)
    return CoMatch(
        _mlp, config=config, weak=weak, strong0=strong, strong1=strong, seed=3, **kw
    )


# The ImageNet variant: momentum encoder, and a queue of 10 rows taking 8 per step,
# so that it wraps at a different row every step.
MOMENTUM = CFG.replace(
    momentum_encoder=True, encoder_momentum=0.9, strong_queue_size=10
)


@pytest.mark.parametrize("cfg", [CFG, MOMENTUM], ids=["cifar", "imagenet"])
def test_resume_equals_uninterrupted_bitwise(
    cfg: CoMatchConfig, tmp_path: Path, one_thread: None
) -> None:
    x, y = _blobs()
    lab = torch.arange(60) < 6
    args = (x[lab], y[lab], x[~lab])
    full = _trainer(cfg).fit(*args, y_unlabeled_true=y[~lab])
    ckpt = tmp_path / "run.pt"
    part = _trainer(cfg, checkpoint=ckpt, checkpoint_every=5)
    part.fit(
        *args, y_unlabeled_true=y[~lab], max_steps=7
    )  # bank full, DA window in use
    assert part.n_steps_ == 7 and ckpt.exists()
    resumed = _trainer(cfg, checkpoint=ckpt).fit(
        *args, y_unlabeled_true=y[~lab], resume=True
    )
    if cfg.momentum_encoder:  # the momentum copy and the queue resume exactly too
        assert (
            full.momentum_encoder_ is not None and resumed.momentum_encoder_ is not None
        )
        for a, b in zip(full.momentum_encoder_.state_dict().values(),
                        resumed.momentum_encoder_.state_dict().values(), strict=True):  # fmt: skip
            assert torch.equal(a, b)
        sq = resumed.criterion_.strong_queue
        assert sq is not None and int(sq.ptr) == (12 * 8) % 10 and sq.is_full
        assert int(resumed.momentum_encoder_.num_updates) == 12
    else:
        assert full.momentum_encoder_ is None and full.criterion_.strong_queue is None
    assert resumed.n_steps_ == 12
    for a, b in zip(
        full.model_.state_dict().values(),
        resumed.model_.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)
    for a, b in zip(
        full.ema_.state_dict().values(), resumed.ema_.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    for a, b in zip(
        full.criterion_.state_dict().values(),
        resumed.criterion_.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)
    timing = "seconds_per_step"  # wall-clock, the only entry allowed to differ
    assert set(full.history_) == set(resumed.history_) and timing in full.history_
    for key in set(full.history_) - {timing}:
        assert str(full.history_[key]) == str(
            resumed.history_[key]
        )  # NaN-safe equality
    assert full.criterion_.bank.is_full and float(full.history_["loss_c"][-1]) > 0


def test_resume_rejects_other_settings_and_corrupt_files(
    tmp_path: Path, one_thread: None
) -> None:
    x, y = _blobs()
    lab = torch.arange(60) < 6
    ckpt = tmp_path / "run.pt"
    _trainer(checkpoint=ckpt).fit(x[lab], y[lab], x[~lab], max_steps=2)
    other = CoMatch(_mlp, config=CFG.replace(alpha=0.5), checkpoint=ckpt, seed=3)
    with pytest.raises(ValueError, match="another configuration"):
        other.fit(x[lab], y[lab], x[~lab], resume=True)
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(
        ValueError, match=f"Cannot read the CoMatch checkpoint '{ckpt}'"
    ):
        _trainer(checkpoint=ckpt).fit(x[lab], y[lab], x[~lab], resume=True)


def test_fit_learns_blobs_and_logs(device: str, one_thread: None) -> None:
    x, y = _blobs(90)
    lab = torch.arange(90) < 6
    m = CoMatch(_mlp, config=CFG.replace(steps=60), weak=GaussianNoise(0.05),
                strong0=GaussianNoise(0.2), strong1=GaussianNoise(0.2), device=device, log_every=10)  # fmt: skip
    m.fit(x[lab], y[lab], x[~lab], y_unlabeled_true=y[~lab])
    assert m.predict(x[~lab], ema=False).device.type == "cpu"
    acc = float((m.predict(x[~lab], ema=False) == y[~lab]).float().mean())
    assert acc > 0.9  # three well separated blobs
    assert m.predict_proba(x).shape == (90, 3)
    assert {
        "loss",
        "loss_x",
        "loss_u",
        "loss_c",
        "mask_ratio",
        "edges",
        "pseudo_acc",
        "teacher_acc",
        "lr",
    } <= set(m.history_)
    assert m.history_["step"][-1] == 59 and len(m.history_["step"]) == 7
    assert m.criterion_.bank.feats.device.type == torch.device(device).type


def test_fit_nodes_on_a_two_community_graph(one_thread: None) -> None:
    class MeanAggregate(nn.Module):  # one mean-aggregation layer, enough for the test
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 16)

        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            agg = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])
            deg = torch.zeros(x.shape[0]).index_add_(
                0, edge_index[1], torch.ones(edge_index.shape[1])
            )
            return torch.relu(self.lin((x + agg) / (1 + deg[:, None])))

    g = torch.Generator().manual_seed(0)
    n = 40
    y = (torch.arange(n) >= n // 2).long()
    x = torch.randn(n, 4, generator=g) + y[:, None] * torch.tensor([1.5, 0, 0, 0])
    src, dst = torch.randint(n, (2, 200), generator=g)
    keep = y[src] == y[dst]  # edges inside communities only
    ei = torch.cat(
        [torch.stack([src[keep], dst[keep]]), torch.stack([dst[keep], src[keep]])], 1
    )
    y_obs = torch.full((n,), -1)
    y_obs[[0, 1, n - 1, n - 2]] = y[[0, 1, n - 1, n - 2]]
    weak, s0, s1 = comatch_views("graph")
    m = CoMatch(
        MeanAggregate, config=CFG.replace(steps=40), weak=weak, strong0=s0, strong1=s1
    )
    m.fit_nodes(x, ei, y_obs, y_true=y)
    acc = float((m.predict(x, ei, ema=False) == y).float().mean())
    assert acc > 0.8 and "pseudo_acc" in m.history_
    with pytest.raises(ValueError, match="at least one unlabelled node"):
        m.fit_nodes(x, ei, y)


def test_fixmatch_path_skips_strong1_and_bank(one_thread: None) -> None:
    x, y = _blobs()
    lab = torch.arange(60) < 6
    calls = []

    def strong1(v: Tensor, generator: object = None) -> Tensor:
        calls.append(1)
        return v

    m = CoMatch(
        _mlp,
        config=CoMatchConfig.fixmatch(batch_size=4, mu=2, steps=3, proj_dim=8),
        strong1=strong1,
    )
    m.fit(x[lab], y[lab], x[~lab])
    assert calls == [] and int(m.criterion_.bank.filled) == 0
    assert m.history_["loss_c"] == [0.0, 0.0, 0.0]


def test_images_and_bad_input(one_thread: None) -> None:
    x = torch.rand(30, 1, 8, 8)
    y = torch.arange(30) % 3
    weak, s0, s1 = comatch_views("small_image")
    m = CoMatch(
        lambda: ImageMLP(64, 16),
        config=CFG.replace(steps=3),
        weak=weak,
        strong0=s0,
        strong1=s1,
    )
    m.fit(x[:6], y[:6], x[6:])
    assert m.feature_dim_ == 16 and m.predict(x).shape == (30,)
    with pytest.raises(
        ValueError, match=r"'num_classes' parameter of CoMatch.fit must be at least 3"
    ):
        m.fit(x[:6], y[:6], x[6:], num_classes=2)
    with pytest.raises(ValueError, match=r"'x_unlabeled' parameter of CoMatch.fit"):
        m.fit(x[:6], y[:6], x[6:, :, :4])
    with pytest.raises(ValueError, match="'queue_size' parameter of CoMatchConfig"):
        CFG.replace(queue_size=12, batch_size=6)  # a batch of 18 rows exceeds the queue
    with pytest.raises(TypeError, match="'config' parameter of CoMatch"):
        CoMatch(_mlp, config={"alpha": 0.5})  # type: ignore[arg-type]
    nan_net = CoMatch(
        lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 4)),
        config=CFG.replace(lr=1e30, steps=5),
    )
    with pytest.raises(FloatingPointError, match=r"non-finite|loss became"):
        nan_net.fit(x[:6] * 1e30, y[:6], x[6:] * 1e30)
