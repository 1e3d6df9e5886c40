"""Semi-supervised EM (Nigam et al. 2000): multinomial NB and Gaussian mixtures."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.naive_bayes import MultinomialNB
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphssl.cluster_then_label import cluster_then_label
from graphssl.em_gaussian import SemiSupervisedGMM
from graphssl.em_multinomial import SemiSupervisedMultinomialNB
from graphssl.em_selection import select_lambda, unlabeled_data_diagnostic
from graphssl.exceptions import ConvergenceWarning

Array = np.ndarray


def hide(y: Array, per_class: int, seed: int = 0) -> Array:
    """Keep ``per_class`` labels of each class, ``-1`` elsewhere."""
    rng = np.random.default_rng(seed)
    out = np.full_like(y, -1)
    for c in np.unique(y):
        out[rng.choice(np.flatnonzero(y == c), per_class, replace=False)] = c
    return out


def make_docs(n: int, seed: int = 0) -> tuple[Array, Array]:
    """A multinomial mixture: V = 200 words, C = 4 topics near a shared base."""
    rng = np.random.default_rng(seed)
    base = rng.dirichlet(np.ones(200))
    theta = np.stack([rng.dirichlet(3.0 * 200 * base) for _ in range(4)])
    y = rng.integers(0, 4, n)
    x = np.stack([rng.multinomial(20, theta[c]) for c in y]).astype(np.float64)
    return x, y


def make_misspecified(n: int, seed: int = 0) -> tuple[Array, Array]:
    """Two classes with a weak word signal and a strong class-independent style."""
    rng = np.random.default_rng(seed)
    cls = np.zeros((2, 200))
    cls[:, :20] = 1.0
    cls[0, :10] = cls[1, 10:20] = 3.0
    cls /= cls.sum(1, keepdims=True)
    style = np.pad(
        np.stack([rng.dirichlet(np.full(180, 0.2)) for _ in range(2)]),
        ((0, 0), (20, 0)),
    )
    y, s = rng.integers(0, 2, n), rng.integers(0, 2, n)
    p = 0.3 * cls[y] + 0.7 * style[s]
    return np.stack([rng.multinomial(30, q) for q in p]).astype(np.float64), y


def assert_monotone(history: list[float]) -> None:
    steps = np.diff(history)
    assert steps.min() >= -1e-9 * max(1.0, abs(history[-1])), steps.min()


@pytest.fixture(scope="module")
def docs() -> tuple[Array, Array, Array]:
    x, y_true = make_docs(2040)
    return x, y_true, hide(y_true, 10)  # 40 labelled, 2000 unlabelled


@pytest.fixture(scope="module")
def blobs() -> tuple[Array, Array]:
    x, y = make_blobs(1500, centers=3, n_features=4, cluster_std=1.5, random_state=0)
    return x @ np.random.default_rng(0).normal(size=(4, 4)), y  # correlated features


# ------------------------------------------------------------- multinomial NB
def test_nb_lam0_equals_supervised_multinomial_nb(docs: tuple[Array, ...]) -> None:
    x, _, y = docs
    model = SemiSupervisedMultinomialNB(lam=0.0).fit(x, y)
    ref = MultinomialNB(alpha=1.0).fit(x[y >= 0], y[y >= 0])
    np.testing.assert_allclose(model.predict_proba(x), ref.predict_proba(x), atol=1e-10)
    np.testing.assert_allclose(
        model.feature_log_prob_, ref.feature_log_prob_, rtol=1e-12
    )
    assert model.converged_


def test_nb_em_monotone_and_beats_supervised(docs: tuple[Array, ...]) -> None:
    x, y_true, y = docs
    un = y < 0
    em = SemiSupervisedMultinomialNB(lam=1.0).fit(x, y)
    nb = SemiSupervisedMultinomialNB(lam=0.0).fit(x, y)
    assert em.converged_ and em.n_iter_ == len(em.log_likelihood_) > 2
    assert_monotone(em.log_likelihood_)
    acc_em = (em.predict(x[un]) == y_true[un]).mean()
    acc_nb = (nb.predict(x[un]) == y_true[un]).mean()
    assert acc_em > acc_nb + 0.15 and acc_em > 0.8, (acc_em, acc_nb)
    assert em.score(x[un], y_true[un]) == pytest.approx(acc_em)
    np.testing.assert_array_equal(em.transduction_[~un], y[~un])


def test_nb_sparse_input_and_extensions(docs: tuple[Array, ...]) -> None:
    x, y_true, y = docs
    dense = SemiSupervisedMultinomialNB(lam=0.5).fit(x, y)
    sparse = SemiSupervisedMultinomialNB(lam=0.5).fit(sp.csr_matrix(x), y)
    np.testing.assert_allclose(dense.predict_proba(x), sparse.predict_proba(x))
    for kw in (
        {"hard": True},
        {"n_components_per_class": 2, "tol": 1e-5},
        {"alpha": 0.1},
    ):
        model = SemiSupervisedMultinomialNB(**kw).fit(x, y)  # type: ignore[arg-type]
        assert_monotone(model.log_likelihood_)
        assert model.converged_ and model.score(x, y_true) > 0.6, kw


def test_diagnostic_warns_when_model_is_misspecified() -> None:
    x, y_true = make_misspecified(1000)
    y = hide(y_true, 20)
    with pytest.warns(
        UserWarning, match="unlabelled data made held-out accuracy worse"
    ):
        out = unlabeled_data_diagnostic(SemiSupervisedMultinomialNB(), x, y)
    assert out["verdict"] == "hurts" and out["n_splits"] == 5
    assert out["accuracy_semi_supervised"] < out["accuracy_supervised"]
    # the paired gain and its standard error, from the per-fold accuracies
    gains = np.subtract(
        out["fold_accuracies_semi_supervised"], out["fold_accuracies_supervised"]
    )
    assert out["gain"] == pytest.approx(gains.mean())
    assert out["gain_se"] == pytest.approx(gains.std(ddof=1) / np.sqrt(5))
    assert out["gain_se"] > 0


def test_diagnostic_no_warning_when_model_is_right(docs: tuple[Array, ...]) -> None:
    x, _, y = docs
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        out = unlabeled_data_diagnostic(SemiSupervisedMultinomialNB(), x, y, cv=3)
    assert out["verdict"] == "helps" and out["lam"] == 1.0 and out["n_splits"] == 3
    assert len(out["fold_accuracies_supervised"]) == 3


def test_select_lambda_avoids_unlabelled_data_when_it_hurts() -> None:
    x, y_true = make_misspecified(1000)
    y = hide(y_true, 20)
    lam, scores = select_lambda(SemiSupervisedMultinomialNB(), x, y, grid=(0.1, 1.0))
    assert sorted(scores) == [0.0, 0.1, 1.0]  # λ = 0 always competes
    assert scores[1.0] < scores[0.0]  # the diagnostic's finding, same folds
    assert lam != 1.0 and scores[lam] == max(scores.values())
    with pytest.warns(UserWarning, match="unlabelled data made held-out accuracy"):
        d = unlabeled_data_diagnostic(SemiSupervisedMultinomialNB(), x, y)
    assert d["accuracy_supervised"] == scores[0.0]
    assert d["accuracy_semi_supervised"] == scores[1.0]


def test_select_lambda_uses_unlabelled_data_when_it_helps(
    docs: tuple[Array, ...],
) -> None:
    x, _, y = docs
    lam, scores = select_lambda(SemiSupervisedMultinomialNB(), x, y, cv=3)
    assert lam > 0.0 and scores[lam] > scores[0.0]
    assert all(scores[lam] >= s for s in scores.values())


def test_select_lambda_breaks_ties_towards_the_smaller_lambda() -> None:
    # Two far-apart blobs: every λ classifies the held-out samples perfectly.
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 0.3, (40, 2)), rng.normal(10, 0.3, (40, 2))]
    y = hide(np.r_[[0] * 40, [1] * 40], 4)
    lam, scores = select_lambda(SemiSupervisedGMM(), x, y, cv=2)
    assert set(scores.values()) == {1.0} and lam == 0.0


def test_select_lambda_bad_input() -> None:
    x, y_true = make_docs(60)
    with pytest.raises(ValueError, match="'lam' parameter of select_lambda"):
        select_lambda(SemiSupervisedMultinomialNB(), x, hide(y_true, 3), grid=(2.0,))
    with pytest.raises(ValueError, match="'y' parameter of select_lambda"):
        select_lambda(SemiSupervisedMultinomialNB(), x, hide(y_true, 1))


# ---------------------------------------------------------------------- GMM
def test_gmm_lam0_equals_per_class_moments(blobs: tuple[Array, Array]) -> None:
    x, y_true = blobs
    y = hide(y_true, 8)
    for cov_type in ("full", "diag"):
        model = SemiSupervisedGMM(lam=0.0, covariance_type=cov_type).fit(x, y)
        for c in range(3):
            xc = x[y == c]
            np.testing.assert_allclose(model.means_[c], xc.mean(0), rtol=1e-10)
            cov = np.cov(xc, rowvar=False, bias=True) + 1e-6 * np.eye(4)
            ref = cov if cov_type == "full" else np.diag(cov)
            np.testing.assert_allclose(model.covariances_[c], ref, rtol=1e-9)
        np.testing.assert_allclose(model.weights_, [1 / 3] * 3, rtol=1e-12)


def test_gmm_two_labels_per_class_beats_supervised(blobs: tuple[Array, Array]) -> None:
    x, y_true = blobs
    y = hide(y_true, 2)
    un = y < 0
    em = SemiSupervisedGMM().fit(x, y)
    sup = SemiSupervisedGMM(lam=0.0).fit(x, y)
    assert_monotone(em.log_likelihood_)
    acc_em, acc_sup = em.score(x[un], y_true[un]), sup.score(x[un], y_true[un])
    assert acc_em > 0.98 and acc_em > acc_sup, (acc_em, acc_sup)
    proba = em.predict_proba(x)
    assert proba.shape == (1500, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0)


def test_gmm_diag_against_full(blobs: tuple[Array, Array]) -> None:
    x, y_true = blobs
    y = hide(y_true, 2)
    full = SemiSupervisedGMM(covariance_type="full").fit(x, y)
    diag = SemiSupervisedGMM(covariance_type="diag").fit(x, y)
    assert full.covariances_.shape == (3, 4, 4) and diag.covariances_.shape == (3, 4)
    assert_monotone(diag.log_likelihood_)
    # the features are correlated: the full model fits better and classifies better
    assert full.log_likelihood_[-1] > diag.log_likelihood_[-1]
    assert full.score(x, y_true) >= diag.score(x, y_true) > 0.9


def test_gmm_two_components_for_a_two_blob_class() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [rng.normal(centre, 1, (300, 2)) for centre in ((-5, 0), (5, 0), (0, 4))]
    )
    y_true = np.r_[np.zeros(600, int), np.ones(300, int)]
    y = hide(y_true, 6, seed=1)
    one = SemiSupervisedGMM().fit(x, y)
    two = SemiSupervisedGMM(n_components_per_class=2).fit(x, y)
    assert_monotone(two.log_likelihood_)
    np.testing.assert_array_equal(two.component_class_, [0, 0, 1, 1])
    centres = np.sort(two.means_[:2, 0])
    np.testing.assert_allclose(centres, [-5, 5], atol=0.3)
    assert two.score(x, y_true) > 0.99
    assert two.log_likelihood_[-1] > one.log_likelihood_[-1]


def test_gmm_hard_classification_em(blobs: tuple[Array, Array]) -> None:
    x, y_true = blobs
    y = hide(y_true, 2)
    model = SemiSupervisedGMM(hard=True).fit(x, y)
    assert model.converged_
    assert_monotone(model.log_likelihood_)
    assert model.score(x, y_true) > 0.98


def test_cluster_then_label(blobs: tuple[Array, Array]) -> None:
    x, y_true = blobs
    out = cluster_then_label(x, hide(y_true, 2), 3)
    assert (out.labels == y_true).mean() > 0.98 and out.unlabelled_clusters == []
    gmm = cluster_then_label(x, hide(y_true, 2), 3, method="gmm")
    assert (gmm.labels == y_true).mean() > 0.98
    with pytest.warns(UserWarning, match="no labelled member"):
        many = cluster_then_label(x, hide(y_true, 1), 30)
    assert len(many.unlabelled_clusters) >= 27
    assert set(many.cluster_label[many.unlabelled_clusters]) == {-1}
    assert (many.labels == -1).sum() > 0


# ---------------------------------------------------------------- estimator API
def _expected_failures(estimator: object) -> dict[str, str]:
    # the check trains on classes {-1, 1}: -1 means "unlabelled" here, leaving 1 class
    return {"check_classifiers_classes": "-1 is the unlabelled marker, not a class"}


@parametrize_with_checks(
    [SemiSupervisedGMM(), SemiSupervisedMultinomialNB()],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_contract(estimator: object, check: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)  # type: ignore[operator]


def test_sklearn_api_clone_repr_and_convergence_warning(
    blobs: tuple[Array, Array],
) -> None:
    x, y_true = blobs
    model = SemiSupervisedGMM(lam=0.5, covariance_type="diag")
    assert "lam=0.5" in repr(model) and "covariance_type='diag'" in repr(model)
    assert clone(model).get_params() == model.get_params()
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        fitted = SemiSupervisedGMM(max_iter=1).fit(x, hide(y_true, 2))
    assert not fitted.converged_ and fitted.n_iter_ == 2


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (
            SemiSupervisedGMM(lam=1.5),
            r"The 'lam' parameter of SemiSupervisedGMM must be",
        ),
        (
            SemiSupervisedMultinomialNB(lam=-0.1),
            r"'lam' parameter of SemiSupervisedMultinomialNB",
        ),
        (
            SemiSupervisedGMM(covariance_type="spherical"),
            r"'covariance_type' parameter",
        ),
        (
            SemiSupervisedMultinomialNB(alpha=0.0),
            r"'alpha' parameter .* range \(0.0, inf\)",
        ),
        (
            SemiSupervisedGMM(n_components_per_class=3),
            r"'n_components_per_class' .* \(2\)",
        ),
    ],
)
def test_bad_parameters(model: object, match: str) -> None:
    x = np.abs(np.random.default_rng(0).normal(size=(20, 3)))
    y = np.full(20, -1)
    y[:4] = [0, 0, 1, 1]
    with pytest.raises(ValueError, match=match):
        model.fit(x, y)  # type: ignore[attr-defined]


def test_bad_data() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    y = np.full(30, -1)
    y[:4] = [0, 0, 1, 1]
    with pytest.raises(ValueError, match=r"'X' parameter .* non-negative word counts"):
        SemiSupervisedMultinomialNB().fit(x, y)
    with pytest.raises(ValueError, match=r"'y' parameter .* at least 2 classes"):
        SemiSupervisedGMM().fit(x, np.where(y == 1, 0, y))
    singular = np.c_[x[:, :2], np.ones(30)]  # a constant feature: zero variance
    for cov_type in ("full", "diag"):
        with pytest.raises(ValueError, match=r"'reg_covar' parameter .* increase"):
            SemiSupervisedGMM(reg_covar=0.0, covariance_type=cov_type).fit(singular, y)
        SemiSupervisedGMM(covariance_type=cov_type).fit(singular, y)  # ridge rescues
    with pytest.raises(
        ValueError, match="'lam' parameter of unlabeled_data_diagnostic"
    ):
        unlabeled_data_diagnostic(SemiSupervisedGMM(), x, y, lam=2.0)
    with pytest.raises(ValueError, match="at least 2 labelled samples in every class"):
        unlabeled_data_diagnostic(SemiSupervisedGMM(), x, np.r_[0, 1, 1, [-1] * 27])
    with pytest.raises(
        ValueError, match="'n_clusters' parameter of cluster_then_label"
    ):
        cluster_then_label(x, y, 0)
