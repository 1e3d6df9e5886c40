"""VideoDataset validation, split/select, and pad_videos."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from video.datasets import VideoDataset, pad_videos


def _data(**over: Any) -> VideoDataset:
    kw: dict[str, Any] = {
        "features": [torch.randn(10, 4), torch.randn(6, 4), torch.randn(8, 4)],
        "labels": torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        "segments": [
            torch.tensor([[1.0, 3.0, 0.0]]),
            torch.zeros(0, 3),
            torch.tensor([[0.0, 1.0, 1.0], [2.0, 4.0, 0.0]]),
        ],
        "names": ["a", "b", "c"],
        "class_names": ("jump", "run"),
        "subset": ["train", "test", "train"],
        "snippet_rate": 2.0,
    }
    kw.update(over)
    return VideoDataset(**kw)


def test_properties_and_dtypes() -> None:
    d = _data(features=[torch.randn(10, 4, dtype=torch.float64), *_data().features[1:]])
    assert len(d) == 3 and d.num_classes == 2 and d.feature_dim == 4
    assert d.num_snippets == [10, 6, 8]
    assert d.durations == [5.0, 3.0, 4.0]  # T / snippet_rate
    assert all(x.dtype == torch.float32 for x in d.features)
    assert all(s.dtype == torch.float64 and s.shape[1] == 3 for s in d.segments)
    assert all(a.shape == (0, 2) for a in d.ambiguous)
    assert d.class_counts().tolist() == [2, 2]
    assert "videos=3" in repr(d) and "'train': 2" in repr(d)


def test_split_and_select_keep_rows_together() -> None:
    d = _data()
    tr = d.split("train")
    assert tr.names == ["a", "c"] and tr.subset == ["train", "train"]
    assert torch.equal(tr.labels, d.labels[[0, 2]])
    assert torch.equal(tr.features[1], d.features[2])
    assert torch.equal(tr.segments[1], d.segments[2])
    sel = d.select(torch.tensor([2, 1]))
    assert sel.names == ["c", "b"] and sel.durations == [4.0, 3.0]
    with pytest.raises(ValueError, match=r"'subset_name'.*one of 'train', 'test'"):
        d.split("val")
    with pytest.raises(ValueError, match=r"'indices'"):
        d.select([5])
    with pytest.raises(ValueError, match=r"'indices'"):
        d.select([])


@pytest.mark.parametrize(
    ("over", "exc", "match"),
    [
        (
            {"features": [torch.randn(1, 4)] + [torch.randn(6, 4)] * 2},
            ValueError,
            "at least 2 snippets",
        ),
        (
            {"features": [torch.zeros(0, 4)] + [torch.randn(6, 4)] * 2},
            ValueError,
            "at least 2 snippets",
        ),
        ({"features": []}, ValueError, "at least one video"),
        ({"labels": torch.ones(3, 3)}, ValueError, r"\[V, C\] = \[3, 2\]"),
        ({"labels": torch.full((3, 2), 0.5)}, ValueError, "multi-hot"),
        (
            {"features": [torch.full((10, 4), float("nan"))] + [torch.randn(6, 4)] * 2},
            ValueError,
            "finite",
        ),
        (
            {"features": [torch.randn(10, 4), torch.randn(6, 5), torch.randn(8, 4)]},
            ValueError,
            "dimension D = 4",
        ),
        (
            {
                "features": [torch.ones(10, 4, dtype=torch.long)]
                + [torch.randn(6, 4)] * 2
            },
            TypeError,
            "floating-point",
        ),
        (
            {
                "segments": [
                    torch.tensor([[1.0, 6.0, 0.0]]),
                    torch.zeros(0, 3),
                    torch.zeros(0, 3),
                ]
            },
            ValueError,
            "inside video 'a'",
        ),
        (
            {
                "segments": [
                    torch.tensor([[-1.0, 2.0, 0.0]]),
                    torch.zeros(0, 3),
                    torch.zeros(0, 3),
                ]
            },
            ValueError,
            "0 <= start < end",
        ),
        (
            {
                "segments": [
                    torch.tensor([[3.0, 2.0, 0.0]]),
                    torch.zeros(0, 3),
                    torch.zeros(0, 3),
                ]
            },
            ValueError,
            "0 <= start < end",
        ),
        (
            {
                "segments": [
                    torch.tensor([[1.0, 2.0, 1.0]]),
                    torch.zeros(0, 3),
                    torch.zeros(0, 3),
                ]
            },
            ValueError,
            r"classes \[1\] in video 'a'",
        ),
        (
            {
                "segments": [
                    torch.tensor([[1.0, 2.0, 7.0]]),
                    torch.zeros(0, 3),
                    torch.zeros(0, 3),
                ]
            },
            ValueError,
            r"class ids in 0\.\.1",
        ),
        ({"names": ["a", "a", "c"]}, ValueError, "unique"),
        ({"subset": ["train"]}, ValueError, "'subset'.*3 entries"),
        ({"snippet_rate": 0.0}, ValueError, "'snippet_rate'"),
        ({"durations": [1.0]}, ValueError, "'durations'"),
        ({"durations": [5.0, 0.0, 4.0]}, ValueError, "positive finite"),
        (
            {"ambiguous": [torch.zeros(1, 3)] * 3},
            ValueError,
            r"'ambiguous\[0\]'.*\[A, 2\]",
        ),
    ],
)
def test_bad_input(over: dict[str, Any], exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        _data(**over)


def test_annotation_end_slack_is_one_snippet() -> None:
    # video 'a' lasts 5 s at 2 snippets/s; an end at 5.5 s lies in the last half-second
    ok = _data(
        segments=[torch.tensor([[1.0, 5.5, 0.0]]), torch.zeros(0, 3), torch.zeros(0, 3)]
    )
    assert float(ok.segments[0][0, 1]) == 5.5
    with pytest.raises(ValueError, match=r"inside video"):
        _data(
            segments=[
                torch.tensor([[1.0, 5.51, 0.0]]),
                torch.zeros(0, 3),
                torch.zeros(0, 3),
            ]
        )


def test_class_without_training_video_warns() -> None:
    d = _data(labels=torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]),
              segments=[torch.zeros(0, 3)] * 3)  # fmt: skip
    with pytest.warns(UserWarning, match=r"no training video.*\['run'\]"):
        d.check_training_classes()


def test_pad_videos_matches_inputs(device: str) -> None:
    feats = [torch.randn(5, 3, device=device), torch.randn(2, 3, device=device)]
    x, mask = pad_videos(feats)
    assert x.shape == (2, 5, 3) and x.device.type == device
    assert mask.tolist() == [[True] * 5, [True, True, False, False, False]]
    assert torch.equal(x[1, :2], feats[1]) and bool((x[1, 2:] == 0).all())
    with pytest.raises(ValueError, match=r"'features\[1\]'.*\[T, 3\]"):
        pad_videos([torch.randn(5, 3), torch.randn(2, 4)])
    with pytest.raises(ValueError, match=r"non-empty"):
        pad_videos([])


def test_segments_beyond_the_features_raise_even_within_the_duration() -> None:
    # video 'a' has 10 snippets at 2/s (5 s of features) but claims 500 s: a segment
    # at 100 s could never be detected, and the likely cause is a wrong snippet_rate
    segs = [torch.tensor([[100.0, 110.0, 0.0]]), torch.zeros(0, 3), torch.zeros(0, 3)]
    with pytest.raises(
        ValueError, match=r"cover 5\.000 s of its 500\.000 s.*snippet_rate"
    ):
        _data(segments=segs, durations=[500.0, 3.0, 4.0])
    # inside the features (plus the one-snippet slack) the long duration is fine
    ok = _data(
        segments=[
            torch.tensor([[1.0, 5.5, 0.0]]),
            torch.zeros(0, 3),
            torch.zeros(0, 3),
        ],
        durations=[500.0, 3.0, 4.0],
    )
    assert ok.durations[0] == 500.0


@pytest.mark.parametrize(
    ("over", "exc", "match"),
    [
        ({"class_names": ("jump", "jump")}, ValueError, "unique names"),
        ({"class_names": "jr"}, TypeError, "'class_names'.*sequence.*str"),
        ({"class_names": (), "labels": torch.zeros(3, 0)}, ValueError, "at least one"),
        ({"features": None}, TypeError, "'features'.*list.*NoneType"),
        ({"segments": None}, TypeError, "'segments'.*list.*NoneType"),
        ({"names": None}, TypeError, "'names'.*list.*NoneType"),
        (
            {"ambiguous": [torch.tensor([[3.0, 1.0]])] + [torch.zeros(0, 2)] * 2},
            ValueError,
            r"'ambiguous\[0\]'.*start <= end",
        ),
    ],
)
def test_more_bad_input(over: dict[str, Any], exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        _data(**over)


def test_select_takes_a_bool_mask() -> None:
    d = _data()
    sel = d.select(torch.tensor([True, False, True]))
    assert sel.names == ["a", "c"]
    with pytest.raises(ValueError, match=r"\[3\] bool mask"):
        d.select(torch.tensor([True, False]))
