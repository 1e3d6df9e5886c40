"""A synthetic indoor scan: a furnished room sampled as a noisy coloured point cloud.

The scene imitates what a depth sensor sees in a room: the floor, four walls (a ceiling
on request) and furniture standing on the floor: tables, chairs, cabinets, shelves,
boxes, cylinders (drums, stools), spheres (balls), bins and lamps. Every surface gets
the same point density (points are allotted in proportion to area); surfaces an object
hides (the floor under a cabinet, the wall behind a shelf) get no points; positions,
colours and normals carry sensor-like noise. Objects touch the floor and cabinets and
shelves stand against walls, so class boundaries run through contact regions, which
is what makes segmenting such a scene from a few clicks non-trivial.

Example:
    >>> from pointcloud.synthetic import make_indoor_scene, one_click_per_object
    >>> scene = make_indoor_scene(10_000, num_objects=6, seed=0)
    >>> scene.points.shape, scene.class_names[:3]
    (torch.Size([10000, 3]), ('floor', 'wall', 'ceiling'))
    >>> clicks = one_click_per_object(scene.instances, scene.labels)
    >>> int((clicks >= 0).sum()) == scene.num_instances
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from graphssl._validation import check_int, check_real, param_error
from pointcloud._furniture import FURNITURE, furnish
from pointcloud._shapes import (
    Part,
    hidden_by,
    noisy_unit,
    rect,
    sample_part,
    sample_visible,
    vec,
)
from pointcloud.scene import Scene

__all__ = [
    "CLASS_NAMES", "IndoorScene", "make_indoor_scene", "make_scene_set",
    "one_click_per_object",
]  # fmt: skip

CLASS_NAMES = ("floor", "wall", "ceiling", *FURNITURE)
_C = {name: i for i, name in enumerate(CLASS_NAMES)}
# Plausible base colours: oak floor, off-white walls, white ceiling, walnut tables, blue
# chairs, grey cabinets, cherry shelves, cardboard boxes, purple drums, orange balls,
# green bins, cream lamp shades.
_BASE = np.array(
    [
        [0.62, 0.47, 0.32], [0.86, 0.84, 0.79], [0.95, 0.95, 0.94],
        [0.42, 0.27, 0.16], [0.22, 0.36, 0.62], [0.70, 0.72, 0.74],
        [0.55, 0.22, 0.16], [0.72, 0.57, 0.38], [0.50, 0.30, 0.60],
        [0.95, 0.50, 0.10], [0.27, 0.55, 0.32], [0.95, 0.87, 0.62],
    ]
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class IndoorScene:
    """A labelled synthetic scan.

    Args:
        points (Tensor): ``[P, 3]`` float32 coordinates in metres, z up, floor at 0.
        colors (Tensor): ``[P, 3]`` float32 RGB in ``[0, 1]``.
        labels (Tensor): ``[P]`` int64 semantic class, an index into ``class_names``.
        instances (Tensor): ``[P]`` int64 object id in ``0..I-1``; the floor, every
            wall and the ceiling are instances too.
        class_names (tuple[str, ...]): name of each class index.
        room_size (tuple[float, float, float]): width (x), depth (y), height (z).
        normals (Tensor): ``[P, 3]`` float32 unit surface normals (noisy), pointing
            into the room for the floor, walls and ceiling and out of objects.
    """

    points: Tensor
    colors: Tensor
    labels: Tensor
    instances: Tensor
    class_names: tuple[str, ...]
    room_size: tuple[float, float, float]
    normals: Tensor

    @property
    def num_instances(self) -> int:
        """Number of instances ``I``."""
        return int(self.instances.max()) + 1

    @property
    def num_points(self) -> int:
        """Number of points ``P``."""
        return int(self.points.shape[0])

    def to_scene(self, name: str = "") -> Scene:
        """The same points as a :class:`~pointcloud.scene.Scene` (no segments)."""
        return Scene(
            self.points, colors=self.colors, normals=self.normals,
            labels=self.labels, instances=self.instances,
            class_names=self.class_names, name=name,
        )  # fmt: skip


def _room(w: float, dep: float, h: float, ceiling: bool) -> list[tuple[int, Part]]:
    """Floor, walls and ceiling with normals facing the middle of the room."""
    o, ex, ey, ez = vec(0, 0, 0), vec(w, 0, 0), vec(0, dep, 0), vec(0, 0, h)
    mid = vec(w / 2, dep / 2, h / 2)
    parts = [(_C["floor"], rect(o, ex, ey, None, mid))]
    parts += [
        (_C["wall"], rect(a, b, ez, None, mid))
        for a, b in ((o, ex), (ey, ex), (o, ey), (ex, ey))
    ]
    return parts + ([(_C["ceiling"], rect(ez, ex, ey, None, mid))] if ceiling else [])


def make_indoor_scene(
    num_points: int = 100_000,
    *,
    num_objects: int = 20,
    seed: int = 0,
    noise: float = 0.005,
    color_noise: float = 0.02,
    normal_noise: float = 0.05,
    room_size: tuple[float, float] | None = None,
    height: float = 2.7,
    ceiling: bool = False,
) -> IndoorScene:
    r"""Sample a furnished room as a labelled, coloured point cloud with normals.

    Furniture (one of each furniture class first, then chairs and boxes most often) is placed on the floor plan by rejection sampling so
    that no two objects overlap; cabinets and shelves stand against a wall. Each
    instance gets its class colour with a small random shift, each surface a random
    brightness (lighting), each point colour noise; positions get isotropic Gaussian
    noise; each normal :math:`n` becomes :math:`(n + \epsilon) / \lVert n + \epsilon
    \rVert` with :math:`\epsilon \sim \mathcal{N}(0, \sigma_n^2 I)`, the jitter a
    normal estimated from noisy neighbours shows.

    Args:
        num_points (int, optional): number of points ``P``. (default: ``100_000``)
        num_objects (int, optional): pieces of furniture. (default: ``20``)
        seed (int, optional): seed of the numpy generator; equal seeds give equal
            scenes. (default: ``0``)
        noise (float, optional): standard deviation of the position noise in metres.
            (default: ``0.005``)
        color_noise (float, optional): standard deviation of the per-point colour
            noise. (default: ``0.02``)
        normal_noise (float, optional): :math:`\sigma_n`, the standard deviation of
            the normal noise. (default: ``0.05``)
        room_size (tuple[float, float], optional): width and depth in metres; by
            default about 2.4 m² of floor per object with a 4:3 aspect, at least 12 m².
        height (float, optional): wall height in metres. (default: ``2.7``)
        ceiling (bool, optional): sample the ceiling too. It hides the room in
            top-down views, hence off by default. (default: ``False``)

    Returns:
        IndoorScene: instances ``0`` (floor), ``1..4`` (walls), ``5`` (ceiling, when
        asked for), then one per object.

    Raises:
        ValueError: for out-of-range arguments or when the objects do not fit.
    """
    owner = "make_indoor_scene"
    num_points = check_int(num_points, "num_points", owner, low=1)
    num_objects = check_int(num_objects, "num_objects", owner, low=0)
    seed = check_int(seed, "seed", owner, low=0)
    noise = check_real(noise, "noise", owner, low=0.0)
    color_noise = check_real(color_noise, "color_noise", owner, low=0.0)
    normal_noise = check_real(normal_noise, "normal_noise", owner, low=0.0)
    height = check_real(height, "height", owner, low=0.0, closed="neither")
    if room_size is None:
        area = max(12.0, 2.4 * num_objects)
        room_size = (math.sqrt(area * 4 / 3), math.sqrt(area * 3 / 4))
    if len(room_size) != 2 or min(room_size) <= 0:
        raise param_error("room_size", owner, "two positive lengths (m)", room_size)
    w, dep = float(room_size[0]), float(room_size[1])
    rng = np.random.default_rng(seed)

    named, owners, solids = furnish(rng, num_objects, (w, dep))
    objects = [(_C[cls], part) for cls, part in named]
    room = _room(w, dep, height, ceiling)
    all_parts = room + objects
    instance = np.array(list(range(len(room))) + [len(room) + o for o in owners])
    areas = np.array([p.area for _, p in all_parts])
    for j, (label, part) in enumerate(room):
        if label != _C["ceiling"]:  # estimate the visible share of floor and walls
            areas[j] *= 1.0 - hidden_by(sample_part(rng, part, 4000)[0], solids).mean()
    counts = rng.multinomial(num_points, areas / areas.sum())
    inst_shift = rng.normal(0.0, 0.04, (int(instance.max()) + 1, 3))

    pts, nrms, cols = [], [], []
    for j, ((label, part), n) in enumerate(zip(all_parts, counts, strict=True)):
        if j < len(room):
            p, nrm = sample_visible(rng, part, int(n), solids)
        else:
            p, nrm = sample_part(rng, part, int(n))
        pts.append(p)
        nrms.append(nrm)
        base = _BASE[label] if part.color is None else part.color
        shade = rng.uniform(0.85, 1.0)  # one light level per surface
        cols.append(np.broadcast_to((base + inst_shift[instance[j]]) * shade, (n, 3)))
    points = np.concatenate(pts) + rng.normal(0.0, noise, (num_points, 3))
    colors = np.concatenate(cols) + rng.normal(0.0, color_noise, (num_points, 3))
    normals = noisy_unit(rng, np.concatenate(nrms), normal_noise)
    labels = np.repeat(np.array([lab for lab, _ in all_parts]), counts)
    instances = np.repeat(instance, counts)
    perm = rng.permutation(num_points)  # no information in the point order
    return IndoorScene(
        points=torch.from_numpy(points[perm].astype(np.float32)),
        colors=torch.from_numpy(colors[perm].clip(0.0, 1.0).astype(np.float32)),
        labels=torch.from_numpy(labels[perm].astype(np.int64)),
        instances=torch.from_numpy(instances[perm].astype(np.int64)),
        class_names=CLASS_NAMES,
        room_size=(w, dep, height),
        normals=torch.from_numpy(normals[perm].astype(np.float32)),
    )


def make_scene_set(
    num_scenes: int,
    *,
    seed: int = 0,
    num_points: int = 50_000,
    num_objects: tuple[int, int] = (8, 20),
    ceiling: bool = False,
) -> list[Scene]:
    """A fixed, seeded set of varied rooms, e.g. for a benchmark's train and test sets.

    Scene ``i`` draws its furniture count uniformly from ``num_objects``, its floor
    area (2.4–3.2 m² per object, at least 12 m²), aspect ratio (1–1.8) and wall height
    (2.5–3.0 m) from a generator seeded with ``seed``, then calls
    :func:`make_indoor_scene` with a seed of its own. The same arguments always give
    the same scenes, and a longer set starts with the scenes of a shorter one.

    Args:
        num_scenes (int): number of scenes.
        seed (int, optional): seed of the set. (default: ``0``)
        num_points (int, optional): points per scene. (default: ``50_000``)
        num_objects (tuple[int, int], optional): inclusive range of the furniture
            count. (default: ``(8, 20)``)
        ceiling (bool, optional): sample ceilings. (default: ``False``)

    Returns:
        list[Scene]: named ``"synthetic-<seed>-<i>"``.
    """
    owner = "make_scene_set"
    num_scenes = check_int(num_scenes, "num_scenes", owner, low=1)
    seed = check_int(seed, "seed", owner, low=0)
    num_points = check_int(num_points, "num_points", owner, low=1)
    if (
        len(num_objects) != 2
        or check_int(num_objects[0], "num_objects", owner, low=0) > num_objects[1]
    ):
        raise param_error(
            "num_objects", owner, "a range (low, high), low <= high", num_objects
        )
    scenes = []
    for i in range(num_scenes):
        rng = np.random.default_rng([seed, i])  # scene i does not depend on the others
        k = int(rng.integers(num_objects[0], num_objects[1] + 1))
        area = max(12.0, rng.uniform(2.4, 3.2) * k)
        aspect = rng.uniform(1.0, 1.8)
        size = (math.sqrt(area * aspect), math.sqrt(area / aspect))
        scene = make_indoor_scene(
            num_points, num_objects=k, seed=int(rng.integers(2**31)), room_size=size,
            height=rng.uniform(2.5, 3.0), ceiling=ceiling,
        )  # fmt: skip
        scenes.append(scene.to_scene(name=f"synthetic-{seed}-{i}"))
    return scenes


def one_click_per_object(instances: Tensor, labels: Tensor, *, seed: int = 0) -> Tensor:
    """Keep the label of one random point per instance, the "one thing one click" input.

    Args:
        instances (Tensor): ``[P]`` integer instance ids; negative ids are skipped.
        labels (Tensor): ``[P]`` integer classes, ``-1`` for unlabelled points (never
            clicked).
        seed (int, optional): seed of the choice. (default: ``0``)

    Returns:
        Tensor: ``[P]`` int64 on the device of ``labels``: the class at the clicked
        point of every instance that has a labelled point, ``-1`` elsewhere.
    """
    owner = "one_click_per_object"
    for name, t in (("instances", instances), ("labels", labels)):
        if not isinstance(t, Tensor) or t.dim() != 1 or t.is_floating_point():
            raise param_error(
                name, owner, "a 1-D integer tensor", type(t).__name__, TypeError
            )
    if instances.shape != labels.shape or instances.device != labels.device:
        allowed = f"shape {list(instances.shape)} on {instances.device} (as instances)"
        got = f"{list(labels.shape)} on {labels.device}"
        raise param_error("labels", owner, allowed, got)
    seed = check_int(seed, "seed", owner, low=0)
    cand = torch.nonzero((labels >= 0) & (instances >= 0)).squeeze(1)
    # Shuffle, then stable-sort by instance: each group's first point is a random pick.
    gen = torch.Generator().manual_seed(seed)
    cand = cand[torch.randperm(cand.numel(), generator=gen).to(cand.device)]
    cand = cand[torch.argsort(instances[cand], stable=True)]
    inst = instances[cand]
    first = torch.ones_like(inst, dtype=torch.bool)
    first[1:] = inst[1:] != inst[:-1]
    picked = cand[first]
    out = torch.full_like(labels, -1, dtype=torch.long)
    out[picked] = labels[picked].long()
    return out
