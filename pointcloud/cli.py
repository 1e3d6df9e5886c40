"""``graphssl pointcloud``: One Thing One Click segmentation from the command line.

Commands::

    graphssl pointcloud segment SCENE.ply --clicks CLICKS.txt --out pred.ply --png out.png
    graphssl pointcloud train DIR --out model.pt
    graphssl pointcloud evaluate DIR --model model.pt --png-dir renders/

``segment`` trains on the one scene (or applies ``--model``) and holds its clicks
fixed; ``train`` fits one model on every scene of a folder (PLY, PCD, XYZ or NPZ with
labels; clicks from ``<stem>.clicks.txt`` when present, otherwise one simulated
click per instance); ``evaluate`` predicts every scene of a folder without clicks and
prints mIoU, per-class IoU and overall accuracy. ``--supervoxels`` and
``--predict-supervoxels`` take VCCS settings as ``KEY=NUMBER,...``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


_VCCS_KEYS = ("voxel_size", "seed_resolution", "spatial_weight", "color_weight",
              "normal_weight")  # fmt: skip


def _vccs(text: str) -> dict[str, float]:
    """``"voxel_size=0.08,seed_resolution=0.4"`` -> VCCS keyword arguments."""
    out: dict[str, float] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, sep, value = item.partition("=")
        try:
            if not sep or key.strip() not in _VCCS_KEYS:
                raise ValueError(key)
            out[key.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected KEY=NUMBER[,KEY=NUMBER...] with KEY one of "
                f"{', '.join(_VCCS_KEYS)}; got {item!r}"
            ) from None
    return out


def _model_args(p: argparse.ArgumentParser) -> None:
    """Options of :class:`~pointcloud.otoc.OneThingOneClick`; unset ones keep the
    class defaults (which live in its signature only)."""
    add = p.add_argument
    add("--rounds", type=int, default=None, help="self-training rounds")
    add("--epochs", type=int, default=None, help="passes over the scenes in round 1")
    add("--epochs-next", type=int, default=None, help="passes per later round")
    add("--threshold", type=float, default=None, help="pseudo-label confidence")
    add("--supervoxels", type=_vccs, default=None, metavar="KEY=V,...",
        help="VCCS settings for training, e.g. voxel_size=0.08,seed_resolution=0.4")  # fmt: skip
    add("--predict-supervoxels", type=_vccs, default=None, metavar="KEY=V,...",
        help="VCCS settings of the final prediction (default: --supervoxels)")  # fmt: skip
    add("--quiet", action="store_true", help="no progress bars or round log")


def _build(args: argparse.Namespace, **extra: Any) -> Any:
    from graphssl.cli import resolve_device
    from pointcloud.otoc import OneThingOneClick

    names = ("rounds", "epochs", "epochs_next", "threshold")
    given = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    if args.supervoxels is not None:
        given["supervoxel_kwargs"] = args.supervoxels
    given["predict_supervoxel_kwargs"] = args.predict_supervoxels
    return OneThingOneClick(
        **given, seed=args.seed, device=resolve_device(args.device),
        progress=not args.quiet, log=None if args.quiet else print, **extra,
    )  # fmt: skip


def _report(preds: list[Any], scenes: list[Any], num_classes: int) -> None:
    from pointcloud._otoc_eval import segmentation_scores

    pairs = [
        (p, s.labels)
        for p, s in zip(preds, scenes, strict=True)
        if s.labels is not None
    ]
    if not pairs:
        print("no ground truth: nothing to score")
        return
    names = max((s.class_names for s in scenes), key=len)
    res = segmentation_scores(
        [p for p, _ in pairs], [t for _, t in pairs], num_classes, names
    )
    for line in res.lines():
        print(line)


def _cmd_segment(args: argparse.Namespace) -> int:
    from pointcloud._otoc_cli import write_outputs
    from pointcloud.clicks import read_clicks
    from pointcloud.io import read_cloud
    from pointcloud.otoc import OneThingOneClick

    scene = read_cloud(args.scene)
    clicks = read_clicks(args.clicks, class_names=scene.class_names or None)
    if args.model is not None:
        model = OneThingOneClick.load(
            args.model, device=args.device if args.device != "auto" else None
        )
    else:
        print(
            f"training on {scene.name} ({scene.num_points:,} points, {clicks[0].numel()} clicks)"
        )
        model = _build(args).fit([scene], [clicks])
    pred = model.predict(scene, clicks).cpu()
    _report([pred], [scene], model.num_classes_)
    files = write_outputs(
        scene, pred, clicks, model.num_classes_, ply=args.out, png=args.png
    )
    for f in files:
        print(f"wrote {f}")
    return 0


def _read_folder(folder: Path, quiet: bool) -> tuple[list[Any], list[Any]]:
    from tqdm import tqdm

    from pointcloud._otoc_cli import clicks_for, list_scenes, scene_clicks
    from pointcloud.io import read_cloud

    scenes, clicks = [], []
    for path in tqdm(list_scenes(folder), desc="reading", disable=quiet):
        scene = read_cloud(path)
        scenes.append(scene)
        clicks.append(scene_clicks(scene, clicks_for(path)))
    return scenes, clicks


def _cmd_train(args: argparse.Namespace) -> int:
    scenes, clicks = _read_folder(args.folder, args.quiet)
    model = _build(args, checkpoint=args.checkpoint)
    model.fit(scenes, clicks, resume=not args.restart)
    model.save(args.out)
    print(f"wrote {args.out}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pointcloud._otoc_cli import list_scenes, write_outputs
    from pointcloud.io import read_cloud
    from pointcloud.otoc import OneThingOneClick

    model = OneThingOneClick.load(
        args.model, device=args.device if args.device != "auto" else None
    )
    scenes, preds = [], []
    for path in tqdm(list_scenes(args.folder), desc="predicting", disable=args.quiet):
        scene = read_cloud(path)
        pred = model.predict(scene, refine=not args.no_refine).cpu()
        scenes.append(scene)
        preds.append(pred)
        if args.png_dir is not None:
            write_outputs(
                scene,
                pred,
                None,
                model.num_classes_,
                ply=None,
                png=args.png_dir / f"{path.stem}.png",
            )
    _report(preds, scenes, model.num_classes_)
    return 0


def register(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    parents: list[argparse.ArgumentParser],
) -> None:
    """Add the ``pointcloud`` command group to the ``graphssl`` command line."""
    p = subparsers.add_parser(
        "pointcloud", help="weakly supervised 3-D segmentation (One Thing One Click)"
    )
    sub = p.add_subparsers(dest="pointcloud_command", metavar="COMMAND", required=True)

    s = sub.add_parser(
        "segment", parents=parents, help="segment one scene from its clicks",
        description="Segment a point cloud from clicks (one labelled point per object).",
    )  # fmt: skip
    s.add_argument("scene", type=Path, help="PLY, PCD, XYZ or NPZ point cloud")
    s.add_argument(
        "--clicks",
        type=Path,
        required=True,
        help="'<point index> <class>' per line, or JSON",
    )
    s.add_argument(
        "--model",
        type=Path,
        default=None,
        help="model from 'train' (default: train on SCENE)",
    )
    s.add_argument(
        "--out",
        type=Path,
        default=None,
        help="coloured prediction cloud (.ply/.npz/...)",
    )
    s.add_argument(
        "--png",
        type=Path,
        default=None,
        help="ground truth / clicks / prediction picture",
    )
    _model_args(s)
    s.set_defaults(func=_cmd_segment)

    t = sub.add_parser(
        "train", parents=parents, help="train on a folder of scenes",
        description="Fit One Thing One Click on every scene of a folder.",
    )  # fmt: skip
    t.add_argument(
        "folder", type=Path, help="folder of scenes (+ optional <stem>.clicks.txt)"
    )
    t.add_argument(
        "--out",
        type=Path,
        default=Path("otoc-model.pt"),
        help="model file (default: otoc-model.pt)",
    )
    t.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="per-round checkpoint (resumed when present)",
    )
    t.add_argument(
        "--restart", action="store_true", help="ignore an existing checkpoint"
    )
    _model_args(t)
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser(
        "evaluate", parents=parents, help="score a model on a folder of labelled scenes",
        description="Predict every scene of a folder (no clicks) and print mIoU, per-class IoU and accuracy.",
    )  # fmt: skip
    e.add_argument("folder", type=Path, help="folder of labelled scenes")
    e.add_argument("--model", type=Path, required=True, help="model from 'train'")
    e.add_argument(
        "--png-dir", type=Path, default=None, help="write one picture per scene here"
    )
    e.add_argument(
        "--no-refine",
        action="store_true",
        help="backbone only, no super-voxel propagation",
    )
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=_cmd_evaluate)
