"""CoMatch on graph nodes vs label propagation vs a plain GCN (Cora, CiteSeer).

Standard Planetoid split (20 labels per class, 500 validation and 1000 test nodes),
raw binary features passed as a sparse tensor (views and the GCN's first layer stay
sparse). Every learned row uses the same two-layer GCN encoder (64 units, dropout
0.5), the same trainer (SGD Nesterov, cos(7πk/16K) schedule, EMA for prediction) and
seeds; only the loss differs:

* GCN (supervised): ``lambda_u = lambda_c = 0``, ``alpha = 1``, no alignment;
* FixMatch: ``CoMatchConfig.fixmatch()`` (λ_c = 0, α = 1, hard labels, no alignment);
* CoMatch: the defaults of ``CoMatchConfig`` (t 0.2, α 0.9, T 0.8, τ 0.95, DA on)
  with node views: weak = 10 % feature-column masking, strong = 30 % edge dropping
  and 30 % masking (``NodeViews.weak()`` / ``NodeViews.strong()``).

Model selection uses the validation nodes only: for each dataset and each learned
method, every (lr, steps, EMA decay) of the grid is fitted with seed 0 and the
setting with the best validation accuracy is kept (ties: fewer steps, then smaller
lr, then smaller decay). The test nodes are scored for the kept setting only, over
seeds 0 .. S-1 (the seed-0 fit is the selection fit itself). The EMA decay changes
only the averaged copy used for prediction, not training (pseudo-labels come from
the trained network), so one fit scores every decay of the grid.

Label propagation (harmonic, Zhu et al. 2003) and label spreading (α = 0.99, Zhou et
al. 2004) use the graph only, have no setting to select and are deterministic.
Cells: accuracy mean ± sd over seeds; seconds: median of one fit.

    OMP_NUM_THREADS=1 python benchmarks/bench_comatch_nodes.py
    python benchmarks/bench_comatch_nodes.py --datasets cora --seeds 1 --lrs 0.1 --steps 30
    python benchmarks/bench_comatch_nodes.py --cache runs.json   # resumable
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch_geometric.nn  # noqa: F401  (imported once here, not inside the first timing)
from _machine import machine  # benchmarks/ is on sys.path when run as a script
from torch import Tensor

from graphssl.comatch import CoMatch, CoMatchConfig
from graphssl.comatch.encoders import GCNEncoder, NodeViews
from graphssl.comatch.model import CoMatchNet
from graphssl.datasets import PlanetoidData, find_planetoid_root, load_planetoid
from graphssl.ema import EMATeacher
from graphssl.propagation import label_propagation, label_spreading

LEARNED = ("GCN, supervised only", "FixMatch-on-nodes (GCN)", "CoMatch-on-nodes (GCN)")
PROPAGATION = {"label propagation (harmonic)": None, "label spreading α=0.99": 0.99}
# One fit's record: validation and test accuracy per EMA decay, and seconds.
Record = dict[str, Any]


class MultiEMACoMatch(CoMatch):
    """CoMatch that also keeps one EMA copy of the network per decay in ``decays``.

    Uses two private hooks of the trainer (``_build`` for the initial copies,
    ``_optimizer`` for a post-step update); :func:`fit_learned` checks that the copy
    with the config's decay equals the trainer's own EMA bit for bit, so a change of
    those hooks cannot go unnoticed.
    """

    def __init__(self, *args: Any, decays: Sequence[float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decays = tuple(decays)

    def _build(
        self, probe: tuple[Tensor, ...], c: int, dev: torch.device, dtype: torch.dtype
    ) -> CoMatchNet:
        net = super()._build(probe, c, dev, dtype)
        self.net_ = net
        self.emas_ = [EMATeacher(net, d) for d in self.decays]
        return net

    def _optimizer(self, params: list[torch.nn.Parameter]) -> tuple[Any, Any]:
        opt, sched = super()._optimizer(params)

        def update(*_: Any) -> None:  # after opt.step(), as the trainer's own EMA
            for e in self.emas_:
                e.update(self.net_)

        opt.register_step_post_hook(update)
        return opt, sched


def accuracy(pred: Tensor, d: PlanetoidData, mask: Tensor) -> float:
    return float((pred[mask] == d.y[mask]).double().mean())


def train_labels(d: PlanetoidData) -> torch.Tensor:
    return torch.where(d.train_mask, d.y, -1)


def fit_propagation(d: PlanetoidData, alpha: float | None) -> Record:
    t = time.perf_counter()
    g = d.graph().to(dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreached nodes count as errors (-1)
        if alpha is None:
            res = label_propagation(g, train_labels(d))
        else:
            res = label_spreading(g, train_labels(d), alpha=alpha)
    el = time.perf_counter() - t
    pred = res.prediction
    return {
        "val": accuracy(pred, d, d.val_mask),
        "test": accuracy(pred, d, d.test_mask),
        "s": el,
    }


def make_config(
    method: str, args: argparse.Namespace, lr: float, steps: int, decay: float
) -> CoMatchConfig:
    kw: dict[str, Any] = {"batch_size": args.batch_size, "mu": args.mu, "lr": lr}
    kw.update(steps=steps, ema_decay=decay)
    if method.startswith("FixMatch"):
        return CoMatchConfig.fixmatch(**kw)
    if method.startswith("GCN"):
        kw.update(lambda_u=0.0, lambda_c=0.0, alpha=1.0, distribution_alignment=False)
    return CoMatchConfig(**kw)


def fit_learned(
    d: PlanetoidData,
    cfg: CoMatchConfig,
    decays: Sequence[float],
    hidden: int,
    seed: int,
) -> Record:
    f = d.num_features
    t = time.perf_counter()
    model = MultiEMACoMatch(
        lambda: GCNEncoder(f, hidden),
        config=cfg,
        feature_dim=hidden,
        seed=seed,
        weak=NodeViews.weak(),
        strong0=NodeViews.strong(),
        strong1=NodeViews.strong(),
        decays=decays,
    )
    x = d.x.to_sparse()  # bag-of-words: views and the first layer stay sparse
    model.fit_nodes(x, d.edge_index, train_labels(d))
    el = time.perf_counter() - t
    own = model.emas_[list(decays).index(cfg.ema_decay)].module.state_dict()
    for k, v in model.ema_.module.state_dict().items():
        if not torch.equal(v, own[k]):
            raise RuntimeError(f"extra EMA differs from the trainer's EMA at {k}")
    rec: Record = {"val": {}, "test": {}, "s": el}
    for e in model.emas_:
        e.module.eval()
        with torch.no_grad():
            pred = e.module(x, d.edge_index)[0].argmax(dim=1)
        rec["val"][str(e.decay)] = accuracy(pred, d, d.val_mask)
        rec["test"][str(e.decay)] = accuracy(pred, d, d.test_mask)
    return rec


def mean_sd(v: list[float]) -> str:
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.mean(v):.3f} ± {sd:.3f}"


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=None)
    p.add_argument("--datasets", nargs="+", default=["cora", "citeseer"])
    p.add_argument("--seeds", type=int, default=3, help="test seeds 0 .. S-1")
    p.add_argument("--lrs", type=float, nargs="+", default=[0.03, 0.1, 0.3])
    p.add_argument("--steps", type=int, nargs="+", default=[100, 200])
    p.add_argument("--ema-decays", type=float, nargs="+", default=[0.95, 0.99])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--mu", type=int, default=4)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument(
        "--cache", type=Path, default=None, help="JSON file of finished fits"
    )
    return p.parse_args()


def main() -> None:
    args = parse()
    root = args.root or find_planetoid_root()
    if root is None:
        sys.exit("No Planetoid data found: pass --root or set GRAPHSSL_PLANETOID_ROOT.")
    decays = sorted(set(args.ema_decays))
    cache: dict[str, Record] = {}
    if args.cache is not None and args.cache.exists():
        cache = json.loads(args.cache.read_text())

    def run(key: str, fn: Any, *fa: Any) -> Record:
        key = f"{key}|B{args.batch_size}|mu{args.mu}|h{args.hidden}|ema{decays}"
        if key not in cache:
            cache[key] = fn(*fa)
            print(f"  {key}: {cache[key]['val']} ({cache[key]['s']:.1f} s)", flush=True)
            if args.cache is not None:
                args.cache.write_text(json.dumps(cache, indent=1))
        return cache[key]

    print(f"Command: python benchmarks/bench_comatch_nodes.py {' '.join(sys.argv[1:])}")
    print(f"Machine: {machine()}")
    print(f"Grid: lr {args.lrs} × steps {args.steps} × EMA decay {decays}, seed 0")
    cfg = make_config("CoMatch", args, args.lrs[0], args.steps[0], decays[0])
    print(f"CoMatch config (lr, steps, ema_decay: from the grid): {cfg}\n")
    grid = [(s, lr) for s in sorted(set(args.steps)) for lr in sorted(set(args.lrs))]
    chosen: dict[tuple[str, str], tuple[int, float, float, float]] = {}
    results: dict[tuple[str, str], list[Record]] = {}
    for name in args.datasets:
        d = load_planetoid(root, name)
        for label, alpha in PROPAGATION.items():
            results[label, name] = [run(f"{name}|{label}", fit_propagation, d, alpha)]
        vals: dict[tuple[int, float, float], list[float]] = {}
        for method in LEARNED:
            best: tuple[float, int, float, float] | None = None
            for steps, lr in grid:  # selection: validation accuracy of seed 0 only
                cfg = make_config(method, args, lr, steps, decays[0])
                rec = run(
                    f"{name}|{method}|0|{steps}|{lr}",
                    fit_learned,
                    d,
                    cfg,
                    decays,
                    args.hidden,
                    0,
                )
                for dec in decays:
                    v = rec["val"][str(dec)]
                    vals.setdefault((steps, lr, dec), []).append(v)
                    if best is None or v > best[0]:
                        best = (v, steps, lr, dec)
            assert best is not None
            v, steps, lr, dec = best
            chosen[method, name] = (steps, lr, dec, v)
            cfg = make_config(method, args, lr, steps, decays[0])
            results[method, name] = [
                run(
                    f"{name}|{method}|{seed}|{steps}|{lr}",
                    fit_learned,
                    d,
                    cfg,
                    decays,
                    args.hidden,
                    seed,
                )
                for seed in range(args.seeds)
            ]
        print(f"\nValidation accuracy, seed 0, {name} (GCN / FixMatch / CoMatch):")
        print(
            "| steps | lr | EMA decay | GCN | FixMatch | CoMatch |\n|---|---|---|---|---|---|"
        )
        for (steps, lr, dec), v3 in vals.items():
            print(
                f"| {steps} | {lr} | {dec} | "
                + " | ".join(f"{a:.3f}" for a in v3)
                + " |"
            )

    print("\nSelected by validation accuracy (seed 0):")
    print(
        "| method | dataset | steps | lr | EMA decay | val acc |\n|---|---|---|---|---|---|"
    )
    for (method, name), (steps, lr, dec, v) in chosen.items():
        print(f"| {method} | {name} | {steps} | {lr} | {dec} | {v:.3f} |")

    def cells(label: str, name: str, part: str) -> list[float]:
        recs = results[label, name]
        if label in PROPAGATION:
            return [float(r[part]) for r in recs]
        dec = str(chosen[label, name][2])
        return [float(r[part][dec]) for r in recs]

    head = " | ".join(f"{n} val acc | {n} test acc | {n} s" for n in args.datasets)
    print(f"\nSelected settings, seeds 0..{args.seeds - 1}:\n| method | {head} |")
    print("|---|" + "---|---|---|" * len(args.datasets))
    for label in (*PROPAGATION, *LEARNED):
        row = []
        for n in args.datasets:
            secs = statistics.median(float(r["s"]) for r in results[label, n])
            row.append(
                f"{mean_sd(cells(label, n, 'val'))} | {mean_sd(cells(label, n, 'test'))} | {secs:.1f}"
            )
        print(f"| {label} | {' | '.join(row)} |")

    def per_step(label: str, name: str) -> float:  # settings differ in steps
        secs = statistics.median(float(r["s"]) for r in results[label, name])
        return secs / chosen[label, name][0]

    com = LEARNED[2]
    for ref in LEARNED[:2]:
        for n in args.datasets:
            acc = statistics.mean(cells(com, n, "test"))
            acc /= statistics.mean(cells(ref, n, "test"))
            sec = per_step(com, n) / per_step(ref, n)
            print(
                f"{n}: CoMatch / {ref}: test accuracy {acc:.3f}, time per step {sec:.2f}×"
            )


if __name__ == "__main__":
    main()
