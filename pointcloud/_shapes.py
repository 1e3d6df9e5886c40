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
    normal: Arr | None = None  # unit normal of a flat part (rect, disc)


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


def sample_part(rng: np.random.Generator, part: Part, n: int) -> tuple[Arr, Arr]:
    """``n`` points uniformly distributed on ``part`` and their unit normals, ``[n, 3]``.

    Flat parts carry their normal; a cylinder's side points away from its axis and a
    sphere's surface away from its centre.
    """
    p = part.params
    if part.kind == "rect":  # origin o, edges u and v
        a, b = rng.random((2, n, 1))
        pts: Arr = p[0] + a * p[1] + b * p[2]
        return pts, _constant(part, n)
    t = rng.uniform(0.0, 2.0 * np.pi, n)
    c, r = p[0], float(p[1][0])
    if part.kind == "cyl":  # side: base centre c, radius r, height p[1][1]
        z = c[2] + rng.random(n) * p[1][1]
        cos, sin = np.cos(t), np.sin(t)
        pts = np.stack([c[0] + r * cos, c[1] + r * sin, z], 1)
        return pts, np.stack([cos, sin, np.zeros(n)], 1)
    if part.kind == "disc":  # sqrt keeps the density uniform over the disc
        s = r * np.sqrt(rng.random(n))
        pts = np.stack(
            [c[0] + s * np.cos(t), c[1] + s * np.sin(t), np.full(n, c[2])], 1
        )
        return pts, _constant(part, n)
    d = rng.normal(size=(n, 3))  # sphere: normalised Gaussians are uniform on it
    unit: Arr = d / np.linalg.norm(d, axis=1, keepdims=True).clip(1e-12)
    return c + r * unit, unit


def _constant(part: Part, n: int) -> Arr:
    normal = vec(0.0, 0.0, 1.0) if part.normal is None else part.normal
    return np.broadcast_to(normal, (n, 3)).copy()


def disc(x: float, y: float, z: float, r: float, color: Arr | None = None) -> Part:
    """A horizontal disc facing up."""
    return Part("disc", (vec(x, y, z), vec(r)), math.pi * r * r, color)


def sphere(c: Arr, r: float, color: Arr | None = None) -> Part:
    return Part("sphere", (c, vec(r)), 4 * math.pi * r * r, color)


def rect(
    o: Arr, u: Arr, v: Arr, color: Arr | None = None, toward: Arr | None = None
) -> Part:
    """The parallelogram ``o + a u + b v``, ``a, b`` in ``[0, 1]``.

    Its normal is ``u x v`` normalised, flipped to face the point ``toward`` if given.
    """
    cross = np.cross(u, v)
    area = float(np.linalg.norm(cross))
    normal = cross / max(area, 1e-12)
    if toward is not None and float(np.dot(toward - (o + (u + v) / 2), normal)) < 0:
        normal = -normal
    return Part("rect", (o, u, v), area, color, normal)


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
    centre = o + (ex + ey + ez) / 2
    out = []
    for name, (fo, fu, fv) in faces.items():
        if name not in skip:  # normals point out of the box
            mid = fo + (fu + fv) / 2
            out.append(rect(fo, fu, fv, None, 2 * mid - centre))
    return out


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


def sample_visible(
    rng: np.random.Generator, part: Part, n: int, solids: list[Solid]
) -> tuple[Arr, Arr]:
    """``n`` points on ``part`` outside every solid (rejection sampling), and normals."""
    chunks, normals, have = [], [], 0
    while have < n:
        p, nrm = sample_part(rng, part, 2 * (n - have) + 64)
        keep = ~hidden_by(p, solids)
        chunks.append(p[keep])
        normals.append(nrm[keep])
        have += int(keep.sum())
    if not chunks:
        return np.zeros((0, 3)), np.zeros((0, 3))
    return np.concatenate(chunks)[:n], np.concatenate(normals)[:n]


def noisy_unit(rng: np.random.Generator, normals: Arr, sigma: float) -> Arr:
    """Perturb unit vectors by isotropic Gaussian noise and renormalise."""
    out = normals + rng.normal(0.0, sigma, normals.shape) if sigma > 0 else normals
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    # A perturbation that cancels the vector (only for sigma ~ 1) keeps the original.
    bad = norm[:, 0] < 1e-6
    out[bad], norm[bad] = normals[bad], 1.0
    result: Arr = out / norm
    return result
