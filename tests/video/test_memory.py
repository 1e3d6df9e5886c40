"""Memory bank: top-k by score, only ground-truth classes, buffers and state_dict."""

from __future__ import annotations

import pytest
import torch

from video.memory import SnippetMemory


def test_keeps_topk_by_score_over_updates() -> None:
    mem = SnippetMemory(num_classes=3, dim=2, slots=2)
    seen_f, seen_s = [], []
    for _ in range(4):
        mu = torch.randn(1, 3, 2)
        scores = torch.rand(1, 3, 4)  # 3 classes + background column
        mem.update(mu, scores, torch.tensor([[0.0, 1.0, 0.0]]))
        seen_f.append(mu[0])
        seen_s.append(scores[0, :, 1])
    all_s, all_f = torch.cat(seen_s), torch.cat(seen_f)
    top = torch.topk(all_s, 2).indices
    torch.testing.assert_close(mem.scores[1], all_s[top])
    torch.testing.assert_close(mem.features[1], all_f[top])


def test_touches_only_ground_truth_classes() -> None:
    mem = SnippetMemory(num_classes=4, dim=3, slots=2)
    before = {k: v.clone() for k, v in mem.state_dict().items()}
    labels = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    mem.update(torch.randn(2, 5, 3), torch.rand(2, 5, 5), labels)
    changed = (mem.scores != before["scores"]).any(1)
    assert changed.tolist() == [False, False, True, True]
    # class 0 is untouched: the reference's pre-fix bug wrote every video to class 0
    assert torch.equal(mem.features[0], before["features"][0])
    assert mem.filled.tolist() == [False, False, True, True]


def test_batch_update_equals_sequential() -> None:
    a, b = SnippetMemory(3, 2, 3), SnippetMemory(3, 2, 3)
    mu, sc = torch.randn(4, 2, 2), torch.rand(4, 2, 3)
    labels = torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 1]])
    a.update(mu, sc, labels)
    for i in range(4):
        b.update(mu[i : i + 1], sc[i : i + 1], labels[i : i + 1])
    torch.testing.assert_close(a.scores, b.scores)
    torch.testing.assert_close(a.features, b.features)


def test_read_returns_gt_slots_with_mask() -> None:
    mem = SnippetMemory(3, 2, 2)
    mem.update(torch.randn(1, 3, 2), torch.rand(1, 3, 3), torch.tensor([[1.0, 0, 1]]))
    slots, ok = mem.read(torch.tensor([[0.0, 0, 1], [1.0, 1, 0], [0.0, 1, 0]]))
    assert slots.shape == (3, 4, 2) and ok.shape == (3, 4)
    torch.testing.assert_close(slots[0, :2], mem.features[2])
    assert ok[0].tolist() == [True, True, False, False]
    # video 1: class 0 (filled) then class 1 (empty); video 2: only empty class 1
    torch.testing.assert_close(slots[1, :2], mem.features[0])
    assert ok[1].tolist() == [True, True, False, False]
    assert not bool(ok[2].any())


def test_state_dict_round_trip_and_device(device: str) -> None:
    mem = SnippetMemory(2, 3, 2).to(device)
    mem.update(
        torch.randn(1, 4, 3, device=device),
        torch.rand(1, 4, 3, device=device),
        torch.tensor([[1.0, 0.0]], device=device),
    )
    other = SnippetMemory(2, 3, 2)
    other.load_state_dict(mem.state_dict())
    assert set(mem.state_dict()) == {"features", "scores", "initialized"}
    torch.testing.assert_close(other.features, mem.features.cpu())
    torch.testing.assert_close(other.scores, mem.scores.cpu())
    assert "slots=2" in repr(other)


def test_bad_input() -> None:
    mem = SnippetMemory(3, 2, 2)
    with pytest.raises(ValueError, match=r"'labels' parameter of SnippetMemory.update"):
        mem.update(torch.randn(1, 2, 2), torch.rand(1, 2, 4), torch.ones(1, 2))
    with pytest.raises(ValueError, match=r"'mu' parameter"):
        mem.update(torch.randn(1, 2, 5), torch.rand(1, 2, 4), torch.ones(1, 3))
    with pytest.raises(ValueError, match=r"'scores' parameter"):
        mem.update(torch.randn(1, 2, 2), torch.rand(1, 2, 2), torch.ones(1, 3))
    with pytest.raises(ValueError, match=r"'slots' parameter of SnippetMemory"):
        SnippetMemory(3, 2, 0)


def test_reset_empties_every_slot() -> None:
    mem = SnippetMemory(2, 3, 2)
    mem.update(torch.randn(1, 4, 3), torch.rand(1, 4, 3), torch.tensor([[1.0, 1.0]]))
    mem.initialized.fill_(True)
    mem.reset()
    assert not bool(mem.filled.any()) and not bool(mem.initialized)
    assert bool((mem.features == 0).all())
