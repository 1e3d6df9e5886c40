"""SelfTraining estimator and the TorchClassifier adapter."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphssl.self_training import CRITERIA, SelfTraining
from graphssl.torch_adapter import TorchClassifier, mlp

#: features, true labels, labels with -1 for the hidden ones
Data = tuple[np.ndarray, np.ndarray, np.ndarray]


def hide(y: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.full_like(y, -1)
    for c in np.unique(y):
        idx = rng.choice(np.flatnonzero(y == c), per_class, replace=False)
        out[idx] = c
    return out


@pytest.fixture(scope="module")
def digits() -> Data:
    x, y = load_digits(return_X_y=True)
    x, y = x[:600] / 16.0, y[:600]
    return x, y, hide(y, 3)


@pytest.fixture(scope="module")
def blobs() -> Data:
    x, y = make_blobs(300, centers=CENTERS, cluster_std=1.0, random_state=0)
    return x, y, hide(y, 2)


CENTERS = [[8.0, 8.0], [14.0, 8.0], [8.0, 14.0]]  # off the origin: "graph" uses cosine


def lr() -> LogisticRegression:
    return LogisticRegression(max_iter=300)


def test_max_iter_zero_is_the_supervised_fit(digits: Data) -> None:
    x, _, y = digits
    st = SelfTraining(lr(), max_iter=0).fit(x, y)
    lab = y != -1
    ref = clone(lr()).fit(x[lab], y[lab])
    np.testing.assert_array_equal(st.predict(x), ref.predict(x))
    np.testing.assert_array_equal(st.predict_proba(x), ref.predict_proba(x))
    np.testing.assert_array_equal(st.decision_function(x), ref.decision_function(x))
    assert st.n_iter_ == 0 and st.termination_condition_ == "max_iter"
    np.testing.assert_array_equal(st.transduction_, y)


@pytest.mark.parametrize("criterion", CRITERIA)
def test_invariants_for_every_criterion(blobs: Data, criterion: str) -> None:
    x, y_true, y = blobs
    st = SelfTraining(lr(), criterion=criterion, max_iter=4, graph_k=10, k_best=5)
    st.fit(x, y, y_true=y_true)
    lab = y != -1
    np.testing.assert_array_equal(st.transduction_[lab], y[lab])  # never changed
    assert (st.labeled_iter_[lab] == 0).all()
    assert st.labeled_iter_.max() <= st.n_iter_ <= 4
    np.testing.assert_array_equal(st.labeled_iter_ == -1, st.transduction_ == -1)
    np.testing.assert_array_equal(st.classes_, [0, 1, 2])
    assert st.termination_condition_ in ("max_iter", "no_change", "all_labeled")
    assert [h["round"] for h in st.history_] == list(range(len(st.history_)))
    assert st.history_[-1]["n_labeled"] == int((st.transduction_ != -1).sum())
    pseudo = st.labeled_iter_ > 0
    assert pseudo.any()
    # separated blobs: most pseudo-labels are right (later rounds reach the overlap)
    assert (st.transduction_[pseudo] == y_true[pseudo]).mean() > 0.9
    assert st.history_[1]["pseudo_accuracy"] > 0.9
    assert st.score(x, y_true) > 0.8


def test_termination_conditions(blobs: Data) -> None:
    x, _, y = blobs
    # strong regularisation keeps every probability far below 1
    st = SelfTraining(LogisticRegression(C=1e-3), threshold=1.0).fit(x, y)
    assert st.termination_condition_ == "no_change" and st.n_iter_ == 1
    assert (st.labeled_iter_ <= 0).all()
    st = SelfTraining(lr(), threshold=0.01).fit(x, y)
    assert st.termination_condition_ == "all_labeled" and st.n_iter_ == 1
    st = SelfTraining(lr(), criterion="k_best", k_best=1, max_iter=3).fit(x, y)
    assert st.termination_condition_ == "max_iter" and st.n_iter_ == 3
    assert np.bincount(st.labeled_iter_[st.labeled_iter_ > 0]).tolist() == [0, 3, 3, 3]


def test_threshold_matches_scikit_learn(digits: Data) -> None:
    """Same algorithm as sklearn's SelfTrainingClassifier: identical transduction.

    (sklearn accepts p > τ and we accept p >= τ; no probability hits τ exactly here.)
    """
    x, _, y = digits
    ours = SelfTraining(lr(), threshold=0.75, max_iter=5).fit(x, y)
    ref = SelfTrainingClassifier(lr(), threshold=0.75, max_iter=5).fit(x, y)
    np.testing.assert_array_equal(ours.transduction_, ref.transduction_)
    np.testing.assert_array_equal(ours.labeled_iter_, ref.labeled_iter_)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.termination_condition_ == ref.termination_condition_
    np.testing.assert_allclose(ours.predict_proba(x), ref.predict_proba(x))


def test_all_labelled_warns_and_fits_supervised(blobs: Data) -> None:
    x, y_true, _ = blobs
    with pytest.warns(UserWarning, match="no unlabelled sample"):
        st = SelfTraining(lr()).fit(x, y_true)
    assert st.termination_condition_ == "all_labeled" and st.n_iter_ == 0
    ref = lr().fit(x, y_true)
    np.testing.assert_array_equal(st.predict_proba(x), ref.predict_proba(x))


def test_history_logs_validation_accuracy(blobs: Data) -> None:
    x, y_true, y = blobs
    st = SelfTraining(lr(), criterion="k_best", k_best=3, max_iter=2)
    st.fit(x, y, y_true=y_true, X_val=x, y_val=y_true)
    assert len(st.history_) == 3
    assert st.history_[0]["pseudo_accuracy"] is None
    assert all(0.0 <= h["val_accuracy"] <= 1.0 for h in st.history_)
    assert st.history_[1]["n_new"] == 9


def test_decision_function_only_when_the_base_has_it() -> None:
    assert hasattr(SelfTraining(lr()), "decision_function")
    assert not hasattr(SelfTraining(GaussianNB()), "decision_function")


def test_repr_and_clone() -> None:
    st = SelfTraining(lr(), criterion="margin", margin=0.3)
    assert "criterion='margin'" in repr(st) and "margin=0.3" in repr(st)
    assert clone(st).get_params()["margin"] == 0.3


@pytest.mark.parametrize(
    ("params", "exc", "match"),
    [
        ({"base_estimator": SVC()}, TypeError, "'base_estimator' .* predict_proba"),
        ({"threshold": 0.0}, ValueError, "'threshold' parameter of SelfTraining"),
        ({"threshold": 1.2}, ValueError, "'threshold' parameter of SelfTraining"),
        ({"margin": 2.0}, ValueError, "'margin' parameter of SelfTraining"),
        ({"criterion": "best"}, ValueError, "'criterion' parameter of SelfTraining"),
        ({"max_iter": -1}, ValueError, "'max_iter' parameter of SelfTraining"),
        ({"k_best": 0}, ValueError, "'k_best' parameter of SelfTraining"),
    ],
)
def test_bad_parameters(
    blobs: Data, params: dict[str, Any], exc: type, match: str
) -> None:
    x, _, y = blobs
    kw = {"base_estimator": lr(), **params}
    with pytest.raises(exc, match=match):
        SelfTraining(**kw).fit(x, y)


def test_bad_fit_arguments(blobs: Data) -> None:
    x, y_true, y = blobs
    st = SelfTraining(lr())
    with pytest.raises(ValueError, match=r"'classes' parameter .* without a labelled"):
        st.fit(x, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"'y' parameter .* at least one labelled"):
        st.fit(x, np.full_like(y, -1))
    with pytest.raises(ValueError, match="'y_true' parameter"):
        st.fit(x, y, y_true=y_true[:10])
    with pytest.raises(ValueError, match="'X_val' parameter"):
        st.fit(x, y, X_val=x)
    assert st.fit(x, y, classes=[2, 1, 0]).classes_.tolist() == [0, 1, 2]


def test_torch_classifier_is_deterministic(blobs: Data) -> None:
    x, y_true, _ = blobs
    a = TorchClassifier(mlp(16), epochs=20, batch_size=100, seed=3).fit(x, y_true)
    b = TorchClassifier(mlp(16), epochs=20, batch_size=100, seed=3).fit(x, y_true)
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))
    assert a.transform(x).shape == (300, 16)
    assert a.decision_function(x).shape == (300, 3)
    assert a.score(x, y_true) > 0.9
    c = TorchClassifier(mlp(16), epochs=20, batch_size=100, seed=4).fit(x, y_true)
    assert not np.array_equal(a.predict_proba(x), c.predict_proba(x))


def test_torch_classifier_bad_input() -> None:
    with pytest.raises(TypeError, match="'module_factory' parameter"):
        TorchClassifier(3).fit(np.zeros((4, 2)), [0, 1, 0, 1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'epochs' parameter of TorchClassifier"):
        TorchClassifier(mlp(), epochs=0).fit(np.zeros((4, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="'hidden' parameter of mlp"):
        mlp(0)


def test_self_training_drives_a_torch_model_on_its_embeddings(blobs: Data) -> None:
    x, y_true, y = blobs
    base = TorchClassifier(mlp(16), epochs=40)
    st = SelfTraining(base, criterion="graph", graph_k=10, max_iter=2).fit(x, y)
    pseudo = st.labeled_iter_ >= 1
    assert st.n_iter_ == 2 and pseudo.sum() > 50
    assert (st.transduction_[pseudo] == y_true[pseudo]).mean() > 0.9
    assert st.score(x, y_true) > 0.8


class RecordingLR(LogisticRegression):  # type: ignore[misc]
    """Logistic regression that records the sample weights of its last fit."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> RecordingLR:
        self.seen_weight_ = sample_weight
        super().fit(X, y, sample_weight=sample_weight)
        return self


