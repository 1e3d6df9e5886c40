"""CoMatch vs FixMatch (same code path) vs supervised on digits, few labels per class.

Digits (1797 8x8 images) is split once, stratified, into a training pool (75 %) and a
held-out test set (25 %). For each budget (labels per class) and seed, the labelled
images are drawn from the pool and the rest of the pool is unlabelled. Every row
trains the same network (``--encoder``: ImageMLP 64-128-128 or DigitsCNN) with the
same views, optimiser, schedule and step budget:

* supervised-only: the labelled loss alone (lambda_u = lambda_c = 0);
* FixMatch: CoMatchConfig.fixmatch() -- lambda_c 0, alpha 1, hard labels, no DA;
* CoMatch: CoMatchConfig defaults (t 0.2, alpha 0.9, T 0.8, tau 0.95, DA 32);
* fully supervised: every pool image labelled (the ceiling; once per seed).

Accuracy is the EMA model's on the test set, mean +- sd over seeds. Step time is the
mean CPU time per optimiser step of FixMatch and CoMatch, measured in the same
process on the same data; their ratio is reported per budget. Hyper-parameters are
the paper's CIFAR defaults except B, mu and the step budget (chosen for CPU time);
nothing was tuned on the test set.

    OMP_NUM_THREADS=1 python benchmarks/bench_comatch.py            # the table
    python benchmarks/bench_comatch.py --steps 300 --seeds 0        # smoke run
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from _machine import machine  # benchmarks/ is on sys.path when run as a script

from graphssl.comatch import CoMatch, CoMatchConfig
from graphssl.comatch.encoders import DigitsCNN
from graphssl.comatch.presets import ImageMLP, comatch_views
from graphssl.datasets import hide_labels, load_digits


def split(seed: int = 12345) -> tuple[torch.Tensor, ...]:
    """Stratified 75/25 split of digits into (x_pool, y_pool, x_test, y_test)."""
    x, y = load_digits()
    x = (x / 16.0).reshape(-1, 1, 8, 8)
    g = torch.Generator().manual_seed(seed)
    test = torch.zeros(len(y), dtype=torch.bool)
    for c in range(10):
        idx = torch.nonzero(y == c).flatten()
        test[idx[torch.randperm(len(idx), generator=g)[: len(idx) // 4]]] = True
    return x[~test], y[~test], x[test], y[test]


def run(
    cfg: CoMatchConfig,
    enc: Any,
    x_l: Any,
    y_l: Any,
    x_u: Any,
    x_t: Any,
    y_t: Any,
    seed: int,
) -> tuple[float, float]:
    """Test accuracy of the EMA model and CPU seconds per step.

    CPU time (``time.process_time``, one thread) rather than wall time: the machine
    is shared, and CPU time does not count the time other processes hold the core.
    """
    weak, s0, s1 = comatch_views("small_image")
    m = CoMatch(
        enc,
        config=cfg,
        weak=weak,
        strong0=s0,
        strong1=s1,
        seed=seed,
        log_every=cfg.steps,
    )
    t = time.process_time()
    m.fit(x_l, y_l, x_u)
    secs = (time.process_time() - t) / cfg.steps
    return float((m.predict(x_t) == y_t).float().mean()), secs


def fmt(v: list[float]) -> str:
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{100 * statistics.mean(v):.1f} ± {100 * sd:.1f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--budgets", type=int, nargs="+", default=[2, 4], help="labels per class"
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--mu", type=int, default=3)
    p.add_argument("--encoder", choices=["mlp", "cnn"], default="mlp")
    args = p.parse_args()
    torch.set_num_threads(1)
    print(machine())
    x_p, y_p, x_t, y_t = split()
    enc = DigitsCNN if args.encoder == "cnn" else (lambda: ImageMLP(64, 128))
    base = CoMatchConfig(steps=args.steps, batch_size=args.batch_size, mu=args.mu)
    configs = {
        "supervised-only": CoMatchConfig.fixmatch(steps=args.steps, batch_size=args.batch_size,
                                                  mu=args.mu, lambda_u=0.0),
        "FixMatch (lambda_c 0, alpha 1, hard)": CoMatchConfig.fixmatch(
            steps=args.steps, batch_size=args.batch_size, mu=args.mu),
        "CoMatch": base,
    }  # fmt: skip
    print(f"digits: pool {len(y_p)}, test {len(y_t)}; encoder {args.encoder}; B {args.batch_size}, "
          f"mu {args.mu}, {args.steps} steps; seeds {args.seeds}")  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    full = [
        run(
            base.replace(lambda_u=0.0, lambda_c=0.0, alpha=1.0),
            enc,
            x_p,
            y_p,
            x_p,
            x_t,
            y_t,
            s,
        )[0]
        for s in args.seeds
    ]
    print(
        f"\nfully supervised (all {len(y_p)} pool labels): {fmt(full)} %  [{time.process_time() - c0:.0f} s CPU]"
    )
    ceiling = statistics.mean(full)
    print(
        "\n| labels/class | method | test accuracy % | / fully supervised | CPU ms/step |"
    )
    print("|---|---|---|---|---|")
    for budget in args.budgets:
        accs: dict[str, list[float]] = {k: [] for k in configs}
        secs: dict[str, list[float]] = {k: [] for k in configs}
        for s in args.seeds:
            lab = hide_labels(y_p, per_class=budget, seed=s) >= 0
            for name, cfg in configs.items():
                a, t = run(cfg, enc, x_p[lab], y_p[lab], x_p[~lab], x_t, y_t, s)
                accs[name].append(a)
                secs[name].append(t)
        for name in configs:
            ratio = statistics.mean(accs[name]) / ceiling
            ms = 1000 * statistics.median(secs[name])
            print(f"| {budget} | {name} | {fmt(accs[name])} | {ratio:.3f} | {ms:.2f} |")
        fm, cm = "FixMatch (lambda_c 0, alpha 1, hard)", "CoMatch"
        step_ratio = statistics.median(secs[cm]) / statistics.median(secs[fm])
        print(f"| {budget} | step time CoMatch / FixMatch | {step_ratio:.2f} | | |")
    print(
        f"\ntotal {time.process_time() - c0:.0f} s CPU, {time.perf_counter() - t0:.0f} s wall"
    )


if __name__ == "__main__":
    main()
