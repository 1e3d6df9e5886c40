"""One Thing One Click on synthetic rooms: clicks-only propagation vs OTOC vs full labels.

A fixed, seeded set of rooms (:func:`pointcloud.synthetic.make_scene_set`, train seed
0, test seed 1) is segmented three ways, all in this process:

(a) kNN label spreading from the clicks alone (graphssl core, as in ``graphssl demo
    --method propagation``): one scene at a time, transductive, so only the scenes'
    own clicks label it;
(b) One Thing One Click trained on the training rooms (one simulated click per object),
    scored after every round on the test rooms both without clicks (the paper's
    protocol) and with the test rooms' own clicks held fixed (what ``graphssl
    pointcloud segment --model`` does);
(c) the same backbone trained on every labelled point of the training rooms for the
    same number of passes with the same learning-rate schedule and class weighting
    (:meth:`OneThingOneClick.fit_supervised`), scored by the backbone alone. With
    ``--relation-backbone separate`` the relation loss trains only the second network,
    so (c)'s backbone then learns from the cross-entropy alone.

Target (issue 5): (b) >= 0.95 x (c) and clearly above (a).

The training settings (pseudo-label rule, learning-rate schedule, class-weight power)
were selected on separate validation rooms (``make_scene_set(5, seed=2)``), never on
the test rooms; ``--validate`` reruns that selection (every candidate on the validation
rooms instead of the test rooms) and prints its table.

    OMP_NUM_THREADS=1 python benchmarks/bench_otoc.py               # the reported table
    OMP_NUM_THREADS=1 python benchmarks/bench_otoc.py --validate    # the selection table
    OMP_NUM_THREADS=1 python benchmarks/bench_otoc.py --train 2 --test 1 --points 4000 --rounds 2
"""

from __future__ import annotations

import argparse
import time
import warnings
from statistics import mean
from typing import Any

import torch
from _machine import machine  # benchmarks/ is on sys.path when run as a script

from graphssl.construction import knn_graph
from graphssl.spreading import label_spreading
from pointcloud._otoc_eval import segmentation_scores
from pointcloud.clicks import one_click_per_instance
from pointcloud.otoc import OneThingOneClick
from pointcloud.scene import Scene
from pointcloud.synthetic import make_scene_set

#: Settings selected on the validation rooms (see ``--validate`` and BENCHMARKS.md):
#: relation-loss weight 0.1 instead of 1. The relation head shares the backbone here
#: (the paper trains a second network), and at weight 1 its loss pulls the backbone's
#: features away from segmentation; validation mIoU 0.832 (weight 1), 0.915 (0.3),
#: 0.927 (0.1) after round 3. The paper's layout, a separate relation network
#: (``relation_backbone="separate"``, weight 1), lost on validation: 0.876, (b)/(c) 0.916.
#: Prediction on new rooms uses purer, colour-led super-voxels (the final decision is
#: one class per super-voxel); validation mIoU after round 3 over training seeds
#: 0 / 1 / 2: 0.927 / 0.912 / 0.915 with the training super-voxels, 0.938 / 0.935 /
#: 0.941 with these (colour 4, normal 2, voxel 0.06: 0.918 / 0.920 / 0.916).
PREDICT_SV: dict[str, Any] = {
    "voxel_size": 0.05, "seed_resolution": 0.4, "color_weight": 8.0, "normal_weight": 2.0,
}  # fmt: skip
SELECTED: dict[str, Any] = {
    "relation_weight": 0.1,
    "predict_supervoxel_kwargs": PREDICT_SV,
}

