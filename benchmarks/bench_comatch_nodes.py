"""CoMatch on graph nodes vs label propagation vs a plain GCN (Cora, CiteSeer).

Standard Planetoid split (20 labels per class, 1000 test nodes), raw binary features
passed as a sparse tensor (views and the GCN's first layer stay sparse).
Every learned row uses the same two-layer GCN encoder (64 units, dropout 0.5), the same
trainer (SGD Nesterov, cos(7πk/16K) schedule, EMA for prediction), the same budget and
seeds; only the loss differs:

* GCN (supervised): ``lambda_u = lambda_c = 0``, ``alpha = 1``, no alignment;
* FixMatch: ``CoMatchConfig.fixmatch()`` (λ_c = 0, α = 1, hard labels, no alignment);
* CoMatch: the defaults of ``CoMatchConfig`` (t 0.2, α 0.9, T 0.8, τ 0.95, DA on)
  with node views: weak = 10 % feature-column masking, strong = 30 % edge dropping
  and 30 % masking (``NodeViews.weak()`` / ``NodeViews.strong()``).

Label propagation (harmonic, Zhu et al. 2003) and label spreading (α = 0.99, Zhou et
al. 2004) use the graph only and are deterministic. Cells: test accuracy mean ± sd
over seeds; seconds: median of one fit.

    OMP_NUM_THREADS=1 python benchmarks/bench_comatch_nodes.py
    python benchmarks/bench_comatch_nodes.py --datasets cora --seeds 1 --steps 30
    python benchmarks/bench_comatch_nodes.py --cache runs.json   # resumable
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch_geometric.nn  # noqa: F401  (imported once here, not inside the first timing)
from _machine import machine  # benchmarks/ is on sys.path when run as a script

from graphssl.comatch import CoMatch, CoMatchConfig
from graphssl.comatch.encoders import GCNEncoder, NodeViews
from graphssl.datasets import PlanetoidData, find_planetoid_root, load_planetoid
from graphssl.propagation import label_propagation, label_spreading

# A method maps (data, seed) to predictions [N].
Method = Callable[[PlanetoidData, int], torch.Tensor]


def train_labels(d: PlanetoidData) -> torch.Tensor:
    return torch.where(d.train_mask, d.y, -1)


def propagation(kind: str) -> Method:
    def run(d: PlanetoidData, seed: int) -> torch.Tensor:
        g = d.graph().to(dtype=torch.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unreached nodes count as errors (-1)
            if kind == "harmonic":
                res = label_propagation(g, train_labels(d))
            else:
                res = label_spreading(g, train_labels(d), alpha=0.99)
        pred: torch.Tensor = res.prediction
        return pred

    return run


def trainer(cfg: CoMatchConfig, hidden: int) -> Method:
    def run(d: PlanetoidData, seed: int) -> torch.Tensor:
        f = d.num_features
        model = CoMatch(
            lambda: GCNEncoder(f, hidden),
            config=cfg,
            feature_dim=hidden,
            weak=NodeViews.weak(),
            strong0=NodeViews.strong(),
            strong1=NodeViews.strong(),
            seed=seed,
        )
        x = d.x.to_sparse()  # bag-of-words: views and the first layer stay sparse
        model.fit_nodes(x, d.edge_index, train_labels(d))
        pred: torch.Tensor = model.predict(x, d.edge_index)
        return pred

    return run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=None)
    p.add_argument("--datasets", nargs="+", default=["cora", "citeseer"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--mu", type=int, default=4)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--ema-decay", type=float, default=0.95)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument(
        "--cache", type=Path, default=None, help="JSON file of finished runs"
    )
    args = p.parse_args()
    root = args.root or find_planetoid_root()
    if root is None:
        sys.exit("No Planetoid data found: pass --root or set GRAPHSSL_PLANETOID_ROOT.")
    base = CoMatchConfig(
        batch_size=args.batch_size,
        mu=args.mu,
        steps=args.steps,
        lr=args.lr,
        ema_decay=args.ema_decay,
    )
    supervised = base.replace(
        lambda_u=0.0, lambda_c=0.0, alpha=1.0, distribution_alignment=False
    )
    fixmatch = CoMatchConfig.fixmatch(
        batch_size=args.batch_size,
        mu=args.mu,
        steps=args.steps,
        lr=args.lr,
        ema_decay=args.ema_decay,
    )
    methods: dict[str, Method] = {
        "label propagation (harmonic)": propagation("harmonic"),
        "label spreading α=0.99": propagation("spreading"),
        "GCN, supervised only": trainer(supervised, args.hidden),
        "FixMatch-on-nodes (GCN)": trainer(fixmatch, args.hidden),
        "CoMatch-on-nodes (GCN)": trainer(base, args.hidden),
    }
    cache: dict[str, list[float]] = {}
    if args.cache is not None and args.cache.exists():
        cache = json.loads(args.cache.read_text())
    print(f"Command: python benchmarks/bench_comatch_nodes.py {' '.join(sys.argv[1:])}")
    print(f"Machine: {machine()}")
    print(f"Config: {base}\n")
    table: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for name in args.datasets:
        d = load_planetoid(root, name)
        for label, fn in methods.items():
            seeds = range(1) if label.startswith("label") else range(args.seeds)
            accs, secs = [], []
            for seed in seeds:
                key = f"{name}|{label}|{seed}|{args.steps}|{args.lr}|{args.mu}"
                if key not in cache:
                    t = time.perf_counter()
                    pred = fn(d, seed)
                    el = time.perf_counter() - t
                    ok = pred[d.test_mask] == d.y[d.test_mask]
                    cache[key] = [float(ok.double().mean()), el]
                    if args.cache is not None:
                        args.cache.write_text(json.dumps(cache, indent=1))
                    print(
                        f"  {name} {label} seed {seed}: {cache[key][0]:.3f} ({el:.1f} s)"
                    )
                accs.append(cache[key][0])
                secs.append(cache[key][1])
            table.setdefault(label, {})[name] = (accs, secs)
    head = " | ".join(f"{n} test acc | {n} s" for n in args.datasets)
    print(f"\n| method | {head} |")
    print("|---|" + "---|---|" * len(args.datasets))
    for label, row in table.items():
        cells = []
        for n in args.datasets:
            accs, secs = row[n]
            sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
            cells.append(
                f"{statistics.mean(accs):.3f} ± {sd:.3f} | {statistics.median(secs):.1f}"
            )
        print(f"| {label} | {' | '.join(cells)} |")
    com = table["CoMatch-on-nodes (GCN)"]
    for ref in ("GCN, supervised only", "FixMatch-on-nodes (GCN)"):
        for n in args.datasets:
            acc = statistics.mean(com[n][0]) / statistics.mean(table[ref][n][0])
            sec = statistics.median(com[n][1]) / statistics.median(table[ref][n][1])
            print(f"{n}: CoMatch / {ref}: accuracy {acc:.3f}, time per fit {sec:.2f}×")


if __name__ == "__main__":
    main()
