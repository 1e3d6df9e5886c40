"""Geometry primitives of the synthetic scenes: surfaces, solids and samplers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[np.float64]

_MARGIN = 0.03  # occluders hide room surfaces up to this distance (m)


@dataclass(frozen=True)
class Part:
    """One sampled surface: ``kind`` names the sampler, ``params`` its arguments."""

    kind: str
    params: tuple[Arr, ...]
    area: float
    color: Arr | None = None  # None: the colour of the object it belongs to


@dataclass(frozen=True)
class Solid:
    """Space an object fills (an oriented box or a cylinder) standing on the floor."""

    x: float
    y: float
    yaw: float
    hx: float  # half size along the local x axis, or the radius of a cylinder
    hy: float
    top: float
    cylinder: bool = False


def vec(*values: float) -> Arr:
    return np.array(values, dtype=np.float64)


def sample_part(rng: np.random.Generator, part: Part, n: int) -> Arr:
    """``n`` points uniformly distributed on ``part``, shape ``[n, 3]``."""
    p = part.params
    if part.kind == "rect":  # origin o, edges u and v
        a, b = rng.random((2, n, 1))
        rect: Arr = p[0] + a * p[1] + b * p[2]
        return rect
    t = rng.uniform(0.0, 2.0 * np.pi, n)
    c, r = p[0], float(p[1][0])
    if part.kind == "cyl":  # side: base centre c, radius r, height p[1][1]
        z = c[2] + rng.random(n) * p[1][1]
        return np.stack([c[0] + r * np.cos(t), c[1] + r * np.sin(t), z], 1)
    if part.kind == "disc":  # sqrt keeps the density uniform over the disc
        s = r * np.sqrt(rng.random(n))
        return np.stack(
            [c[0] + s * np.cos(t), c[1] + s * np.sin(t), np.full(n, c[2])], 1
        )
    d = rng.normal(size=(n, 3))  # sphere: normalised Gaussians are uniform on it
    out: Arr = c + r * d / np.linalg.norm(d, axis=1, keepdims=True).clip(1e-12)
    return out


def rect(o: Arr, u: Arr, v: Arr, color: Arr | None = None) -> Part:
    return Part("rect", (o, u, v), float(np.linalg.norm(np.cross(u, v))), color)


def cylinder_side(
    x: float, y: float, z: float, r: float, h: float, color: Arr | None = None
) -> Part:
    return Part("cyl", (vec(x, y, z), vec(r, h)), 2 * math.pi * r * h, color)


def box_faces(s: Solid, bottom: float, skip: tuple[str, ...] = ()) -> list[Part]:
    """Faces of the oriented box ``s`` between heights ``bottom`` and ``s.top``."""
    ex = vec(math.cos(s.yaw), math.sin(s.yaw), 0.0) * 2 * s.hx
    ey = vec(-math.sin(s.yaw), math.cos(s.yaw), 0.0) * 2 * s.hy
    ez = vec(0.0, 0.0, s.top - bottom)
    o = vec(s.x, s.y, bottom) - ex / 2 - ey / 2
    faces = {
        "bottom": (o, ex, ey), "top": (o + ez, ex, ey), "front": (o, ex, ez),
        "back": (o + ey, ex, ez), "left": (o, ey, ez), "right": (o + ex, ey, ez),
    }  # fmt: skip
    return [rect(*f) for name, f in faces.items() if name not in skip]


def to_world(
    x: float, y: float, yaw: float, lx: float, ly: float
) -> tuple[float, float]:
    c, s = math.cos(yaw), math.sin(yaw)
    return x + c * lx - s * ly, y + s * lx + c * ly


def hidden_by(p: Arr, solids: list[Solid]) -> NDArray[np.bool_]:
    """Points of ``p [n, 3]`` inside a solid grown by ``_MARGIN`` (hidden surfaces)."""
    out = np.zeros(len(p), dtype=bool)
    for s in solids:
        dx, dy = p[:, 0] - s.x, p[:, 1] - s.y
        c, si = math.cos(s.yaw), math.sin(s.yaw)
        lx, ly = c * dx + si * dy, -si * dx + c * dy
        if s.cylinder:
            inside = np.hypot(lx, ly) <= s.hx + _MARGIN
        else:
            inside = (np.abs(lx) <= s.hx + _MARGIN) & (np.abs(ly) <= s.hy + _MARGIN)
        out |= inside & (p[:, 2] <= s.top + _MARGIN)
    return out
