"""Tests for pointcloud.io: round trips of PLY, PCD, XYZ and NPZ, foreign files, errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from graphssl._optional import WITH_OPEN3D
from pointcloud.io import read_cloud, read_ply, write_cloud, write_ply
from pointcloud.scene import Scene

FORMATS = ["ply", "pcd", "xyz", "npz"]
COMBOS = {
    "points": (),
    "colors": ("colors",),
    "labels": ("labels", "instances"),
    "all": ("colors", "normals", "labels", "instances", "segments"),
}


def _cloud(n: int = 200) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    points = torch.randn(n, 3, generator=g)
    colors = torch.rand(n, 3, generator=g)
    labels = torch.randint(-1, 9, (n,), generator=g)
    return points, colors, labels


def _scene(keep: tuple[str, ...], n: int = 100) -> Scene:
    g = torch.Generator().manual_seed(1)
    full = {
        "colors": torch.rand(n, 3, generator=g),
        "normals": torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=1),
        "labels": torch.randint(-1, 3, (n,), generator=g),
        "instances": torch.randint(-1, 7, (n,), generator=g),
        "segments": torch.randint(0, 20, (n,), generator=g),
    }
    names = ("floor", "wall", "chair") if "labels" in keep else ()
    pts = torch.randn(n, 3, generator=g) * 3
    fields = {k: v for k, v in full.items() if k in keep}
    return Scene(pts, **fields, class_names=names, name="room 1")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("ascii", [False, True])
@pytest.mark.parametrize("combo", list(COMBOS))
def test_round_trip(tmp_path: Path, fmt: str, ascii: bool, combo: str) -> None:
    s = _scene(COMBOS[combo])
    path = tmp_path / f"cloud.{fmt}"
    write_cloud(path, s, ascii=ascii)
    r = read_cloud(path)
    assert list(r.tensors()) == list(s.tensors())
    assert (r.class_names, r.name) == (s.class_names, "room 1")
    for key, want in s.tensors().items():
        got = getattr(r, key)
        assert got.dtype == want.dtype
        if key == "colors" and fmt in ("ply", "pcd"):  # 8-bit storage
            assert torch.allclose(got, want, atol=0.5 / 255 + 1e-6)
            assert torch.equal(got, (want * 255).round() / 255)
        else:  # float32 values survive text as 9 significant digits
            assert torch.equal(got, want), key


def test_float_ply_colours_are_exact(tmp_path: Path) -> None:
    s = _scene(("colors",))
    write_cloud(tmp_path / "c.ply", s, color_type="float")
    assert s.colors is not None
    assert torch.equal(read_cloud(tmp_path / "c.ply").colors, s.colors)  # type: ignore[arg-type]


def test_mapping_input_and_format_override(tmp_path: Path) -> None:
    points, colors, _ = _cloud(10)
    path = tmp_path / "cloud.bin"
    write_cloud(path, {"points": points, "colors": colors}, format="npz")
    r = read_cloud(path, format="npz", class_names=["a"])
    assert torch.equal(r.points, points) and r.class_names == ("a",)


def test_legacy_round_trip(tmp_path: Path) -> None:
    points, colors, labels = _cloud()
    path = tmp_path / "cloud.ply"
    write_ply(path, points, colors, labels)
    out = read_ply(path, backend="numpy")
    assert sorted(out) == ["colors", "labels", "points"]
    assert out["points"].dtype == torch.float32
    assert torch.equal(out["points"], points)
    assert torch.allclose(out["colors"], colors, atol=0.5 / 255 + 1e-7)
    assert out["labels"].dtype == torch.int64
    assert torch.equal(out["labels"], labels)
    assert torch.equal(read_cloud(path).labels, labels)  # type: ignore[arg-type]


def test_legacy_points_only_and_empty(tmp_path: Path) -> None:
    points, _, _ = _cloud(10)
    write_ply(tmp_path / "a.ply", points.double())
    out = read_ply(tmp_path / "a.ply")
    assert sorted(out) == ["points"]
    assert torch.allclose(out["points"], points)
    write_ply(tmp_path / "empty.ply", torch.zeros(0, 3))
    assert read_ply(tmp_path / "empty.ply")["points"].shape == (0, 3)
    # A Scene cannot be empty: read_cloud says so and names the file.
    with pytest.raises(ValueError, match=r"empty\.ply.*non-empty cloud"):
        read_cloud(tmp_path / "empty.ply")


def _header(fmt: str, props: str, n: int, before: str = "", after: str = "") -> bytes:
    text = f"ply\nformat {fmt} 1.0\ncomment hand made\n{before}element vertex {n}\n"
    return (text + props + after + "end_header\n").encode()


def test_foreign_ply_layouts(tmp_path: Path) -> None:
    props = "property double x\nproperty double y\nproperty double z\n"
    props += "property float red\nproperty float green\nproperty float blue\n"
    props += "property ushort label\n"
    before = "element camera 1\nproperty float f\n"
    after = "element face 1\nproperty list uchar int vertex_indices\n"
    rows = [(0.5, 1.5, 2.5, 0.25, 0.5, 1.0, 7), (3.0, 4.0, 5.0, 0.0, 0.0, 0.0, 2)]
    # Big-endian binary with an element before the vertices and faces after them.
    body = struct.pack(">f", 1.0) + b"".join(struct.pack(">dddfffH", *r) for r in rows)
    body += struct.pack(">Biii", 3, 0, 1, 1)
    (tmp_path / "be.ply").write_bytes(
        _header("binary_big_endian", props, 2, before, after) + body
    )
    text = "9.5\n" + "".join(" ".join(map(str, r)) + "\n" for r in rows) + "3 0 1 1\n"
    (tmp_path / "a.ply").write_bytes(
        _header("ascii", props, 2, before, after) + text.encode()
    )
    for name in ("be.ply", "a.ply"):
        s = read_cloud(tmp_path / name)
        assert s.points.tolist() == [[0.5, 1.5, 2.5], [3.0, 4.0, 5.0]]
        assert s.colors is not None and s.labels is not None
        assert s.colors.tolist() == [[0.25, 0.5, 1.0], [0.0, 0.0, 0.0]]
        assert s.labels.tolist() == [7, 2]
        assert s.name == Path(name).stem


@pytest.mark.skipif(not WITH_OPEN3D, reason="open3d is not installed")
@pytest.mark.parametrize("fmt", ["ply", "pcd"])
@pytest.mark.parametrize("ascii", [False, True])
def test_open3d_interoperates(tmp_path: Path, fmt: str, ascii: bool) -> None:
    o3d = pytest.importorskip("open3d")
    s = _scene(("colors", "normals", "labels"))
    assert s.colors is not None and s.normals is not None
    ours = tmp_path / f"ours.{fmt}"
    write_cloud(ours, s, ascii=ascii)
    cloud = o3d.io.read_point_cloud(str(ours))
    np.testing.assert_allclose(np.asarray(cloud.points), s.points.numpy(), atol=1e-6)
    np.testing.assert_allclose(np.asarray(cloud.colors), s.colors.numpy(), atol=0.002)
    np.testing.assert_allclose(np.asarray(cloud.normals), s.normals.numpy(), atol=1e-6)
    for compressed in (False, True):  # compressed PCD goes through Open3D
        theirs = tmp_path / f"theirs.{fmt}"
        o3d.io.write_point_cloud(
            str(theirs), cloud, write_ascii=ascii, compressed=compressed
        )
        r = read_cloud(theirs)
        assert torch.allclose(r.points, s.points, atol=1e-5)
        assert r.colors is not None and r.normals is not None
        assert torch.allclose(r.colors, s.colors, atol=0.002)
        assert torch.allclose(r.normals, s.normals, atol=1e-5)


def test_legacy_open3d_backend(tmp_path: Path) -> None:
    pytest.importorskip("open3d")
    points, colors, labels = _cloud()
    write_ply(tmp_path / "c.ply", points, colors, labels)
    out = read_ply(tmp_path / "c.ply", backend="open3d")
    assert sorted(out) == ["colors", "points"]
    assert torch.allclose(out["points"], points)


def test_xyz_without_header(tmp_path: Path) -> None:
    # S3DIS-style 0-255 colours are rescaled; a 4th or 7th column is the label.
    (tmp_path / "a.xyz").write_text("0 0 0 255 0 51\n1 2 3 0 255 0\n")
    s = read_cloud(tmp_path / "a.xyz")
    assert s.colors is not None and s.labels is None
    want = torch.tensor([[1.0, 0.0, 0.2], [0.0, 1.0, 0.0]])
    assert torch.allclose(s.colors, want)
    (tmp_path / "b.txt").write_text("0 0 0 3\n1 2 3 -1\n")
    assert read_cloud(tmp_path / "b.txt").labels.tolist() == [3, -1]  # type: ignore[union-attr]
    (tmp_path / "c.xyz").write_text("0 0 0 0.5 0.5 0.5 1\n")
    c = read_cloud(tmp_path / "c.xyz")
    assert c.labels is not None and c.labels.tolist() == [1]
    assert c.colors is not None and c.colors.tolist() == [[0.5, 0.5, 0.5]]


def _corrupt_files(tmp_path: Path) -> dict[str, bytes]:
    s = _scene(("colors", "labels"), n=50)
    for fmt in ("ply", "pcd"):
        write_cloud(tmp_path / f"good.{fmt}", s)
    ply = (tmp_path / "good.ply").read_bytes()
    pcd = (tmp_path / "good.pcd").read_bytes()
    head = b"ply\nformat ascii 1.0\nelement vertex 2\n" + b"".join(
        f"property float {c}\n".encode() for c in "xyz"
    )
    return {
        "truncated.ply": ply[:-10],
        "notply.ply": b"solid cube\n",
        "noend.ply": ply[: ply.index(b"end_header")],
        "badfmt.ply": ply.replace(b"binary_little_endian", b"binary_middle_endian"),
        "text.ply": head + b"end_header\n0 0 0\n1 1 oops\n",
        "short.ply": head + b"end_header\n0 0 0\n",
        "nan.ply": head + b"end_header\n0 0 0\nnan 1 1\n",
        "novertex.ply": b"ply\nformat ascii 1.0\nelement face 0\nend_header\n",
        "negative.ply": b"ply\nformat ascii 1.0\nelement vertex -3\nend_header\n",
        "noxyz.ply": b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float u\n"
        b"end_header\n1\n",
        "truncated.pcd": pcd[:-7],
        "nodata.pcd": pcd[: pcd.index(b"DATA")],
        "junk.pcd": b"VERSION 0.7\nHELLO world\n",
        "ragged.xyz": b"0 0 0\n1 1\n",
        "five.xyz": b"0 0 0 1 1\n",
        "float_label.xyz": b"0 0 0 0.5\n",
        "corrupt.npz": b"PK\x03\x04 not really a zip file",
        "empty.xyz": b"",
    }


def test_corrupt_files_name_the_file(tmp_path: Path) -> None:
    for name, data in _corrupt_files(tmp_path).items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=rf"'.*{name}'|{name}"):
            read_cloud(tmp_path / name)
    np.savez(tmp_path / "nopoints.npz", xyz=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"nopoints\.npz.*no 'points' array"):
        read_cloud(tmp_path / "nopoints.npz")
    with pytest.raises(ValueError, match=r"truncated\.ply.*truncated"):
        read_cloud(tmp_path / "truncated.ply")
    with pytest.raises(ValueError, match=r"nan\.ply.*NaN"):
        read_cloud(tmp_path / "nan.ply")
    with pytest.raises(ValueError, match="Cannot read PLY file"):
        read_ply(tmp_path / "notply.ply")


def test_argument_errors(tmp_path: Path) -> None:
    points, colors, _ = _cloud(4)
    with pytest.raises(ValueError, match="'points' parameter of write_ply"):
        write_ply(tmp_path / "x.ply", points[:, :2])
    with pytest.raises(ValueError, match="'colors' parameter of write_ply"):
        write_ply(tmp_path / "x.ply", points, colors[:3])
    with pytest.raises(ValueError, match="'labels' parameter of write_ply"):
        write_ply(tmp_path / "x.ply", points, labels=torch.zeros(4))
    with pytest.raises(ValueError, match="'backend' parameter of read_ply"):
        read_ply(tmp_path / "x.ply", backend="pandas")
    with pytest.raises(ValueError, match="extension of the 'path' parameter"):
        read_cloud(tmp_path / "x.obj")
    with pytest.raises(ValueError, match="'format' parameter of write_cloud"):
        write_cloud(tmp_path / "x.ply", Scene(points), format="las")
    with pytest.raises(ValueError, match="'color_type' parameter of write_cloud"):
        write_cloud(tmp_path / "x.ply", Scene(points), color_type="half")
    labels = torch.zeros(3, dtype=torch.long)
    with pytest.raises(ValueError, match="mismatched label and point counts"):
        write_cloud(tmp_path / "x.ply", {"points": points, "labels": labels})
    with pytest.raises(FileNotFoundError, match="no file"):
        read_cloud(tmp_path / "missing.ply")
