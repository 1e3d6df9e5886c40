"""Cora / CiteSeer, standard Planetoid split: graphssl propagation vs PyG LabelPropagation.

Test accuracy (1000 test nodes) from the 20 labels per class of the training mask, on
the raw citation graph (no features). Published reference: label propagation 68.0 /
45.3 (Kipf & Welling 2017, Table 2, citing Zhu et al. 2003).

    python benchmarks/bench_planetoid.py [--root ../shared/data/planetoid]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from graphssl.datasets import PlanetoidData, find_planetoid_root, load_planetoid
from graphssl.propagation import label_propagation, label_spreading

PUBLISHED = {"cora": 0.680, "citeseer": 0.453}
Run = Callable[[PlanetoidData], torch.Tensor]


def ours_ls(alpha: float) -> Run:
    def run(d: PlanetoidData) -> torch.Tensor:
        y = torch.where(d.train_mask, d.y, -1)
        return label_spreading(
            d.graph().to(dtype=torch.float64), y, alpha=alpha
        ).prediction

    return run


def ours_lp(class_mass: bool) -> Run:
    def run(d: PlanetoidData) -> torch.Tensor:
        y = torch.where(d.train_mask, d.y, -1)
        g = d.graph().to(dtype=torch.float64)
        return label_propagation(g, y, class_mass=class_mass).prediction

    return run


def pyg(num_layers: int, alpha: float, unreached_wrong: bool = False) -> Run:
    from torch_geometric.nn import LabelPropagation

    def run(d: PlanetoidData) -> torch.Tensor:
        # PyG reads CiteSeer's 15 unlabelled isolated nodes as class 0; only the
        # training mask's labels are used, so clipping -1 to 0 changes nothing.
        out = LabelPropagation(num_layers, alpha)(
            d.y.clamp(min=0), d.edge_index, mask=d.train_mask
        )
        pred = out.argmax(1)  # PyG predicts class 0 where no label mass arrives
        if unreached_wrong:
            pred[out.sum(1) == 0] = -1
        return pred

    return run


def main() -> None:
    warnings.simplefilter("ignore")  # unreached-node warnings are reported in the table
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=None)
    args = p.parse_args()
    root = args.root or find_planetoid_root()
    if root is None:
        sys.exit("no Planetoid data: pass --root")
    methods: dict[str, Run] = {
        "graphssl label_propagation (harmonic, CG)": ours_lp(False),
        "graphssl label_propagation + class mass normalisation": ours_lp(True),
        "graphssl label_spreading α=0.9": ours_ls(0.9),
        "graphssl label_spreading α=0.99": ours_ls(0.99),
        "PyG LabelPropagation (3 layers, α=0.9; PyG example)": pyg(3, 0.9),
        "PyG LabelPropagation (50 layers, α=0.9)": pyg(50, 0.9),
        "PyG (50 layers, α=0.9), unreached nodes counted wrong": pyg(50, 0.9, True),
        "PyG LabelPropagation (50 layers, α=0.99)": pyg(50, 0.99),
        "PyG (50 layers, α=0.99), unreached nodes counted wrong": pyg(50, 0.99, True),
    }
    print(f"Command: python benchmarks/bench_planetoid.py {' '.join(sys.argv[1:])}\n")
    data = {n: load_planetoid(root, n) for n in ("cora", "citeseer")}
    for n, d in data.items():
        r = label_propagation(
            d.graph().to(dtype=torch.float64), torch.where(d.train_mask, d.y, -1)
        )
        lost = d.test_mask & ~r.reached
        print(
            f"{n}: {int(lost.sum())} of {int(d.test_mask.sum())} test nodes lie in components "
            f"without a training label ({int((d.y[lost] == 0).sum())} of them are class 0)"
        )
    print("\n| method | Cora test acc | CiteSeer test acc | Cora s | CiteSeer s |")
    print("|---|---|---|---|---|")
    for label, fn in methods.items():
        accs, secs = [], []
        for d in data.values():
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = fn(d)
            secs.append(time.perf_counter() - t)
            accs.append(float((pred[d.test_mask] == d.y[d.test_mask]).float().mean()))
        print(
            f"| {label} | {accs[0]:.3f} | {accs[1]:.3f} | {secs[0]:.3f} | {secs[1]:.3f} |"
        )
    print(
        f"| published label propagation (Kipf & Welling 2017, Table 2) | "
        f"{PUBLISHED['cora']:.3f} | {PUBLISHED['citeseer']:.3f} | | |"
    )


if __name__ == "__main__":
    main()
