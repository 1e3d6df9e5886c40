"""FixMatch-style teacher-student training of a small MLP on digits.

The model labels a weakly augmented copy of each unlabelled image; labels above 0.8
confidence supervise it on a strongly augmented copy. Runs with no arguments on the
digits bundled with scikit-learn and compares with the labelled loss alone.
"""

import torch
from torch import nn

from graphssl import TeacherStudent, weak_strong
from graphssl.datasets import hide_labels, load_digits


def make_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


if __name__ == "__main__":
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest
    x, y = load_digits()
    x = x / 16.0
    lab = hide_labels(y, per_class=5, seed=0) >= 0
    print(f"Digits: {len(y)} images, {int(lab.sum())} labelled, MLP 64-64-10.")
    weak, strong = weak_strong("features")  # noise / feature dropout + noise

    for name, lam in (("labelled loss only", 0.0), ("FixMatch", 1.0)):
        ts = TeacherStudent(
            make_mlp, teacher="self", threshold=0.8, lambda_u=lam, steps=300,
            batch_size=16, mu=4, weak=weak, strong=strong, log_every=10,
        )  # fmt: skip
        ts.fit(x[lab], y[lab], x[~lab], y_unlabeled_true=y[~lab])
        acc = float((ts.predict(x[~lab]) == y[~lab]).float().mean())
        mask = ts.history_["mask_ratio"]
        print(
            f"{name}: accuracy on unlabelled {acc:.4f}; share of the unlabelled "
            f"batch above the threshold went {mask[0]:.2f} -> {mask[-1]:.2f}"
        )
