"""Pseudo-label selectors against hand-made probabilities, and graph pseudo-labels."""

from __future__ import annotations

import math

import pytest
import torch

from graphssl.pseudo_labels import (
    graph_pseudo_labels,
    select_k_best,
    select_margin,
    select_threshold,
)

PROBA = torch.tensor(
    [
        [0.90, 0.05, 0.05],  # 0: confident class 0
        [0.50, 0.45, 0.05],  # 1: class 0, tiny margin
        [0.10, 0.80, 0.10],  # 2: class 1
        [0.34, 0.33, 0.33],  # 3: nearly uniform
        [0.05, 0.15, 0.80],  # 4: class 2
        [0.70, 0.20, 0.10],  # 5: class 0, medium
        [0.60, 0.30, 0.10],  # 6: class 0, medium
    ]
)


def test_threshold_selects_max_prob_at_least_tau() -> None:
    sel = select_threshold(PROBA, 0.8)
    assert sel.mask.tolist() == [True, False, True, False, True, False, False]
    assert sel.labels.tolist() == [0, 0, 1, 0, 2, 0, 0]
    assert select_threshold(PROBA, 0.7).mask[5]  # equality is accepted
    assert bool(select_threshold(PROBA, 1.0).mask.sum() == 0)


def test_margin_selects_top1_minus_top2() -> None:
    sel = select_margin(PROBA, 0.4)
    # margins: .85 .05 .70 .01 .65 .50 .30
    assert sel.mask.tolist() == [True, False, True, False, True, True, False]
    assert select_margin(PROBA, 0.0).mask.all()


def test_k_best_is_class_balanced() -> None:
    sel = select_k_best(PROBA, 2)
    # class 0 has four candidates (0, 5, 6, 1): the two most confident are 0 and 5
    assert sel.mask.tolist() == [True, False, True, False, True, True, False]
    counts = torch.bincount(sel.labels[sel.mask], minlength=3)
    assert counts.max() <= 2
    overall = select_k_best(PROBA, 2, per_class=False)
    assert overall.mask.nonzero().flatten().tolist() == [0, 2]  # ties keep index order


def test_k_best_warns_when_k_exceeds_unlabelled() -> None:
    with pytest.warns(UserWarning, match="exceeds the 7 unlabelled"):
        sel = select_k_best(PROBA, 10)
    assert sel.mask.all()


def test_selectors_accept_no_rows() -> None:
    empty = torch.zeros(0, 3)
    assert select_threshold(empty, 0.5).mask.numel() == 0
    assert select_margin(empty, 0.5).mask.numel() == 0
    with pytest.warns(UserWarning, match="exceeds the 0 unlabelled"):
        assert select_k_best(empty, 1).mask.numel() == 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: select_threshold(PROBA, 0.0), "'threshold' parameter of select_thr"),
        (lambda: select_threshold(PROBA, 1.5), "range \\(0.0, 1.0\\]"),
        (lambda: select_margin(PROBA, -0.1), "'margin' parameter of select_margin"),
        (lambda: select_k_best(PROBA, 0), "'k' parameter of select_k_best"),
        (lambda: select_threshold(PROBA[0], 0.5), "'proba' parameter .* 2-D"),
    ],
)
def test_selector_bad_input(call: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()  # type: ignore[operator]


def blobs(n: int = 80, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g, dtype=torch.float64) * 0.3
    x[: n // 2, 0] += 3.0
    x[n // 2 :, 1] += 3.0
    y = torch.zeros(n, dtype=torch.long)
    y[n // 2 :] = 1
    return x, y


def test_graph_pseudo_labels_recovers_two_blobs() -> None:
    x, y_true = blobs()
    y = torch.full_like(y_true, -1)
    y[[0, 1, 2, 40]] = y_true[[0, 1, 2, 40]]  # unequal class sizes: 3 vs 1
    res = graph_pseudo_labels(x, y, k=10)
    assert torch.equal(res.labels, y_true)
    assert bool(((res.certainty >= 0) & (res.certainty <= 1)).all())
    assert torch.equal(res.certainty[y >= 0], torch.ones(4, dtype=x.dtype))
    assert math.isclose(float(res.class_weights.sum()), 1.0)
    assert res.distribution.shape == (80, 2)


def test_graph_pseudo_labels_keeps_given_labels_and_weights_small_classes() -> None:
    x, y_true = blobs()
    y = torch.full_like(y_true, -1)
    y[[0, 50]] = 0  # a "wrong" label in the second blob is kept
    y[[41]] = 1
    res = graph_pseudo_labels(x, y, k=5, num_classes=3)
    assert res.labels[50] == 0 and res.labels[0] == 0 and res.labels[41] == 1
    w = res.class_weights
    assert w.shape == (3,) and w[2] == 0  # class 2 gets no pseudo-label
    sizes = torch.bincount(res.labels, minlength=3)
    big, small = (0, 1) if sizes[0] > sizes[1] else (1, 0)
    assert w[small] > w[big]
    assert math.isclose(float(w.sum()), 1.0)


def test_graph_class_size_normalisation_equals_scaled_rhs() -> None:
    """Dividing the one-hot solution by |L_c| equals solving with y_c = 1/|L_c|."""
    from graphssl.construction import knn_graph
    from graphssl.normalization import normalize
    from graphssl.similarity import Cosine

    x, y_true = blobs(40)
    y = torch.full_like(y_true, -1)
    y[[0, 1, 2, 3, 25]] = y_true[[0, 1, 2, 3, 25]]
    xn = torch.nn.functional.normalize(x, dim=1)
    g = knn_graph(xn, 8, kernel=Cosine(3.0), metric="cosine", symmetrize="sum")
    s = normalize(g, "sym").to_dense()  # symmetric: orientation does not matter
    rhs = torch.zeros(40, 2, dtype=x.dtype)
    rhs[[0, 1, 2, 3], 0] = 1 / 4
    rhs[25, 1] = 1.0
    z = torch.linalg.solve(torch.eye(40, dtype=x.dtype) - 0.99 * s, 0.01 * rhs)
    zhat = z.clamp(min=0) / z.clamp(min=0).sum(1, keepdim=True)
    res = graph_pseudo_labels(x, y, k=8)
    torch.testing.assert_close(res.distribution, zhat)


def test_graph_pseudo_labels_bad_input() -> None:
    x, y_true = blobs(20)
    y = torch.full_like(y_true, -1)
    y[[0, 15]] = y_true[[0, 15]]
    with pytest.raises(ValueError, match="'k' parameter of graph_pseudo_labels"):
        graph_pseudo_labels(x, y, k=0)
    with pytest.raises(TypeError, match="'embeddings' parameter"):
        graph_pseudo_labels(x.long(), y)
    with pytest.raises(ValueError, match=r"'y' parameter .* at least 2 classes"):
        graph_pseudo_labels(x, torch.where(y == 1, -1, y))
