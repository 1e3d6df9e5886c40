"""scikit-learn-style LabelSpreading / LabelPropagation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import semi_supervised
from sklearn.datasets import load_digits, make_moons
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphssl import GraphWarning, UnreachedNodesWarning
from graphssl.estimators import LabelPropagation, LabelSpreading


def hide(y: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.full_like(y, -1)
    for c in np.unique(y):
        idx = rng.choice(np.flatnonzero(y == c), per_class, replace=False)
        out[idx] = c
    return out


@parametrize_with_checks(
    [LabelSpreading(), LabelPropagation(), LabelSpreading(kernel="rbf")]
)
def test_sklearn_estimator_contract(estimator: object, check: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachedNodesWarning)
        check(estimator)  # type: ignore[operator]


@pytest.mark.parametrize("cls", [LabelSpreading, LabelPropagation])
def test_fit_attributes_and_accuracy_on_moons(cls: type) -> None:
    x, y = make_moons(2000, noise=0.1, random_state=0)
    y_obs = hide(y, 10)
    model = cls().fit(x, y_obs)
    assert model.label_distributions_.shape == (2000, 2)
    np.testing.assert_allclose(model.label_distributions_.sum(1), 1.0)
    assert model.n_iter_ >= 0 and model.reached_.all()
    assert (model.transduction_ == y).mean() > 0.99
    assert (model.predict(x) == y).mean() > 0.99
    if cls is LabelPropagation:  # hard clamping keeps the given labels
        lab = y_obs >= 0
        assert (model.transduction_[lab] == y_obs[lab]).all()


def test_arbitrary_class_values_are_mapped_back() -> None:
    x, y = make_moons(400, noise=0.05, random_state=1)
    y_obs = hide(y, 5)
    y_obs = np.where(y_obs >= 0, y_obs * 10 + 3, -1)  # classes 3 and 13
    model = LabelSpreading().fit(x, y_obs)
    assert set(np.unique(model.transduction_)) == {3, 13}
    assert list(model.classes_) == [3, 13]


def test_raw_digits_do_not_underflow_like_sklearn_rbf() -> None:
    # scikit-learn's default rbf (gamma=20) underflows on raw digits: chance accuracy.
    x, y = load_digits(return_X_y=True)
    y_obs = hide(y, 18)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = semi_supervised.LabelSpreading().fit(x, y_obs)
    ours = LabelSpreading().fit(x, y_obs)
    unl = y_obs == -1
    assert (ref.transduction_[unl] == y[unl]).mean() < 0.2
    assert (ours.transduction_[unl] == y[unl]).mean() > 0.9


def test_fixed_gamma_that_underflows_is_reported_not_silent() -> None:
    # gamma=20 on raw digits: only exact duplicate images keep a non-zero weight.
    x, y = load_digits(return_X_y=True)
    with (
        pytest.warns(GraphWarning, match="lost all their edge weight"),
        pytest.warns(UnreachedNodesWarning),
    ):
        model = LabelSpreading(kernel="knn", gamma=20.0).fit(x, hide(y, 5))
    assert (model.transduction_ == -1).mean() > 0.9  # reported as -1, not class 0
    with pytest.raises(ValueError, match="underflowed"):
        LabelSpreading(kernel="knn", gamma=20.0).fit(
            np.unique(x, axis=0)[:300], hide(y[:300], 5)
        )


def test_precomputed_graph() -> None:
    x, y = make_moons(300, noise=0.05, random_state=0)
    knn = LabelSpreading().fit(x, hide(y, 5))
    pre = LabelSpreading(kernel="precomputed").fit(knn.graph_.to_scipy(), hide(y, 5))
    np.testing.assert_allclose(
        pre.label_distributions_, knn.label_distributions_, atol=1e-8
    )


def test_unreached_samples_are_minus_one() -> None:
    x = np.vstack(
        [
            np.random.default_rng(0).normal(size=(30, 2)),
            np.random.default_rng(1).normal(size=(30, 2)) + 100,
        ]
    )
    y = np.full(60, -1)
    y[0], y[1] = 0, 1  # both labels in the first blob, the far blob gets none
    with pytest.warns(UnreachedNodesWarning):
        model = LabelSpreading(n_neighbors=5).fit(x, y)
    assert (model.transduction_[30:] == -1).all()
    assert not model.reached_[30:].any()
    assert (model.predict(x[30:]) == -1).all()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"alpha": 1.5}, "'alpha' parameter of LabelSpreading"),
        ({"kernel": "poly"}, "'kernel'"),
        ({"n_neighbors": 0}, "'n_neighbors'"),
        ({"sigma": -1.0}, "'sigma'"),
        ({"solver": "lu"}, "'solver'"),
    ],
)
def test_bad_parameters(params: dict[str, object], match: str) -> None:
    x, y = make_moons(50, random_state=0)
    with pytest.raises(ValueError, match=match):
        LabelSpreading(**params).fit(x, hide(y, 2))  # type: ignore[arg-type]


def test_nan_features_rejected() -> None:
    x, y = make_moons(50, random_state=0)
    x[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LabelSpreading().fit(x, hide(y, 2))


def test_no_labelled_sample_rejected() -> None:
    x, _ = make_moons(50, random_state=0)
    with pytest.raises(ValueError, match="at least one labelled"):
        LabelSpreading().fit(x, np.full(50, -1))


@pytest.mark.parametrize("dim", [2, 12])  # k-d tree path, blocked cdist path
def test_inductive_predict_matches_brute_force(
    dim: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from graphssl import estimators

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, dim))
    y = np.where(x[:, 0] > 0, 1, 0)
    model = LabelSpreading(n_neighbors=7).fit(x, hide(y, 5))
    q = rng.normal(size=(50, dim))
    monkeypatch.setattr(
        estimators, "QUERY_MEMORY_BUDGET", 8 * 300 * 3 * 4
    )  # 4-row blocks
    got = model.predict_proba(q)
    d = torch.cdist(torch.tensor(q), torch.tensor(x))
    d, idx = d.topk(7, largest=False)
    w = torch.exp(-(d**2) / (2 * model.sigma_**2))
    ref = (w[:, :, None] * torch.tensor(model.label_distributions_)[idx]).sum(1)
    np.testing.assert_allclose(
        got, (ref / ref.sum(1, keepdim=True)).numpy(), atol=1e-10
    )
