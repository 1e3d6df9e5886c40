"""Tests for pointcloud.synthetic: the indoor scene and the one-click labels."""

from __future__ import annotations

import pytest
import torch

from pointcloud.synthetic import (
    CLASS_NAMES,
    IndoorScene,
    make_indoor_scene,
    one_click_per_object,
)


@pytest.fixture(scope="module")
def scene() -> IndoorScene:
    return make_indoor_scene(20_000, num_objects=12, seed=3)


def test_shapes_and_dtypes(scene: IndoorScene) -> None:
    p = 20_000
    assert scene.points.shape == (p, 3)
    assert scene.points.dtype == torch.float32
    assert scene.colors.shape == (p, 3)
    assert scene.colors.dtype == torch.float32
    assert scene.labels.shape == (p,)
    assert scene.labels.dtype == torch.int64
    assert scene.instances.shape == (p,)
    assert scene.instances.dtype == torch.int64
    assert scene.class_names == CLASS_NAMES
    assert float(scene.colors.min()) >= 0.0
    assert float(scene.colors.max()) <= 1.0


def test_every_point_labelled_and_instances_complete(scene: IndoorScene) -> None:
    assert int(scene.labels.min()) >= 0
    assert int(scene.labels.max()) < len(CLASS_NAMES)
    # floor + 4 walls + 12 objects, no ceiling by default, ids 0..I-1 all used.
    assert scene.num_instances == 1 + 4 + 12
    assert torch.unique(scene.instances).tolist() == list(range(17))
    # Each instance has a single class.
    for i in range(scene.num_instances):
        assert torch.unique(scene.labels[scene.instances == i]).numel() == 1


def test_classes(scene: IndoorScene) -> None:
    counts = torch.bincount(scene.labels, minlength=len(CLASS_NAMES))
    present = {CLASS_NAMES[i] for i in torch.nonzero(counts).squeeze(1).tolist()}
    # With 12 objects every furniture class appears at least once.
    assert present == set(CLASS_NAMES) - {"ceiling"}
    wall = CLASS_NAMES.index("wall")
    assert torch.unique(scene.instances[scene.labels == wall]).numel() == 4


def test_geometry(scene: IndoorScene) -> None:
    w, d, h = scene.room_size
    lo, hi = scene.points.min(0).values, scene.points.max(0).values
    tol = 0.05  # position noise is 5 mm
    assert lo.tolist() == pytest.approx([0.0, 0.0, 0.0], abs=tol)
    assert hi.tolist() == pytest.approx([w, d, h], abs=tol)
    # Every object rests on the floor: its lowest points are at height ~0.
    for i in range(5, scene.num_instances):
        z = scene.points[scene.instances == i, 2]
        assert float(z.min()) < 0.05


def test_deterministic_under_seed() -> None:
    a = make_indoor_scene(5_000, num_objects=6, seed=7)
    b = make_indoor_scene(5_000, num_objects=6, seed=7)
    c = make_indoor_scene(5_000, num_objects=6, seed=8)
    for name in ("points", "colors", "labels", "instances"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.points, c.points)


def test_ceiling_and_sizes() -> None:
    s = make_indoor_scene(3_000, num_objects=0, seed=0, ceiling=True, room_size=(4, 3))
    assert s.points.shape[0] == 3_000
    assert s.num_instances == 6
    assert s.room_size[:2] == (4.0, 3.0)
    assert bool((s.labels == CLASS_NAMES.index("ceiling")).any())


def test_errors() -> None:
    with pytest.raises(ValueError, match="'num_points' parameter of make_indoor_scene"):
        make_indoor_scene(0)
    with pytest.raises(ValueError, match="Could not place"):
        make_indoor_scene(1_000, num_objects=30, room_size=(2.0, 2.0))


def test_one_click_per_object(scene: IndoorScene, device: str) -> None:
    inst, lab = scene.instances.to(device), scene.labels.to(device)
    clicks = one_click_per_object(inst, lab, seed=1)
    assert clicks.device.type == torch.device(device).type
    picked = clicks >= 0
    # Exactly one click per instance, carrying that point's true label.
    assert torch.bincount(inst[picked]).tolist() == [1] * scene.num_instances
    assert torch.equal(clicks[picked], lab[picked])
    assert torch.equal(clicks, one_click_per_object(inst, lab, seed=1))
    assert not torch.equal(clicks, one_click_per_object(inst, lab, seed=2))


def test_one_click_skips_unlabelled_points() -> None:
    inst = torch.tensor([0, 0, 0, 1, 1, 2])
    lab = torch.tensor([-1, 4, -1, 2, 2, -1])
    for seed in range(5):
        clicks = one_click_per_object(inst, lab, seed=seed)
        assert clicks[1] == 4
        assert clicks[[0, 2, 5]].tolist() == [-1, -1, -1]
        assert int((clicks[3:5] == 2).sum()) == 1
