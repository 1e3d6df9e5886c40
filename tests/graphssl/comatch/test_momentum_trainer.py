"""The CoMatch trainer with the ImageNet variant: wiring of the two encoders."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from graphssl.augment import GaussianNoise
from graphssl.comatch import CoMatch
from graphssl.comatch.presets import comatch_views
from tests.graphssl.comatch.test_trainer import CFG, _blobs


def _mlp() -> nn.Module:  # no dropout: the two encoders' passes are comparable
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())


def _fit(**changes: object) -> CoMatch:
    x, y = _blobs()
    lab = torch.arange(60) < 6
    noise = GaussianNoise(0.2)
    m = CoMatch(_mlp, config=CFG.replace(**changes), weak=GaussianNoise(0.05),
                strong0=noise, strong1=noise, seed=3)  # fmt: skip
    return m.fit(x[lab], y[lab], x[~lab], y_unlabeled_true=y[~lab])


def test_momentum_zero_without_queue_is_the_plain_trainer(one_thread: None) -> None:
    # m = 0 makes the copy equal the trained network at every step; with lambda_c = 0
    # the weak view (no gradient in either) is all it computes, so the runs agree up
    # to the rounding of different batch compositions.
    plain = _fit(lambda_c=0.0)
    mom = _fit(lambda_c=0.0, momentum_encoder=True, encoder_momentum=0.0)
    assert mom.criterion_.strong_queue is None
    for a, b in zip(plain.model_.parameters(), mom.model_.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    for key in ("loss", "mask_ratio", "pseudo_acc"):
        torch.testing.assert_close(
            torch.tensor(plain.history_[key]),
            torch.tensor(mom.history_[key]),
            equal_nan=True,
        )
    # with lambda_c > 0 the first step's loss is the same value; only its gradient
    # differs (no gradient through the momentum encoder's strong1 embeddings)
    plain_c = _fit(steps=1)
    mom_c = _fit(steps=1, momentum_encoder=True, encoder_momentum=0.0,
                 strong_queue_size=0)  # fmt: skip
    assert abs(plain_c.history_["loss"][0] - mom_c.history_["loss"][0]) < 1e-5
    assert plain_c.history_["loss_c"][0] > 0


def _nearest(rows: Tensor, candidates: Tensor) -> float:
    """Largest distance from a row of ``rows`` to its nearest candidate row."""
    d = torch.cdist(rows, candidates, compute_mode="donot_use_mm_for_euclid_dist")
    return float(d.min(dim=1).values.max())


def test_bank_and_queue_hold_the_momentum_encoders_outputs(one_thread: None) -> None:
    # A frozen copy (m = 1), identity weak / strong1 views and no alignment: every
    # bank and queue embedding must be the frozen initial network's embedding of an
    # input sample, and every unlabelled bank probability its softmax output.
    x, y = _blobs()
    lab = torch.arange(60) < 6
    cfg = CFG.replace(momentum_encoder=True, encoder_momentum=1.0,
                      strong_queue_size=12, distribution_alignment=False)  # fmt: skip
    m = CoMatch(_mlp, config=cfg, strong0=GaussianNoise(0.2), seed=3)
    m.fit(x[lab], y[lab], x[~lab])
    assert m.momentum_encoder_ is not None
    with torch.no_grad():
        init = m._build((x[:2],), 3, torch.device("cpu"), x.dtype)
        logits, z = init(x)
    for a, b in zip(
        m.momentum_encoder_.module.parameters(), init.parameters(), strict=True
    ):
        assert torch.equal(a, b)
    trained = next(iter(m.model_.parameters()))
    assert not torch.equal(trained, next(iter(init.parameters())))
    bank, sq = m.criterion_.bank, m.criterion_.strong_queue
    assert sq is not None and sq.is_full and bank.is_full
    assert _nearest(bank.feats, z) < 1e-5 and _nearest(sq.feats, z) < 1e-5
    unlabelled = bank.probs.max(dim=1).values < 1  # labelled rows are one-hot
    assert 0 < int(unlabelled.sum()) < bank.size
    assert _nearest(bank.probs[unlabelled], torch.softmax(logits, 1)) < 1e-5


def test_fit_nodes_with_the_momentum_encoder(one_thread: None) -> None:
    class MeanAggregate(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 16)

        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            agg = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])
            return torch.relu(self.lin(x + agg))

    g = torch.Generator().manual_seed(0)
    n = 40
    y = (torch.arange(n) >= n // 2).long()
    x = torch.randn(n, 4, generator=g) + y[:, None] * torch.tensor([2.0, 0, 0, 0])
    src, dst = torch.randint(n, (2, 200), generator=g)
    keep = y[src] == y[dst]
    ei = torch.stack([src[keep], dst[keep]])
    y_obs = torch.full((n,), -1)
    y_obs[[0, 1, n - 1, n - 2]] = y[[0, 1, n - 1, n - 2]]
    weak, s0, s1 = comatch_views("graph")
    cfg = CFG.replace(steps=40, momentum_encoder=True, encoder_momentum=0.9)
    m = CoMatch(MeanAggregate, config=cfg, weak=weak, strong0=s0, strong1=s1)
    m.fit_nodes(x, ei, y_obs, y_true=y)
    acc = float((m.predict(x, ei, ema=False) == y).float().mean())
    sq = m.criterion_.strong_queue
    assert acc > 0.8 and sq is not None and sq.is_full
    assert max(m.history_["loss_c"]) > 0


def test_momentum_state_follows_the_device(device: str, one_thread: None) -> None:
    x, y = _blobs()
    lab = torch.arange(60) < 6
    cfg = CFG.replace(steps=4, momentum_encoder=True)
    m = CoMatch(_mlp, config=cfg, strong0=GaussianNoise(0.2), device=device)
    m.fit(x[lab], y[lab], x[~lab])
    sq = m.criterion_.strong_queue
    assert m.momentum_encoder_ is not None and sq is not None
    want = torch.device(device).type
    assert sq.feats.device.type == want and sq.size == m.criterion_.bank.size == 24
    assert int(sq.ptr) == (4 * CFG.mu * CFG.batch_size) % 24  # 8 rows a step: wrapped
    assert next(m.momentum_encoder_.parameters()).device.type == want
    assert m.predict(x).device.type == "cpu"
