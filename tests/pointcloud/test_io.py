"""Tests for pointcloud.io: PLY round trips through numpy and Open3D."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from graphssl._optional import WITH_OPEN3D
from pointcloud.io import read_ply, write_ply


def _cloud(n: int = 200) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    points = torch.randn(n, 3, generator=g)
    colors = torch.rand(n, 3, generator=g)
    labels = torch.randint(-1, 9, (n,), generator=g)
    return points, colors, labels


def test_round_trip(tmp_path: Path) -> None:
    points, colors, labels = _cloud()
    path = tmp_path / "cloud.ply"
    write_ply(path, points, colors, labels)
    out = read_ply(path, backend="numpy")
    assert out["points"].dtype == torch.float32
    assert torch.equal(out["points"], points)
    # Colours are stored as uchar: exact up to 1/255 rounding.
    assert torch.allclose(out["colors"], colors, atol=0.5 / 255 + 1e-7)
    assert out["labels"].dtype == torch.int64
    assert torch.equal(out["labels"], labels)


def test_points_only_and_empty(tmp_path: Path) -> None:
    points, _, _ = _cloud(10)
    write_ply(tmp_path / "a.ply", points.double())
    out = read_ply(tmp_path / "a.ply")
    assert sorted(out) == ["points"]
    assert torch.allclose(out["points"], points)
    write_ply(tmp_path / "empty.ply", torch.zeros(0, 3))
    assert read_ply(tmp_path / "empty.ply")["points"].shape == (0, 3)


@pytest.mark.skipif(not WITH_OPEN3D, reason="open3d is not installed")
def test_open3d_reads_our_file(tmp_path: Path) -> None:
    o3d = pytest.importorskip("open3d")
    points, colors, labels = _cloud()
    path = tmp_path / "cloud.ply"
    write_ply(path, points, colors, labels)
    cloud = o3d.io.read_point_cloud(str(path))
    np.testing.assert_allclose(np.asarray(cloud.points), points.numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(cloud.colors), colors.numpy(), atol=0.5 / 255 + 1e-7
    )
    out = read_ply(path, backend="open3d")
    assert sorted(out) == ["colors", "points"]
    assert torch.allclose(out["points"], points)


@pytest.mark.skipif(not WITH_OPEN3D, reason="open3d is not installed")
def test_ascii_file_goes_to_open3d(tmp_path: Path) -> None:
    path = tmp_path / "ascii.ply"
    header = "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\n"
    header += "property float y\nproperty float z\nend_header\n"
    path.write_text(header + "0 1 2\n3 4 5\n")
    out = read_ply(path)
    assert out["points"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    with pytest.raises(ValueError, match="'path' parameter of read_ply"):
        read_ply(path, backend="numpy")


def test_errors(tmp_path: Path) -> None:
    points, colors, _ = _cloud(4)
    with pytest.raises(ValueError, match="'points' parameter of write_ply"):
        write_ply(tmp_path / "x.ply", points[:, :2])
    with pytest.raises(ValueError, match="'colors' parameter of write_ply"):
        write_ply(tmp_path / "x.ply", points, colors[:3])
    with pytest.raises(ValueError, match="'labels' parameter of write_ply"):
        write_ply(tmp_path / "x.ply", points, labels=torch.zeros(4))
    (tmp_path / "bad.ply").write_text("not a ply\n")
    with pytest.raises(ValueError, match="'path' parameter of read_ply"):
        read_ply(tmp_path / "bad.ply")
    with pytest.raises(ValueError, match="'backend' parameter of read_ply"):
        read_ply(tmp_path / "bad.ply", backend="pandas")
