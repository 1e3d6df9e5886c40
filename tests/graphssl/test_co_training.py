"""Tests for graphssl.co_training: CPS loss, CoTraining, two-view co-training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from graphssl.co_training import CoTraining, cross_pseudo_supervision_loss
from graphssl.co_training_views import TwoViewCoTraining

pytestmark = pytest.mark.usefixtures("one_thread")


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def test_cps_loss_symmetric_and_equals_hand_ce():
    a, b = torch.randn(6, 3), torch.randn(6, 3)
    loss = cross_pseudo_supervision_loss(a, b)
    assert torch.allclose(loss, cross_pseudo_supervision_loss(b, a))
    ya, yb = a.argmax(1), b.argmax(1)
    hand = 0.0
    for i in range(6):
        hand -= float(torch.log_softmax(a[i], 0)[yb[i]])
        hand -= float(torch.log_softmax(b[i], 0)[ya[i]])
    assert math.isclose(float(loss), hand / 6, rel_tol=1e-5)


def test_cps_targets_detached_and_threshold_masks():
    a = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(5, 3, requires_grad=True)
    cross_pseudo_supervision_loss(a, b).backward()
    # The gradient w.r.t. a comes from CE(a, argmax b) alone: softmax(a) - onehot(yb).
    expect = (torch.softmax(a, 1) - torch.eye(3)[b.argmax(1)]) / 5
    assert a.grad is not None and torch.allclose(a.grad, expect.detach(), atol=1e-6)
    assert float(cross_pseudo_supervision_loss(a, b, threshold=1.0).detach()) == 0.0


def test_cps_loss_on_segmentation_maps():
    a, b = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    flat = cross_pseudo_supervision_loss(
        a.permute(0, 2, 3, 1).reshape(-1, 3), b.permute(0, 2, 3, 1).reshape(-1, 3)
    )
    assert torch.allclose(cross_pseudo_supervision_loss(a, b), flat)


def test_bad_input_messages():
    with pytest.raises(ValueError, match="'logits_b' parameter of cross_pseudo"):
        cross_pseudo_supervision_loss(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="'threshold' parameter of cross_pseudo"):
        cross_pseudo_supervision_loss(torch.randn(4, 3), torch.randn(4, 3), threshold=2)
    with pytest.raises(ValueError, match="'lambda_cps' parameter of CoTraining"):
        CoTraining(_net, lambda_cps=-1.0)
    with pytest.raises(ValueError, match="'threshold' parameter of CoTraining"):
        CoTraining(_net, threshold=1.5)
    with pytest.raises(TypeError, match="'model_factory' parameter of CoTraining"):
        CoTraining(_net())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'k_per_round' parameter of TwoViewCo"):
        TwoViewCoTraining(_Stub(), _Stub(), k_per_round=0)
    with pytest.raises(TypeError, match="'estimator_b' parameter of TwoViewCo"):
        TwoViewCoTraining(_Stub(), object())
    with pytest.raises(ValueError, match="'X_view_b' parameter of TwoViewCo"):
        TwoViewCoTraining(_Stub(), _Stub()).fit(
            np.zeros((4, 2)), np.zeros((3, 2)), np.array([0, 1, -1, -1])
        )


class _Stub:
    def fit(self, x, y):
        return self

    def predict_proba(self, x):
        return np.zeros((len(x), 2))


def _toy():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 4, generator=g)
    y = torch.arange(120) % 3
    x[:, 0] += 3 * y
    return x[:9], y[:9], x[9:], y[9:]


def test_co_training_two_inits_deterministic_and_logs():
    x_l, y_l, x_u, y_u = _toy()
    kw = dict(steps=10, batch_size=4, mu=2, log_every=3)
    a = CoTraining(_net, **kw).fit(x_l, y_l, x_u, y_unlabeled_true=y_u)
    b = CoTraining(_net, **kw).fit(x_l, y_l, x_u, y_unlabeled_true=y_u)
    assert a.history_ == b.history_ and a.history_["step"] == [0.0, 3.0, 6.0, 9.0]
    assert {"loss_cps", "agreement", "pseudo_acc"} <= set(a.history_)
    w0, w1 = (next(m.parameters()) for m in a.models_)
    assert not torch.equal(w0, w1)  # differently initialised
    p = a.predict_proba(x_u)
    m0, m1 = (m.eval() for m in a.models_)
    with torch.no_grad():
        avg = (torch.softmax(m0(x_u), 1) + torch.softmax(m1(x_u), 1)) / 2
    assert torch.allclose(p, avg) and torch.equal(a.predict(x_u), avg.argmax(1))


def test_co_training_learns_a_toy_task():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(240, 4, generator=g)
    y = torch.arange(240) % 3
    x[:, 0] += 4 * y
    ct = CoTraining(_net, steps=150, batch_size=16, mu=2, lr=0.05)
    ct.fit(x[:30], y[:30], x[30:])
    # Measured 0.857 (supervised-only, lambda_cps=0: 0.876; Bayes rate ~0.97).
    assert float((ct.predict(x[30:]) == y[30:]).float().mean()) > 0.8


def _two_views(seed: int):
    rng = np.random.default_rng(seed)
    n, c = 600, 3
    y = np.arange(n) % c
    # Views independent given the class: the co-training assumption.
    xa = rng.normal(size=(c, 5))[y] + rng.normal(size=(n, 5))
    xb = rng.normal(size=(c, 5))[y] + rng.normal(size=(n, 5))
    y_obs = np.full(n, -1)
    y_obs[: 2 * c] = y[: 2 * c]  # two labels per class
    return xa, xb, y, y_obs


@pytest.mark.parametrize("seed", [0, 1])
def test_two_view_co_training_beats_single_view(seed):
    nb = pytest.importorskip("sklearn.naive_bayes")
    xa, xb, y, y_obs = _two_views(seed)
    lab, unl = y_obs >= 0, y_obs < 0
    single = max(
        nb.GaussianNB().fit(v[lab], y[lab]).score(v[unl], y[unl]) for v in (xa, xb)
    )
    ct = TwoViewCoTraining(nb.GaussianNB(), nb.GaussianNB(), k_per_round=5, max_iter=20)
    ct.fit(xa, xb, y_obs)
    co = float((ct.predict(xa[unl], xb[unl]) == y[unl]).mean())
    # Measured: single view 0.50 / 0.59, co-training 0.88 / 0.94 (seeds 0 / 1).
    assert co > single + 0.2, (single, co)
    assert ct.n_iter_ == 20 and ct.termination_condition_ == "max_iter"
    assert bool((ct.labeled_iter_[lab] == 0).all())
    assert 0 < int((ct.labeled_iter_ > 0).sum()) <= 20 * 2 * 3 * 5
    assert bool((ct.labeled_iter_ <= ct.n_iter_).all())
    assert np.array_equal(ct.transduction_[lab], y[lab])
    assert np.allclose(ct.predict_proba(xa, xb).sum(1), 1.0)


def test_two_view_stops_when_everything_is_labelled():
    nb = pytest.importorskip("sklearn.naive_bayes")
    xa, xb, y, y_obs = _two_views(0)
    y_obs[:20] = y[:20]
    ct = TwoViewCoTraining(nb.GaussianNB(), nb.GaussianNB(), k_per_round=500)
    ct.fit(xa[:24], xb[:24], y_obs[:24])
    assert ct.termination_condition_ == "all_labeled" and ct.n_iter_ == 1
    assert "k_per_round=500" in repr(ct)
