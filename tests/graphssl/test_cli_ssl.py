"""The SSL sub-commands of the command line: self-train, teacher-student, co-train,
rounds, em and cluster-then-label, on a parser built here (as ``graphssl.cli`` builds
its own)."""

from __future__ import annotations

import argparse
import re

import pytest
import torch

pytest.importorskip("sklearn")

from graphssl.cli import common_parser
from graphssl.cli_ssl import register

COMMANDS = (
    "self-train", "teacher-student", "co-train", "em", "rounds", "cluster-then-label"
)  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="graphssl")
    sub = p.add_subparsers(dest="command", required=True)
    register(sub, [common_parser()])
    return p


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    args = _parser().parse_args([*argv, "--device", "cpu"])
    assert args.func(args) == 0
    return capsys.readouterr().out


def _accuracies(out: str) -> list[float]:
    return [float(v) for v in re.findall(r"accuracy on unlabelled: ([0-9.]+)", out)]


@pytest.mark.parametrize(
    "argv",
    [
        ["self-train", "--dataset", "wine", "--max-iter", "2"],
        ["self-train", "--dataset", "wine", "--criterion", "graph", "--base", "mlp"],
        ["teacher-student", "--dataset", "wine", "--steps", "20", "--teacher", "ema"],
        [
            "teacher-student",
            "--dataset",
            "wine",
            "--steps",
            "20",
            "--distribution-alignment",
        ],
        ["co-train", "--dataset", "wine", "--steps", "20"],
        [
            "teacher-student",
            "--dataset",
            "wine",
            "--steps",
            "20",
            "--teacher",
            "ema",
            "--consistency",
            "mse",
            "--rampup-steps",
            "10",
        ],
        ["co-train", "--dataset", "wine", "--views", "two", "--max-iter", "3"],
        ["em", "--dataset", "wine", "--model", "multinomial"],
        ["em", "--dataset", "wine", "--model", "gmm-diag", "--hard"],
        ["em", "--dataset", "wine", "--components-per-class", "2", "--lam", "0.5"],
        ["cluster-then-label", "--dataset", "wine"],
        ["cluster-then-label", "--dataset", "wine", "--method", "gmm"],
        ["rounds", "--dataset", "wine", "--rounds", "2", "--labels-per-class", "3"],
    ],
    ids=lambda a: "-".join(a[:1] + a[3:]),
)
@pytest.mark.usefixtures("one_thread")
def test_command_prints_baseline_and_method_accuracy(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(argv, capsys)
    accs = _accuracies(out)
    assert len(accs) == 2 and all(0.0 <= a <= 1.0 for a in accs), out
    assert "on wine: 178 samples" in out
    if "ema" not in argv:  # 20 steps: the moving average is still near its init
        assert accs[1] > 0.5, out  # three classes: far above chance


def test_self_train_reports_rounds_and_termination(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _run(["self-train", "--dataset", "wine", "--max-iter", "2"], capsys)
    assert re.search(r"rounds: 2, stopped: max_iter, pseudo-labelled: 60", out), out


def test_em_reports_monotone_likelihood_and_diagnostic(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _run(["em", "--dataset", "wine", "--diagnose"], capsys)
    assert len(_accuracies(out)) == 2
    assert "monotone: True" in out
    assert re.search(r"unlabelled data (helps|hurts|no change)", out), out


def test_em_reports_non_convergence_instead_of_raising(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _run(["em", "--dataset", "wine", "--max-iter", "1"], capsys)
    assert "converged: False" in out and "ConvergenceWarning" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--device" in out and "--dataset" in out and "--labels-per-class" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["self-train", "--criterion", "best"], "invalid choice"),
        (["self-train", "--threshold", "1.5"], "must lie in \\[0, 1\\]"),
        (["teacher-student", "--steps", "0"], "must be >= 1"),
        (["co-train", "--lambda-cps", "-1"], "must be >= 0"),
        (["em", "--lam", "abc"], "not a number"),
        (["em", "--lam", "2"], "must lie in \\[0, 1\\]"),
        (["em", "--model", "poisson"], "invalid choice"),
        (["cluster-then-label", "--clusters", "-1"], "must be >= 1"),
        (["co-train", "--views", "three"], "invalid choice"),
        (["rounds", "--dataset", "iris"], "invalid choice"),
    ],
)
def test_bad_value_is_a_clean_argparse_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rounds", "--dataset", "wine", "--labels-per-class", "100"], "at most 48"),
        (["co-train", "--seed", "-1"], "--seed must be >= 0"),
    ],
)
def test_impossible_setting_exits_with_a_message(argv: list[str], message: str) -> None:
    args = _parser().parse_args([*argv, "--device", "cpu"])
    with pytest.raises(SystemExit, match=message):
        args.func(args)


