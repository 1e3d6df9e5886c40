"""The graphssl command line."""

from __future__ import annotations

import argparse
import re

import pytest

from graphssl.cli import build_parser, main
from graphssl.datasets import find_planetoid_root
from graphssl.exceptions import GraphWarning


def test_info(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "graphssl" in out and "torch" in out


def _leaf_commands(
    parser: argparse.ArgumentParser, prefix: list[str]
) -> list[list[str]]:
    """Every runnable command line: groups (``graphssl video ...``) are walked into."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [prefix]
    return [
        leaf
        for name, child in subs[0].choices.items()
        for leaf in _leaf_commands(child, [*prefix, name])
    ]


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    leaves = _leaf_commands(build_parser(), [])
    assert ["video", "train"] in leaves and ["pointcloud", "segment"] in leaves
    for argv in leaves:
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--help"])
        assert exc.value.code == 0
        assert "--device" in capsys.readouterr().out, argv


def test_propagate_moons_reports_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["propagate", "moons", "--n", "3000", "--quiet", "--device", "cpu"]) == 0
    )
    out = capsys.readouterr().out
    acc = float(re.search(r"accuracy on \d+ scored nodes: ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    assert acc > 0.9


def test_propagate_matches_the_quick_start(capsys: pytest.CaptureFixture[str]) -> None:
    # the README's quick start builds the graph in float64: every node reached,
    # accuracy 0.9527; in float32 a few far Gaussian weights underflow
    argv = ["propagate", "moons", "--n", "100000", "--quiet", "--device", "cpu"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    acc = float(re.search(r"accuracy on 99980 scored nodes: ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    assert "unreached: 0 " in out and acc > 0.95, out
    with pytest.warns(GraphWarning, match="lost all their edge weight"):
        assert main([*argv, "--dtype", "float32"]) == 0
    assert "unreached: 0 " not in capsys.readouterr().out


def test_propagate_writes_predictions(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    out = tmp_path / "pred.npy"
    assert (
        main(
            [
                "propagate",
                "digits",
                "--labels-per-class",
                "5",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    pred = np.load(out)
    assert pred.shape == (1797,) and pred.min() >= -1 and pred.max() <= 9


@pytest.mark.skipif(find_planetoid_root() is None, reason="Planetoid data not present")
def test_propagate_cora(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["propagate", "cora", "--method", "propagation", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "accuracy on 1000 scored nodes" in out


def test_unknown_cuda_device_is_a_clear_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(SystemExit, match="CUDA is not available"):
        main(["propagate", "moons", "--n", "500", "--device", "cuda", "--quiet"])
