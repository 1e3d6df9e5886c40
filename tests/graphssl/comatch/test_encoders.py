"""CoMatch encoders: shapes, a dense GCN reference, the WRN-28-2 parameter count,
gradients, node views and bad input."""

from __future__ import annotations

from typing import Any, cast

import pytest
import torch
from torch import nn

from graphssl.comatch.encoders import (
    DigitsCNN,
    GCNEncoder,
    MLPEncoder,
    NodeMLPEncoder,
    NodeViews,
    WideResNet,
)


def _ring(n: int) -> torch.Tensor:
    """Undirected ring as both directions of every edge, ``[2, 2n]``."""
    i = torch.arange(n)
    j = (i + 1) % n
    return torch.stack([torch.cat([i, j]), torch.cat([j, i])])


def _all_grads_nonzero(model: nn.Module, out: torch.Tensor) -> None:
    (out**2).sum().backward()  # type: ignore[no-untyped-call]
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert bool(torch.isfinite(p.grad).all()), name
        assert float(p.grad.abs().sum()) > 0, name


@pytest.mark.usefixtures("one_thread")
def test_shapes_and_gradients(device: str) -> None:
    x = torch.randn(5, 7, device=device)
    mlp = MLPEncoder(7, hidden=(16, 8)).to(device)
    assert mlp(x).shape == (5, 8) and mlp.num_features == 8
    _all_grads_nonzero(mlp, mlp(x))

    ei = _ring(5).to(device)
    gcn = GCNEncoder(7, hidden=6, dropout=0.0).to(device)
    assert gcn(x, ei).shape == (5, 6) and gcn.num_features == 6
    _all_grads_nonzero(gcn, gcn(x, ei))

    img = torch.rand(4, 1, 8, 8, device=device)
    cnn = DigitsCNN().to(device)
    assert cnn(img).shape == (4, 128)
    _all_grads_nonzero(cnn, cnn(img))
    cnn.eval()  # batch-norm in eval mode: flattened and image input must agree
    torch.testing.assert_close(cnn(img.view(4, 64)), cnn(img))

    wrn = WideResNet(depth=10, widen=1).to(device)  # WRN-10-1: same code, small
    feats = wrn(torch.rand(3, 3, 32, 32, device=device))
    assert feats.shape == (3, 64) and wrn.num_features == 64
    _all_grads_nonzero(wrn, feats)


def test_wrn_28_2_parameter_count() -> None:
    # Count the architecture independently: per block two 3x3 convs, two BNs and a
    # 1x1 shortcut where the width changes; then stem, final BN and a 10-class head.
    n, widths = 4, [16, 32, 64, 128]
    total = 3 * 16 * 9  # stem
    for g in range(3):
        for i in range(n):
            a, b = (widths[g] if i == 0 else widths[g + 1]), widths[g + 1]
            total += 9 * a * b + 9 * b * b + 2 * a + 2 * b + (a * b if a != b else 0)
    total += 2 * 128 + 128 * 10 + 10
    wrn = WideResNet()
    head = nn.Linear(wrn.num_features, 10)
    count = sum(p.numel() for m in (wrn, head) for p in m.parameters())
    assert count == total == 1_467_610  # the "1.5M" of the CoMatch/FixMatch papers
    assert wrn.num_features == 128


def test_gcn_matches_dense_formula() -> None:
    n, f = 6, 4
    x = torch.randn(n, f, dtype=torch.float64)
    ei = _ring(n)
    w = torch.rand(ei.shape[1], dtype=torch.float64) + 0.5
    w = (w + w.view(2, -1).flip(0).reshape(-1)) / 2  # symmetric weights
    gcn = GCNEncoder(f, hidden=3, num_layers=2, dropout=0.3).double().eval()
    a = torch.zeros(n, n, dtype=torch.float64)
    a[ei[1], ei[0]] = w
    a_hat = a + torch.eye(n, dtype=torch.float64)
    d = a_hat.sum(1).rsqrt()
    s = d[:, None] * a_hat * d[None, :]
    c1, c2 = (cast(Any, c) for c in gcn.convs)  # GCNConv: lin (no bias) + bias
    h = s @ x @ c1.lin.weight.T + c1.bias
    want = s @ torch.relu(h) @ c2.lin.weight.T + c2.bias
    torch.testing.assert_close(gcn(x, ei, w), want)


def test_gcn_sparse_input_path_matches_dense() -> None:
    # Bag-of-words-like features (~5 % non-zero) take the sparse first-layer path.
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(30, 40, generator=g) < 0.05).double()
    ei = _ring(30)
    gcn = GCNEncoder(40, hidden=4, dropout=0.5).double().eval()
    c1, c2 = (cast(Any, c) for c in gcn.convs)
    a_hat = torch.eye(30, dtype=torch.float64)
    a_hat[ei[1], ei[0]] = 1.0
    d = a_hat.sum(1).rsqrt()
    s = d[:, None] * a_hat * d[None, :]
    h = torch.relu(s @ x @ c1.lin.weight.T + c1.bias)
    want = s @ h @ c2.lin.weight.T + c2.bias
    torch.testing.assert_close(gcn(x, ei), want)
    torch.testing.assert_close(gcn(x.to_sparse(), ei), want)  # sparse input accepted