def test_graph_criterion_balances_classes_in_the_refit(blobs: Data) -> None:
    x, _, y = blobs
    st = SelfTraining(RecordingLR(), criterion="graph", graph_k=10, max_iter=1)
    st.fit(x, y)
    w = st.base_estimator_.seen_weight_
    t = st.transduction_[st.transduction_ != -1]
    counts = np.bincount(t)
    np.testing.assert_allclose(w * counts[t], len(t) / 3)  # every class weighs the same
    plain = SelfTraining(RecordingLR(), max_iter=1, threshold=0.5).fit(x, y)
    assert plain.base_estimator_.seen_weight_ is None  # other criteria: sklearn's fit


def test_torch_classifier_rejects_bad_sample_weight(blobs: Data) -> None:
    x, y_true, _ = blobs
    with pytest.raises(ValueError, match="'sample_weight' parameter"):
        TorchClassifier(mlp(4), epochs=1).fit(x, y_true, sample_weight=-np.ones(300))


def expected_failures(estimator: Any) -> dict[str, str]:
    """Contract checks that cannot hold by design (scikit-learn's own
    SelfTrainingClassifier has the same two)."""
    if isinstance(estimator, SelfTraining):
        return {
            "check_classifiers_classes": "-1 is a class there, unlabelled here",
            "check_non_transformer_estimators_n_iter": "n_iter_ is 0 when all "
            "samples are labelled",
        }
    return {
        "check_sample_weight_equivalence_on_dense_data": "stochastic optimiser",
        "check_methods_subset_invariance": "float32 matmul differs by batch (1e-7)",
    }


@parametrize_with_checks(
    [SelfTraining(LogisticRegression(), max_iter=2)],
    expected_failed_checks=expected_failures,
)
def test_sklearn_contract(estimator: Any, check: Any) -> None:
    with warnings.catch_warnings():  # the checks pass fully labelled y
        warnings.filterwarnings("ignore", "y contains no unlabelled", UserWarning)
        warnings.filterwarnings("ignore", category=SkConvergenceWarning)
        check(estimator)


@pytest.mark.slow
@parametrize_with_checks(
    [TorchClassifier(mlp(16), epochs=200, lr=0.05)],
    expected_failed_checks=expected_failures,
)
def test_torch_classifier_sklearn_contract(estimator: Any, check: Any) -> None:
    check(estimator)  # about a minute on two cores
