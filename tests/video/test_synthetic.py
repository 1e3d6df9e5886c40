"""The seeded synthetic video generator and the fixed benchmark."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from video.datasets import make_synthetic_benchmark, make_synthetic_videos

KW: dict[str, Any] = {"num_classes": 4, "feature_dim": 16, "min_len": 30, "max_len": 60}


def _snippet_labels(d: object, i: int) -> torch.Tensor:
    """``[T]`` class of every snippet (-1 background) from the segments in seconds."""
    from video.datasets import VideoDataset

    assert isinstance(d, VideoDataset)
    y = torch.full((d.num_snippets[i],), -1)
    for s, e, c in d.segments[i].tolist():
        y[round(s * d.snippet_rate) : round(e * d.snippet_rate)] = int(c)
    return y


def test_seeded_and_well_formed() -> None:
    a = make_synthetic_videos(12, seed=3, **KW)
    b = make_synthetic_videos(12, seed=3, **KW)
    c = make_synthetic_videos(12, seed=4, **KW)
    assert all(torch.equal(x, y) for x, y in zip(a.features, b.features, strict=True))
    assert not torch.equal(a.features[0][:5], c.features[0][:5])
    assert a.feature_dim == 16 and a.num_classes == 4 and a.snippet_rate == 25 / 16
    for i in range(len(a)):
        seg = a.segments[i]
        assert 30 <= a.num_snippets[i] <= 60 and 1 <= seg.shape[0] <= 3
        # labels are exactly the segment classes; segments sorted and disjoint
        assert set(torch.nonzero(a.labels[i]).flatten().tolist()) == {
            int(k) for k in seg[:, 2]
        }
        assert bool((seg[1:, 0] >= seg[:-1, 1]).all())
        assert float(seg[:, 1].max()) <= a.durations[i] + 1e-9
        # segment bounds fall on snippet boundaries
        idx = seg[:, :2] * a.snippet_rate
        assert torch.allclose(idx, idx.round(), atol=1e-9)


def test_boundary_snippets_are_weaker_than_the_middle() -> None:
    d = make_synthetic_videos(60, seed=0, context=0.0, **KW)
    bg = torch.cat(
        [d.features[i][_snippet_labels(d, i) < 0] for i in range(len(d))]
    ).mean(0)
    first, middle = [], []
    for i in range(len(d)):
        for s, e, c in d.segments[i].tolist():
            a, b = round(s * d.snippet_rate), round(e * d.snippet_rate)
            first.append((int(c), d.features[i][a] - bg))
            middle.append((int(c), d.features[i][(a + b) // 2] - bg))
    for c in range(4):
        proto = torch.stack([f for k, f in middle if k == c]).mean(0)
        proto = proto / proto.norm()
        mid = torch.stack([f @ proto for k, f in middle if k == c]).mean()
        edge = torch.stack([f @ proto for k, f in first if k == c]).mean()
        assert edge < 0.6 * mid


def test_context_only_touches_background() -> None:
    plain = make_synthetic_videos(20, seed=1, context=0.0, max_actions=1, **KW)
    ctx = make_synthetic_videos(20, seed=1, context=2.0, max_actions=1, **KW)
    changed = 0
    for i in range(len(plain)):
        diff = (ctx.features[i] - plain.features[i]).norm(dim=1) > 1e-5
        inside = _snippet_labels(plain, i) >= 0
        assert not bool((diff & inside).any())
        changed += int(diff.sum())
    assert changed > 0


def test_shared_world_between_seeds() -> None:
    # the class means of two sets drawn with different video seeds agree (same world)
    sets = [
        make_synthetic_videos(80, seed=s, world_seed=5, context=0.0, **KW)
        for s in (0, 1)
    ]
    means = []
    for d in sets:
        rows = [d.features[i][_snippet_labels(d, i) == 0] for i in range(len(d))]
        means.append(torch.cat(rows).mean(0))
    other = make_synthetic_videos(80, seed=0, world_seed=6, context=0.0, **KW)
    rows = [
        other.features[i][_snippet_labels(other, i) == 0] for i in range(len(other))
    ]
    cos = torch.nn.functional.cosine_similarity
    assert cos(means[0], means[1], dim=0) > 0.9
    assert cos(means[0], torch.cat(rows).mean(0), dim=0) < cos(
        means[0], means[1], dim=0
    )


def test_benchmark_is_fixed() -> None:
    train, test = make_synthetic_benchmark()
    assert len(train) == 240 and len(test) == 120
    assert set(train.subset) == {"train"} and set(test.subset) == {"test"}
    assert train.num_classes == 10 and train.feature_dim == 64
    assert int(train.class_counts().min()) > 0  # every class can be learnt
    # the test videos are new videos of the same world
    assert not torch.equal(train.features[0][:10], test.features[0][:10])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"num_videos": 0}, "'num_videos'"),
        ({"max_len": 10}, "'max_len'"),
        ({"min_len": 10, "max_actions": 3}, "'min_len'"),
        ({"noise": -1.0}, "'noise'"),
        ({"drift": -0.1}, "'drift'"),
        ({"snippet_rate": 0.0}, "'snippet_rate'"),
    ],
)
def test_bad_input(kw: dict[str, object], match: str) -> None:
    args = {"num_videos": 2, **kw}
    with pytest.raises(ValueError, match=match):
        make_synthetic_videos(**args)  # type: ignore[arg-type]