def test_input_dropout_distribution() -> None:
    from graphssl.comatch.encoders import _input_dropout

    x = (torch.rand(200, 100) < 0.05) * (torch.rand(200, 100) + 0.5)
    p = 0.3
    out = _input_dropout(x, p, training=True)
    assert out.is_sparse
    dense = out.to_dense()
    kept = dense != 0
    assert not bool((kept & (x == 0)).any())  # zeros stay zero
    torch.testing.assert_close(dense[kept], x[kept] / (1 - p))  # survivors rescaled
    nnz = int((x != 0).sum())  # ~1000: the dropped share lies within 4 sd of p
    share = 1 - int(kept.sum()) / nnz
    assert abs(share - p) < 4 * (p * (1 - p) / nnz) ** 0.5
    assert torch.equal(_input_dropout(x, p, training=False).to_dense(), x)
    dense_x = torch.rand(10, 10) + 0.1  # dense input: the plain dropout kernel
    assert not _input_dropout(dense_x, p, training=True).is_sparse


def test_dropout_only_in_training() -> None:
    x, ei = torch.randn(8, 5), _ring(8)
    gcn = GCNEncoder(5, hidden=4, dropout=0.5)
    assert not torch.equal(gcn(x, ei), gcn(x, ei))  # training: two dropout masks
    gcn.eval()
    assert torch.equal(gcn(x, ei), gcn(x, ei))


def test_node_mlp_ignores_edges() -> None:
    enc = NodeMLPEncoder(5, hidden=(4,))
    x = torch.randn(6, 5)
    assert torch.equal(enc(x, _ring(6)), enc(x))
    torch.testing.assert_close(enc(x.to_sparse(), _ring(6)), enc(x))  # sparse input


def test_node_views() -> None:
    x = torch.rand(10, 20) + 0.1  # no zero entries, so masking is visible
    ei = _ring(10)
    w = torch.arange(ei.shape[1], dtype=torch.float32)
    same = NodeViews()((x, ei))
    assert torch.equal(same[0], x) and torch.equal(same[1], ei)

    view = NodeViews(edge_p=0.5, feature_p=0.5)
    xv, eiv, wv = view((x, ei, w), generator=3)
    xv2, eiv2, _ = view((x, ei, w), generator=3)
    assert torch.equal(xv, xv2) and torch.equal(eiv, eiv2)  # seeded
    assert 0 < eiv.shape[1] < ei.shape[1]
    # the kept edges are the original edges whose weight (= position) was kept
    assert torch.equal(eiv, ei[:, wv.long()])
    zero_cols = (xv == 0).all(0)
    assert 0 < int(zero_cols.sum()) < 20
    assert torch.equal(xv[:, ~zero_cols], x[:, ~zero_cols])  # other columns untouched
    # sparse features stay sparse and get the same view from the same generator state
    xs = (x * (x > 0.6)).to_sparse()
    sv = view((xs, ei), generator=3)
    assert sv[0].is_sparse and torch.equal(sv[1], eiv)
    assert torch.equal(sv[0].to_dense(), view((xs.to_dense(), ei), generator=3)[0])
    assert repr(NodeViews.strong()) == "NodeViews(edge_p=0.3, feature_p=0.3)"
    assert NodeViews.weak().edge_p == 0.0


def test_bad_input() -> None:
    with pytest.raises(
        ValueError, match=r"'x' parameter of MLPEncoder must be a \[N, 7\]"
    ):
        MLPEncoder(7)(torch.randn(3, 6))
    with pytest.raises(TypeError, match="floating-point"):
        MLPEncoder(7)(torch.ones(3, 7, dtype=torch.long))
    with pytest.raises(ValueError, match="'hidden' parameter of MLPEncoder"):
        MLPEncoder(7, hidden=())
    with pytest.raises(ValueError, match="'dropout' parameter of GCNEncoder"):
        GCNEncoder(7, dropout=1.0)
    with pytest.raises(ValueError, match="'edge_index' parameter of GCNEncoder"):
        GCNEncoder(3)(torch.randn(4, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="'edge_weight' parameter of GCNEncoder"):
        GCNEncoder(3)(torch.randn(4, 3), _ring(4), torch.ones(3))
    with pytest.raises(
        ValueError, match="'depth' parameter of WideResNet must be of the form"
    ):
        WideResNet(depth=27)
    with pytest.raises(
        ValueError, match=r"'x' parameter of WideResNet must be a \[N, 3, H, W\]"
    ):
        WideResNet(depth=10, widen=1)(torch.rand(2, 1, 32, 32))
    with pytest.raises(
        ValueError, match=r"'x' parameter of DigitsCNN must be a \[N, 64\]"
    ):
        DigitsCNN()(torch.rand(2, 63))
    with pytest.raises(ValueError, match="'feature_p' parameter of NodeViews"):
        NodeViews(feature_p=1.5)
    with pytest.raises(TypeError, match="'data' parameter of NodeViews"):
        NodeViews()(torch.rand(3, 2))  # type: ignore[arg-type]