def test_em_diagnostic_needs_two_labels_per_class(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["em", "--dataset", "wine", "--labels-per-class", "1", "--diagnose"]
    out = _run(argv, capsys)
    assert "diagnostic skipped" in out and len(_accuracies(out)) == 2


def test_thread_count_is_restored(capsys: pytest.CaptureFixture[str]) -> None:
    before = torch.get_num_threads()
    _run(["co-train", "--dataset", "wine", "--steps", "5"], capsys)
    assert torch.get_num_threads() == before


def test_two_view_co_training_reports_rounds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["co-train", "--dataset", "digits", "--views", "two", "--max-iter", "2"]
    out = _run([*argv, "--labels-per-class", "2"], capsys)
    assert "views: halves" in out
    # 2 rounds, 5 per predicted class per view and round: at most 2 * 2 * 10 * 5
    m = re.search(r"rounds: 2, stopped: max_iter, samples labelled by the other "
                  r"view: (\d+)", out)  # fmt: skip
    assert m is not None and 0 < int(m.group(1)) <= 200, out


def test_em_lambda_auto_reports_the_cross_validated_pick(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _run(["em", "--dataset", "wine", "--lam", "auto"], capsys)
    m = re.search(r"λ picked by cross-validation on the labelled samples: ([0-9.]+) "
                  r"\(0: ([0-9.]+), .*1: ([0-9.]+)\)", out)  # fmt: skip
    assert m is not None, out
    assert float(m.group(1)) in (0.0, 0.01, 0.1, 0.3, 1.0)
    assert len(_accuracies(out)) == 2


def test_em_lambda_auto_needs_two_labels_per_class(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["em", "--dataset", "wine", "--lam", "auto", "--labels-per-class", "1"]
    args = _parser().parse_args([*argv, "--device", "cpu"])
    assert args.func(args) == 2
    assert "λ = auto needs 2 labels per class" in capsys.readouterr().out


def test_cluster_then_label_counts_unlabelled_clusters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["cluster-then-label", "--dataset", "wine", "--clusters", "12"]
    out = _run([*argv, "--labels-per-class", "1"], capsys)
    # 3 labels for 12 clusters: at least 9 clusters have no labelled member
    m = re.search(r"clusters without a labelled member: (\d+) of 12", out)
    assert m is not None and int(m.group(1)) >= 9, out


def test_teacher_student_on_a_planetoid_graph(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from graphssl.datasets import find_planetoid_root

    if find_planetoid_root() is None:
        pytest.skip("Planetoid data not present")
    argv = ["teacher-student", "--graph", "cora", "--steps", "3", "--threshold", "0.2"]
    out = _run(argv, capsys)
    assert "graph teacher-student (GCN, teacher self) on Cora: 2708 nodes" in out
    assert "accuracy on unlabelled" not in out  # scored on the test split only
    accs = [float(v) for v in re.findall(r"on the 1000 test nodes: ([0-9.]+)", out)]
    assert len(accs) == 2 and all(0.0 <= a <= 1.0 for a in accs), out
    assert re.search(r"steps: 3, mask ratio of unlabelled nodes: first", out), out
