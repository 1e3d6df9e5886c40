"""Tests for pointcloud.datasets.scannet on tiny scans written in ScanNet's formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pointcloud.datasets import (
    SCANNET20_CLASSES,
    SCANNET20_NYU40_IDS,
    iter_scannet_scenes,
    load_scannet_scene,
    nyu40_to_scannet20,
)

# 12 vertices, four raw segments with ScanNet-like arbitrary ids; objects 0 (segments 5
# and 42, a chair) and 1 (segment 17, the floor); segment 99 is in no object.
SEGS = [5, 5, 5, 17, 17, 17, 42, 42, 42, 99, 99, 99]
NYU40 = [5, 5, 5, 2, 2, 2, 5, 5, 5, 0, 13, 0]  # 13 (towel) is not a benchmark class
GROUPS = [
    {"id": 0, "objectId": 0, "segments": [5, 42], "label": "chair"},
    {"id": 1, "objectId": 1, "segments": [17], "label": "floor"},
]


def _vertices(n: int, labels: list[int] | None) -> bytes:
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    fields += [(c, "u1") for c in ("red", "green", "blue", "alpha")]
    fields += [("label", "<u2")] if labels is not None else []
    data = np.zeros(n, dtype=fields)
    for i, c in enumerate("xyz"):
        data[c] = np.arange(n) * (i + 1) * 0.25
    data["red"], data["green"], data["blue"] = np.arange(n) * 20, 255, 0
    data["alpha"] = 255
    if labels is not None:
        data["label"] = labels
    props = "".join(
        f"property {'float' if t == '<f4' else 'ushort' if t == '<u2' else 'uchar'} {c}\n"
        for c, t in fields
    )
    faces = np.zeros(2, dtype=[("k", "u1"), ("v", "<i4", (3,))])
    faces["k"], faces["v"] = 3, [[0, 1, 2], [3, 4, 5]]
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {n}\n{props}element face 2\n"
        "property list uchar int vertex_indices\nend_header\n"
    )
    return header.encode() + data.tobytes() + faces.tobytes()


def _write_scan(
    root: Path, name: str = "scene0000_00", n: int = 12, labels: bool = True
) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / f"{name}_vh_clean_2.ply").write_bytes(_vertices(n, None))
    if labels:
        (d / f"{name}_vh_clean_2.labels.ply").write_bytes(_vertices(n, NYU40[:n]))
    segs = {"params": {"kThresh": "0.0001"}, "sceneId": name, "segIndices": SEGS[:n]}
    (d / f"{name}_vh_clean_2.0.010000.segs.json").write_text(json.dumps(segs))
    agg = {"sceneId": f"scannet.{name}", "segGroups": GROUPS}
    (d / f"{name}.aggregation.json").write_text(json.dumps(agg))
    return d


def test_load_scan(tmp_path: Path) -> None:
    d = _write_scan(tmp_path)
    for arg in (d, d / "scene0000_00", str(d)):
        s = load_scannet_scene(arg)
        assert s.name == "scene0000_00" and s.num_points == 12
        assert s.class_names == SCANNET20_CLASSES
        assert torch.equal(s.points[:, 1], torch.arange(12) * 0.5)
        assert s.colors is not None
        assert torch.allclose(s.colors[:, 0], torch.arange(12) * 20 / 255)
        assert s.labels is not None and s.segments is not None
        chair, floor = (
            SCANNET20_CLASSES.index("chair"),
            SCANNET20_CLASSES.index("floor"),
        )
        assert s.labels.tolist() == [chair] * 3 + [floor] * 3 + [chair] * 3 + [-1] * 3
        assert s.segments.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
        assert s.instances is not None
        assert s.instances.tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0, -1, -1, -1]


def test_nyu40_mapping_against_the_table() -> None:
    ids = torch.arange(-1, 41)
    out = nyu40_to_scannet20(ids)
    for nyu, cls in zip(ids.tolist(), out.tolist(), strict=True):
        want = SCANNET20_NYU40_IDS.index(nyu) if nyu in SCANNET20_NYU40_IDS else -1
        assert cls == want
    assert SCANNET20_NYU40_IDS[SCANNET20_CLASSES.index("otherfurniture")] == 39


def test_custom_label_map_and_missing_files(tmp_path: Path) -> None:
    d = _write_scan(tmp_path)
    s = load_scannet_scene(d, label_map={5: 0, 13: 1}, class_names=("chair", "towel"))
    assert s.labels is not None
    assert s.labels.tolist() == [0, 0, 0, -1, -1, -1, 0, 0, 0, -1, 1, -1]
    # A test-set scan: no labels file and no aggregation.
    t = _write_scan(tmp_path / "test", labels=False)
    (t / "scene0000_00.aggregation.json").unlink()
    u = load_scannet_scene(t)
    assert u.labels is None and u.instances is None and u.segments is not None
    (t / "scene0000_00_vh_clean_2.0.010000.segs.json").unlink()
    assert load_scannet_scene(t).segments is None


def test_iterate_over_a_root(tmp_path: Path) -> None:
    _write_scan(tmp_path, "scene0001_00", n=6)
    _write_scan(tmp_path, "scene0000_00")
    (tmp_path / "scene0002_00").mkdir()  # no mesh: skipped
    (tmp_path / "README.txt").write_text("not a scan")
    names = [s.name for s in iter_scannet_scenes(tmp_path)]
    assert names == ["scene0000_00", "scene0001_00"]
    with pytest.raises(FileNotFoundError, match="no folder"):
        next(iter_scannet_scenes(tmp_path / "nowhere"))


def test_errors_name_the_file(tmp_path: Path) -> None:
    d = _write_scan(tmp_path)
    name = "scene0000_00"
    segs = d / f"{name}_vh_clean_2.0.010000.segs.json"
    agg = d / f"{name}.aggregation.json"
    mesh = d / f"{name}_vh_clean_2.ply"
    labels = d / f"{name}_vh_clean_2.labels.ply"
    good_segs, good_agg = segs.read_text(), agg.read_text()

    segs.write_text(good_segs[:-20])  # truncated JSON
    with pytest.raises(ValueError, match=r"segs\.json.*not valid JSON"):
        load_scannet_scene(d)
    segs.write_text(json.dumps({"segIndices": SEGS[:-1]}))
    with pytest.raises(ValueError, match="mismatched segment and point counts"):
        load_scannet_scene(d)
    segs.write_text(json.dumps({"segments": SEGS}))
    with pytest.raises(ValueError, match=r"segs\.json.*no 'segIndices'"):
        load_scannet_scene(d)
    segs.write_text(good_segs)

    agg.write_text(json.dumps({"segGroups": [{"segments": [5]}]}))
    with pytest.raises(ValueError, match=r"aggregation\.json.*objectId"):
        load_scannet_scene(d)
    agg.write_text("{")
    with pytest.raises(ValueError, match=r"aggregation\.json"):
        load_scannet_scene(d)
    agg.write_text(good_agg)

    labels.write_bytes(_vertices(11, NYU40[:11]))
    with pytest.raises(ValueError, match=r"labels\.ply.*mismatched label and point"):
        load_scannet_scene(d)
    labels.write_bytes(_vertices(12, None))
    with pytest.raises(ValueError, match=r"labels\.ply.*no vertex 'label'"):
        load_scannet_scene(d)
    labels.unlink()

    data = mesh.read_bytes()
    mesh.write_bytes(data[: data.index(b"end_header") + 60])  # cut inside the vertices
    with pytest.raises(ValueError, match=r"vh_clean_2\.ply.*truncated"):
        load_scannet_scene(d)
    mesh.unlink()
    with pytest.raises(FileNotFoundError, match="no mesh file"):
        load_scannet_scene(d)
    (d / "other").mkdir()
    with pytest.raises(FileNotFoundError, match="no mesh file"):
        load_scannet_scene(d / "other")


def test_aggregation_without_segments(tmp_path: Path) -> None:
    d = _write_scan(tmp_path)
    (d / "scene0000_00_vh_clean_2.0.010000.segs.json").unlink()
    with pytest.raises(FileNotFoundError, match="needs the segments file"):
        load_scannet_scene(d)


def test_label_map_inconsistent_with_names(tmp_path: Path) -> None:
    d = _write_scan(tmp_path)
    with pytest.raises(ValueError, match="'label_map' parameter of load_scannet_scene"):
        load_scannet_scene(d, label_map={5: 3}, class_names=("chair",))
