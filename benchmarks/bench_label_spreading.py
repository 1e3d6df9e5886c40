"""Label spreading end to end (graph build + solve): graphssl vs scikit-learn and PyG.

Runs every method on the same seeded data in one process and prints markdown tables
with accuracy on the unlabelled points, median seconds and time ratios.

    python benchmarks/bench_label_spreading.py            # moons 1e4, 1e5; digits; 1e6
    python benchmarks/bench_label_spreading.py --quick    # moons 1e4 and digits only
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from _machine import machine  # benchmarks/ is on sys.path when run as a script

from graphssl.datasets import hide_labels, load_digits, make_moons

# A method returns its predictions as its users get them, and how many samples
# received no label mass (scikit-learn and PyG predict class 0 there; graphssl -1).
Method = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, int]]


def ours(variant: str = "spreading", **kw: object) -> Method:
    from graphssl.estimators import LabelPropagation, LabelSpreading

    def run(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
        cls = LabelSpreading if variant == "spreading" else LabelPropagation
        m = cls(**kw).fit(x, y)
        return m.transduction_, int((~m.reached_).sum())

    return run


def sklearn_ls(**kw: object) -> Method:
    from sklearn.semi_supervised import LabelSpreading

    def run(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
        m = LabelSpreading(kernel="knn", alpha=0.99, **kw).fit(x, y)
        return m.transduction_, int((m.label_distributions_.sum(1) == 0).sum())

    return run


def pyg_lp(num_layers: int, alpha: float, k: int = 10) -> Method:
    from sklearn.neighbors import kneighbors_graph
    from torch_geometric.nn import LabelPropagation

    def run(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
        # PyG's own knn_graph needs torch-cluster/pyg-lib (not installable here); a PyG
        # user without them builds the graph with scikit-learn, so that time counts.
        a = kneighbors_graph(x, k, include_self=False)
        a = a.maximum(a.T).tocoo()
        ei = torch.from_numpy(np.vstack([a.row, a.col])).long()
        yt = torch.from_numpy(np.clip(y, 0, None)).long()
        mask = torch.from_numpy(y >= 0)
        out = LabelPropagation(num_layers, alpha)(yt, ei, mask=mask)
        return out.argmax(1).numpy(), int((out.sum(1) == 0).sum())

    return run


def bench(
    name: str,
    x: np.ndarray,
    y_true: np.ndarray,
    hidden: list[np.ndarray],
    methods: dict[str, Method],
    base: str,
) -> None:
    rows = {}
    for label, fn in methods.items():
        accs, secs, lost = [], [], []
        for y in hidden:
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred, no_mass = fn(x, y)
            secs.append(time.perf_counter() - t)
            u = y == -1
            accs.append(float((pred[u] == y_true[u]).mean()))
            lost.append(no_mass)
        rows[label] = (
            statistics.mean(accs),
            statistics.pstdev(accs),
            statistics.median(secs),
            statistics.mean(lost),
        )
    print(f"\n### {name} ({len(hidden)} seeds)\n")
    print("| method | accuracy (mean ± sd) | no label mass | median s | time / ours |")
    print("|---|---|---|---|---|")
    for label, (m, s, t, lost) in rows.items():
        print(
            f"| {label} | {m:.4f} ± {s:.4f} | {lost:,.0f} | {t:.3f} "
            f"| {t / rows[base][2]:.2f} |"
        )
    for label, (_, _, t, _) in rows.items():
        if label != base:
            print(f"ours / {label}: {rows[base][2] / t:.3f}")
    sys.stdout.flush()


def moons_case(n: int, seeds: int, with_pyg: bool = True) -> None:
    x_t, y_t = make_moons(n, noise=0.1, seed=0, dtype=torch.float64)
    x, y_true = x_t.numpy(), y_t.numpy()
    hidden = [hide_labels(y_t, per_class=10, seed=s).numpy() for s in range(seeds)]
    methods: dict[str, Method] = {
        "graphssl LabelSpreading (α=0.99, kNN k=10, CG)": ours(),
        "graphssl LabelSpreading α=0.999": ours(alpha=0.999),
        "graphssl LabelPropagation (hard clamp, CG)": ours(
            "propagation", max_iter=5000
        ),
        "sklearn LabelSpreading knn α=0.99 (default max_iter=30)": sklearn_ls(),
        "sklearn LabelSpreading knn α=0.99 max_iter=1000": sklearn_ls(max_iter=1000),
    }
    if with_pyg:
        methods["PyG LabelPropagation (50 layers, α=0.99) + sklearn kNN"] = pyg_lp(
            50, 0.99
        )
    bench(
        f"two moons n={n:,}, noise 0.1, 10 labels per class",
        x,
        y_true,
        hidden,
        methods,
        "graphssl LabelSpreading (α=0.99, kNN k=10, CG)",
    )


def digits_case(seeds: int) -> None:
    x_t, y_t = load_digits(dtype=torch.float64)
    x, y_true = x_t.numpy(), y_t.numpy()
    hidden = [hide_labels(y_t, fraction=0.1, seed=s).numpy() for s in range(seeds)]
    methods: dict[str, Method] = {
        "graphssl LabelSpreading (α=0.99, kNN k=10)": ours(),
        "graphssl LabelPropagation (hard clamp)": ours("propagation"),
        "sklearn LabelSpreading knn α=0.99 (default max_iter=30)": sklearn_ls(),
        "sklearn LabelSpreading knn α=0.99 max_iter=1000": sklearn_ls(max_iter=1000),
        "PyG LabelPropagation (50 layers, α=0.99) + sklearn kNN": pyg_lp(50, 0.99),
    }
    bench(
        "digits (1797 × 64, raw pixels), 10 % labels",
        x,
        y_true,
        hidden,
        methods,
        "graphssl LabelSpreading (α=0.99, kNN k=10)",
    )


def million(n: int, alpha: float) -> None:
    """Our pipeline alone at ``n`` nodes, in a child process to read its peak memory."""
    code = (
        "import time, warnings, resource, torch\n"
        "from graphssl.datasets import make_moons, hide_labels\n"
        "from graphssl.construction import knn_graph\n"
        "from graphssl.propagation import label_spreading\n"
        f"x, yt = make_moons({n}, noise=0.1, seed=0, dtype=torch.float64)\n"
        "y = hide_labels(yt, per_class=10, seed=0)\n"
        "warnings.simplefilter('ignore')\n"
        "t = time.perf_counter(); g = knn_graph(x, 10); tg = time.perf_counter() - t\n"
        f"t = time.perf_counter(); r = label_spreading(g, y, alpha={alpha}, max_iter=3000)\n"
        "ts = time.perf_counter() - t\n"
        "u = y < 0; acc = float((r.prediction[u] == yt[u]).double().mean())\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20\n"
        "print(f'| {x.shape[0]:,} | {g.num_edges:,} | {tg:.2f} | {ts:.2f} | {tg + ts:.2f} "
        "| {r.n_iter} | {acc:.4f} | {int((~r.reached).sum())} | {rss:.2f} |')\n"
    )
    print(f"\n### graphssl alone, two moons n={n:,} (float64, k=10, α={alpha}, CG)\n")
    print(
        "| nodes | edges | graph s | solve s | total s | CG iters | accuracy | unreached "
        "| peak RSS GiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    sys.stdout.flush()
    subprocess.run([sys.executable, "-c", code], check=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="moons 1e4 and digits only")
    p.add_argument("--seeds", type=int, default=3, help="seeds for moons (default 3)")
    p.add_argument("--million", type=int, default=1_000_000, help="size of the big run")
    args = p.parse_args()
    print(f"Machine: {machine()}")
    print(
        f"Command: python benchmarks/bench_label_spreading.py {' '.join(sys.argv[1:])}"
    )
    moons_case(10_000, args.seeds)
    digits_case(5)
    if not args.quick:
        moons_case(100_000, args.seeds)
        million(args.million, 0.99)
        million(args.million, 0.999)


if __name__ == "__main__":
    main()
