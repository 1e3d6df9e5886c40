"""CoMatch on the nodes of Cora: a GCN encoder, edge-dropping / feature-masking views.

Reads the raw Planetoid files from ../shared/data/planetoid (or $GRAPHSSL_PLANETOID_ROOT);
nothing is downloaded, and without the data the script says so and stops. Trains for a
short budget (80 steps) from the 140 labelled papers of the standard split and prints
test accuracy, the share of confident pseudo-labels and their accuracy.
"""

import math

import torch

from graphssl.comatch import CoMatch, CoMatchConfig
from graphssl.comatch.encoders import GCNEncoder, NodeViews
from graphssl.datasets import find_planetoid_root, load_planetoid

if __name__ == "__main__":
    root = find_planetoid_root()
    if root is None:
        print("Planetoid data not found (set GRAPHSSL_PLANETOID_ROOT); nothing to do.")
        raise SystemExit(0)
    torch.set_num_threads(1)  # a small model: more threads only add contention
    data = load_planetoid(root, "cora")
    print(f"Loaded {data}")
    y = torch.where(data.train_mask, data.y, -1)  # keep only the 140 training labels
    # Short budget, so a faster EMA and a higher learning rate than the CIFAR defaults.
    config = CoMatchConfig(batch_size=32, mu=2, steps=80, lr=0.1, ema_decay=0.95)
    print(f"CoMatch with a 2-layer GCN encoder, {config.steps} steps of SGD")
    model = CoMatch(
        lambda: GCNEncoder(data.num_features, hidden=64),
        config=config,
        feature_dim=64,
        weak=NodeViews.weak(),  # 10 % of feature columns masked
        strong0=NodeViews.strong(),  # 30 % of edges dropped, 30 % of columns masked
        strong1=NodeViews.strong(),
        seed=0,
    )
    x = data.x.to_sparse()  # bag-of-words features: views and first layer stay sparse
    model.fit_nodes(x, data.edge_index, y, y_true=data.y)
    pred = model.predict(x, data.edge_index)
    test = data.test_mask
    acc = float((pred[test] == data.y[test]).double().mean())
    h = model.history_
    last = [v for v in h["pseudo_acc"][-10:] if not math.isnan(v)]
    print(f"test accuracy {acc:.3f} (1000 test nodes)")
    print(
        f"last 10 steps: {sum(h['mask_ratio'][-10:]) / 10:.2f} of the unlabelled batch "
        f"confident, pseudo-label accuracy "
        f"{sum(last) / len(last) if last else float('nan'):.2f}"
    )
