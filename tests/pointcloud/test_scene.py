"""Tests for pointcloud.scene: validation, conversion, subsets and devices."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from pointcloud.scene import Scene, scene_from_dict


def _scene(n: int = 6) -> Scene:
    g = torch.Generator().manual_seed(0)
    return Scene(
        torch.randn(n, 3, generator=g, dtype=torch.float64),
        colors=torch.rand(n, 3, generator=g),
        normals=torch.randn(n, 3, generator=g),
        labels=torch.tensor([0, 1, -1, 1, 0, 1][:n], dtype=torch.int32),
        instances=torch.arange(n),
        segments=torch.arange(n) // 2,
        class_names=("floor", "wall"),
        name="toy",
    )


def test_dtypes_are_normalised() -> None:
    s = _scene()
    assert s.points.dtype == torch.float32
    assert s.labels is not None and s.labels.dtype == torch.int64
    assert s.num_points == 6 and s.num_classes == 2
    assert list(s.tensors()) == [
        "points", "colors", "normals", "labels", "instances", "segments",
    ]  # fmt: skip
    assert repr(s).startswith("Scene(num_points=6, colors, normals")
    assert "name='toy'" in repr(s)
    assert s == s and s != _scene()  # identity, no element-wise tensor comparison
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "other"  # type: ignore[misc]


def test_optional_fields_default_to_none() -> None:
    s = Scene(torch.zeros(1, 3))
    assert (s.colors, s.normals, s.labels, s.instances, s.segments) == (None,) * 5
    assert s.class_names == () and s.name == ""


def test_subset_by_mask_and_index() -> None:
    s = _scene()
    assert s.labels is not None
    sub = s.subset(s.labels >= 0)
    assert sub.num_points == 5
    assert sub.instances is not None
    assert sub.instances.tolist() == [0, 1, 3, 4, 5]
    assert torch.equal(sub.points, s.points[[0, 1, 3, 4, 5]])
    idx = s.subset(torch.tensor([5, 0]))
    assert idx.segments is not None and idx.segments.tolist() == [2, 0]
    assert idx.class_names == s.class_names and idx.name == "toy"


def test_to_device(device: str) -> None:
    s = _scene().to(device)
    assert all(t.device.type == torch.device(device).type for t in s.tensors().values())
    assert s.device.type == torch.device(device).type
    back = s.to("cpu")
    assert torch.equal(back.points, _scene().points)
    # Fields given on another device follow the points.
    t = Scene(torch.zeros(2, 3, device=device), labels=torch.tensor([0, 1]))
    assert t.labels is not None and t.labels.device == t.points.device


def test_scene_from_dict() -> None:
    s = scene_from_dict(
        {"points": torch.zeros(3, 3), "labels": torch.tensor([0, 1, 2])}
    )
    assert s.labels is not None and s.labels.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="'fields' parameter of Scene"):
        scene_from_dict({"points": torch.zeros(3, 3), "xyz": torch.zeros(3, 3)})


def test_bad_input() -> None:
    pts = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="mismatched label and point counts"):
        Scene(pts, labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="mismatched colour and point counts"):
        Scene(pts, colors=torch.zeros(5, 3))
    with pytest.raises(ValueError, match="mismatched instance and point counts"):
        Scene(pts, instances=torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="non-empty cloud"):
        Scene(torch.zeros(0, 3))
    with pytest.raises(ValueError, match="1 points with NaN/inf"):
        Scene(torch.tensor([[0.0, 0.0, 0.0], [float("nan"), 0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"shape \[P, 3\]"):
        Scene(torch.zeros(4, 2))
    with pytest.raises(TypeError, match="'points' parameter of Scene"):
        Scene(torch.zeros(4, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="'labels' parameter of Scene"):
        Scene(pts, labels=torch.zeros(4))
    with pytest.raises(TypeError, match="'instances' parameter of Scene"):
        Scene(pts, instances=torch.ones(4, dtype=torch.bool))
    with pytest.raises(TypeError, match="'colors' parameter of Scene"):
        Scene(pts, colors=torch.zeros(4, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"RGB values in \[0, 1\]"):
        Scene(pts, colors=torch.full((4, 3), 2.0))
    with pytest.raises(ValueError, match="ids >= -1"):
        Scene(pts, instances=torch.tensor([0, -2, 1, 1]))
    with pytest.raises(ValueError, match=r"a class in 0\.\.1"):
        Scene(pts, labels=torch.tensor([0, 1, 2, -1]), class_names=("a", "b"))
    with pytest.raises(ValueError, match="'normals' parameter of Scene"):
        Scene(pts, normals=torch.full((4, 3), float("inf")))


def test_subset_bad_input() -> None:
    s = _scene()
    with pytest.raises(ValueError, match="non-empty selection"):
        s.subset(torch.zeros(6, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"a mask of shape \[6\]"):
        s.subset(torch.ones(5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"indices in \[0, 6\)"):
        s.subset(torch.tensor([0, 6]))
    with pytest.raises(TypeError, match=r"'index' parameter of Scene\.subset"):
        s.subset(torch.tensor([0.5]))
