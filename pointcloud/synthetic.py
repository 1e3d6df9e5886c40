"""A synthetic indoor scan: a furnished room sampled as a noisy coloured point cloud.

The scene imitates what a depth sensor sees in a room: the floor, four walls (a ceiling
on request) and furniture standing on the floor. Every surface gets the same point
density (points are allotted in proportion to area); surfaces an object hides (the
floor under a cabinet, the wall behind it) get no points; colours and positions carry
sensor-like noise. Objects touch the floor and cabinets stand against walls, so class
boundaries run through contact regions, which is what makes segmenting such a scene
from a few clicks non-trivial.

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
from pointcloud._shapes import (
    Arr,
    Part,
    Solid,
    box_faces,
    cylinder_side,
    hidden_by,
    rect,
    sample_part,
    to_world,
    vec,
)

__all__ = ["CLASS_NAMES", "IndoorScene", "make_indoor_scene", "one_click_per_object"]

CLASS_NAMES = (
    "floor", "wall", "ceiling", "table", "chair", "cabinet", "box", "bin", "lamp",
)  # fmt: skip
_C = {name: i for i, name in enumerate(CLASS_NAMES)}
# Plausible base colours: oak floor, off-white walls, white ceiling, walnut tables, blue
# chairs, grey cabinets, cardboard boxes, green bins, cream lamp shades.
_BASE = np.array(
    [
        [0.62, 0.47, 0.32], [0.86, 0.84, 0.79], [0.95, 0.95, 0.94],
        [0.42, 0.27, 0.16], [0.22, 0.36, 0.62], [0.70, 0.72, 0.74],
        [0.72, 0.57, 0.38], [0.27, 0.55, 0.32], [0.95, 0.87, 0.62],
    ]
)  # fmt: skip
_METAL = np.array([0.25, 0.25, 0.27])  # chair legs and lamp poles
_FURNITURE = ("table", "chair", "cabinet", "box", "bin", "lamp")
_FREQ = np.array([0.15, 0.35, 0.10, 0.20, 0.10, 0.10])  # after one of each class
_GAP = 0.1  # minimum clearance between the bounding circles of two objects (m)


@dataclass(frozen=True)
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
    """

    points: Tensor
    colors: Tensor
    labels: Tensor
    instances: Tensor
    class_names: tuple[str, ...]
    room_size: tuple[float, float, float]

    @property
    def num_instances(self) -> int:
        """Number of instances ``I``."""
        return int(self.instances.max()) + 1


def _draw_dims(rng: np.random.Generator, cls: str) -> Arr:
    """Random sizes of one object (metres); the meaning of each entry depends on cls."""
    u = rng.uniform
    dims = {
        "table": (u(1.0, 1.6), u(0.7, 0.9), u(0.70, 0.76)),  # length, width, height
        "chair": (u(0.42, 0.50), u(0.43, 0.48), u(0.40, 0.50)),  # seat, seat z, back
        "cabinet": (u(0.6, 1.2), u(0.35, 0.5), u(1.2, 2.0)),  # width, depth, height
        "box": (u(0.3, 0.6), u(0.3, 0.6), u(0.25, 0.6)),
        "bin": (u(0.15, 0.25), u(0.35, 0.6)),  # radius, height
        "lamp": (u(0.12, 0.18), u(1.3, 1.6), u(0.15, 0.22)),  # base r, pole h, shade r
    }
    return vec(*dims[cls])


def _radius(cls: str, d: Arr) -> float:
    """Radius of a circle around the object's footprint, used to avoid overlaps."""
    if cls == "bin":
        return float(d[0])
    if cls == "lamp":
        return float(max(d[0], d[2]))
    if cls == "chair":
        return float(d[0]) / math.sqrt(2.0)
    return float(math.hypot(d[0], d[1])) / 2


