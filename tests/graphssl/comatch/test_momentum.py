"""The ImageNet variant (momentum encoder, strong-view queue) against loop references."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from graphssl.comatch import CoMatchConfig
from graphssl.comatch.momentum import MomentumEncoder, StrongViewQueue
from tests.graphssl.comatch._references import MU, B, C, D, ring_pushes


# ------------------------------------------------------------------- the queue
def test_queue_ring_buffer_columns_and_state_dict() -> None:
    size = 7
    queue = StrongViewQueue(size, D, C).double()
    for f, p, ring, ptr in ring_pushes(size, D, C):
        queue.push(f, p)
        written = [r for r in ring if r is not None]
        zk, pk = queue.columns()
        assert int(queue.ptr) == ptr and zk.shape == (len(written), D)
        assert [a + b for a, b in zip(zk.tolist(), pk.tolist(), strict=True)] == written
    copy = StrongViewQueue(size, D, C).double()
    copy.load_state_dict(queue.state_dict())
    for a, b in zip(copy.buffers(), queue.buffers(), strict=True):
        assert torch.equal(a, b)
    cols = (
        torch.zeros(2, D, dtype=torch.float64),
        torch.zeros(2, C, dtype=torch.float64),
    )
    z, p = queue.extend(*cols)
    assert torch.equal(z[2:], queue.feats) and torch.equal(p[2:], queue.probs)
    z, p = StrongViewQueue(size, D, C).double().extend(*cols)  # empty: no columns
    assert z.shape == (2, D) and p.shape == (2, C)


def test_queue_bad_input() -> None:
    queue = StrongViewQueue(4, D, C)
    with pytest.raises(ValueError, match=r"'feats' parameter.*embeddings of size 4"):
        queue.push(torch.zeros(2, D + 1), torch.full((2, C), 1 / C))
    with pytest.raises(ValueError, match="at most the bank size 4 rows per push"):
        queue.push(torch.zeros(5, D), torch.full((5, C), 1 / C))
    with pytest.raises(ValueError, match="'size' parameter of MemoryBank"):
        StrongViewQueue(0, D, C)


# ------------------------------------------------------------- the momentum copy
def test_momentum_update_formula_and_buffers() -> None:
    bn = nn.BatchNorm1d(4)
    net = nn.Sequential(nn.Linear(3, 4), bn, nn.Linear(4, 2)).double()
    m = 0.75
    mom = MomentumEncoder(net, m)
    assert all(not p.requires_grad for p in mom.parameters())
    xi = [p.detach().clone() for p in mom.module.parameters()]
    for step in range(3):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
            assert bn.running_mean is not None
            bn.running_mean.fill_(float(step + 5))  # the trained net's statistics
        mom.update(net)
        for k, (p_m, p) in enumerate(
            zip(mom.module.parameters(), net.parameters(), strict=True)
        ):
            flat = [m * a + (1 - m) * b for a, b in
                    zip(xi[k].flatten().tolist(), p.flatten().tolist(), strict=True)]  # fmt: skip
            for got, want in zip(p_m.flatten().tolist(), flat, strict=True):
                assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15)
            xi[k] = p_m.detach().clone()
    # buffers follow the copy's own forward passes, never the trained net's
    copy_mean = dict(mom.module.named_buffers())["1.running_mean"]
    assert bool((copy_mean == 0).all()) and int(mom.num_updates) == 3
    mom.train()
    out = mom(torch.randn(5, 3, dtype=torch.float64))
    assert not out.requires_grad and bool((copy_mean != 0).any())
    other = MomentumEncoder(net, m)
    other.load_state_dict(mom.state_dict())
    for a, b in zip(
        other.state_dict().values(), mom.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    src = nn.Linear(3, 4).double()
    for momentum in (0.0, 1.0):  # m = 0 copies the parameters, m = 1 freezes them
        lin = nn.Linear(3, 4).double()
        copy = MomentumEncoder(lin, momentum)
        copy.update(src)
        want = src if momentum == 0 else lin
        for a, b in zip(copy.parameters(), want.parameters(), strict=True):
            assert torch.equal(a, b)


def test_momentum_bad_input() -> None:
    with pytest.raises(ValueError, match="'momentum' parameter of MomentumEncoder"):
        MomentumEncoder(nn.Linear(2, 2), 1.5)
    with pytest.raises(TypeError, match="'model' parameter of MomentumEncoder"):
        MomentumEncoder("net", 0.9)  # type: ignore[arg-type]
    mom = MomentumEncoder(nn.Linear(2, 2))
    with pytest.raises(
        ValueError, match=r"'model' parameter of MomentumEncoder\.update"
    ):
        mom.update(nn.Linear(2, 3))


# ------------------------------------------------------------------- config
def test_config_fields_and_errors() -> None:
    cfg = CoMatchConfig(batch_size=B, mu=MU, queue_batch=2)
    assert not cfg.momentum_encoder and cfg.strong_queue_rows() == 0
    on = cfg.replace(momentum_encoder=True)
    assert on.encoder_momentum == 0.996 and on.strong_queue_rows(2) == on.memory_size(2)
    assert on.replace(strong_queue_size=0).strong_queue_rows() == 0
    net = CoMatchConfig.imagenet()
    assert (net.momentum_encoder, net.memory_size(), net.strong_queue_rows()) == (
        True, 30000, 30000)  # fmt: skip
    assert (net.temperature, net.proj_dim, net.da_window, net.lambda_u) == (
        0.1, 128, 128, 10.0)  # fmt: skip
    with pytest.raises(ValueError, match=r"'strong_queue_size' parameter.*at least one "
                       r"unlabelled batch of mu \* batch_size = 4 rows\. Got 3"):  # fmt: skip
        on.replace(strong_queue_size=3)
    with pytest.raises(ValueError, match="None unless momentum_encoder is True"):
        cfg.replace(strong_queue_size=8)
    with pytest.raises(
        ValueError, match="'encoder_momentum' parameter of CoMatchConfig"
    ):
        on.replace(encoder_momentum=-0.1)
    with pytest.raises(TypeError, match=r"'momentum_encoder' parameter.*a bool"):
        cfg.replace(momentum_encoder=1)
