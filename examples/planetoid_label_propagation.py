"""Label propagation on Cora: 140 labelled papers, standard Planetoid split.

Reads the raw Planetoid files from ../shared/data/planetoid (or $GRAPHSSL_PLANETOID_ROOT);
nothing is downloaded. Prints test accuracy with and without class mass normalisation.
"""

import sys
import warnings

import torch

from graphssl import UnreachedNodesWarning, label_propagation
from graphssl.datasets import find_planetoid_root, load_planetoid

if __name__ == "__main__":
    root = find_planetoid_root()
    if root is None:
        sys.exit("Planetoid data not found: set GRAPHSSL_PLANETOID_ROOT")
    data = load_planetoid(root, "cora")
    print(f"Loaded {data}")
    y = torch.where(data.train_mask, data.y, -1)  # keep only the 140 training labels
    graph = data.graph().to(dtype=torch.float64)
    for cmn in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreachedNodesWarning)  # counted below
            res = label_propagation(graph, y, class_mass=cmn)
        test = data.test_mask
        acc = (res.prediction[test] == data.y[test]).double().mean()
        lost = int((~res.reached & test).sum())
        print(
            f"class mass normalisation={cmn}: test accuracy {acc:.3f} "
            f"({res.n_iter} CG iterations; {lost} test nodes unreachable from any label)"
        )