def _build(
    cls: str, x: float, y: float, yaw: float, d: Arr
) -> tuple[list[Part], list[Solid]]:
    """Surfaces of one object and the solids that hide the room behind them."""
    if cls in ("cabinet", "box"):
        box = Solid(x, y, yaw, d[0] / 2, d[1] / 2, d[2])
        # A cabinet's back is against the wall (local +y) and invisible.
        skip = ("bottom", "back") if cls == "cabinet" else ("bottom",)
        return box_faces(box, 0.0, skip), [box]
    if cls == "bin":  # open top: the side and the inside of the bottom
        r, h = float(d[0]), float(d[1])
        disc = Part("disc", (vec(x, y, 0.02), vec(r)), math.pi * r * r)
        return [cylinder_side(x, y, 0.0, r, h), disc], [Solid(x, y, 0.0, r, r, h, True)]
    if cls == "lamp":
        rb, h, rs = (float(v) for v in d)
        base = Part("disc", (vec(x, y, 0.03), vec(rb)), math.pi * rb * rb)
        shade = Part(
            "sphere", (vec(x, y, h + 0.8 * rs), vec(rs)), 4 * math.pi * rs * rs
        )
        pole = cylinder_side(x, y, 0.03, 0.02, h, _METAL)
        return [base, pole, shade], [Solid(x, y, 0.0, rb, rb, 0.03, True)]
    if cls == "table":
        sx, sy, h = (float(v) for v in d)
        parts = box_faces(Solid(x, y, yaw, sx / 2, sy / 2, h), h - 0.04)
        lx, ly, leg_color = sx / 2 - 0.08, sy / 2 - 0.08, None
        leg_r, leg_h = 0.03, h - 0.04
    else:  # chair: seat, backrest on the local +y edge, thin metal legs
        a, h, back = (float(v) for v in d)
        parts = box_faces(Solid(x, y, yaw, a / 2, a / 2, h), h - 0.05)
        bx, by = to_world(x, y, yaw, 0.0, a / 2 - 0.02)
        parts += box_faces(Solid(bx, by, yaw, a / 2, 0.02, h + back), h, ("bottom",))
        lx, ly, leg_color = a / 2 - 0.03, a / 2 - 0.03, _METAL
        leg_r, leg_h = 0.015, h - 0.05
    for sx_, sy_ in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
        px, py = to_world(x, y, yaw, sx_ * lx, sy_ * ly)
        parts.append(cylinder_side(px, py, 0.0, leg_r, leg_h, leg_color))
    return parts, []


def _place(
    rng: np.random.Generator, cls: str, r: float, d: Arr, room: tuple[float, float],
    placed: list[tuple[float, float, float]],
) -> tuple[float, float, float]:  # fmt: skip
    """Rejection-sample a free spot ``(x, y, yaw)`` on the floor plan."""
    w, dep = room
    for _ in range(1000):
        if cls == "cabinet":  # against a random wall, back (local +y) to the wall
            off = float(d[1]) / 2 + 0.02
            side = int(rng.integers(4))
            along = rng.uniform(r, (w if side < 2 else dep) - r)
            x, y, yaw = [
                (along, off, math.pi), (along, dep - off, 0.0),
                (off, along, math.pi / 2), (w - off, along, -math.pi / 2),
            ][side]  # fmt: skip
        else:  # mostly aligned with the walls, never quite
            yaw = float(rng.integers(4)) * math.pi / 2 + rng.normal(0.0, 0.15)
            x, y = (
                rng.uniform(r + _GAP, w - r - _GAP),
                rng.uniform(r + _GAP, dep - r - _GAP),
            )
        if all(math.hypot(x - px, y - py) > r + pr + _GAP for px, py, pr in placed):
            placed.append((x, y, r))
            return x, y, yaw
    raise ValueError(
        f"Could not place {len(placed) + 1} objects without overlap in a "
        f"{w:.1f} x {dep:.1f} m room; pass fewer objects or a larger room_size."
    )


def _room(w: float, dep: float, h: float, ceiling: bool) -> list[tuple[int, Part]]:
    o, ex, ey, ez = vec(0, 0, 0), vec(w, 0, 0), vec(0, dep, 0), vec(0, 0, h)
    parts = [(_C["floor"], rect(o, ex, ey))]
    parts += [
        (_C["wall"], rect(a, b, ez)) for a, b in ((o, ex), (ey, ex), (o, ey), (ex, ey))
    ]
    return parts + ([(_C["ceiling"], rect(ez, ex, ey))] if ceiling else [])


def _sample_visible(
    rng: np.random.Generator, part: Part, n: int, solids: list[Solid]
) -> Arr:
    """``n`` points on ``part`` outside every solid (rejection sampling)."""
    chunks, have = [], 0
    while have < n:
        p = sample_part(rng, part, 2 * (n - have) + 64)
        p = p[~hidden_by(p, solids)]
        chunks.append(p)
        have += len(p)
    return np.concatenate(chunks)[:n] if chunks else np.zeros((0, 3))


