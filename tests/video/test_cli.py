"""``graphssl video train | evaluate | localize`` in-process on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from graphssl.cli import main
from video.datasets import make_synthetic_videos, save_video_folder
from video.datasets.base import VideoDataset

_KW = {"num_classes": 3, "feature_dim": 12, "min_len": 20, "max_len": 40}


def _tiny() -> tuple[VideoDataset, VideoDataset]:
    train = make_synthetic_videos(9, seed=1, subset="train", **_KW)
    test = make_synthetic_videos(4, seed=2, subset="test", **_KW)
    return train, test


def _write_folder(root: Path) -> Path:
    train, test = _tiny()
    both = VideoDataset(
        features=train.features + test.features,
        labels=__import__("torch").cat([train.labels, test.labels]),
        segments=train.segments + test.segments,
        names=train.names + test.names,
        class_names=train.class_names,
        subset=train.subset + test.subset,
        snippet_rate=train.snippet_rate,
    )
    save_video_folder(both, root)
    return root


def _obj(items: list[object]) -> np.ndarray:
    arr = np.empty(len(items), dtype=object)
    for i, it in enumerate(items):
        arr[i] = it
    return arr


def _write_thumos(root: Path) -> Path:
    """The W-TALC Thumos14reduced layout, written from the tiny synthetic videos."""
    train, test = _tiny()
    vids = [(train, i, b"validation") for i in range(len(train))]
    vids += [(test, i, b"test") for i in range(len(test))]
    ann = root / "Thumos14reduced-Annotations"
    ann.mkdir(parents=True)
    np.save(
        root / "Thumos14reduced-I3D-JOINTFeatures.npy",
        _obj([d.features[i].numpy() for d, i, _ in vids]),
    )
    names = train.class_names
    np.save(ann / "classlist.npy", np.array([c.encode() for c in names]))
    np.save(ann / "videoname.npy", np.array([d.names[i].encode() for d, i, _ in vids]))
    np.save(ann / "subset.npy", np.array([s for _, _, s in vids]))
    np.save(
        ann / "labels_all.npy",
        _obj(
            [
                [names[c] for c in d.labels[i].nonzero().flatten().tolist()]
                for d, i, _ in vids
            ]
        ),
    )
    np.save(
        ann / "segments.npy", _obj([d.segments[i][:, :2].tolist() for d, i, _ in vids])
    )
    np.save(
        ann / "labels.npy",
        _obj(
            [[names[int(c)] for c in d.segments[i][:, 2].tolist()] for d, i, _ in vids]
        ),
    )
    return root


def _train_args(data: str, ck: Path, *extra: str) -> list[str]:
    return ["video", "train", "--data", data, "--epochs", "2", "--dim", "16",
            "--batch-size", "4", "--quiet", "--device", "cpu", "--checkpoint", str(ck),
            *extra]  # fmt: skip


def test_train_evaluate_localize_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    root = _write_folder(tmp_path / "videos")
    ck = tmp_path / "rskp.pt"
    assert main(_train_args(f"folder:{root}", ck, "--warmup-epochs", "1")) == 0
    out = capsys.readouterr().out
    assert "train: 9 videos, 3 classes" in out and "| 0.1 | 0.2 |" in out
    assert ck.is_file()
    assert main(["video", "evaluate", "--data", f"folder:{root}", "--checkpoint",
                 str(ck), "--device", "cpu"]) == 0  # fmt: skip
    ev = capsys.readouterr().out
    # evaluating the saved checkpoint reproduces the table printed after training
    table = [ln for ln in out.splitlines() if ln.startswith("| ") and "AVG" not in ln]
    assert table[-1] in ev
    js = tmp_path / "det.json"
    assert main(["video", "localize", "--data", f"folder:{root}", "--checkpoint",
                 str(ck), "--video", "test_0001", "--out", str(js),
                 "--device", "cpu"]) == 0  # fmt: skip
    dets = json.loads(js.read_text())
    assert list(dets) == ["test_0001"]
    assert all(d["start"] < d["end"] for d in dets["test_0001"])


def test_train_thumos_fixture_and_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    root = _write_thumos(tmp_path / "thumos")
    ck = tmp_path / "rskp.pt"
    assert main(_train_args(f"thumos:{root}", ck, "--variant", "intra")) == 0
    out = capsys.readouterr().out
    assert "train: 9 videos" in out and "test: 4 videos" in out
    # resuming a finished run trains no further epoch and reports the same table
    assert (
        main(_train_args(f"thumos:{root}", ck, "--variant", "intra", "--resume")) == 0
    )
    again = capsys.readouterr().out
    assert out.splitlines()[-3] == again.splitlines()[-3]


def test_train_options_reach_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread: None
) -> None:
    import video.cli
    from video._train_checkpoint import load_checkpoint

    seen: list[int] = []
    real = video.cli.load_data

    def spy(spec: str, seed: int = 0) -> tuple[object, object]:
        seen.append(seed)
        return real(spec, seed)

    monkeypatch.setattr(video.cli, "load_data", spy)
    root = _write_folder(tmp_path / "videos")
    ck = tmp_path / "rskp.pt"
    extra = ("--seed", "7", "--slots", "3", "--inter-mix", "0.3",
             "--weight-decay", "0.001", "--warmup-epochs", "1")  # fmt: skip
    assert main(_train_args(f"folder:{root}", ck, *extra)) == 0
    state = load_checkpoint(ck)
    assert state["hparams"]["memory_slots"] == 3
    assert tuple(state["model"]["memory.scores"].shape) == (3, 3)  # [C, slots]
    assert state["config"]["seed"] == 7
    assert state["config"]["weight_decay"] == 0.001
    assert state["config"]["loss"]["inter_mix"] == 0.3
    # --seed seeds the model only; the synthetic data follow --data-seed
    assert seen == [0]
    common = ["--epochs", "1", "--dim", "8", "--quiet", "--device", "cpu"]
    assert main(["video", "train", "--data-seed", "4", "--seed", "9", *common]) == 0
    assert seen == [0, 4]
    with pytest.raises(SystemExit, match="error: --inter-mix: The 'inter_mix'"):
        main(_train_args(f"folder:{root}", ck, "--inter-mix", "1.5"))


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--data must be"):
        main(["video", "train", "--data", "nowhere", "--quiet"])
    with pytest.raises(SystemExit, match=r"error: Video folder: missing .*annotations"):
        main(["video", "train", "--data", f"folder:{tmp_path}", "--quiet"])
    with pytest.raises(SystemExit, match="needs --checkpoint"):
        main(["video", "train", "--resume", "--epochs", "1", "--quiet"])
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    with pytest.raises(SystemExit, match=r"error: Cannot read .*bad\.pt"):
        main(["video", "evaluate", "--checkpoint", str(bad)])


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--batch-size", "0"], r"--batch-size: The 'batch_size' parameter"),
        (["--slots", "0"], r"--slots: The 'memory_slots' parameter of RSKPModel"),
        (["--w", "1"], r"--w: The 'w' parameter of RSKPModel"),
        (["--lr", "nan"], r"--lr: The 'lr' parameter"),
        (["--device", "gpu"], r"--device gpu: use auto, cpu, cuda or cuda:N"),
        (["--checkpoint", "{file}/ck.pt"], r"--checkpoint .*is a file, not a folder"),
    ],
)
def test_bad_train_options_fail_in_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    option: list[str],
    message: str,
) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    option = [o.format(file=a_file) for o in option]
    args = ["video", "train", "--epochs", "1", "--dim", "8", "--quiet", *option]
    with pytest.raises(SystemExit, match=f"^error: {message}"):
        main(args)
    # the model's options fail when the model is built, after the data are read;
    # the others before
    out = capsys.readouterr().out
    assert ("train:" in out) == (option[0] in ("--slots", "--w"))


def test_test_split_without_segments_fails_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = _tiny()
    both = VideoDataset(
        features=train.features + test.features,
        labels=__import__("torch").cat([train.labels, test.labels]),
        segments=train.segments + [s[:0] for s in test.segments],
        names=train.names + test.names,
        class_names=train.class_names,
        subset=train.subset + test.subset,
        snippet_rate=train.snippet_rate,
    )
    save_video_folder(both, tmp_path / "v")
    with pytest.raises(SystemExit, match="test split has no annotated segments"):
        main(["video", "train", "--data", f"folder:{tmp_path / 'v'}", "--quiet"])
    assert "final loss" not in capsys.readouterr().out


def test_localize_checks_its_options_first(tmp_path: Path) -> None:
    ck = tmp_path / "none.pt"  # never read: the options fail first
    with pytest.raises(SystemExit, match="--top must be >= 0"):
        main(["video", "localize", "--checkpoint", str(ck), "--top", "-1"])
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    with pytest.raises(SystemExit, match=r"--out .*is a file, not a folder"):
        main(
            ["video", "localize", "--checkpoint", str(ck), "--out", f"{a_file}/d.json"]
        )
    with pytest.raises(SystemExit, match=r"--plot .*is a file"):
        main(["video", "localize", "--checkpoint", str(ck), "--plot", str(a_file)])


def test_cpu_training_raises_malloc_thresholds_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch, one_thread: None
) -> None:
    import graphssl._malloc

    calls: list[bool] = []
    monkeypatch.setattr(
        graphssl._malloc, "tune_glibc_malloc", lambda: calls.append(True) or True
    )
    common = [
        "video",
        "train",
        "--epochs",
        "1",
        "--dim",
        "8",
        "--quiet",
        "--device",
        "cpu",
    ]
    assert main(common) == 0
    assert calls == [True]
    assert main([*common, "--keep-malloc"]) == 0
    assert calls == [True]
