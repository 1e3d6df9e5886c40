"""The W-TALC "Thumos14reduced" loader on tiny fixtures written in that format."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from video.datasets import THUMOS14_CLASSES, load_thumos_reduced

CLASSES = ["BaseballPitch", "CliffDiving", "Diving"]


def _objects(items: Sequence[object]) -> np.ndarray:
    arr = np.empty(len(items), dtype=object)
    for i, it in enumerate(items):
        arr[i] = it
    return arr


def _write(root: Path, flat: bool = False, duration: bool = True) -> Path:
    """Three videos: two 'validation' (training) and one 'test', W-TALC's dtypes."""
    ann = root if flat else root / "Thumos14reduced-Annotations"
    ann.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    feats = _objects([rng.random((t, 6)).astype(np.float32) for t in (20, 12, 30)])
    np.save(root / "Thumos14reduced-I3D-JOINTFeatures.npy", feats)
    np.save(ann / "classlist.npy", np.array([c.encode() for c in CLASSES]))
    np.save(
        ann / "videoname.npy",
        np.array([b"video_validation_1", b"video_validation_2", b"video_test_1"]),
    )
    np.save(ann / "subset.npy", np.array([b"validation", b"validation", b"test"]))
    np.save(
        ann / "labels_all.npy",
        _objects([["Diving"], ["BaseballPitch", "CliffDiving"], ["CliffDiving"]]),
    )
    np.save(
        ann / "segments.npy",
        _objects([[[1.0, 4.5]], [[0.5, 2.0], [3.0, 6.0]], [[2.0, 5.0], [10.0, 12.5]]]),
    )
    np.save(
        ann / "labels.npy",
        _objects(
            [
                ["Diving"],
                ["BaseballPitch", "CliffDiving"],
                ["CliffDiving", "CliffDiving"],
            ]
        ),
    )
    if duration:
        np.save(ann / "duration.npy", np.array([13.0, 8.0, 19.5]))
    (ann / "Ambiguous_test.txt").write_text(
        "video_test_1  7.0  8.5\nvideo_test_999  1.0  2.0\n\nvideo_test_1 15.0 16.0\n"
    )
    return ann


def test_loads_wtalc_layout(tmp_path: Path) -> None:
    _write(tmp_path)
    d = load_thumos_reduced(tmp_path)
    assert d.names == ["video_validation_1", "video_validation_2", "video_test_1"]
    assert d.class_names == tuple(CLASSES) and d.snippet_rate == 25 / 16
    assert d.subset == ["validation", "validation", "test"]
    assert d.num_snippets == [20, 12, 30] and d.feature_dim == 6
    assert d.labels.tolist() == [[0, 0, 1], [1, 1, 0], [0, 1, 0]]
    assert d.segments[1].tolist() == [[0.5, 2.0, 0.0], [3.0, 6.0, 1.0]]
    assert d.durations == [13.0, 8.0, 19.5]
    assert d.ambiguous[2].tolist() == [[7.0, 8.5], [15.0, 16.0]]
    assert d.ambiguous[0].shape == (0, 2)
    train = d.split("validation")
    assert len(train) == 2 and len(d.split("test")) == 1


def test_loads_rskp_flat_layout_without_duration(tmp_path: Path) -> None:
    _write(tmp_path, flat=True, duration=False)
    d = load_thumos_reduced(tmp_path)
    assert d.durations == [20 * 16 / 25, 12 * 16 / 25, 30 * 16 / 25]
    assert torch.equal(
        d.features[2],
        torch.from_numpy(
            np.load(
                tmp_path / "Thumos14reduced-I3D-JOINTFeatures.npy", allow_pickle=True
            )[2]
        ),
    )


def test_thumos_class_list() -> None:
    assert len(THUMOS14_CLASSES) == 20 and list(THUMOS14_CLASSES) == sorted(
        THUMOS14_CLASSES
    )


@pytest.mark.parametrize(
    "name",
    [
        "classlist.npy",
        "videoname.npy",
        "subset.npy",
        "labels_all.npy",
        "segments.npy",
        "labels.npy",
    ],
)
def test_missing_file_is_named(tmp_path: Path, name: str) -> None:
    (_write(tmp_path) / name).unlink()
    with pytest.raises(FileNotFoundError, match=name):
        load_thumos_reduced(tmp_path)


