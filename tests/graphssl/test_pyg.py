"""The PyG entry point propagate_data."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from graphssl import UnreachedNodesWarning
from graphssl.datasets import find_planetoid_root, load_planetoid
from graphssl.propagation import label_spreading
from graphssl.pyg import propagate_data


def test_edge_index_data_equals_functional_call() -> None:
    ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    y = torch.tensor([0, 0, 1, 1])
    mask = torch.tensor([True, False, False, True])
    res = propagate_data(
        Data(edge_index=ei, y=y, train_mask=mask, num_nodes=4), alpha=0.5
    )
    ref = label_spreading(
        (ei, torch.ones(6, dtype=torch.float64)),
        torch.tensor([0, -1, -1, 1]),
        alpha=0.5,
    )
    torch.testing.assert_close(res.distribution, ref.distribution)


def test_labels_outside_the_mask_are_hidden() -> None:
    # the unmasked node 1 carries class 1 in y; it must not act as a label
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    data = Data(
        edge_index=ei,
        y=torch.tensor([0, 1, 0]),
        train_mask=torch.tensor([True, False, False]),
        num_nodes=3,
    )
    with pytest.raises(ValueError, match="at least 2 classes"):
        propagate_data(data)


def test_features_only_builds_knn_graph() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.cat(
        [torch.randn(50, 2, generator=g), torch.randn(50, 2, generator=g) + 8]
    )
    y = torch.cat([torch.zeros(50), torch.ones(50)]).long()
    mask = torch.zeros(100, dtype=torch.bool)
    mask[[0, 50]] = True
    res = propagate_data(Data(x=x, y=y, train_mask=mask), k=5, method="propagation")
    assert (res.prediction == y).all()


def test_missing_mask_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'train_mask'"):
        propagate_data(Data(x=torch.randn(4, 2), y=torch.zeros(4).long()))


@pytest.mark.skipif(find_planetoid_root() is None, reason="Planetoid data not present")
def test_cora_standard_split_accuracy() -> None:
    d = load_planetoid(find_planetoid_root(), "cora").to_pyg()  # type: ignore[arg-type]
    # Cora has components without training labels
    with pytest.warns(UnreachedNodesWarning, match="received no label mass"):
        res = propagate_data(d, method="propagation", class_mass=True)
    acc = float((res.prediction[d.test_mask] == d.y[d.test_mask]).float().mean())
    assert acc > 0.70  # measured 0.732; published label propagation: 0.680
