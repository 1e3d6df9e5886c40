"""Furniture of the synthetic rooms: random sizes, placement and surfaces per class."""

from __future__ import annotations

import math

import numpy as np

from pointcloud._shapes import (
    Arr,
    Part,
    Solid,
    box_faces,
    cylinder_side,
    disc,
    rect,
    sphere,
    to_world,
    vec,
)

__all__ = [
    "FURNITURE", "GAP", "build", "draw_dims", "footprint_radius", "furnish", "place",
]  # fmt: skip

FURNITURE = (
    "table", "chair", "cabinet", "shelf", "box", "cylinder", "sphere", "bin", "lamp",
)  # fmt: skip
GAP = 0.1  # minimum clearance between the bounding circles of two objects (m)
_METAL = np.array([0.25, 0.25, 0.27])  # chair legs and lamp poles
_AGAINST_WALL = ("cabinet", "shelf")
# How often each furniture class is drawn once every class has one object.
_FREQ = np.array([0.12, 0.28, 0.06, 0.06, 0.16, 0.08, 0.08, 0.08, 0.08])


def draw_dims(rng: np.random.Generator, cls: str) -> Arr:
    """Random sizes of one object (metres); the meaning of each entry depends on cls."""
    u = rng.uniform
    dims = {
        "table": (u(1.0, 1.6), u(0.7, 0.9), u(0.70, 0.76)),  # length, width, height
        "chair": (u(0.42, 0.50), u(0.43, 0.48), u(0.40, 0.50)),  # seat, seat z, back
        "cabinet": (u(0.6, 1.2), u(0.35, 0.5), u(1.2, 2.0)),  # width, depth, height
        "shelf": (u(0.7, 1.4), u(0.28, 0.4), u(1.4, 2.1), rng.integers(3, 6)),  # boards
        "box": (u(0.3, 0.6), u(0.3, 0.6), u(0.25, 0.6)),
        "cylinder": (u(0.15, 0.3), u(0.45, 1.1)),  # radius, height (drums, stools)
        "sphere": (u(0.15, 0.35), 0.0),  # radius (balls resting on the floor)
        "bin": (u(0.15, 0.25), u(0.35, 0.6)),  # radius, height
        "lamp": (u(0.12, 0.18), u(1.3, 1.6), u(0.15, 0.22)),  # base r, pole h, shade r
    }
    return vec(*(float(v) for v in dims[cls]))


def footprint_radius(cls: str, d: Arr) -> float:
    """Radius of a circle around the object's footprint, used to avoid overlaps."""
    if cls in ("bin", "cylinder", "sphere"):
        return float(d[0])
    if cls == "lamp":
        return float(max(d[0], d[2]))
    if cls == "chair":
        return float(d[0]) / math.sqrt(2.0)
    return float(math.hypot(d[0], d[1])) / 2


def _shelf(x: float, y: float, yaw: float, d: Arr) -> list[Part]:
    """An open-front bookshelf: sides, top, the inside of the back, and boards."""
    w, dep, h, boards = float(d[0]), float(d[1]), float(d[2]), int(d[3])
    box = Solid(x, y, yaw, w / 2, dep / 2, h)
    parts = box_faces(box, 0.0, ("bottom", "front", "back"))
    ex = vec(math.cos(yaw), math.sin(yaw), 0.0) * w
    ey = vec(-math.sin(yaw), math.cos(yaw), 0.0) * dep
    centre = vec(x, y, h / 2)
    back = centre - ex / 2 + ey / 2 - vec(0.0, 0.0, h / 2)
    parts.append(rect(back, ex, vec(0.0, 0.0, h), None, centre))  # faces the room
    for k in range(boards):
        z = vec(0.0, 0.0, 0.04 + k * (h - 0.06) / boards)
        parts.append(rect(centre - ex / 2 - ey / 2 - vec(0, 0, h / 2) + z, ex, ey))
    return parts


