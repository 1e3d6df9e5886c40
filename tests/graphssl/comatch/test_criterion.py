"""CoMatchLoss against a transcription of the reference step, FixMatch reduction, errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from graphssl.comatch import CoMatchConfig, CoMatchLoss
from graphssl.teacher_student import fixmatch_loss, pseudo_label_targets
from tests.graphssl.comatch._references import MU, B, C, D, aligned
from tests.graphssl.comatch._references import batch as _batch


class _Reference:
    """The reference ``train_one_epoch`` loss, transcribed with plain tensors/lists.

    One deliberate difference, also in the library: smoothing starts when the queue is
    full (the reference waits for ``it > queue_batch``, one step later).
    """

    def __init__(self, cfg: CoMatchConfig, size: int) -> None:
        self.cfg, self.size = cfg, size
        self.prob_list: list[torch.Tensor] = []
        self.feats = torch.zeros(size, D, dtype=torch.float64)
        self.probs = torch.zeros(size, C, dtype=torch.float64)
        self.ptr, self.filled = 0, 0

    def step(self, t: dict[str, torch.Tensor]) -> torch.Tensor:
        cfg = self.cfg
        loss_x = F.cross_entropy(t["logits_x"], t["y_x"])
        probs = aligned(self.prob_list, t["logits_u_w"], cfg.da_window)
        probs_orig = probs.clone()
        if self.filled >= self.size:
            a = torch.exp(t["feats_u_w"] @ self.feats.T / cfg.temperature)
            a = a / a.sum(1, keepdim=True)
            probs = cfg.alpha * probs + (1 - cfg.alpha) * a @ self.probs
        mask = (probs.max(1).values >= cfg.threshold).double()
        feats_w = torch.cat([t["feats_u_w"], t["feats_x"]])
        onehot = torch.zeros(B, C, dtype=torch.float64).scatter(
            1, t["y_x"].view(-1, 1), 1
        )
        n = feats_w.shape[0]
        self.feats[self.ptr : self.ptr + n] = feats_w
        self.probs[self.ptr : self.ptr + n] = torch.cat([probs_orig, onehot])
        self.ptr, self.filled = (self.ptr + n) % self.size, self.filled + n
        sim = torch.exp(t["feats_u_s0"] @ t["feats_u_s1"].T / cfg.temperature)
        sim_probs = sim / sim.sum(1, keepdim=True)
        q = probs @ probs.T
        q.fill_diagonal_(1)
        q = q * (q >= cfg.contrast_th).double()
        q = q / q.sum(1, keepdim=True)
        loss_c = -(torch.log(sim_probs + 1e-7) * q).sum(1).mean()
        loss_u = (
            -(F.log_softmax(t["logits_u_s0"], dim=1) * probs).sum(1) * mask
        ).mean()
        return loss_x + cfg.lambda_u * loss_u + cfg.lambda_c * loss_c


def test_loss_matches_reference_over_steps_with_smoothing() -> None:
    # threshold 0.5 so that the mask is mixed; 3 batches fill the bank (size 18)
    cfg = CoMatchConfig(batch_size=B, mu=MU, proj_dim=D, queue_batch=3, da_window=2, threshold=0.5,
                        contrast_th=0.3, lambda_u=0.7, lambda_c=1.3)  # fmt: skip
    crit = CoMatchLoss(C, cfg).double()
    ref = _Reference(cfg, crit.bank.size)
    smoothed = []
    for step in range(6):
        t = _batch(step)
        out = crit(**t)
        expected = ref.step(t)
        assert math.isclose(
            float(out.loss.detach()), float(expected.detach()), rel_tol=1e-10
        )
        g_ours = torch.autograd.grad(out.loss, [t["logits_u_s0"], t["feats_u_s0"]])
        g_ref = torch.autograd.grad(expected, [t["logits_u_s0"], t["feats_u_s0"]])
        for a, b in zip(g_ours, g_ref, strict=True):
            assert torch.allclose(a, b, rtol=1e-8, atol=1e-12)
        smoothed.append(out.smoothed)
        assert (
            torch.allclose(crit.bank.feats, ref.feats) and int(crit.bank.ptr) == ref.ptr
        )
    assert smoothed == [False, False, False, True, True, True]


def test_queue_pointer_after_n_steps_wraps() -> None:
    cfg = CoMatchConfig(
        batch_size=B, mu=MU, proj_dim=D, queue_size=10
    )  # 6 rows per step
    crit = CoMatchLoss(C, cfg).double()
    for n in range(1, 6):
        crit(**_batch(n))
        assert int(crit.bank.ptr) == (n * (B + MU * B)) % 10
        assert int(crit.bank.filled) == min(n * 6, 10)
    # the labelled rows of the last push carry one-hot labels (rows 4, 5 after wrap)
    t = _batch(99)
    crit(**t)
    assert torch.equal(crit.bank.probs[[4, 5]], F.one_hot(t["y_x"], C).double())


def test_lambda_c_zero_alpha_one_is_fixmatch_with_soft_targets() -> None:
    cfg = CoMatchConfig(
        batch_size=B, mu=MU, proj_dim=D, lambda_c=0.0, alpha=1.0, threshold=0.6
    )
    crit = CoMatchLoss(C, cfg).double()
    for step in range(3):
        t = _batch(step)
        out = crit(**{**t, "feats_u_s0": None, "feats_u_s1": None})
        # by hand: DA of this step's window, then FixMatch's soft-target loss
        probs = torch.softmax(t["logits_u_w"], 1)
        aligned = probs / crit.alignment.mean()
        aligned = aligned / aligned.sum(1, keepdim=True)
        mask = (aligned.max(1).values >= 0.6).double()
        expected = F.cross_entropy(t["logits_x"], t["y_x"]) + fixmatch_loss(
            t["logits_u_s0"], aligned, mask
        )
        assert torch.allclose(out.loss, expected, rtol=1e-12)
        assert float(out.loss_c) == 0.0 and int(crit.bank.filled) == 0


def test_fixmatch_preset_equals_teacher_student_loss() -> None:
    cfg = CoMatchConfig.fixmatch(batch_size=B, mu=MU, proj_dim=D, threshold=0.7)
    crit = CoMatchLoss(C, cfg).double()
    t = _batch(3)
    out = crit(**t)
    targets, mask = pseudo_label_targets(t["logits_u_w"], 0.7)
    expected = F.cross_entropy(t["logits_x"], t["y_x"]) + fixmatch_loss(
        t["logits_u_s0"], targets, mask
    )
    assert torch.allclose(out.loss, expected, rtol=1e-12)
    assert 0 < float(mask.sum()) < mask.numel()  # the case is not degenerate


def test_bad_inputs_raise_clear_errors() -> None:
    cfg = CoMatchConfig(batch_size=B, mu=MU, proj_dim=D)
    crit = CoMatchLoss(C, cfg).double()
    t = _batch(0)
    nan = t["logits_u_w"].clone()
    nan[0, 0] = math.nan
    with pytest.raises(
        FloatingPointError, match="'logits_u_w' parameter of CoMatchLoss must be finite"
    ):
        crit(**{**t, "logits_u_w": nan})
    with pytest.raises(ValueError, match=r"'logits_x' parameter.*3 columns"):
        crit(**{**t, "logits_x": torch.zeros(B, C + 1, dtype=torch.float64)})
    with pytest.raises(ValueError, match=r"'y_x' parameter.*classes in 0..2"):
        crit(**{**t, "y_x": torch.tensor([0, 3])})
    with pytest.raises(ValueError, match=r"'feats_u_w' parameter.*proj_dim = 4"):
        crit(**{**t, "feats_u_w": torch.zeros(MU * B, D + 1, dtype=torch.float64)})
    with pytest.raises(TypeError, match="'feats_u_s1' parameter"):
        crit(**{**t, "feats_u_s1": None})
    small = CoMatchLoss(
        C, CoMatchConfig(batch_size=1, mu=1, proj_dim=D, queue_batch=2)
    ).double()
    with pytest.raises(
        ValueError, match="at most the memory size 4 rows per global batch"
    ):
        small(**t)  # a 6-row batch is fine, so make the bank smaller than it
    assert int(crit.bank.filled) == 0  # nothing was pushed by the failed calls


def test_state_dict_round_trip_gives_the_same_next_loss() -> None:
    cfg = CoMatchConfig(batch_size=B, mu=MU, proj_dim=D, queue_batch=2, threshold=0.5)
    a = CoMatchLoss(C, cfg).double()
    for s in range(4):
        a(**_batch(s))
    b = CoMatchLoss(C, cfg).double()
    b.load_state_dict(a.state_dict())
    t = _batch(10)
    assert torch.equal(a(**t).loss, b(**t).loss)
    assert set(a.state_dict()) >= {"bank.feats", "bank.probs", "bank.ptr", "bank.filled",
                                   "alignment.history", "alignment.count", "alignment.ptr"}  # fmt: skip
