r"""Semi-supervised Gaussian mixture classifier fitted by EM-λ (Nigam et al. 2000).

Each class is a mixture of ``n_components_per_class`` Gaussians
:math:`\mathcal N(\mu_k, \Sigma_k)` with mixture weights :math:`\pi_k`. The M-step is
the weighted maximum-likelihood update

.. math::
    N_k = \sum_i \Lambda_i r_{ik}, \quad
    \pi_k = \frac{N_k}{\sum_j N_j}, \quad
    \mu_k = \frac{1}{N_k}\sum_i \Lambda_i r_{ik} x_i, \quad
    \Sigma_k = \frac{1}{N_k}\sum_i \Lambda_i r_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top
        + \varepsilon I,

where :math:`r_{ik}` is the responsibility of component :math:`k` for sample :math:`i`,
:math:`\Lambda_i` is 1 for labelled and λ for unlabelled samples and
:math:`\varepsilon` is ``reg_covar``. The ridge is kept consistent with the objective:
every component density carries the factor :math:`\exp(-\tfrac{\varepsilon}{2}
\operatorname{tr}\Sigma_k^{-1})` (the expected log-density of :math:`x` blurred by
:math:`\mathcal N(0, \varepsilon I)` noise), whose exact maximiser is the update above,
so the recorded log-likelihood never decreases.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.utils.validation import validate_data

from graphssl._validation import check_in, check_real, param_error
from graphssl.em import SemiSupervisedEMBase

__all__ = ["SemiSupervisedGMM"]

Array = np.ndarray[Any, Any]


class SemiSupervisedGMM(SemiSupervisedEMBase):
    r"""Gaussian mixture classifier trained on labelled and unlabelled samples by EM.

    With ``lam=0`` the fit is the supervised one: per class, the labelled samples'
    mean and (biased) covariance plus ``reg_covar`` on the diagonal, and class
    frequencies as weights.

    Args:
        n_components_per_class (int): Gaussians per class; labelled samples share
            probabilistic membership among their class's components. (default: ``1``)
        covariance_type (str): ``'full'`` or ``'diag'``. (default: ``'full'``)
        lam (float): weight λ in [0, 1] of unlabelled samples. (default: ``1.0``)
        max_iter (int): most EM iterations. (default: ``100``)
        tol (float): stop when the log-likelihood gains less than ``tol`` times its
            magnitude. (default: ``1e-6``)
        reg_covar (float): ridge :math:`\varepsilon` added to every covariance's
            diagonal. (default: ``1e-6``)
        hard (bool): classification EM with argmax responsibilities. (default:
            ``False``)
        random_state (int, optional): seed of the per-class k-means split that starts
            several components per class. (default: ``0``)

    Attributes:
        classes_, component_class_ ``[K]``, weights_ ``[K]``, means_ ``[K, F]``,
        covariances_ ``[K, F, F]`` (``[K, F]`` for ``'diag'``), log_likelihood_ (the
        objective after each E-step), n_iter_ (``len(log_likelihood_)``),
        converged_, label_distributions_ ``[N, C]`` and transduction_ ``[N]`` (given
        labels kept, the most probable class elsewhere).
    """

    def __init__(
        self,
        n_components_per_class: int = 1,
        covariance_type: str = "full",
        lam: float = 1.0,
        max_iter: int = 100,
        tol: float = 1e-6,
        reg_covar: float = 1e-6,
        hard: bool = False,
        random_state: int | None = 0,
    ) -> None:
        self.n_components_per_class = n_components_per_class
        self.covariance_type = covariance_type
        self.lam = lam
        self.max_iter = max_iter
        self.tol = tol
        self.reg_covar = reg_covar
        self.hard = hard
        self.random_state = random_state

    def _validate_params(self) -> None:
        super()._validate_params()
        check_in(
            self.covariance_type,
            "covariance_type",
            "SemiSupervisedGMM",
            ("full", "diag"),
        )
        check_real(self.reg_covar, "reg_covar", "SemiSupervisedGMM", low=0.0)

    def _check_input(
        self, X: Any, y: Any = None, *, reset: bool = False
    ) -> tuple[Any, Array]:
        if not reset:
            return validate_data(self, X, reset=False, dtype=np.float64), np.empty(0)
        X, y = validate_data(self, X, y, dtype=np.float64)
        return X, y

    # ---------------------------------------------------------------- M-step
    def _moments(self, X: Array, wr: Array) -> tuple[Array, Array, Array]:
        """Weights ``[K]``, means ``[K, F]`` and covariances from weighted resp."""
        nk = np.maximum(wr.sum(0), 10 * np.finfo(np.float64).eps)  # empty component
        means = (wr.T @ X) / nk[:, None]
        covs = []
        for k in range(len(nk)):
            diff = X - means[k]
            if self.covariance_type == "diag":
                covs.append(wr[:, k] @ diff**2 / nk[k])
            else:
                covs.append((wr[:, k, None] * diff).T @ diff / nk[k])
        return nk / nk.sum(), means, np.stack(covs) + self._ridge(X.shape[1])

    def _init_model(self, X: Any, resp: Array, weight: Array) -> None:
        # Means and weights from the labelled samples, but every component starts
        # from the covariance of all samples: a handful of labels per class gives a
        # (near-)singular covariance that would dominate the first E-step. λ = 0
        # still ends at the supervised fit, since the first M-step replaces these.
        self._m_step(X, resp, weight)
        total: Array = np.cov(X, rowvar=False, bias=True).reshape(X.shape[1], -1)
        if self.covariance_type == "diag":
            total = np.diag(total).copy()
        k = resp.shape[1]
        self.covariances_ = np.stack([total + self._ridge(X.shape[1])] * k)

    def _ridge(self, n_features: int) -> Array:
        if self.covariance_type == "diag":
            return np.full(n_features, float(self.reg_covar))
        return float(self.reg_covar) * np.eye(n_features)

    def _m_step(self, X: Any, resp: Array, weight: Array) -> None:
        self.weights_, self.means_, self.covariances_ = self._moments(
            X, weight[:, None] * resp
        )

    # ---------------------------------------------------------------- E-step
    def _log_joint(self, X: Any) -> Array:
        n, d = X.shape
        out = np.empty((n, len(self.weights_)))
        with np.errstate(divide="ignore"):  # an emptied component has π = 0
            log_w = np.log(self.weights_)
        for k in range(len(self.weights_)):
            diff = X - self.means_[k]
            if self.covariance_type == "diag":
                var = self.covariances_[k]
                self._check_positive(bool(np.all(var > 0)), k)
                maha = (diff**2 / var).sum(1)
                logdet, trace_inv = np.log(var).sum(), (1.0 / var).sum()
            else:
                chol = self._cholesky(self.covariances_[k], k)
                # one small d x d inverse, then a matmul: faster and steadier on a
                # busy machine than a triangular solve against all N samples
                inv = np.linalg.solve(chol, np.eye(d))
                maha = ((diff @ inv.T) ** 2).sum(1)
                logdet = 2.0 * np.log(np.diag(chol)).sum()
                trace_inv = (inv**2).sum()
            out[:, k] = (
                log_w[k]
                - 0.5 * (d * math.log(2 * math.pi) + logdet + maha)
                - 0.5 * float(self.reg_covar) * trace_inv
            )
        return out

    def _cholesky(self, cov: Array, k: int) -> Array:
        try:
            chol: Array = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            self._check_positive(False, k)
            raise  # pragma: no cover - _check_positive raised
        self._check_positive(bool(np.all(np.diag(chol) > 0)), k)
        return chol

    def _check_positive(self, ok: bool, k: int) -> None:
        if not ok:
            raise param_error(
                "reg_covar",
                "SemiSupervisedGMM",
                f"large enough to make every covariance positive definite (component "
                f"{k} is singular even with it; increase reg_covar)",
                self.reg_covar,
            )
