"""Multi-threshold proposals and outer-inner contrast against a loop reference."""

from __future__ import annotations

import math

import pytest
import torch

from video.nms import batched_nms
from video.proposals import RSKP_THRESHOLDS, generate_proposals, localize


def _reference(
    cas: torch.Tensor, vs: torch.Tensor, rate: float, thresholds: list[float],
    class_threshold: float, min_length: int, rho: float, beta: float,
) -> set[tuple[float, float, float, int]]:  # fmt: skip
    """Loop version of the documented algorithm, rounded for set comparison."""
    out = set()
    T, C = cas.shape
    for c in range(C):
        if float(vs[c]) < class_threshold:
            continue
        h = cas[:, c].tolist()
        for g in thresholds:
            t = 0
            while t < T:
                if h[t] <= g:
                    t += 1
                    continue
                s = t
                while t < T and h[t] > g:
                    t += 1
                e = t
                if e - s < min_length:
                    continue
                m = math.ceil(rho * (e - s))
                flank = list(range(max(0, s - m), s)) + list(range(e, min(T, e + m)))
                outer = sum(h[i] for i in flank) / len(flank) if flank else 0.0
                score = sum(h[s:e]) / (e - s) - outer + beta * float(vs[c])
                out.add((round(s / rate, 6), round(e / rate, 6), round(score, 6), c))
    return out


def _as_set(p: torch.Tensor) -> set[tuple[float, float, float, int]]:
    return {
        (round(a, 6), round(b, 6), round(s, 6), int(c)) for a, b, s, c in p.tolist()
    }


def test_hand_case() -> None:
    cas = torch.zeros(12, 2)
    cas[3:7, 0] = 1.0
    cas[2, 0] = 0.2  # left flank of [3, 7) with ceil(0.25 * 4) = 1 snippet each side
    props = generate_proposals(
        cas, torch.tensor([0.9, 0.05]), snippet_rate=2.0, thresholds=[0.5]
    )
    assert props.dtype == torch.float64
    assert props.tolist() == [[1.5, 3.5, pytest.approx(1.0 - 0.1), 0.0]]
    # at threshold 0.1 the run grows to [2, 7): inner 4.2 / 5, flanks {0, 1, 7, 8} are 0
    props = generate_proposals(
        cas, torch.tensor([0.9, 0.05]), snippet_rate=2.0, thresholds=[0.1, 0.5]
    )
    assert _as_set(props) == {(1.5, 3.5, 0.9, 0), (1.0, 3.5, 0.84, 0)}


@pytest.mark.parametrize("seed", range(3))
def test_matches_loop_reference(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    cas = torch.rand(40, 4, generator=g, dtype=torch.float64) ** 2
    vs = torch.tensor([0.5, 0.05, 0.3, 0.2], dtype=torch.float64)
    thr = [0.1, 0.3, 0.5, 0.7]
    for rho, beta, min_len in [(0.25, 0.0, 2), (0.5, 0.2, 1), (0.0, 0.0, 3)]:
        got = generate_proposals(cas, vs, snippet_rate=1.5625, thresholds=thr, inflation=rho,
                                 video_score_weight=beta, min_length=min_len)  # fmt: skip
        want = _reference(cas, vs, 1.5625, thr, 0.1, min_len, rho, beta)
        assert _as_set(got) == want and len(want) > 5
        assert got.shape[0] == len(want)  # each (class, run) once


def test_attention_multiplies_the_curve(device: str) -> None:
    g = torch.Generator().manual_seed(1)
    cas = torch.rand(30, 3, generator=g)
    att = torch.rand(30, generator=g)
    vs = torch.ones(3)
    a = generate_proposals(
        cas.to(device), vs.to(device), snippet_rate=1.0, attention=att.to(device)
    )
    b = generate_proposals(cas * att[:, None], vs, snippet_rate=1.0)
    assert a.device.type == device
    assert torch.allclose(a.cpu(), b, atol=1e-6)


def test_class_threshold_and_touching_the_edges() -> None:
    cas = torch.ones(6, 2)
    props = generate_proposals(
        cas, torch.tensor([0.2, 0.09]), snippet_rate=1.0, thresholds=[0.5]
    )
    # the whole video is one run with no flank: score = inner = 1; class 1 rejected
    assert props.tolist() == [[0.0, 6.0, 1.0, 0.0]]
    none = generate_proposals(cas, torch.tensor([0.01, 0.01]), snippet_rate=1.0)
    assert none.shape == (0, 4)


def test_localize_is_proposals_then_batched_nms() -> None:
    g = torch.Generator().manual_seed(2)
    cas = torch.rand(50, 3, generator=g).cumsum(0).sin().abs()
    vs = torch.tensor([0.5, 0.5, 0.5])
    props = generate_proposals(cas, vs, snippet_rate=1.0, thresholds=[0.2, 0.5, 0.8])
    dets = localize(
        cas, vs, snippet_rate=1.0, thresholds=[0.2, 0.5, 0.8], iou_threshold=0.5
    )
    keep = batched_nms(props[:, :2], props[:, 2], props[:, 3], 0.5)
    assert torch.equal(dets, props[keep]) and dets.shape[0] < props.shape[0]
    assert (
        len(RSKP_THRESHOLDS) == 20
        and RSKP_THRESHOLDS[0] == 0.001
        and RSKP_THRESHOLDS[-1] == 0.039
    )


def test_bad_input() -> None:
    cas, vs = torch.rand(10, 3), torch.rand(3)
    with pytest.raises(ValueError, match=r"'cas'.*T >= 2"):
        generate_proposals(torch.rand(1, 3), vs, snippet_rate=1.0)
    with pytest.raises(ValueError, match=r"'video_scores'.*C = 3"):
        generate_proposals(cas, torch.rand(4), snippet_rate=1.0)
    with pytest.raises(ValueError, match=r"'attention'.*T = 10"):
        generate_proposals(cas, vs, snippet_rate=1.0, attention=torch.rand(9))
    with pytest.raises(ValueError, match=r"'cas'.*finite"):
        generate_proposals(torch.full((10, 3), float("nan")), vs, snippet_rate=1.0)
    with pytest.raises(ValueError, match=r"'snippet_rate'"):
        generate_proposals(cas, vs, snippet_rate=0.0)
    with pytest.raises(ValueError, match=r"'thresholds'"):
        generate_proposals(cas, vs, snippet_rate=1.0, thresholds=[])
    with pytest.raises(ValueError, match=r"'inflation'"):
        generate_proposals(cas, vs, snippet_rate=1.0, inflation=-0.1)
    with pytest.raises(ValueError, match=r"'iou_threshold'"):
        localize(cas, vs, snippet_rate=1.0, iou_threshold=2.0)