def test_missing_features_file_is_named(tmp_path: Path) -> None:
    _write(tmp_path)
    (tmp_path / "Thumos14reduced-I3D-JOINTFeatures.npy").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"Thumos14reduced-I3D-JOINTFeatures.npy"
    ):
        load_thumos_reduced(tmp_path)


@pytest.mark.parametrize("name", ["segments.npy", "subset.npy"])
def test_corrupt_file_is_named(tmp_path: Path, name: str) -> None:
    (_write(tmp_path) / name).write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match=f"cannot read .*{name}"):
        load_thumos_reduced(tmp_path)


def test_wrong_number_of_entries(tmp_path: Path) -> None:
    ann = _write(tmp_path)
    np.save(ann / "subset.npy", np.array([b"validation", b"test"]))
    with pytest.raises(ValueError, match=r"subset.npy has 2 entries, expected 3"):
        load_thumos_reduced(tmp_path)


def test_unknown_class_is_named(tmp_path: Path) -> None:
    ann = _write(tmp_path)
    np.save(
        ann / "labels.npy",
        _objects(
            [["Diving"], ["BaseballPitch", "Golf"], ["CliffDiving", "CliffDiving"]]
        ),
    )
    with pytest.raises(ValueError, match=r"labels.npy names class 'Golf'"):
        load_thumos_reduced(tmp_path)
    np.save(ann / "labels_all.npy", _objects([["Diving"], ["Golf"], ["CliffDiving"]]))
    with pytest.raises(ValueError, match=r"labels_all.npy names class 'Golf'"):
        load_thumos_reduced(tmp_path)


def test_segments_outside_video_raise_or_clip(tmp_path: Path) -> None:
    ann = _write(tmp_path)
    segs = [[[1.0, 4.5]], [[0.5, 2.0], [3.0, 6.0]], [[19.0, 30.0], [21.0, 25.0]]]
    np.save(ann / "segments.npy", _objects(segs))
    with pytest.raises(
        ValueError, match=r"THUMOS14 reduced data under .*inside video 'video_test_1'"
    ):
        load_thumos_reduced(tmp_path)
    with pytest.warns(UserWarning, match=r"clipped 2 segment\(s\).*1 dropped"):
        d = load_thumos_reduced(tmp_path, clip_segments=True)
    assert d.segments[2].tolist() == [[19.0, 19.5, 1.0]]  # duration.npy says 19.5 s


def test_bad_ambiguous_line_is_named(tmp_path: Path) -> None:
    (_write(tmp_path) / "Ambiguous_test.txt").write_text("video_test_1 7.0 x\n")
    with pytest.raises(ValueError, match=r"Ambiguous_test.txt line 1"):
        load_thumos_reduced(tmp_path)


def test_reversed_segment_raises_even_when_clipping(tmp_path: Path) -> None:
    ann = _write(tmp_path)
    segs = [[[4.0, 1.0]], [[0.5, 2.0], [3.0, 6.0]], [[2.0, 5.0], [10.0, 12.5]]]
    np.save(ann / "segments.npy", _objects(segs))
    with pytest.raises(ValueError, match="0 <= start < end"):
        load_thumos_reduced(tmp_path, clip_segments=True)


@pytest.mark.parametrize(
    ("entry", "match"),
    [([[1.0, 2.0, 3.0]], r"must be \[S, 2\].*got shape \[1, 3\]"),
     ([["a", "b"]], "is not a list of")],
)  # fmt: skip
def test_malformed_segment_entry_is_named(
    tmp_path: Path, entry: list[object], match: str
) -> None:
    ann = _write(tmp_path)
    segs = np.load(ann / "segments.npy", allow_pickle=True)
    segs[0] = entry
    np.save(ann / "segments.npy", segs)
    with pytest.raises(ValueError, match=rf"segments\.npy entry of video \w+.*{match}"):
        load_thumos_reduced(tmp_path)


def test_ambiguous_line_without_video_name_and_single_prefix(tmp_path: Path) -> None:
    ann = _write(tmp_path)
    (ann / "Ambiguous_test.txt").write_text("1.0 2.0\n")
    with pytest.raises(ValueError, match="line 1 is not") as err:
        load_thumos_reduced(tmp_path)
    assert str(err.value).count("THUMOS14 reduced data") == 1
