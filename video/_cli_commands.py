"""Implementations of ``graphssl video train | evaluate | localize``."""

from __future__ import annotations

import argparse
import functools
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

__all__ = ["cmd_evaluate", "cmd_localize", "cmd_train", "guarded"]

# API parameter -> the flag that sets it, for the owners the CLI constructs
_FLAGS = {
    "batch_size": "--batch-size", "w": "--w", "memory_slots": "--slots",
    "dim": "--dim", "num_bases": "--num-bases", "lr": "--lr",
    "lambda_s": "--lambda-s", "lambda_s_after_warmup": "--lambda-s",
    "inter_mix": "--inter-mix", "weight_decay": "--weight-decay",
    "warmup_epochs": "--warmup-epochs", "epochs": "--epochs",
}  # fmt: skip
_OWNERS = ("RSKPModel", "TrainConfig", "LRSchedule", "RSKPLossConfig", "bucket_batches")
_PARAM = re.compile(r"^The '(\w+)' parameter of (\w+) ")


def guarded(
    cmd: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Bad options and data end the command with one ``error:`` line, no traceback.

    A message about an API parameter the CLI sets from a flag names the flag first.
    """

    @functools.wraps(cmd)
    def run(args: argparse.Namespace) -> int:
        try:
            return cmd(args)
        except (ValueError, TypeError, FileNotFoundError) as err:
            msg = str(err)
            m = _PARAM.match(msg)
            if m and m.group(1) in _FLAGS and m.group(2) in _OWNERS:
                msg = f"{_FLAGS[m.group(1)]}: {msg}"
            raise SystemExit(f"error: {msg}") from None

    return run


def _writable(flag: str, path: Path | None) -> None:
    """Fail before the work, not after it, when ``path`` sits under a file."""
    if path is None:
        return
    for parent in Path(path).parents:
        if parent.exists() and not parent.is_dir():
            raise SystemExit(f"error: {flag} {path}: {parent} is a file, not a folder")
    if Path(path).is_dir():
        raise SystemExit(f"error: {flag} {path} is a folder; give a file name")


def _describe(name: str, data: Any) -> str:
    lengths = data.num_snippets
    return (
        f"{name}: {len(data)} videos, {data.num_classes} classes, "
        f"{data.feature_dim}-d features, {min(lengths)}-{max(lengths)} snippets"
    )


def cmd_train(args: argparse.Namespace) -> int:
    """Train, checkpoint, and report the test mAP table."""
    from graphssl.cli import resolve_device
    from video.cli import load_data
    from video.inference import evaluate
    from video.losses import RSKPLossConfig
    from video.model import RSKPModel
    from video.schedules import LRSchedule
    from video.train import TrainConfig, train_rskp

    if args.resume and args.checkpoint is None:
        raise SystemExit("error: --resume needs --checkpoint PATH")
    if args.epochs < 1:
        raise SystemExit(f"error: --epochs must be >= 1, got {args.epochs}")
    _writable("--checkpoint", args.checkpoint)
    dev = resolve_device(args.device)
    if dev.type == "cpu" and not args.keep_malloc:
        from graphssl._malloc import tune_glibc_malloc

        tune_glibc_malloc()  # see graphssl/_malloc.py: fewer page faults per step
    warm = (
        args.warmup_epochs if args.warmup_epochs is not None else args.epochs * 2 // 5
    )
    # settings first: a bad option fails before any data is read
    cfg = TrainConfig(
        epochs=args.epochs,
        warmup_epochs=warm,
        batch_size=args.batch_size,
        schedule=LRSchedule(args.schedule, lr=args.lr, total_epochs=args.epochs),
        weight_decay=args.weight_decay,
        seed=args.seed,
        per_video=args.per_video,
    )
    loss_config = RSKPLossConfig(
        lambda_s=args.lambda_s,
        lambda_s_after_warmup=args.lambda_s / 2,
        inter_mix=args.inter_mix,
    )
    train, test = load_data(args.data, args.data_seed)
    print(_describe("train", train))
    print(_describe("test", test))
    if not any(int(s.shape[0]) for s in test.segments):
        raise SystemExit(
            f"error: --data {args.data}: the test split has no annotated segments "
            "to evaluate on"
        )
    torch.manual_seed(args.seed)  # the initial weights depend on --seed only
    model = RSKPModel(
        train.feature_dim,
        train.num_classes,
        dim=args.dim,
        num_bases=args.num_bases,
        w=args.w,
        memory_slots=args.slots,
        variant=args.variant,
    )
    t0 = time.perf_counter()
    hist = train_rskp(
        model,
        train,
        config=cfg,
        loss_config=loss_config,
        device=dev,
        checkpoint=args.checkpoint,
        resume=args.resume,
        progress=not args.quiet,
    )
    secs = time.perf_counter() - t0
    mean_epoch = sum(h["seconds"] for h in hist) / max(len(hist), 1)
    print(
        f"variant={args.variant} epochs={args.epochs} warm-up={warm} "
        f"final loss={hist[-1]['loss']:.4f} time={secs:.1f} s "
        f"({mean_epoch:.2f} s/epoch) on {dev}"
    )
    if args.checkpoint is not None:
        print(f"checkpoint: {args.checkpoint}")
    res = evaluate(model, test, batch_size=args.batch_size, device=dev)
    print("test detection mAP (%) by tIoU:")
    print(res.table())
    return 0


def _model_and_test(args: argparse.Namespace) -> tuple[Any, Any, torch.device]:
    from graphssl.cli import resolve_device
    from video._train_checkpoint import load_model
    from video.cli import load_data

    if args.batch_size < 1:
        raise SystemExit(f"error: --batch-size must be >= 1, got {args.batch_size}")
    dev = resolve_device(args.device)
    model = load_model(args.checkpoint, dev)
    _, test = load_data(args.data, args.data_seed)
    if test.feature_dim != model.in_dim or test.num_classes != model.num_classes:
        raise SystemExit(
            f"error: checkpoint {args.checkpoint} expects {model.in_dim}-d features "
            f"and {model.num_classes} classes; --data {args.data} has "
            f"{test.feature_dim}-d and {test.num_classes}"
        )
    return model, test, dev


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print the detection mAP table and classification mAP of a checkpoint."""
    from video.evaluation import ACTIVITYNET_TIOU, THUMOS_TIOU
    from video.inference import evaluate

    model, test, dev = _model_and_test(args)
    tiou = THUMOS_TIOU if args.tiou == "thumos" else ACTIVITYNET_TIOU
    res = evaluate(
        model, test, tiou_thresholds=tiou, batch_size=args.batch_size, device=dev
    )
    print(_describe("test", test))
    print("detection mAP (%) by tIoU:")
    print(res.table())
    return 0


def cmd_localize(args: argparse.Namespace) -> int:
    """Print (and optionally write / plot) the detections of test videos."""
    from video.inference import detect, plot_video, predict

    if args.top < 0:
        raise SystemExit(f"error: --top must be >= 0, got {args.top}")
    _writable("--out", args.out)
    if args.plot is not None and args.plot.exists() and not args.plot.is_dir():
        raise SystemExit(f"error: --plot {args.plot} is a file; give a folder")
    model, test, dev = _model_and_test(args)
    if args.video:
        missing = [v for v in args.video if v not in test.names]
        if missing:
            raise SystemExit(f"error: unknown video(s) {missing} in the test split")
        test = test.select([test.names.index(v) for v in args.video])
    preds = predict(model, test, batch_size=args.batch_size, device=dev)
    dets = detect(preds, test.snippet_rate)
    dump: dict[str, list[dict[str, float | str]]] = {}
    for i, (name, det) in enumerate(zip(test.names, dets, strict=True)):
        rows = [
            {
                "start": round(float(s), 3),
                "end": round(float(e), 3),
                "score": round(float(sc), 5),
                "label": test.class_names[int(c)],
            }
            for s, e, sc, c in det.tolist()
        ]
        dump[name] = rows
        print(f"{name}: {len(rows)} detections")
        for r in rows[: args.top]:
            print(
                f"  {r['label']:<24} {r['start']:8.2f} s - {r['end']:8.2f} s  "
                f"score {r['score']:.4f}"
            )
        if args.plot is not None:
            path = plot_video(test, i, preds[i], det, Path(args.plot) / f"{name}.png")
            print(f"  plot: {path}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(dump, indent=1))
        print(f"detections written to {args.out}")
    return 0
