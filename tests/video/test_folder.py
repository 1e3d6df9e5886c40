"""The folder format: one .npy per video plus annotations.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from video.datasets import (
    VideoDataset,
    load_video_folder,
    make_synthetic_videos,
    save_video_folder,
)


def _small() -> VideoDataset:
    d = make_synthetic_videos(
        5, num_classes=3, feature_dim=8, min_len=20, max_len=40, seed=2
    )
    return VideoDataset(
        features=d.features,
        labels=d.labels,
        segments=d.segments,
        names=d.names,
        class_names=d.class_names,
        subset=["train", "train", "train", "test", "test"],
        snippet_rate=d.snippet_rate,
        ambiguous=[torch.zeros(0, 2)] * 4
        + [torch.tensor([[1.0, 2.0]], dtype=torch.float64)],
    )


def test_round_trip(tmp_path: Path) -> None:
    d = _small()
    save_video_folder(d, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(f"{n}.npy" for n in d.names), "annotations.json"]
    )
    back = load_video_folder(tmp_path)
    assert back.names == d.names and back.subset == d.subset
    assert back.class_names == d.class_names and back.snippet_rate == d.snippet_rate
    assert torch.equal(back.labels, d.labels) and back.durations == d.durations
    for a, b in zip(back.features, d.features, strict=True):
        assert torch.equal(a, b)
    for a, b in zip(back.segments, d.segments, strict=True):
        assert torch.equal(a, b)
    assert back.ambiguous[4].tolist() == [[1.0, 2.0]]


def test_hand_written_folder(tmp_path: Path) -> None:
    np.save(tmp_path / "v1.npy", np.zeros((8, 3), dtype=np.float64))
    doc = {
        "class_names": ["jump", "run"],
        "snippet_rate": 2.0,
        "videos": {
            "v1": {
                "subset": "train",
                "labels": ["run"],
                "segments": [[0.5, 2.0, "run"]],
            }
        },
    }
    (tmp_path / "annotations.json").write_text(json.dumps(doc))
    (tmp_path / "unlisted.npy").write_bytes(b"ignored")
    d = load_video_folder(tmp_path)
    assert d.labels.tolist() == [[0.0, 1.0]] and d.durations == [4.0]
    assert (
        d.segments[0].tolist() == [[0.5, 2.0, 1.0]]
        and d.features[0].dtype == torch.float32
    )


def _prepare(tmp_path: Path) -> dict[str, object]:
    save_video_folder(_small(), tmp_path)
    doc: dict[str, object] = json.loads((tmp_path / "annotations.json").read_text())
    return doc


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"annotations.json"):
        load_video_folder(tmp_path)
    _prepare(tmp_path)
    (tmp_path / "train_0002.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"train_0002.npy"):
        load_video_folder(tmp_path)


def test_corrupt_files_are_named(tmp_path: Path) -> None:
    _prepare(tmp_path)
    (tmp_path / "train_0001.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match=r"train_0001.npy: cannot read"):
        load_video_folder(tmp_path)
    np.save(tmp_path / "train_0001.npy", np.zeros(5))
    with pytest.raises(
        ValueError, match=r"train_0001.npy: features must be a 2-D float array"
    ):
        load_video_folder(tmp_path)
    (tmp_path / "annotations.json").write_text("{broken")
    with pytest.raises(
        ValueError, match=r"annotations.json: not a valid annotation file"
    ):
        load_video_folder(tmp_path)


def test_bad_entries(tmp_path: Path) -> None:
    doc = _prepare(tmp_path)
    videos = doc["videos"]
    assert isinstance(videos, dict)
    videos["train_0000"]["labels"] = ["nope"]
    (tmp_path / "annotations.json").write_text(json.dumps(doc))
    with pytest.raises(
        ValueError, match=r"annotations.json: video 'train_0000': unknown class"
    ):
        load_video_folder(tmp_path)
    videos["train_0000"]["labels"] = []  # its segments' classes are now missing
    (tmp_path / "annotations.json").write_text(json.dumps(doc))
    with pytest.raises(
        ValueError, match=r"Video folder .*segment classes among the video's labels"
    ):
        load_video_folder(tmp_path)
    doc["snippet_rate"] = 0
    (tmp_path / "annotations.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"snippet_rate must be positive"):
        load_video_folder(tmp_path)


def test_unsafe_names_are_refused(tmp_path: Path) -> None:
    d = _small()
    bad = VideoDataset(
        features=d.features[:1], labels=d.labels[:1], segments=d.segments[:1],
        names=["../escape"], class_names=d.class_names, subset=["train"],
        snippet_rate=d.snippet_rate,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"usable as file names"):
        save_video_folder(bad, tmp_path)


@pytest.mark.parametrize("duration", ["x", None])
def test_bad_duration_is_named(tmp_path: Path, duration: object) -> None:
    doc = _prepare(tmp_path)
    videos = doc["videos"]
    assert isinstance(videos, dict)
    videos["train_0001"]["duration"] = duration
    (tmp_path / "annotations.json").write_text(json.dumps(doc))
    with pytest.raises(
        ValueError, match=r"annotations.json: video 'train_0001': malformed 'duration'"
    ):
        load_video_folder(tmp_path)
