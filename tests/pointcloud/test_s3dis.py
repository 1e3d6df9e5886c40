"""Tests for pointcloud.datasets.s3dis on tiny rooms written in S3DIS's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pointcloud.datasets import (
    S3DIS_CLASSES,
    iter_s3dis_rooms,
    load_s3dis_room,
    read_s3dis_object,
)

# file stem -> number of points; files are listed in natural order (wall_2 < wall_10).
OBJECTS = {"chair_1": 3, "chair_2": 2, "stairs_1": 1, "table_1": 4, "wall_10": 2,
           "wall_2": 5}  # fmt: skip
ORDER = ["chair_1", "chair_2", "stairs_1", "table_1", "wall_2", "wall_10"]


def _write_room(root: Path, area: int = 1, room: str = "office_1") -> Path:
    d = root / f"Area_{area}" / room
    (d / "Annotations").mkdir(parents=True)
    for k, (stem, n) in enumerate(OBJECTS.items()):
        rows = [
            f"{k + 0.5 * i:.3f} {i:.3f} {2.5 - i:.3f} {10 * k} {255 - i} {i}"
            for i in range(n)
        ]
        (d / "Annotations" / f"{stem}.txt").write_text("\n".join(rows) + "\n")
    # The whole-room file next to Annotations/ is not read.
    (d / f"{room}.txt").write_text("garbage that would fail to parse\n")
    return d


def test_load_room(tmp_path: Path) -> None:
    s = load_s3dis_room(_write_room(tmp_path))
    assert s.name == "Area_1/office_1"
    assert s.class_names == S3DIS_CLASSES
    assert s.num_points == sum(OBJECTS.values())
    assert s.labels is not None and s.instances is not None and s.colors is not None
    want_labels, want_inst = [], []
    for i, stem in enumerate(ORDER):
        cls = stem.split("_")[0].replace("stairs", "clutter")
        want_labels += [S3DIS_CLASSES.index(cls)] * OBJECTS[stem]
        want_inst += [i] * OBJECTS[stem]
    assert s.labels.tolist() == want_labels
    assert s.instances.tolist() == want_inst
    # First point of wall_2 (the 5th file): x = index in OBJECTS (5) + 0.
    start = sum(OBJECTS[k] for k in ORDER[:4])
    assert s.points[start].tolist() == [5.0, 0.0, 2.5]
    assert torch.allclose(s.colors[start], torch.tensor([50.0, 255.0, 0.0]) / 255)


def test_read_object(tmp_path: Path) -> None:
    path = tmp_path / "board_1.txt"
    path.write_text("1 2 3 4 5 6\n7 8 9 10 11 12\n")
    np.testing.assert_array_equal(
        read_s3dis_object(path), np.arange(1, 13, dtype=float).reshape(2, 6)
    )


def test_iterate_areas(tmp_path: Path) -> None:
    _write_room(tmp_path, 1, "office_2")
    _write_room(tmp_path, 1, "hallway_1")
    _write_room(tmp_path, 10, "lobby_1")
    _write_room(tmp_path, 2, "WC_1")
    (tmp_path / "Area_2" / "empty_room").mkdir()  # no Annotations: skipped
    names = [s.name for s in iter_s3dis_rooms(tmp_path)]
    assert names == ["Area_1/hallway_1", "Area_1/office_2", "Area_2/WC_1",
                     "Area_10/lobby_1"]  # fmt: skip
    assert [s.name for s in iter_s3dis_rooms(tmp_path, areas=[2])] == ["Area_2/WC_1"]
    with pytest.raises(FileNotFoundError, match="Area_5"):
        list(iter_s3dis_rooms(tmp_path, areas=[5]))
    with pytest.raises(ValueError, match="'areas' parameter of iter_s3dis_rooms"):
        list(iter_s3dis_rooms(tmp_path, areas=[0]))
    with pytest.raises(FileNotFoundError, match="no folder"):
        list(iter_s3dis_rooms(tmp_path / "nowhere"))


def test_errors_name_the_file(tmp_path: Path) -> None:
    d = _write_room(tmp_path)
    table = d / "Annotations" / "table_1.txt"
    good = table.read_text()
    # The original release has a line like this one (a stray byte in a number).
    table.write_text(good + "1.0 2.0 3.0 4\x10 5 6\n")
    with pytest.raises(ValueError, match=r"table_1\.txt.*line 5 is not numeric"):
        load_s3dis_room(d)
    table.write_text(good + "1.0 2.0 3.0 4 5\n")
    with pytest.raises(ValueError, match=r"table_1\.txt.*line 5 has 5 values, not 6"):
        load_s3dis_room(d)
    table.write_text("1 2 3 4 5\n" * 3)
    with pytest.raises(ValueError, match=r"table_1\.txt.*5 values per line, not 6"):
        load_s3dis_room(d)
    table.write_text(good + "1.0 2.0 3.0 4 5 300\n")
    with pytest.raises(ValueError, match=r"table_1\.txt.*colours outside 0\.\.255"):
        load_s3dis_room(d)
    table.write_text(good)
    (d / "Annotations" / "lamp_1.txt").write_text("0 0 0 1 1 1\n")
    with pytest.raises(ValueError, match=r"lamp_1\.txt.*S3DIS_CLASSES"):
        load_s3dis_room(d)
    with pytest.raises(FileNotFoundError, match="Annotations"):
        load_s3dis_room(tmp_path)


def test_nan_coordinates_are_refused(tmp_path: Path) -> None:
    d = _write_room(tmp_path)
    (d / "Annotations" / "chair_1.txt").write_text("nan 0 0 1 1 1\n")
    with pytest.raises(ValueError, match=r"chair_1\.txt.*NaN"):
        load_s3dis_room(d)
