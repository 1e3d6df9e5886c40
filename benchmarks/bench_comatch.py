"""CoMatch vs FixMatch (same code path) vs supervised on digits, few labels per class.

Digits (1797 8x8 images) is split once, stratified, into a training pool (75 %) and a
held-out test set (25 %). For each budget (labels per class) and seed, the labelled
images are drawn from the pool and the rest of the pool is unlabelled. Every row
trains the same network (``--encoder``: SmallDigitsCNN by default, ImageMLP
64-128-128 or DigitsCNN) with the same views (``--views``), optimiser, schedule and
step budget:

* supervised-only: the labelled loss alone (lambda_u = lambda_c = 0);
* FixMatch: CoMatchConfig.fixmatch() -- lambda_c 0, alpha 1, hard labels, no DA;
* CoMatch: CoMatchConfig defaults (t 0.2, alpha 0.9, T 0.8, tau 0.95, DA 32);
* fully supervised: every pool image labelled (the ceiling; once per seed).

Accuracy is the EMA model's on the test set, mean +- sd over seeds. Step time is the
mean CPU time per optimiser step of FixMatch and CoMatch, measured in the same
process on the same data; their ratio is reported per budget, and a phase table
(views + forward, loss, backward, SGD + EMA) shows where the difference goes.
Hyper-parameters are the paper's CIFAR defaults except B 16, mu 3 and 6000 steps
(CPU time). Encoder, views and lr were chosen on ``--validation`` (a fifth of the
pool, 4 labels/class, seeds 0-2; the test set never used): lr per encoder by the
fully supervised validation accuracy (0.03 for both; 0.1 cripples the ceiling of the
batch-norm-free CNN), then encoder x views x mu by CoMatch's mean validation
accuracy (ties to the cheaper). ``--config KEY=VALUE`` overrides every row,
``--comatch KEY=VALUE`` the CoMatch row only.

    OMP_NUM_THREADS=1 python benchmarks/bench_comatch.py --validation --budgets 4 \
        --methods comatch full --encoder mlp --views shift    # one validation run
    OMP_NUM_THREADS=1 python benchmarks/bench_comatch.py            # the table
    python benchmarks/bench_comatch.py --steps 300 --seeds 0        # smoke run
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from _machine import machine  # benchmarks/ is on sys.path when run as a script
from torch import nn

from graphssl.comatch import CoMatch, CoMatchConfig, CoMatchLoss
from graphssl.comatch.digits_cnn import SmallDigitsCNN
from graphssl.comatch.encoders import DigitsCNN
from graphssl.comatch.model import CoMatchNet
from graphssl.comatch.presets import ImageMLP, comatch_views
from graphssl.comatch.sources import SampleSource
from graphssl.datasets import hide_labels, load_digits
from graphssl.teacher_student import EMATeacher


def _stratified(y: torch.Tensor, frac: int, seed: int) -> torch.Tensor:
    """Mask of ``len // frac`` samples per class, drawn with ``seed``."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(len(y), dtype=torch.bool)
    for c in range(int(y.max()) + 1):
        idx = torch.nonzero(y == c).flatten()
        out[idx[torch.randperm(len(idx), generator=g)[: len(idx) // frac]]] = True
    return out


def split(seed: int = 12345, validation: bool = False) -> tuple[torch.Tensor, ...]:
    """Stratified 75/25 split of digits into (x_pool, y_pool, x_eval, y_eval).

    With ``validation`` the test quarter is dropped entirely: a stratified fifth of
    the pool is the evaluation set and the other four fifths the pool. Every choice
    of hyper-parameter or network was made in this mode only.
    """
    x, y = load_digits()
    x = (x / 16.0).reshape(-1, 1, 8, 8)
    test = _stratified(y, 4, seed)
    x_p, y_p, x_e, y_e = x[~test], y[~test], x[test], y[test]
    if validation:
        val = _stratified(y_p, 5, seed + 1)
        x_p, y_p, x_e, y_e = x_p[~val], y_p[~val], x_p[val], y_p[val]
    return x_p, y_p, x_e, y_e


#: ``--encoder`` choices: factories of the feature network every row trains.
ENCODERS: dict[str, Callable[[], nn.Module]] = {
    "small-cnn": SmallDigitsCNN,
    "mlp": lambda: ImageMLP(64, 128),
    "cnn": DigitsCNN,
}
#: ``--views`` choices: :func:`comatch_views` modalities for 8x8 images.
VIEWS = {"shift": "small_image", "affine": "small_image_affine"}


def run(
    cfg: CoMatchConfig,
    enc: Any,
    views: tuple[Any, Any, Any],
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
    weak, s0, s1 = views
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


def phases(
    cfg: CoMatchConfig, enc: Any, views: Any, x_l: Any, y_l: Any, x_u: Any, steps: int
) -> dict[str, float]:
    """CPU ms per step of each phase of the trainer's step, after 300 warm-up steps.

    The phases are those of ``CoMatch._loop`` (same views, one concatenated forward,
    same loss, SGD + EMA), timed one by one with ``time.process_time``.
    """
    torch.manual_seed(0)
    b, bu = cfg.batch_size, cfg.mu * cfg.batch_size
    body = enc()
    net = CoMatchNet(body, int(body(x_l[:2]).shape[-1]), 10, cfg.proj_dim)
    crit, ema = CoMatchLoss(10, cfg), EMATeacher(net, cfg.ema_decay)
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True)
    src = SampleSource(x_l, x_u, *views)
    s1 = cfg.lambda_c > 0
    sizes = [b, bu, bu, bu] if s1 else [b, bu, bu]
    g = torch.Generator().manual_seed(0)
    keys = ["views + forward", "loss (CoMatchLoss)", "backward", "SGD + EMA"]
    total = dict.fromkeys(keys, 0.0)
    for k in range(300 + steps):
        il, iu = (
            torch.randint(len(y_l), (b,), generator=g),
            torch.randint(len(x_u), (bu,), generator=g),
        )
        t = [time.process_time()]
        net.train()
        lg, ft = (torch.split(v, sizes) for v in src.forward(net, il, iu, g, s1))
        t.append(time.process_time())
        out = crit(
            lg[0], y_l[il], lg[1], lg[2], ft[0], ft[1], ft[2], ft[3] if s1 else None
        )
        t.append(time.process_time())
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        t.append(time.process_time())
        opt.step()
        ema.update(net)
        t.append(time.process_time())
        if k >= 300:
            for i, key in enumerate(keys):
                total[key] += t[i + 1] - t[i]
    return {key: 1000 * v / steps for key, v in total.items()}


def profile(
    configs: dict[str, CoMatchConfig],
    enc: Any,
    views: Any,
    x_p: Any,
    y_p: Any,
    steps: int,
) -> None:
    """Print the phase table of FixMatch and CoMatch (4 labels/class, seed 0): three
    alternating repeats each, minimum per phase (load from other processes only
    ever adds time)."""
    lab = hide_labels(y_p, per_class=4, seed=0) >= 0
    data = (enc, views, x_p[lab], y_p[lab], x_p[~lab], steps)
    runs: dict[str, list[dict[str, float]]] = {"fixmatch": [], "comatch": []}
    for _ in range(3):
        for k in runs:
            runs[k].append(phases(configs[k], *data))
    fm, cm = ({p: min(r[p] for r in runs[k]) for p in runs[k][0]} for k in runs)
    print(f"\nWhere the step time goes (CPU ms/step, min of 3 x {steps} steps after "
          "300 warm-up, 4 labels/class):")  # fmt: skip
    print("\n| phase | FixMatch | CoMatch | difference |\n|---|---|---|---|")
    for key in fm:
        print(f"| {key} | {fm[key]:.3f} | {cm[key]:.3f} | {cm[key] - fm[key]:+.3f} |")
    f, c = sum(fm.values()), sum(cm.values())
    print(f"| total | {f:.3f} | {c:.3f} | {c - f:+.3f} (ratio {c / f:.2f}) |")


NAMES = {
    "full": "fully supervised",
    "supervised": "supervised-only",
    "fixmatch": "FixMatch (lambda_c 0, alpha 1, hard)",
    "comatch": "CoMatch",
}


def fmt(v: list[float]) -> str:
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{100 * statistics.mean(v):.1f} ± {100 * sd:.1f}"


def overrides(pairs: list[str]) -> dict[str, Any]:
    """``["threshold=0.8", ...]`` -> ``{"threshold": 0.8}`` (CoMatchConfig fields)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key] = type(getattr(CoMatchConfig(), key))(value)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--budgets", type=int, nargs="+", default=[2, 4], help="labels per class"
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--mu", type=int, default=3)
    p.add_argument("--encoder", choices=list(ENCODERS), default="small-cnn",
                   help="SmallDigitsCNN (default), ImageMLP 64-128-128 or DigitsCNN")  # fmt: skip
    p.add_argument("--views", choices=list(VIEWS), default="affine",
                   help="comatch_views('small_image') or ('small_image_affine')")  # fmt: skip
    p.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE",
                   help="CoMatchConfig overrides for every row")  # fmt: skip
    p.add_argument("--lr", type=float, default=0.03,
                   help="SGD learning rate of every row (chosen on validation)")  # fmt: skip
    p.add_argument("--comatch", nargs="*", default=[], metavar="KEY=VALUE",
                   help="CoMatchConfig overrides for the CoMatch row only")  # fmt: skip
    p.add_argument("--methods", nargs="+", choices=list(NAMES), default=list(NAMES))
    p.add_argument("--validation", action="store_true",
                   help="evaluate on a fifth of the pool; the test set is not used")  # fmt: skip
    p.add_argument("--profile-steps", type=int, default=1000,
                   help="steps of the phase table (0: skip it)")  # fmt: skip
    args = p.parse_args()
    torch.set_num_threads(1)
    print(machine())
    x_p, y_p, x_t, y_t = split(validation=args.validation)
    enc, views = ENCODERS[args.encoder], comatch_views(VIEWS[args.views])
    shared = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "mu": args.mu,
        "lr": args.lr,
        **overrides(args.config),
    }
    base = CoMatchConfig(**shared)
    # At lambda_u = lambda_c = 0 the unlabelled batch never reaches the loss; without
    # batch-norm (all but DigitsCNN) it changes nothing, so mu 1 only saves time.
    sup = base.replace(
        lambda_u=0.0,
        lambda_c=0.0,
        alpha=1.0,
        mu=args.mu if args.encoder == "cnn" else 1,
    )
    configs = {
        "supervised": sup,
        "fixmatch": CoMatchConfig.fixmatch(**shared),
        "comatch": base.replace(**overrides(args.comatch)),
    }
    configs = {k: v for k, v in configs.items() if k in args.methods}
    where = "VALIDATION (fifth of the pool)" if args.validation else "test"
    print(f"digits: pool {len(y_p)}, {where} {len(y_t)}; encoder {args.encoder}; "
          f"views {args.views}; all rows {args.config or 'no overrides'}; "
          f"B {args.batch_size}, mu {args.mu}, lr {args.lr}, {args.steps} steps; "
          f"seeds {args.seeds}; "
          f"CoMatch overrides {args.comatch or 'none'}")  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    ceiling = math.nan
    if "full" in args.methods:
        full = [run(sup, enc, views, x_p, y_p, x_p, x_t, y_t, s)[0] for s in args.seeds]
        print(f"\nfully supervised (all {len(y_p)} pool labels): {fmt(full)} %  "
              f"[{time.process_time() - c0:.0f} s CPU]")  # fmt: skip
        ceiling = statistics.mean(full)
    print(
        f"\n| labels/class | method | {where} accuracy % | / fully supervised | CPU ms/step |"
    )
    print("|---|---|---|---|---|")
    for budget in args.budgets:
        accs: dict[str, list[float]] = {k: [] for k in configs}
        secs: dict[str, list[float]] = {k: [] for k in configs}
        for s in args.seeds:
            lab = hide_labels(y_p, per_class=budget, seed=s) >= 0
            for name, cfg in configs.items():
                a, t = run(cfg, enc, views, x_p[lab], y_p[lab], x_p[~lab], x_t, y_t, s)
                accs[name].append(a)
                secs[name].append(t)
        for name in configs:
            print(f"  {name} per seed: {[round(100 * a, 1) for a in accs[name]]}")
        for name in configs:
            ratio = statistics.mean(accs[name]) / ceiling
            ms = 1000 * statistics.median(secs[name])
            print(
                f"| {budget} | {NAMES[name]} | {fmt(accs[name])} | {ratio:.3f} | {ms:.2f} |"
            )
        if "fixmatch" in configs and "comatch" in configs:
            r = statistics.median(secs["comatch"]) / statistics.median(secs["fixmatch"])
            print(f"| {budget} | step time CoMatch / FixMatch | {r:.2f} | | |")
    if args.profile_steps and {"fixmatch", "comatch"} <= set(configs):
        profile(configs, enc, views, x_p, y_p, args.profile_steps)
    print(
        f"\ntotal {time.process_time() - c0:.0f} s CPU, {time.perf_counter() - t0:.0f} s wall"
    )


if __name__ == "__main__":
    main()
