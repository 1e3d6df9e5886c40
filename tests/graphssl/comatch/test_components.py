"""CoMatch components against plain Python-loop computations on small tensors."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from graphssl.comatch import (
    CoMatchConfig,
    MemoryBank,
    WindowedAlignment,
    embedding_graph,
    graph_contrastive_loss,
    memory_smoothing,
    pseudo_label_graph,
)
from tests.graphssl.comatch._references import probs as _probs
from tests.graphssl.comatch._references import ring_pushes


def _unit(n: int, d: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)


# --------------------------------------------------------------- alignment
def test_alignment_matches_list_window() -> None:
    c, window = 4, 3
    da = WindowedAlignment(c, window).double()
    history: list[list[float]] = []  # the reference's prob_list, as plain lists
    for step in range(7):
        p = _probs(5, c, seed=step)
        got = da(p)
        history.append([sum(float(p[b, k]) for b in range(5)) / 5 for k in range(c)])
        if len(history) > window:
            history.pop(0)
        mean = [sum(h[k] for h in history) / len(history) for k in range(c)]
        for b in range(5):
            row = [float(p[b, k]) / mean[k] for k in range(c)]
            for k in range(c):
                assert math.isclose(float(got[b, k]), row[k] / sum(row), rel_tol=1e-12)
    assert int(da.count) == window and int(da.ptr) == 7 % window


def test_alignment_state_dict_round_trip_and_batch_mean() -> None:
    da = WindowedAlignment(3, 4)
    for s in range(5):
        da(_probs(6, 3, s).float())
    other = WindowedAlignment(3, 4)
    other.load_state_dict(da.state_dict())
    p = _probs(2, 3, 9).float()
    assert torch.equal(other(p), da(p))
    # an explicit batch mean (the all-process one under DDP) is what gets pushed
    fresh = WindowedAlignment(3, 2)
    m = torch.tensor([0.5, 0.25, 0.25])
    out = fresh(torch.full((1, 3), 1 / 3), batch_mean=m)
    expected = torch.tensor([[2.0, 4.0, 4.0]]) / 10
    assert torch.allclose(out, expected)
    with pytest.raises(ValueError, match="'probs' parameter of WindowedAlignment"):
        fresh(torch.ones(2, 4) / 4)


# ------------------------------------------------------------------ memory
def test_bank_ring_buffer_matches_python_queue() -> None:
    size, d, c = 7, 2, 3
    bank = MemoryBank(size, d, c).double()
    for f, p, rows, ptr in ring_pushes(size, d, c):
        bank.push(f, p)
        assert int(bank.ptr) == ptr
        for i, r in enumerate(rows):
            if r is not None:
                assert bank.feats[i].tolist() + bank.probs[i].tolist() == r
    assert bank.is_full and int(bank.filled) == size


def test_bank_one_hot_state_dict_and_errors() -> None:
    bank = MemoryBank(4, 2, 3)
    oh = bank.one_hot(torch.tensor([2, 0]))
    assert oh.tolist() == [[0, 0, 1], [1, 0, 0]]
    bank.push(torch.ones(2, 2), oh)
    assert not bank.is_full and int(bank.filled) == 2
    copy = MemoryBank(4, 2, 3)
    copy.load_state_dict(bank.state_dict())
    for a, b in zip(copy.buffers(), bank.buffers(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="at most the bank size 4 rows"):
        bank.push(torch.ones(5, 2), torch.ones(5, 3) / 3)
    with pytest.raises(ValueError, match="embeddings of size 2"):
        bank.push(torch.ones(1, 3), torch.ones(1, 3) / 3)
    with pytest.raises(ValueError, match=r"classes in 0..2"):
        bank.one_hot(torch.tensor([3]))
    with pytest.raises(ValueError, match="finite"):
        bank.push(torch.full((1, 2), math.nan), torch.ones(1, 3) / 3)


# --------------------------------------------------------------- smoothing
def test_memory_smoothing_matches_loops() -> None:
    b, k, d, c, a, t = 3, 5, 4, 3, 0.7, 0.2
    p, z, zk, pk = _probs(b, c, 1), _unit(b, d, 2), _unit(k, d, 3), _probs(k, c, 4)
    got = memory_smoothing(p, z, zk, pk, alpha=a, temperature=t)
    for i in range(b):
        w = [
            math.exp(sum(float(z[i, m] * zk[j, m]) for m in range(d)) / t)
            for j in range(k)
        ]
        for cc in range(c):
            nb = sum(w[j] * float(pk[j, cc]) for j in range(k)) / sum(w)
            assert math.isclose(
                float(got[i, cc]), a * float(p[i, cc]) + (1 - a) * nb, rel_tol=1e-12
            )
    assert torch.allclose(got.sum(1), torch.ones(b, dtype=torch.float64))


def test_alpha_one_disables_smoothing() -> None:
    p = _probs(3, 4)
    out = memory_smoothing(p, _unit(3, 2), _unit(6, 2, 1), _probs(6, 4, 1), alpha=1.0)
    assert torch.equal(out, p)
    with pytest.raises(ValueError, match="'alpha' parameter of memory_smoothing"):
        memory_smoothing(p, _unit(3, 2), _unit(6, 2, 1), _probs(6, 4, 1), alpha=1.5)
    with pytest.raises(ValueError, match="embeddings of size 2"):
        memory_smoothing(p, _unit(3, 2), _unit(6, 3, 1), _probs(6, 4, 1))


# ------------------------------------------------------------------ graphs
@pytest.mark.parametrize("offset", [0, 2])
def test_pseudo_label_graph_matches_loops(offset: int) -> None:
    b, m, c, th = 3, 6, 3, 0.3
    q_cols = _probs(m, c, 5)
    q = q_cols[offset : offset + b]
    got = pseudo_label_graph(q, q_cols, threshold=th, offset=offset)
    for i in range(b):
        row = []
        for j in range(m):
            v = (
                1.0
                if j == offset + i
                else sum(float(q[i, k] * q_cols[j, k]) for k in range(c))
            )
            row.append(v if v >= th else 0.0)
        for j in range(m):
            assert math.isclose(float(got[i, j]), row[j] / sum(row), rel_tol=1e-12)
        assert float(got[i, offset + i]) > 0
    assert torch.allclose(got.sum(1), torch.ones(b, dtype=torch.float64))


def test_pseudo_label_graph_rows_and_diagonal_any_threshold() -> None:
    q = _probs(8, 5, 7)
    for th in (0.0, 0.5, 1.0):
        g = pseudo_label_graph(q, threshold=th)
        assert torch.allclose(g.sum(1), torch.ones(8, dtype=torch.float64))
        assert bool((g.diagonal() > 0).all())
    assert torch.equal(
        pseudo_label_graph(q, threshold=1.0), torch.eye(8, dtype=torch.float64)
    )
    with pytest.raises(ValueError, match="'threshold' parameter of pseudo_label_graph"):
        pseudo_label_graph(q, threshold=-0.1)


def test_embedding_graph_and_contrastive_loss_match_loops() -> None:
    b, d, t = 3, 4, 0.2
    z0, z1 = _unit(b, d, 1), _unit(b + 2, d, 2)
    s = embedding_graph(z0, z1, temperature=t)
    q = pseudo_label_graph(_probs(b, 3, 3), _probs(b + 2, 3, 4)[:, :], threshold=0.2)
    total = 0.0
    for i in range(b):
        e = [
            math.exp(sum(float(z0[i, m] * z1[j, m]) for m in range(d)) / t)
            for j in range(b + 2)
        ]
        for j in range(b + 2):
            assert math.isclose(float(s[i, j]), e[j] / sum(e), rel_tol=1e-12)
            total -= float(q[i, j]) * math.log(e[j] / sum(e) + 1e-7)
    loss = graph_contrastive_loss(q, s)
    assert math.isclose(float(loss), total / b, rel_tol=1e-12)
    with pytest.raises(ValueError, match="the shape of graph"):
        graph_contrastive_loss(q[:, :2], s)


def test_contrastive_loss_gradient_reaches_both_views() -> None:
    z0 = _unit(4, 3, 1).requires_grad_()
    z1 = _unit(4, 3, 2).requires_grad_()
    loss = graph_contrastive_loss(
        pseudo_label_graph(_probs(4, 2)), embedding_graph(z0, z1)
    )
    loss.backward()  # type: ignore[no-untyped-call]
    assert z0.grad is not None and z1.grad is not None
    assert float(z0.grad.abs().sum()) > 0 and float(z1.grad.abs().sum()) > 0


# ------------------------------------------------------------------ config
def test_config_defaults_and_validation() -> None:
    cfg = CoMatchConfig()
    assert (cfg.temperature, cfg.alpha, cfg.contrast_th, cfg.threshold) == (
        0.2,
        0.9,
        0.8,
        0.95,
    )
    assert (cfg.lambda_u, cfg.lambda_c, cfg.proj_dim, cfg.da_window) == (
        1.0,
        1.0,
        64,
        32,
    )
    assert cfg.memory_size() == 5 * 8 * 64 and cfg.memory_size(2) == 2 * 2560
    fm = CoMatchConfig.fixmatch()
    assert (fm.lambda_c, fm.alpha, fm.hard_labels) == (0.0, 1.0, True)
    for name in ("threshold", "contrast_th", "alpha"):
        bad: dict[str, Any] = {name: 1.2}
        with pytest.raises(
            ValueError, match=f"'{name}' parameter of CoMatchConfig.*\\[0.0, 1.0\\]"
        ):
            CoMatchConfig(**bad)
        with pytest.raises(ValueError, match=f"'{name}' parameter of CoMatchConfig"):
            cfg.replace(**{name: -0.01})
    with pytest.raises(ValueError, match="'temperature' parameter"):
        CoMatchConfig(temperature=0.0)
    with pytest.raises(ValueError, match=r"at least one batch of .* = 32 rows"):
        CoMatchConfig(batch_size=8, mu=3, queue_size=31)
    with pytest.raises(TypeError, match="'hard_labels' parameter"):
        CoMatchConfig(hard_labels="yes")  # type: ignore[arg-type]


def test_square_pseudo_label_graph_converts_to_the_graph_core() -> None:
    from graphssl import as_graph

    q = pseudo_label_graph(_probs(6, 3, 11), threshold=0.4)
    g = as_graph(q)
    assert g.num_nodes == 6 and g.edge_index.shape[1] == int((q > 0).sum())
    src, dst = g.edge_index
    # edge b -> j weighs Q[b, j]
    assert torch.allclose(g.edge_weight.double(), q[src, dst])


def test_push_labeled_equals_push_of_the_concatenation() -> None:
    # 6 pushes of 3 unlabelled + 2 labelled rows into 7 rows: in place and wrapped paths.
    g = torch.Generator().manual_seed(0)
    fast, ref = MemoryBank(7, 4, 3), MemoryBank(7, 4, 3)
    for _ in range(6):
        fu, fl = torch.randn(3, 4, generator=g), torch.randn(2, 4, generator=g)
        pu = torch.softmax(torch.randn(3, 3, generator=g), 1)
        yl = torch.randint(0, 3, (2,), generator=g)
        fast.push_labeled_(fu, pu, fl, yl)
        ref.push(torch.cat([fu, fl]), torch.cat([pu, F.one_hot(yl, 3).float()]))
        for key, value in ref.state_dict().items():
            assert torch.equal(fast.state_dict()[key], value), key
