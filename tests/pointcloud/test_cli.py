"""In-process tests of ``graphssl pointcloud segment | train | evaluate``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from graphssl.cli import main
from pointcloud.clicks import one_click_per_instance, write_clicks
from pointcloud.io import read_cloud, write_cloud
from pointcloud.synthetic import make_indoor_scene

pytestmark = pytest.mark.filterwarnings("ignore:.*have no click:UserWarning")

TINY = ["--rounds", "1", "--epochs", "2", "--epochs-next", "1", "--device", "cpu"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two labelled rooms (PLY and NPZ); the first has a clicks file."""
    d = tmp_path_factory.mktemp("scenes")
    for i, ext in enumerate(("ply", "npz")):
        scene = make_indoor_scene(1200, num_objects=2, seed=i).to_scene(name=f"room{i}")
        write_cloud(d / f"room{i}.{ext}", scene)
    s0 = read_cloud(d / "room0.ply")
    assert s0.instances is not None and s0.labels is not None
    idx, cls = one_click_per_instance(s0.instances, s0.labels, seed=1)
    write_clicks(d / "room0.clicks.txt", idx, cls)
    return d


def test_train_then_evaluate(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    model = tmp_path / "m.pt"
    ckpt = tmp_path / "ck.pt"
    argv = [
        "pointcloud",
        "train",
        str(folder),
        "--out",
        str(model),
        "--checkpoint",
        str(ckpt),
    ]
    assert main([*argv, *TINY]) == 0
    out = capsys.readouterr().out
    assert "round 1:" in out and f"wrote {model}" in out
    assert model.exists() and ckpt.exists()
    renders = tmp_path / "renders"
    argv = [
        "pointcloud",
        "evaluate",
        str(folder),
        "--model",
        str(model),
        "--png-dir",
        str(renders),
        "--quiet",
    ]
    assert main([*argv, "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "mIoU" in out and "per-class IoU" in out and "overall accuracy" in out
    assert sorted(p.name for p in renders.iterdir()) == ["room0.png", "room1.png"]
    assert (renders / "room0.png").read_bytes()[:8] == PNG


def test_segment_writes_cloud_and_picture(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    out_ply, png = tmp_path / "pred.ply", tmp_path / "views.png"
    argv = ["pointcloud", "segment", str(folder / "room0.ply"), "--clicks", str(folder / "room0.clicks.txt"),
            "--out", str(out_ply), "--png", str(png), "--quiet"]  # fmt: skip
    assert main([*argv, *TINY]) == 0
    text = capsys.readouterr().out
    assert "mIoU" in text and f"wrote {out_ply}" in text
    pred = read_cloud(out_ply)
    assert (
        pred.num_points == 1200 and pred.labels is not None and pred.colors is not None
    )
    # clicked points keep their class
    s0 = read_cloud(folder / "room0.ply")
    assert s0.instances is not None and s0.labels is not None
    idx, cls = one_click_per_instance(s0.instances, s0.labels, seed=1)
    assert torch.equal(pred.labels[idx], cls)
    assert png.read_bytes()[:8] == PNG


def test_bad_paths(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="not a folder"):
        main(["pointcloud", "train", str(tmp_path / "missing"), *TINY])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit, match="no point-cloud files"):
        main(["pointcloud", "train", str(empty), *TINY])
    bad = tmp_path / "bad.pt"
    bad.write_text("x")
    with pytest.raises(ValueError, match=r"bad\.pt"):
        main(
            [
                "pointcloud",
                "evaluate",
                str(folder),
                "--model",
                str(bad),
                "--device",
                "cpu",
            ]
        )
    broken = tmp_path / "broken.ply"
    broken.write_text("ply\nformat ascii 1.0\nelement vertex 3\n")
    with pytest.raises(ValueError, match=r"broken\.ply"):
        main(
            [
                "pointcloud",
                "segment",
                str(broken),
                "--clicks",
                str(folder / "room0.clicks.txt"),
                *TINY,
            ]
        )
    clicks = tmp_path / "c.txt"
    clicks.write_text("5000000 1\n")
    with pytest.raises(ValueError, match="'idx' parameter"):
        main(
            [
                "pointcloud",
                "segment",
                str(folder / "room0.ply"),
                "--clicks",
                str(clicks),
                *TINY,
            ]
        )


def test_scene_without_clicks_or_labels(tmp_path: Path) -> None:
    s = make_indoor_scene(500, num_objects=1, seed=0).to_scene()
    from pointcloud.scene import Scene

    write_cloud(tmp_path / "bare.npz", Scene(s.points, s.colors))
    with pytest.raises(SystemExit, match="neither a clicks file nor labels"):
        main(["pointcloud", "train", str(tmp_path), *TINY])


def test_supervoxel_options(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    from pointcloud.otoc import OneThingOneClick

    model = tmp_path / "m.pt"
    sv = ["--supervoxels", "voxel_size=0.15, seed_resolution=0.6"]
    pred = [
        "--predict-supervoxels",
        "voxel_size=0.1,seed_resolution=0.3,color_weight=8",
    ]
    argv = ["pointcloud", "train", str(folder), "--out", str(model), *sv, *pred]
    assert main([*argv, *TINY]) == 0
    loaded = OneThingOneClick.load(model)
    assert loaded.supervoxel_kwargs == {"voxel_size": 0.15, "seed_resolution": 0.6}
    assert loaded.predict_supervoxel_kwargs == {
        "voxel_size": 0.1, "seed_resolution": 0.3, "color_weight": 8.0,
    }  # fmt: skip
    capsys.readouterr()
    for bad in ("voxel=0.1", "voxel_size", "voxel_size=big"):
        with pytest.raises(SystemExit):
            main(["pointcloud", "train", str(folder), "--supervoxels", bad, *TINY])
        err = capsys.readouterr().err
        assert "--supervoxels" in err and "KEY=NUMBER" in err and repr(bad) in err
