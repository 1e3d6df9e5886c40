"""``graphssl video``: train, evaluate and localise with RSKP from the command line.

Data (``--data``): ``synthetic`` (a small seeded set, the default), ``benchmark``
(the fixed synthetic benchmark of ``benchmarks/bench_rskp.py``, 240 train / 120
test), ``thumos:ROOT`` (W-TALC Thumos14reduced features; train on ``validation``,
test on ``test``) or ``folder:ROOT`` (one ``.npy`` per video + ``annotations.json``;
train on the ``train``/``validation`` subset, test on ``test``). ``--data-seed``
draws the synthetic sets (default 0: the benchmark's); ``--seed`` seeds the model
and the training only, so ``--data benchmark --seed S`` trains the benchmark's
model seed ``S``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["load_data", "register"]

_TRAIN_SUBSETS = ("train", "validation")


def load_data(spec: str, seed: int = 0) -> tuple[Any, Any]:
    """``(train, test)`` :class:`~video.datasets.VideoDataset` for a ``--data`` spec."""
    from video import datasets as ds

    kind, _, root = spec.partition(":")
    if kind == "synthetic" and not root:
        kw: dict[str, Any] = {"num_classes": 5, "feature_dim": 32, "max_len": 120}
        train = ds.make_synthetic_videos(48, seed=seed, world_seed=seed, **kw)
        test = ds.make_synthetic_videos(
            24, seed=seed + 1_000_003, world_seed=seed, subset="test", **kw
        )
        return train, test
    if kind == "benchmark" and not root:
        return ds.make_synthetic_benchmark(seed)
    if kind in ("thumos", "folder") and root:
        if kind == "thumos":
            data = ds.load_thumos_reduced(root)
        else:
            data = ds.load_video_folder(root)
        present = set(data.subset)
        train_name = next((s for s in _TRAIN_SUBSETS if s in present), None)
        if train_name is None or "test" not in present:
            raise SystemExit(
                f"error: --data {spec}: need a 'train' or 'validation' subset and a "
                f"'test' subset; found {sorted(present)}"
            )
        return data.split(train_name), data.split("test")
    raise SystemExit(
        f"error: --data must be synthetic, benchmark, thumos:ROOT or folder:ROOT; "
        f"got {spec!r}"
    )


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default="synthetic",
        help="synthetic | benchmark | thumos:ROOT | folder:ROOT (default: synthetic)",
    )
    p.add_argument(
        "--data-seed",
        type=int,
        default=0,
        help="seed of the synthetic and benchmark data (default: 0)",
    )
    p.add_argument(
        "--batch-size", type=int, default=10, help="videos per batch (default: 10)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    parents: list[argparse.ArgumentParser],
) -> None:
    """Add the ``video`` command group to the ``graphssl`` command line."""
    from video._cli_commands import cmd_evaluate, cmd_localize, cmd_train, guarded
    from video.model import VARIANTS
    from video.schedules import SCHEDULES

    p = subparsers.add_parser(
        "video", help="weakly supervised temporal action localisation (RSKP)"
    )
    sub = p.add_subparsers(dest="video_command", metavar="COMMAND", required=True)

    t = sub.add_parser(
        "train",
        parents=parents,
        help="train RSKP on video labels, then evaluate on the test split",
    )
    _add_data(t)
    t.add_argument(
        "--variant",
        choices=VARIANTS,
        default="full",
        help="main branch only, + intra-video walk, or + inter-video memory "
        "(default: full)",
    )
    t.add_argument("--epochs", type=int, default=40, help="(default: 40)")
    t.add_argument(
        "--warmup-epochs", type=int, default=None, help="(default: 40%% of epochs)"
    )
    t.add_argument("--lr", type=float, default=3e-3, help="base rate (default: 3e-3)")
    t.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="constant",
        help="learning-rate schedule (default: constant)",
    )
    t.add_argument("--dim", type=int, default=128, help="embedding size (default: 128)")
    t.add_argument("--num-bases", type=int, default=8, help="EM bases K (default: 8)")
    t.add_argument("--w", type=float, default=0.5, help="walk weight (default: 0.5)")
    t.add_argument(
        "--lambda-s",
        type=float,
        default=0.1,
        help="pseudo-label loss weight in warm-up, halved after (paper: 1.0; "
        "default 0.1, chosen on synthetic validation data)",
    )
    t.add_argument(
        "--inter-mix",
        type=float,
        default=0.5,
        help="share of the inter-video CAS in the pseudo-label target after warm-up "
        "(paper: 0.2; default 0.5, chosen on synthetic validation data)",
    )
    t.add_argument(
        "--slots", type=int, default=5, help="memory slots per class (default: 5)"
    )
    t.add_argument(
        "--weight-decay", type=float, default=5e-4, help="Adam weight decay (5e-4)"
    )
    t.add_argument(
        "--per-video", action="store_true", help="one video per forward pass"
    )
    t.add_argument(
        "--keep-malloc",
        action="store_true",
        help="leave glibc's malloc thresholds as they are (by default CPU training "
        "raises them so that batch tensors are reused instead of re-faulted each step)",
    )
    t.add_argument("--checkpoint", type=Path, default=None, help="checkpoint file")
    t.add_argument("--resume", action="store_true", help="resume from --checkpoint")
    t.set_defaults(func=guarded(cmd_train))

    e = sub.add_parser(
        "evaluate", parents=parents, help="detection and classification mAP"
    )
    _add_data(e)
    e.add_argument("--checkpoint", type=Path, required=True)
    e.add_argument(
        "--tiou",
        choices=("thumos", "activitynet"),
        default="thumos",
        help="tIoU thresholds 0.1:0.7 (thumos) or 0.5:0.95 (activitynet)",
    )
    e.set_defaults(func=guarded(cmd_evaluate))

    loc = sub.add_parser(
        "localize", parents=parents, help="detections of the test videos"
    )
    _add_data(loc)
    loc.add_argument("--checkpoint", type=Path, required=True)
    loc.add_argument("--video", action="append", default=None, help="video name(s)")
    loc.add_argument("--top", type=int, default=5, help="detections shown per video")
    loc.add_argument("--out", type=Path, default=None, help="write all as JSON")
    loc.add_argument("--plot", type=Path, default=None, help="timeline PNG folder")
    loc.set_defaults(func=guarded(cmd_localize))