def _furnish(
    rng: np.random.Generator, num_objects: int, room: tuple[float, float]
) -> tuple[list[tuple[int, Part]], list[int], list[Solid]]:
    """Choose, size and place the furniture.

    Returns ``(label, part)`` pairs, the index of the object owning each part, and
    the solids that hide room surfaces.
    """
    classes = [str(c) for c in rng.permutation(_FURNITURE)[: min(num_objects, 6)]]
    more = rng.choice(_FURNITURE, size=num_objects - len(classes), p=_FREQ)
    classes += [str(c) for c in more]
    dims = [_draw_dims(rng, c) for c in classes]
    radii = [_radius(c, d) for c, d in zip(classes, dims, strict=True)]
    objects: list[tuple[int, Part]] = []
    owners: list[int] = []
    solids: list[Solid] = []
    placed: list[tuple[float, float, float]] = []
    big_first = np.argsort(radii, kind="stable")[::-1]  # fewer rejections
    for i in big_first:
        x, y, yaw = _place(rng, classes[i], radii[i], dims[i], room, placed)
        parts, solid = _build(classes[i], x, y, yaw, dims[i])
        objects += [(_C[classes[i]], p) for p in parts]
        owners += [len(placed) - 1] * len(parts)
        solids += solid
    return objects, owners, solids


def make_indoor_scene(
    num_points: int = 100_000,
    *,
    num_objects: int = 20,
    seed: int = 0,
    noise: float = 0.005,
    color_noise: float = 0.02,
    room_size: tuple[float, float] | None = None,
    height: float = 2.7,
    ceiling: bool = False,
) -> IndoorScene:
    """Sample a furnished room as a labelled, coloured point cloud.

    Furniture (tables, chairs, cabinets, boxes, bins, lamps; one of each class first,
    then chairs and boxes most often) is placed on the floor plan by rejection sampling
    so that no two objects overlap; cabinets stand against a wall. Each instance gets
    its class colour with a small random shift, each surface a random brightness
    (lighting), each point colour noise; positions get isotropic Gaussian noise.

    Args:
        num_points (int, optional): number of points ``P``. (default: ``100_000``)
        num_objects (int, optional): pieces of furniture. (default: ``20``)
        seed (int, optional): seed of the numpy generator; equal seeds give equal
            scenes. (default: ``0``)
        noise (float, optional): standard deviation of the position noise in metres.
            (default: ``0.005``)
        color_noise (float, optional): standard deviation of the per-point colour
            noise. (default: ``0.02``)
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
    height = check_real(height, "height", owner, low=0.0, closed="neither")
    if room_size is None:
        area = max(12.0, 2.4 * num_objects)
        room_size = (math.sqrt(area * 4 / 3), math.sqrt(area * 3 / 4))
    if len(room_size) != 2 or min(room_size) <= 0:
        raise param_error("room_size", owner, "two positive lengths (m)", room_size)
    w, dep = float(room_size[0]), float(room_size[1])
    rng = np.random.default_rng(seed)

    objects, owners, solids = _furnish(rng, num_objects, (w, dep))
    room = _room(w, dep, height, ceiling)
    all_parts = room + objects
    instance = np.array(list(range(len(room))) + [len(room) + o for o in owners])
    areas = np.array([p.area for _, p in all_parts])
    for j, (label, part) in enumerate(room):
        if label != _C["ceiling"]:  # estimate the visible share of floor and walls
            areas[j] *= 1.0 - hidden_by(sample_part(rng, part, 4000), solids).mean()
    counts = rng.multinomial(num_points, areas / areas.sum())
    inst_shift = rng.normal(0.0, 0.04, (int(instance.max()) + 1, 3))

    pts, cols = [], []
    for j, ((label, part), n) in enumerate(zip(all_parts, counts, strict=True)):
        if j < len(room):
            pts.append(_sample_visible(rng, part, int(n), solids))
        else:
            pts.append(sample_part(rng, part, int(n)))
        base = _BASE[label] if part.color is None else part.color
        shade = rng.uniform(0.85, 1.0)  # one light level per surface
        cols.append(np.broadcast_to((base + inst_shift[instance[j]]) * shade, (n, 3)))
    points = np.concatenate(pts) + rng.normal(0.0, noise, (num_points, 3))
    colors = np.concatenate(cols) + rng.normal(0.0, color_noise, (num_points, 3))
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
    )


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
