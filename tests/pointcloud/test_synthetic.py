"""Tests for pointcloud.synthetic: the indoor scene and the one-click labels."""

from __future__ import annotations

import pytest
import torch

from pointcloud.scene import Scene
from pointcloud.synthetic import (
    CLASS_NAMES,
    IndoorScene,
    make_indoor_scene,
    make_scene_set,
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
    assert scene.normals.shape == (p, 3)
    assert scene.normals.dtype == torch.float32
    assert scene.class_names == CLASS_NAMES
    assert scene.num_points == p
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


def test_ten_thousand_points() -> None:
    s = make_indoor_scene(10_000, seed=11)  # the default 20 objects
    assert s.num_points == 10_000 and s.num_instances == 1 + 4 + 20
    assert torch.bincount(s.instances).min() > 0  # every object got points


def test_deterministic_under_seed() -> None:
    a = make_indoor_scene(5_000, num_objects=6, seed=7)
    b = make_indoor_scene(5_000, num_objects=6, seed=7)
    c = make_indoor_scene(5_000, num_objects=6, seed=8)
    for name in ("points", "colors", "labels", "instances", "normals"):
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
    with pytest.raises(ValueError, match="'normal_noise' parameter of make_indoor"):
        make_indoor_scene(100, normal_noise=-0.1)
    with pytest.raises(ValueError, match="'room_size' parameter of make_indoor_scene"):
        make_indoor_scene(100, room_size=(3.0, 0.0))
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


def test_normals_are_unit_and_face_the_right_way(scene: IndoorScene) -> None:
    n, p = scene.normals, scene.points
    assert torch.allclose(n.norm(dim=1), torch.ones(len(n)), atol=1e-5)
    floor = scene.labels == CLASS_NAMES.index("floor")
    assert float(n[floor, 2].mean()) > 0.99  # up, with 0.05 noise
    # Walls face the middle of the room and are vertical.
    w, d, _ = scene.room_size
    wall = scene.labels == CLASS_NAMES.index("wall")
    to_mid = torch.tensor([w / 2, d / 2, 0.0]) - p[wall] * torch.tensor([1.0, 1.0, 0.0])
    assert float(((n[wall] * to_mid).sum(1) > 0).float().mean()) > 0.99
    assert float(n[wall, 2].abs().max()) < 0.3
    # Boxes, cabinets, cylinders and spheres are convex: normals point away from the
    # object's centre of mass (almost) everywhere.
    convex = [CLASS_NAMES.index(c) for c in ("box", "cabinet", "cylinder", "sphere")]
    for i in range(scene.num_instances):
        mask = scene.instances == i
        if int(scene.labels[mask][0]) in convex:
            out = p[mask] - p[mask].mean(0)
            assert float(((n[mask] * out).sum(1) > 0).float().mean()) > 0.95


def test_noise_free_normals_are_exact() -> None:
    s = make_indoor_scene(3_000, num_objects=9, seed=2, noise=0.0, normal_noise=0.0)
    sphere = s.labels == CLASS_NAMES.index("sphere")
    inst = s.instances[sphere]
    assert torch.unique(inst).numel() == 1
    # On a sphere the normal is (p - c) / r; c is recovered from two opposite points.
    pts, nrm = s.points[sphere], s.normals[sphere]
    r = float((pts - pts.mean(0)).norm(dim=1).mean())
    centre = pts - r * nrm
    assert torch.allclose(centre, centre[0].expand_as(centre), atol=0.02)
    floor = s.labels == CLASS_NAMES.index("floor")
    assert torch.equal(
        s.normals[floor], torch.tensor([[0.0, 0.0, 1.0]]).expand(int(floor.sum()), 3)
    )


def test_to_scene(scene: IndoorScene) -> None:
    s = scene.to_scene(name="room")
    assert isinstance(s, Scene) and s.name == "room"
    assert s.class_names == CLASS_NAMES and s.segments is None
    for key in ("points", "colors", "normals", "labels", "instances"):
        assert torch.equal(getattr(s, key), getattr(scene, key))


@pytest.fixture(scope="module")
def scene_set() -> list[Scene]:
    return make_scene_set(4, seed=5, num_points=4_000, ceiling=True)


def test_scene_set_is_seeded_and_varied(scene_set: list[Scene]) -> None:
    again = make_scene_set(2, seed=5, num_points=4_000, ceiling=True)
    for a, b in zip(again, scene_set[:2], strict=True):  # a prefix of the longer set
        assert a.name == b.name
        assert torch.equal(a.points, b.points) and torch.equal(a.labels, b.labels)  # type: ignore[arg-type]
    assert [s.name for s in scene_set] == [f"synthetic-5-{i}" for i in range(4)]
    other = make_scene_set(1, seed=6, num_points=4_000, ceiling=True)[0]
    assert not torch.equal(other.points, scene_set[0].points)
    extents = {
        tuple(s.points.max(0).values.round(decimals=1).tolist()) for s in scene_set
    }
    assert len(extents) == 4  # room sizes differ


def test_scene_set_classes_and_instances(scene_set: list[Scene]) -> None:
    seen: set[int] = set()
    for s in scene_set:
        assert (
            s.labels is not None and s.instances is not None and s.normals is not None
        )
        assert s.num_points == 4_000
        seen |= set(s.labels.tolist())
        # Every instance has one class; 1 floor + 4 walls + ceiling + 8..20 objects.
        k = int(s.instances.max()) + 1
        assert 6 + 8 <= k <= 6 + 20
        for i in range(k):
            assert torch.unique(s.labels[s.instances == i]).numel() == 1
    assert seen == set(range(len(CLASS_NAMES)))


def test_scene_set_errors() -> None:
    with pytest.raises(ValueError, match="'num_scenes' parameter of make_scene_set"):
        make_scene_set(0)
    with pytest.raises(ValueError, match="'num_objects' parameter of make_scene_set"):
        make_scene_set(1, num_objects=(5, 2))
    with pytest.raises(ValueError, match="'seed' parameter of make_scene_set"):
        make_scene_set(1, seed=-1)
