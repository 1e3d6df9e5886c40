"""CoMatch on scikit-learn's 8x8 digits with 4 labels per class.

CoMatch (Li, Xiong, Hoi, ICCV 2021) labels a weak view of each unlabelled image,
aligns and smooths that prediction with a memory bank of recent embeddings, trains the
classifier on a strong view with the confident (soft) pseudo-labels, and pulls together
the embeddings of images whose pseudo-labels agree (the pseudo-label graph). FixMatch
is the same code path without the memory and the graph. Runs in about 10 s on one core.
"""

import time
from typing import Any

import torch

from graphssl.comatch import CoMatch, CoMatchConfig
from graphssl.comatch.presets import ImageMLP, comatch_views
from graphssl.datasets import hide_labels, load_digits

if __name__ == "__main__":
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest
    x, y = load_digits()
    x = (x / 16.0).reshape(-1, 1, 8, 8)  # images [N, 1, 8, 8] in [0, 1]
    lab = hide_labels(y, per_class=4, seed=0) >= 0
    print(
        f"Digits: {len(y)} images, {int(lab.sum())} labelled, {int((~lab).sum())} unlabelled."
    )
    weak, strong0, strong1 = comatch_views("small_image")
    print(f"views: weak {weak}\n       strong0 {strong0}\n       strong1 {strong1}")

    base: dict[str, Any] = {"steps": 400, "batch_size": 16, "mu": 3, "ema_decay": 0.99}
    for name, cfg in (
        ("FixMatch (lambda_c 0, alpha 1, hard labels)", CoMatchConfig.fixmatch(**base)),
        ("CoMatch (paper defaults)", CoMatchConfig(**base)),
    ):
        t = time.perf_counter()
        model = CoMatch(lambda: ImageMLP(64, 128), config=cfg, weak=weak, strong0=strong0,
                        strong1=strong1, log_every=50)  # fmt: skip
        model.fit(x[lab], y[lab], x[~lab], y_unlabeled_true=y[~lab])
        acc = float((model.predict(x[~lab]) == y[~lab]).float().mean())
        h = model.history_
        print(
            f"{name}: accuracy on the unlabelled images {acc:.3f} "
            f"({cfg.steps} steps, {time.perf_counter() - t:.1f} s); share of confident "
            f"pseudo-labels {h['mask_ratio'][0]:.2f} -> {h['mask_ratio'][-1]:.2f}, "
            f"last pseudo-label accuracy {h['pseudo_acc'][-1]:.2f}"
        )
    bank = model.criterion_.bank
    print(
        f"memory bank: {bank.size} rows, pointer at {int(bank.ptr)}, full: {bank.is_full}"
    )
