"""``graphssl comatch`` in-process on tiny step counts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from graphssl.cli import main
from graphssl.datasets import find_planetoid_root


def test_digits_comatch_then_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = tmp_path / "c.pt"
    args = ["comatch", "digits", "--steps", "4", "--batch-size", "4", "--mu", "2",
            "--quiet", "--device", "cpu", "--checkpoint", str(ckpt)]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "CoMatch on digits: 1797 images, 40 labelled" in out
    assert "accuracy (EMA model): 0." in out and ckpt.exists()
    assert main([*args, "--resume"]) == 0  # all 4 steps already done: nothing to train
    assert "4 of 4 steps" in capsys.readouterr().out


def test_fixmatch_switch_and_npz(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    y_true = np.arange(40) % 2
    x = rng.normal(size=(40, 3)).astype(np.float32) + 3 * y_true[:, None]
    y = np.where(np.arange(40) < 6, y_true, -1)
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y, y_true=y_true)
    argv = ["comatch", str(path), "--fixmatch", "--steps", "3", "--batch-size", "2",
            "--mu", "2", "--quiet", "--device", "cpu", "--threshold", "0.5"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "FixMatch (CoMatch path" in out and "accuracy (EMA model): " in out


def test_digits_benchmark_encoder_and_views(monkeypatch: pytest.MonkeyPatch) -> None:
    import graphssl.comatch.digits_cnn as dc
    import graphssl.comatch.presets as presets

    built: list[str] = []
    real_cnn, real_views = dc.SmallDigitsCNN, presets.comatch_views

    def cnn(*a: object, **k: object) -> object:
        built.append("small-cnn")
        return real_cnn(*a, **k)  # type: ignore[arg-type]

    def views(name: str) -> object:
        built.append(name)
        return real_views(name)

    monkeypatch.setattr(dc, "SmallDigitsCNN", cnn)
    monkeypatch.setattr(presets, "comatch_views", views)
    argv = ["comatch", "digits", "--encoder", "small-cnn", "--views", "affine",
            "--steps", "2", "--batch-size", "4", "--mu", "1", "--quiet", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    assert built[0] == "small_image_affine" and "small-cnn" in built


def test_bad_arguments_exit_cleanly(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="'threshold' parameter of CoMatchConfig"):
        main(["comatch", "digits", "--threshold", "1.5", "--steps", "1", "--quiet"])
    with pytest.raises(SystemExit, match="--encoder gcn: use mlp, cnn, small-cnn"):
        main(["comatch", "digits", "--encoder", "gcn", "--quiet"])
    with pytest.raises(SystemExit, match="--resume needs --checkpoint"):
        main(["comatch", "digits", "--resume", "--quiet"])
    with pytest.raises(SystemExit, match="cannot read"):
        main(["comatch", str(tmp_path / "missing.npz"), "--quiet", "--device", "cpu"])


@pytest.mark.skipif(find_planetoid_root() is None, reason="Planetoid data not present")
def test_cora_runs(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["comatch", "cora", "--steps", "2", "--batch-size", "8", "--mu", "1",
            "--quiet", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    assert "CoMatch on Cora: 2708 nodes, 140 labelled" in capsys.readouterr().out


@pytest.mark.skipif(find_planetoid_root() is None, reason="Planetoid data not present")
def test_cora_learns_with_default_settings(capsys: pytest.CaptureFixture[str]) -> None:
    # row-normalised features once kept this command at chance level (~0.17) for
    # the whole default run; 80 steps on the raw features reach ~0.8
    assert main(["comatch", "cora", "--steps", "80", "--quiet", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    trained = float(re.search(r"trained model: ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    assert trained > 0.5, out


def test_momentum_encoder_variant(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["comatch", "digits", "--steps", "3", "--batch-size", "4", "--mu", "2",
            "--quiet", "--device", "cpu", "--momentum-encoder",
            "--encoder-momentum", "0.9", "--strong-queue-size", "20"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "momentum encoder (m 0.9) and a strong-view queue of 20 rows" in out
    with pytest.raises(SystemExit, match="None unless momentum_encoder is True"):
        main(["comatch", "digits", "--strong-queue-size", "20", "--quiet"])
    with pytest.raises(SystemExit, match=r"'strong_queue_size' parameter.*= 8 rows"):
        main([*argv[:-1], "7"])  # below one unlabelled batch of 2 * 4 rows