#: Candidates of ``--validate``: name -> settings on top of the common ones.
CANDIDATES: dict[str, dict[str, Any]] = {
    "previous defaults (relation weight 1)": {"relation_weight": 1.0},
    "select unary (released code's rule)": {"relation_weight": 1.0, "select": "unary"},
    "select unary, cosine lr": {"relation_weight": 1.0, "select": "unary", "cosine": True},
    "cosine lr, class_weight_power 0": {"relation_weight": 1.0, "cosine": True,
                                        "class_weight_power": 0.0},
    "relation weight 0.3": {"relation_weight": 0.3},
    "relation weight 0.1": {"relation_weight": 0.1},
    "relation weight 0.03": {"relation_weight": 0.03},
    "relation weight 0.1, threshold 0.8": {"relation_weight": 0.1, "threshold": 0.8},
    "relation weight 0.1, mean-field weight 2": {"relation_weight": 0.1, "mf_weight": 2.0},
    "relation weight 0.1, lr_next 0.001": {"relation_weight": 0.1, "lr_next": 0.001},
    "separate relation backbone, relation weight 1": {"relation_weight": 1.0,
        "relation_backbone": "separate"},
    "separate relation backbone, relation weight 0.1": {"relation_weight": 0.1,
        "relation_backbone": "separate"},
    "relation weight 0.1, prediction super-voxels colour 8 normal 2 voxel 0.05 (selected)": {
        "relation_weight": 0.1, "predict_supervoxel_kwargs": PREDICT_SV},
    "relation weight 0.1, prediction super-voxels colour 4 normal 2 voxel 0.06": {
        "relation_weight": 0.1, "predict_supervoxel_kwargs": {"voxel_size": 0.06,
        "seed_resolution": 0.4, "color_weight": 4.0, "normal_weight": 2.0}},
    "relation weight 0.1, super-voxels colour 4 normal 2 voxel 0.06": {
        "relation_weight": 0.1, "supervoxel_kwargs": {"voxel_size": 0.06,
        "seed_resolution": 0.4, "color_weight": 4.0, "normal_weight": 2.0}},
    "relation weight 0.1, super-voxels colour 8 normal 2 voxel 0.05": {
        "relation_weight": 0.1, "supervoxel_kwargs": {"voxel_size": 0.05,
        "seed_resolution": 0.4, "color_weight": 8.0, "normal_weight": 2.0}},
}  # fmt: skip


def clicks_of(scene: Scene, seed: int) -> torch.Tensor:
    """``[P]`` clicked class (one random point per instance), ``-1`` elsewhere."""
    assert scene.instances is not None and scene.labels is not None
    idx, cls = one_click_per_instance(scene.instances, scene.labels, seed=seed)
    out = torch.full((scene.num_points,), -1, dtype=torch.long)
    out[idx] = cls
    return out


