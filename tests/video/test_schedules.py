"""Learning-rate schedules: constant, step, cosine."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from video.schedules import LRSchedule


def test_constant() -> None:
    s = LRSchedule("constant", lr=0.1)
    assert s(0) == s(57.3) == 0.1


def test_step_reference_defaults() -> None:
    s = LRSchedule("step", lr=1.0)  # milestones (80, 1000), gamma 0.2
    assert s(79.9) == 1.0
    assert s(80) == pytest.approx(0.2)
    assert s(1000) == pytest.approx(0.04)


def test_cosine_with_warmup() -> None:
    s = LRSchedule("cosine", lr=1.0, total_epochs=10, warmup_epochs=2, min_lr=0.1)
    assert s(0) == 0.0
    assert s(1) == pytest.approx(0.5)
    assert s(2) == pytest.approx(1.0)
    assert s(6) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert s(10) == pytest.approx(0.1)
    assert s(12) == pytest.approx(0.1)
    vals = [s(e / 4) for e in range(8, 41)]
    assert all(a >= b for a, b in itertools.pairwise(vals))


def test_apply_sets_every_group() -> None:
    p1, p2 = torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))
    groups: list[dict[str, object]] = [{"params": [p1]}, {"params": [p2], "lr": 5.0}]
    opt = torch.optim.SGD(groups, lr=1.0)
    lr = LRSchedule("cosine", lr=2.0, total_epochs=4).apply(opt, 2.0)
    assert lr == pytest.approx(1.0)
    assert [g["lr"] for g in opt.param_groups] == [lr, lr]


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"'kind' parameter of LRSchedule"):
        LRSchedule("linear")
    with pytest.raises(ValueError, match=r"'lr' parameter"):
        LRSchedule(lr=0.0)
    with pytest.raises(ValueError, match=r"'warmup_epochs' parameter"):
        LRSchedule("cosine", total_epochs=5, warmup_epochs=6)
