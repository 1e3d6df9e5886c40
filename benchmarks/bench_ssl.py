"""Semi-supervised learners at 1-10 labels per class: graphssl vs scikit-learn.

Every method sees the same seeded data and the same hidden labels in one process.
Accuracy is measured on the unlabelled samples (inductive ``predict`` of the final
model for the classifiers; ``transduction_`` for label spreading, where unreached
samples (-1) count as errors). Each cell is mean ± sd over seeds and the median
seconds of one fit.

    python benchmarks/bench_ssl.py                      # everything
    python benchmarks/bench_ssl.py --quick              # 2 seeds, budgets 2 and 5
    python benchmarks/bench_ssl.py --datasets wine --budgets 1 2 --seeds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from _machine import machine  # benchmarks/ is on sys.path when run as a script
from torch import nn

from graphssl.datasets import hide_labels, load_breast_cancer, load_digits, load_wine

# A method maps (x [N, F], y [N] with -1 hidden, seed) to predictions [N].
Method = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "digits":
        x, y = load_digits(dtype=torch.float64)
        x = x / 16.0
    elif name == "wine":
        x, y = load_wine(standardize=True, dtype=torch.float64)
    else:
        x, y = load_breast_cancer(standardize=True, dtype=torch.float64)
    return x.numpy(), y.numpy()


# ----------------------------------------------------------------- classic rows
def base() -> object:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def supervised(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    lab = y != -1
    return base().fit(x[lab], y[lab]).predict(x)  # type: ignore[attr-defined]


def sklearn_self_training(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.semi_supervised import SelfTrainingClassifier

    m = SelfTrainingClassifier(base(), threshold=0.75)
    return m.fit(x, y).predict(x)


def ours_self_training(criterion: str) -> Method:
    from graphssl.self_training import SelfTraining

    def run(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
        m = SelfTraining(base(), criterion=criterion, threshold=0.75)
        return m.fit(x, y).predict(x)

    return run


def gmm(lam: float, covariance_type: str = "diag") -> Method:
    from graphssl.em_gaussian import SemiSupervisedGMM

    def run(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
        m = SemiSupervisedGMM(lam=lam, covariance_type=covariance_type)
        return m.fit(x, y).predict(x)

    return run


def label_spreading(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    from graphssl.estimators import LabelSpreading

    return LabelSpreading().fit(x, y).transduction_


CLASSIC: dict[str, Method] = {
    "(a) supervised LogisticRegression(max_iter=1000)": supervised,
    "(b) sklearn SelfTrainingClassifier(threshold=0.75)": sklearn_self_training,
    "(c) graphssl SelfTraining threshold=0.75": ours_self_training("threshold"),
    "(c) graphssl SelfTraining k_best (10/class/round)": ours_self_training("k_best"),
    "(c) graphssl SelfTraining graph (k=50, τ=0.75)": ours_self_training("graph"),
    "(d) supervised GMM (lam=0, diag)": gmm(0.0),
    "(d) EM GMM (lam=1, diag)": gmm(1.0),
    "(e) graphssl LabelSpreading() (reference)": label_spreading,
}


# ------------------------------------------------------------------- deep rows
def net() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def deep(kind: str, steps: int) -> Method:
    from graphssl.augment import weak_strong
    from graphssl.co_training import CoTraining
    from graphssl.teacher_student import TeacherStudent

    weak, strong = weak_strong("features")
    common = dict(steps=steps, batch_size=16, mu=4, seed=0)

    def run(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
        xt = torch.from_numpy(x).float()
        yt = torch.from_numpy(y)
        lab = yt >= 0
        kw = dict(common, seed=seed)
        if kind == "sup":  # the same loop with the unlabelled loss switched off
            m = TeacherStudent(net, lambda_u=0.0, weak=weak, strong=strong, **kw)
        elif kind == "fixmatch":
            m = TeacherStudent(
                net, threshold=0.8, distribution_alignment=True, weak=weak,
                strong=strong, **kw,
            )  # fmt: skip
        elif kind == "mean_teacher":  # Tarvainen & Valpola's CIFAR-10 weight, EMA
            m = TeacherStudent(
                net, teacher="ema", consistency="mse", lambda_u=100.0,
                rampup_steps=steps // 4, ema_decay=0.99, weak=weak, strong=strong,
                **kw,
            )  # fmt: skip
        else:
            m = CoTraining(net, lambda_cps=1.5, threshold=0.7, weak=weak, **kw)
        m.fit(xt[lab], yt[lab], xt[~lab])
        return m.predict(xt).numpy()

    return run


# ------------------------------------------------------------------- the table
def evaluate(
    fn: Method, x: np.ndarray, y_true: np.ndarray, hidden: list[np.ndarray]
) -> tuple[list[float], list[float]] | str:
    accs, secs = [], []
    for seed, y in enumerate(hidden):
        t = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = fn(x, y, seed)
        except Exception as e:  # reported as "n/a" with the reason
            return f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
        secs.append(time.perf_counter() - t)
        u = y == -1
        accs.append(float((pred[u] == y_true[u]).mean()))
    return accs, secs


def table(
    title: str,
    x: np.ndarray,
    y_true: np.ndarray,
    budgets: list[int],
    seeds: int,
    methods: dict[str, Method],
) -> dict[tuple[str, int], list[float]]:
    print(f"\n### {title} ({seeds} seeds: {', '.join(map(str, range(seeds)))})\n")
    print("| method | " + " | ".join(f"{b} / class" for b in budgets) + " |")
    print("|---|" + "---|" * len(budgets))
    sys.stdout.flush()
    yt = torch.from_numpy(y_true)
    hidden = {
        b: [hide_labels(yt, per_class=b, seed=s).numpy() for s in range(seeds)]
        for b in budgets
    }
    out: dict[tuple[str, int], list[float]] = {}
    notes = []
    for label, fn in methods.items():
        cells = []
        for b in budgets:
            r = evaluate(fn, x, y_true, hidden[b])
            if isinstance(r, str):
                cells.append("n/a¹")
                notes.append(f"{label}, {b}/class: {r}")
                continue
            accs, secs = r
            out[(label, b)] = accs
            cells.append(
                f"{statistics.mean(accs):.3f} ± {statistics.pstdev(accs):.3f} "
                f"({statistics.median(secs):.2f} s)"
            )
        print(f"| {label} | " + " | ".join(cells) + " |")
        sys.stdout.flush()
    for n in notes:
        print(f"\n¹ n/a — {n}")
    return out


def compare(
    res: dict[tuple[str, int], list[float]], a: str, b: str, budgets: list[int]
) -> None:
    parts = []
    for k in budgets:
        if (a, k) in res and (b, k) in res:
            d = np.array(res[(a, k)]) - np.array(res[(b, k)])
            parts.append(
                f"{k}/class Δ={d.mean():+.3f} (wins {int((d > 0).sum())}, "
                f"ties {int((d == 0).sum())}, losses {int((d < 0).sum())})"
            )
    print(f"\n{a}  minus  {b}: " + "; ".join(parts))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["digits", "wine", "breast_cancer"])
    p.add_argument("--budgets", nargs="+", type=int, default=[1, 2, 5, 10])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--deep-budgets", nargs="+", type=int, default=[2, 5])
    p.add_argument("--deep-seeds", type=int, default=5)
    p.add_argument("--deep-steps", type=int, default=1000)
    p.add_argument("--no-deep", action="store_true")
    p.add_argument("--no-classic", action="store_true", help="deep rows only")
    p.add_argument(
        "--deep-threads", type=int, default=1, help="torch threads, deep rows only"
    )
    p.add_argument("--quick", action="store_true", help="2 seeds, budgets 2 and 5")
    args = p.parse_args()
    if args.quick:
        args.seeds, args.deep_seeds, args.budgets = 2, 2, [2, 5]
    print(f"Machine: {machine()}")
    print(f"Command: python benchmarks/bench_ssl.py {' '.join(sys.argv[1:])}")
    print(
        f"Ran: datasets {args.datasets}, budgets {args.budgets}, seeds 0..{args.seeds - 1}"
        f"; deep: {'off' if args.no_deep else f'digits, budgets {args.deep_budgets}, '}"
        + (
            ""
            if args.no_deep
            else f"seeds 0..{args.deep_seeds - 1}, {args.deep_steps} steps, "
            "batch 16 + 4x16 unlabelled, MLP 64-64-10"
        )
    )
    t0 = time.perf_counter()
    for name in [] if args.no_classic else args.datasets:
        x, y = load(name)
        res = table(
            f"{name} ({x.shape[0]} × {x.shape[1]})", x, y, args.budgets, args.seeds,
            CLASSIC,
        )  # fmt: skip
        b = "(b) sklearn SelfTrainingClassifier(threshold=0.75)"
        for c in (
            "(c) graphssl SelfTraining threshold=0.75",
            "(c) graphssl SelfTraining k_best (10/class/round)",
            "(c) graphssl SelfTraining graph (k=50, τ=0.75)",
        ):
            compare(res, c, b, args.budgets)
        compare(res, "(d) EM GMM (lam=1, diag)", "(d) supervised GMM (lam=0, diag)",
                args.budgets)  # fmt: skip
    if not args.no_deep and "digits" in args.datasets:
        torch.set_num_threads(args.deep_threads)
        x, y = load("digits")
        deep_methods = {
            "(f) supervised MLP (same loop, lambda_u=0)": deep("sup", args.deep_steps),
            "(f) TeacherStudent FixMatch (τ=0.8, dist. alignment)": deep(
                "fixmatch", args.deep_steps
            ),
            "(f) TeacherStudent Mean Teacher (EMA 0.99, softmax MSE, w=100, "
            "ramp-up K/4)": deep("mean_teacher", args.deep_steps),
            "(f) CoTraining CPS (λ=1.5, τ=0.7)": deep("cps", args.deep_steps),
        }
        res = table(
            f"digits, deep methods ({args.deep_steps} steps, "
            f"{torch.get_num_threads()} torch threads)",
            x, y, args.deep_budgets, args.deep_seeds, deep_methods,
        )  # fmt: skip
        sup, *rest = deep_methods
        for c in rest:
            compare(res, c, sup, args.deep_budgets)
    print(f"\nTotal wall time: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