def spreading(
    scene: Scene, clicks: torch.Tensor, k: int = 10, color_weight: float = 4.0
) -> torch.Tensor:
    """(a): label spreading on a kNN graph of ``[xyz, λ·rgb]``, undecided -> -1."""
    assert scene.colors is not None
    x = torch.cat([scene.points, color_weight * scene.colors], 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = label_spreading(knn_graph(x, k), clicks, num_classes=scene.num_classes)
    return res.prediction


def scores(preds: list[torch.Tensor], scenes: list[Scene]) -> Any:
    truth = [s.labels for s in scenes if s.labels is not None]
    c = scenes[0].num_classes
    return segmentation_scores(preds, truth, c, scenes[0].class_names)


def miou(preds: list[torch.Tensor], scenes: list[Scene]) -> float:
    return float(scores(preds, scenes).miou)


def per_class(sc: Any) -> str:
    return ", ".join(f"{n} {v:.2f}" for n, v in sc.per_class.items())


Row = tuple[str, float | None, float | None, float | None, float]


def run(
    train: list[Scene], test: list[Scene], train_clicks: list[torch.Tensor],
    test_clicks: list[torch.Tensor], kw: dict[str, Any], dev: torch.device,
    verbose: bool = True,
) -> tuple[list[Row], Any, Any, Any, float]:  # fmt: skip
    """(b) per round and (c) on ``test``; also the last round's and (c)'s scores,
    (b)'s backbone alone (no fusion, no propagation) and (b)'s mIoU with the
    training super-voxels at prediction."""
    rows: list[Row] = []

    def per_round(r: int, m: OneThingOneClick) -> None:
        plain = miou([m.predict(s.to(dev)).cpu() for s in test], test)
        clicked = miou(
            [m.predict(s.to(dev), c.to(dev)).cpu() for s, c in zip(test, test_clicks, strict=True)],
            test,
        )  # fmt: skip
        h = m.history_[-1]
        rows.append((f"(b) OTOC round {r}", plain, clicked, h.miou, h.seconds))
        prec = "n/a" if h.precision is None else f"{100 * h.precision:.1f} %"
        if verbose:
            print(f"  round {r}: mIoU {plain:.3f} (no clicks), {clicked:.3f} (with clicks); "
                  f"pseudo-labels cover {100 * h.coverage:.1f} % of super-voxels at precision "
                  f"{prec}; {h.seconds:.1f} s", flush=True)  # fmt: skip

    otoc = OneThingOneClick(**kw)
    otoc.fit([s.to(dev) for s in train], train_clicks, callback=per_round)
    b_sc = scores([otoc.predict(s.to(dev)).cpu() for s in test], test)
    net = scores([otoc.predict(s.to(dev), refine=False).cpu() for s in test], test)
    # the same model deciding per training-style super-voxel (the previous protocol)
    otoc.predict_supervoxel_kwargs = None
    b_train_sv = miou([otoc.predict(s.to(dev)).cpu() for s in test], test)
    t = time.perf_counter()
    full = OneThingOneClick(**kw).fit_supervised([s.to(dev) for s in train])
    c_sec = time.perf_counter() - t
    c_sc = scores([full.predict(s.to(dev), refine=False).cpu() for s in test], test)
    rows.append(("(c) same backbone, full labels", c_sc.miou, None, None, c_sec))
    return rows, b_sc, c_sc, net, b_train_sv


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = p.add_argument
    add("--train", type=int, default=10, help="training rooms (default: 10)")
    add("--test", type=int, default=5, help="test (or validation) rooms (default: 5)")
    add("--points", type=int, default=16_000, help="points per room (default: 16000)")
    add("--objects", type=int, nargs=2, default=(6, 10), help="furniture range (default: 6 10)")  # fmt: skip
    add("--rounds", type=int, default=3, help="OTOC rounds (default: 3)")
    add("--epochs", type=int, default=40, help="passes in round 1 (default: 40)")
    add("--epochs-next", type=int, default=20, help="passes per later round (default: 20)")  # fmt: skip
    add("--threshold", type=float, default=0.9, help="pseudo-label confidence (default: 0.9)")  # fmt: skip
    add("--select", choices=["unary", "propagated"], default="propagated",
        help="pseudo-label confidence rule (default: propagated)")  # fmt: skip
    add("--cosine", action="store_true", help="cosine learning rate within rounds")
    add("--relation-weight", type=float, default=SELECTED["relation_weight"],
        help="relation-loss weight (default: 0.1, selected on validation)")  # fmt: skip
    add("--relation-backbone", choices=["shared", "separate"],
        default=SELECTED.get("relation_backbone", "shared"),
        help="relation head on the backbone or on its own network (default: %(default)s)")  # fmt: skip
    add("--mf-weight", type=float, default=1.0, help="mean-field pairwise weight (default: 1)")  # fmt: skip
    add("--validate", action="store_true",
        help="run the selection candidates on the validation rooms (seed 2)")  # fmt: skip
    add("--only", default="", help="with --validate: candidates whose name contains this")  # fmt: skip
    add("--seeds", type=int, default=None,
        help="model seeds, averaged (default: 3; 1 with --validate)")  # fmt: skip
    add("--device", default="cpu", help="torch device (default: cpu)")
    args = p.parse_args()
    # the synthetic class list has classes no room holds (ceiling): expected, not news
    warnings.filterwarnings("ignore", message=".*have no click")
    print(machine())
    t0 = time.perf_counter()
    obj = tuple(args.objects)
    train = make_scene_set(args.train, seed=0, num_points=args.points, num_objects=obj)
    seed, base = (2, 200) if args.validate else (1, 100)
    test = make_scene_set(args.test, seed=seed, num_points=args.points, num_objects=obj)
    train_clicks = [clicks_of(s, i) for i, s in enumerate(train)]
    test_clicks = [clicks_of(s, base + i) for i, s in enumerate(test)]
    n_clicks = sum(int((c >= 0).sum()) for c in train_clicks)
    kind = "validation (seed 2)" if args.validate else "test (seed 1)"
    print(f"{args.train} training / {args.test} {kind} rooms of {args.points:,} points, "
          f"{n_clicks} clicks on the training rooms ({100 * n_clicks / (args.train * args.points):.3f} % of points)")  # fmt: skip
    dev = torch.device(args.device)
    common: dict[str, Any] = dict(
        rounds=args.rounds, epochs=args.epochs, epochs_next=args.epochs_next,
        device=args.device, threshold=args.threshold, mf_weight=args.mf_weight,
        supervoxel_kwargs={"voxel_size": 0.08, "seed_resolution": 0.4},
    )  # fmt: skip

    t = time.perf_counter()
    a_pred = [spreading(s, c) for s, c in zip(test, test_clicks, strict=True)]
    a_sec = time.perf_counter() - t
    a_test = miou(a_pred, test)
    if args.validate:
        print(f"\n(a) kNN label spreading on the validation rooms: {a_test:.3f}")
        print(
            "\n| candidate | (b) per round, no clicks | (b) own clicks | (c) | (b)/(c) |"
        )
        print("|---|---|---|---|---|")
        for name, cand in CANDIDATES.items():
            if args.only not in name:
                continue
            out = [
                run(train, test, train_clicks, test_clicks,
                    {**common, **cand, "seed": seed}, dev, False)
                for seed in range(args.seeds or 1)
            ]  # fmt: skip
            rows = out[0][0]
            per = " / ".join(f"{r[1]:.3f}" for r in rows[:-1])
            b3 = [o[0][-2][1] or 0.0 for o in out]
            c3 = [o[2].miou for o in out]
            print(f"| {name} | {per} | {rows[-2][2]:.3f} | {c3[0]:.3f} | "
                  f"{b3[0] / c3[0]:.3f} |", flush=True)  # fmt: skip
            if len(out) > 1:
                print(f"  seeds 0..{len(out) - 1}: (b) {' / '.join(f'{b:.3f}' for b in b3)}"
                      f" (mean {mean(b3):.3f}), (c) {' / '.join(f'{c:.3f}' for c in c3)} "
                      f"(mean {mean(c3):.3f}), (b)/(c) {mean(b3) / mean(c3):.3f}; (b) "
                      "deciding per training super-voxel "
                      f"{' / '.join(f'{o[4]:.3f}' for o in out)}", flush=True)  # fmt: skip
        print(f"total {time.perf_counter() - t0:.0f} s")
        return

    a_train = miou(
        [spreading(s, c) for s, c in zip(train, train_clicks, strict=True)], train
    )
    kw = {**common, "select": args.select, "cosine": args.cosine,
          "relation_weight": args.relation_weight,
          "relation_backbone": args.relation_backbone,
          "predict_supervoxel_kwargs": SELECTED["predict_supervoxel_kwargs"]}  # fmt: skip
    print(f"settings: relation weight {args.relation_weight}, relation backbone "
          f"{args.relation_backbone!r} (selected on the validation rooms, see --validate), "
          f"select={args.select!r}, cosine={args.cosine}, "
          f"threshold {args.threshold}, mean-field weight {args.mf_weight}, prediction "
          f"super-voxels {PREDICT_SV} (selected on validation); (c) uses the "
          "same training settings and budget")  # fmt: skip
    runs = []
    for seed in range(args.seeds or 3):
        print(f"model seed {seed}:", flush=True)
        runs.append(
            run(train, test, train_clicks, test_clicks, {**kw, "seed": seed}, dev)
        )

    def avg(i: int, k: int) -> float | None:
        nums = [float(v) for v in (x[i][k] for x, *_ in runs) if isinstance(v, float)]
        return mean(nums) if nums else None

    table: list[Row] = [
        (r[0], avg(i, 1), avg(i, 2), avg(i, 3), avg(i, 4) or 0.0)
        for i, r in enumerate(runs[0][0])
    ]
    table.insert(
        0, ("(a) kNN label spreading, clicks only", None, a_test, a_train, a_sec)
    )

    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    print(f"\nmean of {len(runs)} model seeds (0..{len(runs) - 1}):")
    print("| method | test mIoU, no clicks | test mIoU, own clicks | train mIoU | seconds |")  # fmt: skip
    print("|---|---|---|---|---|")
    for name, x1, x2, x3, sec in table:
        print(f"| {name} | {f(x1)} | {f(x2)} | {f(x3)} | {sec:.1f} |")
    b_last, b_clicks, c_mean = table[-2][1], table[-2][2], table[-1][1]
    assert b_last is not None and b_clicks is not None and c_mean is not None
    for seed, (rw, b_sc, c_sc, net, b_tsv) in enumerate(runs):
        b = rw[-2][1]
        assert b is not None
        print(f"\nseed {seed}: (b) {b:.3f}, (c) {c_sc.miou:.3f}, (b)/(c) "
              f"{b / c_sc.miou:.4f}; backbone only {net.miou:.3f}; (b) deciding per "
              f"training super-voxel {b_tsv:.3f}")  # fmt: skip
        print(f"  per-class IoU, (b) last round: {per_class(b_sc)}")
        print(f"  per-class IoU, (b) backbone only: {per_class(net)}")
        print(f"  per-class IoU, (c): {per_class(c_sc)}")
    tsv = mean([r[4] for r in runs])
    print(
        f"\n(b) last round / (c): {b_last / c_mean:.4f} (target >= 0.95; mean "
        f"of per-seed ratios {mean((r[0][-2][1] or 0.0) / r[2].miou for r in runs):.4f}); "
        f"(b) with clicks / (a): {b_clicks / a_test:.3f}; "
        f"(b) without clicks / (a): {b_last / a_test:.3f}; "
        f"(b) deciding per training super-voxel: {tsv:.3f} ({tsv / c_mean:.3f} x (c))"
    )
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
