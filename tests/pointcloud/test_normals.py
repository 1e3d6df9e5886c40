"""Tests for pointcloud.normals: PCA normals against closed-form surfaces."""

from __future__ import annotations

import math

import pytest
import torch

from pointcloud.normals import estimate_normals, orient_normals


def _plane(n: int, normal: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Random points on the plane through the origin with the given unit normal."""
    g = torch.Generator().manual_seed(seed)
    a = torch.linalg.cross(normal, torch.tensor([0.3, 0.5, 0.8]))
    a = a / a.norm()
    b = torch.linalg.cross(normal, a)
    uv = torch.rand(n, 2, generator=g) * 2 - 1
    out: torch.Tensor = uv[:, :1] * a + uv[:, 1:] * b
    return out


def test_plane_normals_are_exact_and_point_up() -> None:
    normal = torch.tensor([1.0, 2.0, 2.0]) / 3.0
    pts = _plane(300, normal)
    n = estimate_normals(pts, k=10)
    assert torch.allclose(n, normal.expand_as(n), atol=1e-5)
    flipped = estimate_normals(pts, k=10)  # the sign rule is not random
    assert torch.equal(n, flipped)


def test_vertical_plane_uses_the_y_then_x_tie_break() -> None:
    pts = _plane(200, torch.tensor([1.0, 0.0, 0.0]))
    n = estimate_normals(pts, k=8)
    assert torch.allclose(n, torch.tensor([1.0, 0.0, 0.0]).expand_as(n), atol=1e-5)
    wall = _plane(200, torch.tensor([0.0, -1.0, 0.0]))
    n = estimate_normals(wall, k=8)
    assert torch.allclose(n, torch.tensor([0.0, 1.0, 0.0]).expand_as(n), atol=1e-5)


def test_sphere_normals_are_radial_and_face_a_viewpoint() -> None:
    g = torch.Generator().manual_seed(1)
    d = torch.randn(3000, 3, generator=g)
    pts = d / d.norm(dim=1, keepdim=True)
    n = estimate_normals(pts, k=12, viewpoint=torch.zeros(3))
    cos = (n * pts).sum(1)
    assert bool((cos < -0.99).all())  # inward: towards the centre
    outside = estimate_normals(pts, k=12, viewpoint=torch.tensor([0.0, 0.0, 10.0]))
    facing = (outside * (torch.tensor([0.0, 0.0, 10.0]) - pts)).sum(1)
    assert bool((facing >= 0).all())
    assert torch.allclose(n.norm(dim=1), torch.ones(3000), atol=1e-6)


def test_permutation_of_points_permutes_normals() -> None:
    g = torch.Generator().manual_seed(2)
    pts = torch.rand(500, 3, generator=g) * torch.tensor([1.0, 1.0, 0.05])
    perm = torch.randperm(500, generator=g)
    assert torch.allclose(
        estimate_normals(pts)[perm], estimate_normals(pts[perm]), atol=1e-5
    )


def test_dtype_and_device_follow_the_input(device: str) -> None:
    pts = _plane(100, torch.tensor([0.0, 0.0, 1.0])).double().to(device)
    n = estimate_normals(pts, k=6)
    assert n.dtype == torch.float64
    assert n.device.type == device
    assert torch.allclose(
        n.cpu(), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).expand(100, 3)
    )


def test_k_is_capped_at_the_number_of_points() -> None:
    pts = torch.tensor(
        [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]
    )
    n = estimate_normals(pts, k=50)
    assert torch.allclose(n, torch.tensor([0.0, 0.0, 1.0]).expand(4, 3), atol=1e-6)


def test_orient_normals_lexicographic_rule() -> None:
    n = torch.tensor(
        [[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.6, -0.8, 0.0], [0.0, 0.0, 0.0]]
    )
    out = orient_normals(n)
    expected = torch.tensor(
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [-0.6, 0.8, 0.0], [0.0, 0.0, 0.0]]
    )
    assert torch.equal(out, expected)
    with pytest.raises(ValueError, match="'points' parameter of orient_normals"):
        orient_normals(n, viewpoint=torch.zeros(3))


@pytest.mark.parametrize(
    ("points", "kwargs", "err", "match"),
    [
        (torch.zeros(2, 3), {}, ValueError, "at least 3 points"),
        (torch.zeros(0, 3), {}, ValueError, "non-empty"),
        (torch.zeros(5, 2), {}, ValueError, r"shape \[P, 3\]"),
        (torch.tensor([[math.nan, 0.0, 0.0]] * 4), {}, ValueError, "finite"),
        (torch.zeros(5, 3, dtype=torch.long), {}, TypeError, "floating-point"),
        (torch.rand(5, 3), {"k": 1}, ValueError, "'k' parameter"),
        (torch.rand(5, 3), {"viewpoint": torch.zeros(2)}, ValueError, "viewpoint"),
    ],
)
def test_bad_input(
    points: torch.Tensor, kwargs: dict[str, object], err: type[Exception], match: str
) -> None:
    with pytest.raises(err, match=match):
        estimate_normals(points, **kwargs)  # type: ignore[arg-type]
