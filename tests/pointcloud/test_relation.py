"""Tests of the relation head: EMA prototypes and the prototype softmax."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pointcloud.relation import PrototypeRelation, segment_mean


def test_segment_mean_matches_a_loop() -> None:
    values = torch.randn(20, 3)
    seg = torch.randint(0, 6, (20,))
    seg[0] = 5
    out = segment_mean(values, seg, 7)
    for s in range(7):
        rows = values[seg == s]
        want = rows.mean(0) if len(rows) else torch.zeros(3)
        assert torch.allclose(out[s], want, atol=1e-6)


def test_prototypes_follow_the_ema_by_hand() -> None:
    rel = PrototypeRelation(4, 3, embed_dim=2, momentum=0.9)
    e1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    rel.update_prototypes(e1, torch.tensor([0, 0, 2]))
    # first batch initialises: class 0 = mean of two rows, class 2 = its row
    assert torch.allclose(
        rel.prototypes, torch.tensor([[0.5, 0.5], [0, 0], [3.0, 1.0]])
    )
    assert rel.initialized.tolist() == [True, False, True]
    e2 = torch.tensor([[2.0, 2.0], [4.0, 0.0]])
    rel.update_prototypes(e2, torch.tensor([0, 1]))
    want0 = 0.9 * torch.tensor([0.5, 0.5]) + 0.1 * torch.tensor([2.0, 2.0])
    assert torch.allclose(rel.prototypes[0], want0)
    assert torch.allclose(rel.prototypes[1], torch.tensor([4.0, 0.0]))  # initialised
    assert torch.allclose(rel.prototypes[2], torch.tensor([3.0, 1.0]))  # untouched
    rel.update_prototypes(e2, torch.tensor([-1, -1]))  # nothing labelled: no change
    assert torch.allclose(rel.prototypes[0], want0)


def test_logits_are_scaled_cosines_and_mask_unknown_classes() -> None:
    rel = PrototypeRelation(4, 3, embed_dim=2, temperature=0.07)
    rel.update_prototypes(torch.tensor([[2.0, 0.0], [0.0, 3.0]]), torch.tensor([0, 1]))
    emb = F.normalize(torch.tensor([[1.0, 1.0], [1.0, 0.0]]), dim=1)
    logits = rel.logits(emb)
    assert torch.allclose(logits[:, :2], emb / 0.07)  # unit prototypes e_x, e_y
    assert bool(torch.isinf(logits[:, 2]).all())
    p = rel.proba(emb)
    assert torch.allclose(p.sum(1), torch.ones(2))
    assert float(p[:, 2].max()) == 0.0
    assert torch.allclose(p[0, :2], torch.tensor([0.5, 0.5]))


def test_proba_is_uniform_without_prototypes() -> None:
    rel = PrototypeRelation(4, 5)
    assert torch.allclose(rel.proba(torch.randn(3, 32)), torch.full((3, 5), 0.2))


def test_sample_caps_each_class() -> None:
    rel = PrototypeRelation(4, 3, max_per_class=2)
    labels = torch.tensor([0, 0, 0, 0, 1, -1, 2, 2, 2])
    idx = rel.sample(labels, torch.Generator().manual_seed(0))
    counts = torch.bincount(labels[idx], minlength=3).tolist()
    assert counts == [2, 1, 2]
    assert len(set(idx.tolist())) == idx.numel()
    assert rel.sample(torch.tensor([-1, -1])).numel() == 0


def test_loss_trains_embeddings_and_state_dict_round_trips(
    device: str, one_thread: None
) -> None:
    torch.manual_seed(0)
    rel = PrototypeRelation(6, 2, embed_dim=4).to(device)
    feats = torch.randn(60, 6, device=device)
    seg = torch.arange(60, device=device) // 6  # 10 segments
    labels = torch.tensor([0, 1] * 5, device=device)
    feats[seg % 2 == 1] += 2.0  # separable classes
    opt = torch.optim.Adam(rel.parameters(), 0.05)
    losses = []
    for _ in range(30):
        loss = rel.loss(rel.embed(feats, seg, 10), labels)
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    assert losses[-1] < 0.5 * losses[0]
    assert (rel.proba(rel.embed(feats, seg, 10)).argmax(1) == labels).all()
    assert rel.prototypes.device.type == device
    other = PrototypeRelation(6, 2, embed_dim=4).to(device)
    other.load_state_dict(rel.state_dict())
    assert torch.equal(other.prototypes, rel.prototypes)
    assert torch.equal(other.initialized, rel.initialized)
    unlabelled = torch.full((10,), -1, device=device)
    assert float(rel.loss(rel.embed(feats, seg, 10), unlabelled).detach()) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"momentum": 1.0}, "'momentum' parameter"),
        ({"temperature": 0.0}, "'temperature' parameter"),
        ({"max_per_class": 0}, "'max_per_class' parameter"),
        ({"embed_dim": 0}, "'embed_dim' parameter"),
    ],
)
def test_bad_parameters(kwargs: dict, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=match):
        PrototypeRelation(4, 3, **kwargs)


def test_repr_and_length_check() -> None:
    rel = PrototypeRelation(4, 3)
    assert repr(rel) == (
        "PrototypeRelation(in_channels=4, num_classes=3, embed_dim=32, momentum=0.9, "
        "temperature=0.07, max_per_class=10)"
    )
    with pytest.raises(ValueError, match="'labels' parameter"):
        rel.update_prototypes(torch.randn(3, 32), torch.tensor([0, 1]))
