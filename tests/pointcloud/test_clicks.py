"""Tests for pointcloud.clicks: click simulation, validation, super-voxel labels, files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pointcloud.clicks import (
    click_labels,
    one_click_per_instance,
    read_clicks,
    validate_clicks,
    warn_missing_classes,
    write_clicks,
)


def _toy() -> tuple[torch.Tensor, torch.Tensor]:
    instances = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, -1, 3])
    labels = torch.tensor([5, 5, 5, 1, 1, 5, 5, 5, 2, -1])
    return instances, labels


def test_one_click_per_instance() -> None:
    instances, labels = _toy()
    idx, cls = one_click_per_instance(instances, labels, seed=0)
    # Instances 0, 1, 2 have labelled points; -1 and the unlabelled instance 3 do not.
    assert instances[idx].tolist() == [0, 1, 2]
    assert torch.equal(cls, labels[idx])
    assert idx.dtype == torch.int64 and cls.dtype == torch.int64
    again = one_click_per_instance(instances, labels, seed=0)
    assert torch.equal(again[0], idx)
    draws = {
        tuple(one_click_per_instance(instances, labels, seed=s)[0].tolist())
        for s in range(20)
    }
    assert len(draws) > 1  # the seed changes the clicked points


def test_validate_clicks_accepts_and_rejects() -> None:
    idx, _ = validate_clicks(
        torch.tensor([0, 9], dtype=torch.int32), torch.tensor([1, 0]), 10, 2
    )
    assert idx.dtype == torch.int64 and idx.tolist() == [0, 9]
    cases = [
        (
            (torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long)),
            ValueError,
            "at least one click",
        ),
        (
            (torch.tensor([10]), torch.tensor([0])),
            ValueError,
            r"point indices in 0\.\.9. Got \[10\]",
        ),
        ((torch.tensor([-1]), torch.tensor([0])), ValueError, "point indices"),
        (
            (torch.tensor([1]), torch.tensor([2])),
            ValueError,
            r"classes in 0\.\.1. Got \[2\]",
        ),
        ((torch.tensor([1]), torch.tensor([-1])), ValueError, "classes in"),
        ((torch.tensor([1, 2]), torch.tensor([0])), ValueError, "one per click"),
        ((torch.tensor([1.0]), torch.tensor([0])), TypeError, "'idx' parameter"),
    ]
    for args, err, match in cases:
        with pytest.raises(err, match=match):
            validate_clicks(*args, 10, 2)


def test_click_labels_label_only_clicked_supervoxels() -> None:
    seg = torch.tensor([0, 0, 1, 1, 2, 2, 3])
    out = click_labels(seg, torch.tensor([1, 6]), torch.tensor([4, 2]), 5)
    assert out.tolist() == [4, -1, -1, 2, -1]


def test_conflicting_clicks_majority_then_first() -> None:
    seg = torch.tensor([0, 0, 0, 1, 1])
    with pytest.warns(
        UserWarning, match="2 super-voxels were clicked with different classes"
    ):
        # super-voxel 0: classes 3, 1, 1 -> majority 1; super-voxel 1: 2 then 0 -> tie, first
        out = click_labels(
            seg, torch.tensor([0, 1, 2, 4, 3]), torch.tensor([3, 1, 1, 2, 0]), 2
        )
    assert out.tolist() == [1, 2]


def test_click_labels_bad_input() -> None:
    seg = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="at least one click"):
        click_labels(
            seg,
            torch.tensor([], dtype=torch.long),
            torch.tensor([], dtype=torch.long),
            2,
        )
    with pytest.raises(ValueError, match="point indices"):
        click_labels(seg, torch.tensor([5]), torch.tensor([0]), 2)
    with pytest.raises(ValueError, match="classes in"):
        click_labels(seg, torch.tensor([0]), torch.tensor([-3]), 2)
    with pytest.raises(ValueError, match="ids below num_segments=1"):
        click_labels(seg, torch.tensor([0]), torch.tensor([0]), 1)


def test_warn_missing_classes() -> None:
    with pytest.warns(UserWarning, match=r"2 of 4 classes have no click \(\[1, 3\]\)"):
        assert warn_missing_classes(torch.tensor([0, 2, 2]), 4) == [1, 3]
    with pytest.raises(ValueError, match=r"classes in 0\.\.3"):
        warn_missing_classes(torch.tensor([0, 4]), 4)


@pytest.mark.parametrize("name", ["clicks.txt", "clicks.json"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    idx, cls = torch.tensor([5, 0, 123]), torch.tensor([2, 0, 7])
    write_clicks(tmp_path / name, idx, cls)
    got = read_clicks(tmp_path / name)
    assert torch.equal(got[0], idx) and torch.equal(got[1], cls)


def test_read_text_with_comments_commas_and_names(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("# index class\n3, 1\n\n 7 chair  # a chair\n")
    idx, cls = read_clicks(path, class_names=["floor", "wall", "chair"])
    assert idx.tolist() == [3, 7] and cls.tolist() == [1, 2]


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("bad.txt", "1 2\n3\n", r"bad\.txt', line 2: '3' \(expected 2 fields"),
        ("bad.txt", "1 2\nx 4\n", r"bad\.txt', line 2"),
        ("bad.txt", "1 sofa\n", r"bad\.txt', line 1"),
        ("bad.json", '{"clicks": [[1, 2], [3]]}', r"Corrupt clicks file '.*bad\.json'"),
        ("bad.json", "[[1, 2", r"Corrupt clicks file '.*bad\.json'"),
        ("bad.json", '{"points": []}', r"Corrupt clicks file '.*bad\.json'"),
    ],
)
def test_corrupt_files_name_the_file(
    tmp_path: Path, name: str, text: str, match: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=match):
        read_clicks(tmp_path / name, class_names=["floor"])


def test_binary_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ValueError, match=r"b\.txt' is not UTF-8"):
        read_clicks(tmp_path / "b.txt")
    with pytest.raises(FileNotFoundError):
        read_clicks(tmp_path / "none.txt")
