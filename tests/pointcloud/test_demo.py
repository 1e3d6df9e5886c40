"""End-to-end tests of ``graphssl demo`` (One Thing One Click and the spreading fallback)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from pointcloud.demo import DemoResult, register, run_demo
from pointcloud.io import read_ply

SMALL = {
    "num_points": 3_000,
    "num_objects": 4,
    "rounds": 2,
    "epochs": 10,
    "extra_rooms": 0,
}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, Path]:
    out = tmp_path_factory.mktemp("demo")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = run_demo(**SMALL, seed=0, out_dir=out, log=None)  # type: ignore[arg-type]
    finally:
        torch.set_num_threads(threads)
    return result, out


def test_demo_writes_files(small_run: tuple[DemoResult, Path]) -> None:
    result, out = small_run
    png, ply = out / "demo.png", out / "demo_prediction.ply"
    assert result.files == [png, ply]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cloud = read_ply(ply)
    assert cloud["points"].shape == (3_000, 3)
    assert torch.equal(cloud["labels"], result.prediction)


def test_demo_runs_the_otoc_rounds(small_run: tuple[DemoResult, Path]) -> None:
    result, _ = small_run
    assert result.method == "otoc"
    assert result.num_clicks == result.num_instances == 1 + 4 + 4
    assert [h.round for h in result.history] == [1, 2]
    assert result.num_unreached == 0  # every point gets a class
    assert 0.0 <= result.miou <= 1.0
    # Walls are most of this small room: "wall" everywhere scores 0.69 accuracy and
    # 0.115 mIoU (6 classes present). Two short rounds (10 + 5 steps) measured 0.915
    # accuracy and 0.54 mIoU here (mIoU 0.22-0.54 over seeds 0-3): the check is that
    # the classes beyond the walls are found at all, not a quality bar.
    assert result.accuracy > 0.6
    assert result.miou > 0.2
    assert set(result.timings) == {"scene", "clicks", "train", "predict", "output"}


def test_propagation_fallback(device: str) -> None:
    result = run_demo(
        method="propagation", num_points=3_000, num_objects=4, seed=1, device=device,
        out_dir=None, log=None,
    )  # fmt: skip
    assert result.files == [] and result.history == []
    assert result.prediction.device.type == "cpu"
    assert result.accuracy > 0.8  # measured 0.999
    assert set(result.timings) == {"scene", "clicks", "graph", "propagation", "output"}


def test_demo_narrates(capsys: pytest.CaptureFixture[str]) -> None:
    run_demo(method="propagation", num_points=3_000, num_objects=4, out_dir=None)
    text = capsys.readouterr().out
    for word in ("[1/5] scene", "clicks", "kNN graph", "label spreading", "mIoU"):
        assert word in text


def test_bad_method() -> None:
    with pytest.raises(ValueError, match="'method' parameter of run_demo"):
        run_demo(method="magic", out_dir=None, log=None)
    with pytest.raises(ValueError, match="'extra_rooms' parameter of run_demo"):
        run_demo(extra_rooms=-1, out_dir=None, log=None)
    with pytest.raises(ValueError, match="'extra_points' parameter of run_demo"):
        run_demo(extra_points=10, out_dir=None, log=None)


def test_demo_trains_on_extra_rooms(one_thread: None) -> None:
    from pointcloud.synthetic import make_scene_set

    lines: list[str] = []
    result = run_demo(
        num_points=2_000, num_objects=3, rounds=1, epochs=2, extra_rooms=2,
        extra_points=1_500, out_dir=None, log=lines.append,
    )  # fmt: skip
    # The extra rooms are the seeded set the demo documents; every instance is
    # clicked once, so the narrated total is the demo room's plus theirs.
    rooms = make_scene_set(2, seed=7, num_points=1_500, num_objects=(6, 10))
    extra = sum(
        len(torch.unique(r.instances)) for r in rooms if r.instances is not None
    )
    text = "\n".join(lines)
    assert "+ 2 more synthetic rooms (1,500 points each)" in text
    assert f"{result.num_clicks + extra} clicks in all" in text
    assert result.prediction.shape == (2_000,)


def test_register_uses_parent_options() -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--device", default="auto")
    common.add_argument("--seed", type=int, default=0)
    parser = argparse.ArgumentParser(prog="graphssl")
    register(parser.add_subparsers(dest="command"), [common])
    args = parser.parse_args(["demo", "--points", "2000", "--k", "8", "--seed", "3"])
    assert (args.points, args.objects, args.k, args.seed) == (2000, 8, 8, 3)
    assert (args.method, args.rounds, args.epochs) == ("otoc", 3, 30)
    assert (args.extra_rooms, args.extra_points) == (3, 8_000)
    assert args.device == "auto"
    assert args.out == Path("graphssl-demo")
    assert callable(args.func)


def test_cli_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = pytest.importorskip("graphssl.cli")
    argv = [
        "demo",
        "--points",
        "2000",
        "--objects",
        "3",
        "--rounds",
        "1",
        "--epochs",
        "3",
        "--extra-rooms",
        "1",
        "--extra-points",
        "1000",
    ]
    assert cli.main([*argv, "--device", "cpu", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "demo.png").exists()
    text = capsys.readouterr().out
    assert "round 1:" in text and "mIoU" in text
