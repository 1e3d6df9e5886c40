"""RSKP losses: hand-computed toy values, masks, finiteness, config."""

from __future__ import annotations

import math

import pytest
import torch

from video.losses import (
    RSKPLossConfig,
    attention_loss,
    normalized_cross_entropy,
    rskp_loss,
    snippet_pseudo_label_loss,
)
from video.model import RSKPModel


def test_nce_hand_computed() -> None:
    # probs [0.5, 0.25, 0.25] from logits log-probs; target [1, 1, 0] -> mean of -log p
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    got = normalized_cross_entropy(logits, torch.tensor([[1.0, 1.0, 0.0]]))
    assert float(got) == pytest.approx(0.5 * (math.log(2) + math.log(4)))
    # weighted mean: a zero-weight row does not count
    two = torch.cat([logits, torch.zeros(1, 3)])
    tgt = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    w = normalized_cross_entropy(two, tgt, torch.tensor([1.0, 0.0]))
    assert float(w) == pytest.approx(float(got))


def test_attention_loss_hand_computed_with_mask() -> None:
    att = torch.tensor([[0.9, 0.1, 0.8, 0.2] * 4, [0.7, 0.3] + [0.0] * 14])
    mask = torch.tensor([[True] * 16, [True] * 2 + [False] * 14])
    # video 0: k = 16 // 8 = 2 -> low (0.1) - high (0.9) = -0.8
    # video 1: k = max(1, 2 // 8) = 1 -> 0.3 - 0.7 = -0.4 (padding ignored)
    got = attention_loss(att, mask)
    assert float(got) == pytest.approx((-0.8 - 0.4) / 2)
    assert float(attention_loss(torch.rand(3, 9))) <= 0


def test_spl_hand_computed() -> None:
    cas = torch.zeros(1, 2, 2)  # uniform prediction -> loss = log 2 whatever the target
    target = torch.tensor([[[5.0, 0.0], [0.0, 1.0]]])
    got = snippet_pseudo_label_loss(cas, target, temperature=0.2)
    assert float(got) == pytest.approx(math.log(2))
    same = snippet_pseudo_label_loss(target, target, temperature=1.0)
    p = torch.softmax(target, -1)
    ent = float(-(p * p.log()).sum(-1).mean())
    assert float(same) == pytest.approx(ent)
    mask = torch.tensor([[True, False]])
    one = snippet_pseudo_label_loss(target, target, mask, temperature=1.0)
    assert float(one) == pytest.approx(float(-(p[0, 0] * p[0, 0].log()).sum()))


def test_spl_target_is_detached() -> None:
    cas = torch.randn(1, 3, 4, requires_grad=True)
    target = torch.randn(1, 3, 4, requires_grad=True)
    snippet_pseudo_label_loss(cas, target).backward()  # type: ignore[no-untyped-call]
    assert cas.grad is not None and target.grad is None


@pytest.mark.parametrize("variant", ["main", "intra", "full"])
def test_rskp_loss_finite_and_weights(variant: str) -> None:
    model = RSKPModel(6, 3, dim=8, num_bases=2, variant=variant)
    feats = torch.randn(2, 10, 6)
    labels = torch.tensor([[1.0, 0, 0], [0, 1, 1]])
    out = model(feats)
    cfg = RSKPLossConfig()
    before = rskp_loss(out, labels, cfg, after_warmup=False)
    assert torch.isfinite(before.total)
    want = before.fore + 0.2 * before.back + 0.1 * before.att + 1.0 * before.spl
    torch.testing.assert_close(before.total.detach(), want)
    assert float(before.att) <= 0
    if variant == "main":
        assert float(before.spl) == 0.0
    model.memory.update(out.mu[:1], out.mu_probs[:1], labels[:1])
    inter, has = model.inter_branch(out, labels)
    assert has.tolist() == [True, False]
    after = rskp_loss(out, labels, cfg, after_warmup=True, inter=inter, has_memory=has)
    want = after.fore + 0.2 * after.back + 0.1 * after.att + 0.5 * after.spl
    torch.testing.assert_close(after.total.detach(), want)
    after.total.backward()  # type: ignore[no-untyped-call]
    assert all(
        torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None
    )


def test_config_defaults_and_bad_values() -> None:
    cfg = RSKPLossConfig()
    assert (cfg.lambda_b, cfg.lambda_a, cfg.lambda_s, cfg.lambda_s_after_warmup) == (
        0.2,
        0.1,
        1.0,
        0.5,
    )
    assert (cfg.inter_mix, cfg.spl_temperature) == (0.2, 0.2)
    with pytest.raises(ValueError, match=r"'lambda_b' parameter of RSKPLossConfig"):
        RSKPLossConfig(lambda_b=-1.0)
    with pytest.raises(ValueError, match=r"'inter_mix' parameter"):
        RSKPLossConfig(inter_mix=1.5)


def test_wrong_label_length() -> None:
    model = RSKPModel(6, 3, dim=8, num_bases=2)
    out = model(torch.randn(2, 10, 6))
    with pytest.raises(ValueError, match=r"'labels' parameter of rskp_loss .*\[2, 3\]"):
        rskp_loss(out, torch.ones(2, 4), RSKPLossConfig(), after_warmup=False)


def test_attention_loss_matches_per_video_topk() -> None:
    # the one-sort batched form against the reference's top-k on each video alone
    torch.manual_seed(3)
    lengths = [17, 9, 24, 8]
    att = torch.rand(4, 24)
    mask = torch.arange(24)[None, :] < torch.tensor(lengths)[:, None]
    want = []
    for b, n in enumerate(lengths):
        k = max(n // 8, 1)
        a = att[b, :n]
        want.append(-torch.topk(-a, k).values.mean() - torch.topk(a, k).values.mean())
    got = attention_loss(att, mask, 8.0)
    torch.testing.assert_close(got, torch.stack(want).mean())
