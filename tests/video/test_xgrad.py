"""The merged x-gradient of the fused pass equals autograd's, product by product."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import Tensor

from video._xgrad import XTape, left_product, right_product, tap
from video.em_bases import em_bases
from video.losses import RSKPLossConfig, rskp_loss
from video.model import BranchOutput, RSKPModel, RSKPOutput
from video.random_walk import random_walk


def _graph(x: Tensor, w: Tensor, lf: Tensor, rf: Tensor, merged: bool) -> Tensor:
    # a chain like the fused pass: later factors depend on earlier products, a shared
    # [k, D] factor, a batched one, and the norms of x
    if merged:
        tape = XTape()
        xt, norm = tap(x, tape)
        lp, rp = left_product, right_product
    else:
        xt, norm = x, torch.linalg.vector_norm(x, dim=-1)

        def lp(a: Tensor, b: Tensor, _: object) -> Tensor:
            return torch.bmm(a, b)

        def rp(a: Tensor, b: Tensor, _: object) -> Tensor:
            return torch.matmul(a, b.transpose(1, 2))

        tape = None
    p0 = rp(w, xt, tape)  # [B, k, T], shared factor
    z = torch.softmax(p0 / norm[:, None, :].clamp_min(1e-6), dim=1)
    mu = lp(z * lf, xt, tape)  # [B, k, D]
    p1 = rp(torch.tanh(mu) + rf, xt, tape)  # [B, k, T]
    pooled = lp(torch.softmax(p1, dim=2), xt, tape)
    return (pooled.square().sum() + (p1 * z).sum() + norm.sum()) * 0.1


def test_merged_gradients_equal_autograd() -> None:
    b, t, d, k = 3, 7, 5, 4
    x = torch.randn(b, t, d, dtype=torch.float64)
    x[1, 5:] = 0.0  # zero rows: the norm's gradient must stay finite (0) there
    leaves = [
        x,
        torch.randn(k, d, dtype=torch.float64),
        torch.rand(b, k, t, dtype=torch.float64),
        torch.randn(b, k, d, dtype=torch.float64),
    ]
    grads = []
    for merged in (False, True):
        ins = [v.clone().requires_grad_(True) for v in leaves]
        loss = _graph(*ins, merged=merged)  # type: ignore[misc]
        grads.append(torch.autograd.grad(loss, ins))
    for name, a, m in zip(("x", "shared", "left", "right"), *grads, strict=True):
        torch.testing.assert_close(m, a, msg=name)
    assert torch.isfinite(grads[1][0]).all()


def test_retain_graph_and_repeat_backward() -> None:
    # slots are overwritten, then emptied: a second backward of the same graph gives
    # the same gradient, not twice the pairs
    x = torch.randn(2, 6, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 4, dtype=torch.float64)
    tape = XTape()
    xt, _ = tap(x, tape)
    loss = left_product(torch.softmax(right_product(w, xt, tape), 2), xt, tape).sum()
    (g1,) = torch.autograd.grad(loss, x, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, x)
    torch.testing.assert_close(g1, g2)
    ref = x.detach().clone().requires_grad_(True)
    p = torch.matmul(w, ref.transpose(1, 2))
    (gr,) = torch.autograd.grad(torch.bmm(torch.softmax(p, 2), ref).sum(), ref)
    torch.testing.assert_close(g1, gr)


def test_plain_paths_without_grad_or_tap() -> None:
    x = torch.randn(2, 5, 3)
    tape = XTape()
    with torch.no_grad():
        xt, norm = tap(x.requires_grad_(True), tape)
    assert xt is x and tape.source is None
    torch.testing.assert_close(norm, torch.linalg.vector_norm(x, dim=-1))
    # an untapped tensor takes the ordinary products
    y = torch.randn(2, 5, 3, requires_grad=True)
    out = right_product(torch.randn(4, 3), y, tape)
    assert out.grad_fn is not None and "_Right" not in type(out.grad_fn).__name__


def test_double_backward_is_refused() -> None:
    x = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    tape = XTape()
    xt, _ = tap(x, tape)
    loss = right_product(torch.randn(2, 3, dtype=torch.float64), xt, tape).pow(2).sum()
    (g,) = torch.autograd.grad(loss, x, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()  # type: ignore[no-untyped-call]


def _objective(
    main: BranchOutput,
    intra: BranchOutput,
    inter: BranchOutput,
    out: RSKPOutput,
    labels: Tensor,
) -> Tensor:
    # the RSKP loss plus every output of every branch (so that no path is left out)
    terms = rskp_loss(
        replace(out, main=main, intra=intra, inter=inter), labels, RSKPLossConfig(),
        after_warmup=True, inter=inter, has_memory=out.has_memory,
    )  # fmt: skip
    extra = sum(
        b.ca_logits.sum() + b.cw_logits.sum() + b.attention.sum() + b.cas.sum()
        for b in (main, intra, inter)
    )
    return terms.total + 0.01 * extra


def test_model_gradients_equal_the_plain_composition() -> None:
    # train mode (the tape is on) without dropout: every parameter's gradient of the
    # full RSKP loss equals that of the plain composition of em_bases, random_walk
    # and PredictionModule (no shared products, no tape), memory branch included
    model = RSKPModel(6, 3, dim=8, num_bases=3, memory_slots=2, dropout=0.0).double()
    feats = torch.randn(3, 9, 6, dtype=torch.float64)
    mask = torch.ones(3, 9, dtype=torch.bool)
    mask[1, 6:] = False
    labels = torch.tensor([[1.0, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=torch.float64)
    with torch.no_grad():
        first = model(feats, mask)
    model.memory.update(first.mu[[0]], first.mu_probs[[0]], labels[[0]])
    params = list(model.parameters())
    out = model.forward_checked(feats, mask, labels)
    assert out.intra is not None and out.inter is not None
    fused = _objective(out.main, out.intra, out.inter, out, labels)
    g_fused = torch.autograd.grad(fused, params)

    x = torch.relu(model.embedding[0](feats)) * mask[..., None].to(feats.dtype)
    mu = em_bases(x, model.mu0, num_iter=model.em_iter, mask=mask)
    pm = model.predictor
    slots, ok = model.memory.read(labels)
    plain = _objective(
        pm(x, mask),
        pm(random_walk(x, mu, model.w, mask=mask), mask),
        pm(random_walk(x, slots, model.w, mask=mask, basis_mask=ok), mask),
        out, labels,
    )  # fmt: skip
    g_plain = torch.autograd.grad(plain, params)
    names = [n for n, _ in model.named_parameters()]
    for name, a, b in zip(names, g_fused, g_plain, strict=True):
        torch.testing.assert_close(a, b, msg=name)
