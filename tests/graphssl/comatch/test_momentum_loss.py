"""CoMatchLoss with the strong-view queue against a transcription of the reference's
ImageNet step (``imagenet/Model.py`` + ``imagenet/Train_CoMatch.py``), reductions to
the plain graphs, and the queue's errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from graphssl.comatch import CoMatchConfig, CoMatchLoss
from tests.graphssl.comatch._references import BU, MU, B, C, D, aligned, batch


def _batch(seed: int) -> dict[str, torch.Tensor]:
    return batch(seed, s1_grad=False)  # the momentum encoder's view has no gradient


Row = tuple[torch.Tensor, torch.Tensor]  # (embedding, probabilities)


class _ImageNetReference:
    """The reference's loss with plain tensors; the queue is a Python list of rows.

    Deliberate differences, also in the library: the bank pushes unlabelled rows
    first (the CIFAR order), rows past the end wrap around instead of being dropped,
    and queue rows never written are not columns (the reference starts from random
    unit vectors with zero probabilities). Smoothing starts once the bank is full.
    """

    def __init__(self, cfg: CoMatchConfig, bank: int, queue: int) -> None:
        self.cfg, self.bank, self.queue = cfg, bank, queue
        self.hist: list[torch.Tensor] = []
        self.bank_rows: list[Row | None] = [None] * bank
        self.bank_ptr = 0
        self.q_rows: list[Row | None] = [None] * queue
        self.q_ptr = 0

    @staticmethod
    def _push(
        rows: list[Row | None], ptr: int, z: torch.Tensor, p: torch.Tensor
    ) -> int:
        for i in range(z.shape[0]):
            rows[(ptr + i) % len(rows)] = (z[i].clone(), p[i].clone())
        return (ptr + z.shape[0]) % len(rows)

    def step(self, t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        probs = aligned(self.hist, t["logits_u_w"], cfg.da_window)
        probs_orig = probs.clone()
        if all(r is not None for r in self.bank_rows):
            zk = torch.stack([r[0] for r in self.bank_rows if r is not None])
            pk = torch.stack([r[1] for r in self.bank_rows if r is not None])
            a = torch.exp(t["feats_u_w"] @ zk.T / cfg.temperature)
            probs = (
                cfg.alpha * probs + (1 - cfg.alpha) * (a / a.sum(1, keepdim=True)) @ pk
            )
        past = [r for r in self.q_rows if r is not None]
        q_self = probs @ probs.T
        q_self.fill_diagonal_(1)
        sim_self = torch.exp(t["feats_u_s0"] @ t["feats_u_s1"].T / cfg.temperature)
        q_cols, s_cols = [q_self], [sim_self]
        if past:
            m_feat = torch.stack([r[0] for r in past]).T  # [D, k] as the reference
            m_probs = torch.stack([r[1] for r in past]).T  # [C, k]
            q_cols.append(probs @ m_probs)
            s_cols.append(torch.exp(t["feats_u_s0"] @ m_feat / cfg.temperature))
        big_q, sim = torch.cat(q_cols, 1), torch.cat(s_cols, 1)
        self.q_ptr = self._push(self.q_rows, self.q_ptr, t["feats_u_s1"], probs)
        onehot = F.one_hot(t["y_x"], C).double()
        self.bank_ptr = self._push(
            self.bank_rows, self.bank_ptr,
            torch.cat([t["feats_u_w"], t["feats_x"]]), torch.cat([probs_orig, onehot]),
        )  # fmt: skip
        mask = (probs.max(1).values >= cfg.threshold).double()
        loss_x = F.cross_entropy(t["logits_x"], t["y_x"])
        loss_u = (-(F.log_softmax(t["logits_u_s0"], 1) * probs).sum(1) * mask).mean()
        pos = (big_q >= cfg.contrast_th).double()
        q_mask = big_q * pos
        q_mask = q_mask / q_mask.sum(1, keepdim=True)
        log_probs = torch.log(sim * pos / sim.sum(1, keepdim=True) + 1e-7) * pos
        loss_c = -(log_probs * q_mask).sum(1).mean()
        return loss_x + cfg.lambda_u * loss_u + cfg.lambda_c * loss_c, q_mask


def _config(**kw: object) -> CoMatchConfig:
    base = dict(batch_size=B, mu=MU, proj_dim=D, queue_batch=2, da_window=2, threshold=0.5,
                contrast_th=0.3, lambda_u=0.7, lambda_c=1.3, momentum_encoder=True,
                strong_queue_size=6)  # fmt: skip
    return CoMatchConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_extended_graphs_match_the_imagenet_reference_over_steps() -> None:
    cfg = _config()
    crit = CoMatchLoss(C, cfg).double()
    assert crit.strong_queue is not None and crit.strong_queue.size == 6
    ref = _ImageNetReference(cfg, crit.bank.size, 6)
    widths: list[int] = []
    smoothed: list[bool] = []
    for step in range(6):  # 4 rows per step into 6: the queue wraps from step 2
        t = _batch(step)
        s1 = t["feats_u_s1"].clone().requires_grad_()  # must not receive a gradient
        out = crit(**{**t, "feats_u_s1": s1})
        expected, q_ref = ref.step(t)
        assert out.graph is not None and out.graph.shape == q_ref.shape
        torch.testing.assert_close(out.graph, q_ref, rtol=1e-12, atol=1e-15)
        assert math.isclose(
            float(out.loss.detach()), float(expected.detach()), rel_tol=1e-10
        )
        wrt = [t["logits_u_s0"], t["feats_u_s0"]]
        g_ours = torch.autograd.grad(out.loss, wrt)
        g_ref = torch.autograd.grad(expected, wrt)
        for a, b in zip(g_ours, g_ref, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-12)
        unused = torch.autograd.grad(out.loss, [s1], allow_unused=True)
        assert unused[0] is None  # the strong1 rows are the momentum encoder's
        sq = crit.strong_queue
        assert int(sq.ptr) == ref.q_ptr == (BU * (step + 1)) % 6
        rows = [r for r in ref.q_rows if r is not None]
        torch.testing.assert_close(sq.columns()[0], torch.stack([r[0] for r in rows]))
        torch.testing.assert_close(sq.columns()[1], torch.stack([r[1] for r in rows]))
        widths.append(out.graph.shape[1])
        smoothed.append(out.smoothed)
    assert widths == [BU, BU + 4, BU + 6, BU + 6, BU + 6, BU + 6]
    assert smoothed == [False, False, True, True, True, True]  # bank of 12 rows
    # the queued columns carry edges: the case is not degenerate
    assert float((out.graph[:, BU:] > 0).sum()) > 0


@pytest.mark.parametrize("queue", [0, None])
def test_without_queued_columns_the_variant_is_the_plain_loss(
    queue: int | None,
) -> None:
    # queue 0: never any queued column; None: a queue, compared on its first (empty) step
    on = CoMatchLoss(C, _config(strong_queue_size=queue)).double()
    plain = CoMatchLoss(
        C, _config(momentum_encoder=False, strong_queue_size=None)
    ).double()
    assert (on.strong_queue is None) == (queue == 0) and plain.strong_queue is None
    for step in range(4 if queue == 0 else 1):
        t = _batch(step)
        a, b = on(**t), plain(**t)
        assert (
            torch.equal(a.loss, b.loss) and a.graph is not None and b.graph is not None
        )
        assert torch.equal(a.graph, b.graph) and torch.equal(a.probs, b.probs)
    assert set(plain.state_dict()) | {"strong_queue.feats", "strong_queue.probs",
        "strong_queue.ptr", "strong_queue.filled"} >= set(on.state_dict())  # fmt: skip


def test_no_queue_with_lambda_c_zero_and_errors() -> None:
    crit = CoMatchLoss(C, _config(lambda_c=0.0))
    assert crit.strong_queue is None  # the queue only feeds the graph loss
    small = CoMatchLoss(C, _config(mu=1, batch_size=3, strong_queue_size=3)).double()
    with pytest.raises(ValueError, match=r"'logits_u_w' parameter of CoMatchLoss must be "
                       r"at most the strong-view queue size 3 rows per global batch\. "
                       r"Got '4 rows'"):  # fmt: skip
        small(**_batch(0))  # the config's batch fits; this one has 4 unlabelled rows
    assert small.strong_queue is not None and int(small.strong_queue.filled) == 0
    assert int(small.bank.filled) == 0
    t = _batch(1)
    with pytest.raises(ValueError, match=r"'feats_u_s1' parameter.*proj_dim = 4"):
        CoMatchLoss(C, _config()).double()(
            **{**t, "feats_u_s1": torch.zeros(BU, D + 1, dtype=torch.float64)}
        )