def build(
    cls: str, x: float, y: float, yaw: float, d: Arr
) -> tuple[list[Part], list[Solid]]:
    """Surfaces of one object and the solids that hide the room behind them."""
    if cls in ("cabinet", "box", "shelf"):
        box = Solid(x, y, yaw, d[0] / 2, d[1] / 2, d[2])
        if cls == "shelf":
            return _shelf(x, y, yaw, d), [box]
        # A cabinet's back is against the wall (local +y) and invisible.
        skip = ("bottom", "back") if cls == "cabinet" else ("bottom",)
        return box_faces(box, 0.0, skip), [box]
    if cls in ("bin", "cylinder"):  # a bin is open: we see the inside of its bottom
        r, h = float(d[0]), float(d[1])
        cap = disc(x, y, 0.02 if cls == "bin" else h, r)
        return [cylinder_side(x, y, 0.0, r, h), cap], [Solid(x, y, 0.0, r, r, h, True)]
    if cls == "sphere":
        r = float(d[0])
        return [sphere(vec(x, y, r), r)], []
    if cls == "lamp":
        rb, h, rs = (float(v) for v in d)
        shade = sphere(vec(x, y, h + 0.8 * rs), rs)
        pole = cylinder_side(x, y, 0.03, 0.02, h, _METAL)
        return [disc(x, y, 0.03, rb), pole, shade], [
            Solid(x, y, 0.0, rb, rb, 0.03, True)
        ]
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


def place(
    rng: np.random.Generator, cls: str, r: float, d: Arr, room: tuple[float, float],
    placed: list[tuple[float, float, float]],
) -> tuple[float, float, float]:  # fmt: skip
    """Rejection-sample a free spot ``(x, y, yaw)`` on the floor plan."""
    w, dep = room
    for _ in range(1000):
        if cls in _AGAINST_WALL:  # against a random wall, back (local +y) to the wall
            off = float(d[1]) / 2 + 0.02
            side = int(rng.integers(4))
            length = w if side < 2 else dep
            if length <= 2 * r:
                continue
            along = rng.uniform(r, length - r)
            x, y, yaw = [
                (along, off, math.pi), (along, dep - off, 0.0),
                (off, along, math.pi / 2), (w - off, along, -math.pi / 2),
            ][side]  # fmt: skip
        else:  # mostly aligned with the walls, never quite
            yaw = float(rng.integers(4)) * math.pi / 2 + rng.normal(0.0, 0.15)
            if min(w, dep) <= 2 * (r + GAP):
                continue
            x, y = (
                rng.uniform(r + GAP, w - r - GAP),
                rng.uniform(r + GAP, dep - r - GAP),
            )
        if all(math.hypot(x - px, y - py) > r + pr + GAP for px, py, pr in placed):
            placed.append((x, y, r))
            return x, y, yaw
    raise ValueError(
        f"Could not place {len(placed) + 1} objects without overlap in a "
        f"{w:.1f} x {dep:.1f} m room; pass fewer objects or a larger room_size."
    )


def furnish(
    rng: np.random.Generator, num_objects: int, room: tuple[float, float]
) -> tuple[list[tuple[str, Part]], list[int], list[Solid]]:
    """Choose, size and place the furniture.

    Returns ``(class name, part)`` pairs, the index of the object owning each part, and
    the solids that hide room surfaces.
    """
    first = rng.permutation(FURNITURE)[: min(num_objects, len(FURNITURE))]
    classes = [str(c) for c in first]
    more = rng.choice(FURNITURE, size=num_objects - len(classes), p=_FREQ)
    classes += [str(c) for c in more]
    dims = [draw_dims(rng, c) for c in classes]
    radii = [footprint_radius(c, d) for c, d in zip(classes, dims, strict=True)]
    objects: list[tuple[str, Part]] = []
    owners: list[int] = []
    solids: list[Solid] = []
    placed: list[tuple[float, float, float]] = []
    big_first = np.argsort(radii, kind="stable")[::-1]  # fewer rejections
    for i in big_first:
        x, y, yaw = place(rng, classes[i], radii[i], dims[i], room, placed)
        parts, solid = build(classes[i], x, y, yaw, dims[i])
        objects += [(classes[i], p) for p in parts]
        owners += [len(placed) - 1] * len(parts)
        solids += solid
    return objects, owners, solids
