"""scikit-learn estimators over graphssl's graph core: ``LabelSpreading`` and
``LabelPropagation``.

Drop-in for ``sklearn.semi_supervised`` (``-1`` marks unlabelled samples, fitted
attributes end in ``_``) with different, measured defaults: an exact kNN graph with
Gaussian weights at the median-heuristic bandwidth (never an all-zero RBF), α = 0.99,
and a CG solve to a relative residual instead of 30 fixed iterations, so label mass
reaches every connected node. Samples that no label reaches get ``-1`` in
``transduction_`` and a :class:`~graphssl.exceptions.UnreachedNodesWarning`.

Needs scikit-learn (``pip install scikit-learn``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from graphssl._optional import require

require("sklearn", "graphssl.estimators")

from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402
from sklearn.utils.validation import check_is_fitted, validate_data  # noqa: E402

from graphssl._validation import (  # noqa: E402
    check_in,
    check_int,
    check_real,
    param_error,
)
from graphssl.construction import graph_from_neighbors  # noqa: E402
from graphssl.graph import Graph, as_graph  # noqa: E402
from graphssl.neighbors import knn  # noqa: E402
from graphssl.propagation import (  # noqa: E402
    SOLVERS,
    PropagationResult,
    label_propagation,
    label_spreading,
)
from graphssl.similarity import Gaussian  # noqa: E402
from graphssl.symmetrize import SYMMETRIZE  # noqa: E402

__all__ = ["LabelPropagation", "LabelSpreading"]

#: Largest training set for the dense ``kernel='rbf'`` path (an N x N matrix).
RBF_MAX_SAMPLES = 10_000
#: Bytes one block of query-to-training distances may take in ``predict``.
QUERY_MEMORY_BUDGET = 256 * 2**20


class _GraphLabelModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    _variant: ClassVar[str]

    def __init__(
        self,
        kernel: Any = "knn",
        *,
        n_neighbors: int = 10,
        sigma: float | str = "median",
        gamma: float | None = None,
        solver: str = "auto",
        max_iter: int = 1000,
        tol: float = 1e-6,
        symmetrize: str = "max",
        class_mass: bool = False,
        device: str | None = None,
    ) -> None:
        self.kernel = kernel
        self.n_neighbors = n_neighbors
        self.sigma = sigma
        self.gamma = gamma
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.symmetrize = symmetrize
        self.class_mass = class_mass
        self.device = device

    def _validate(self) -> None:
        name = type(self).__name__
        if not callable(self.kernel):
            check_in(self.kernel, "kernel", name, ("knn", "rbf", "precomputed"))
        check_int(self.n_neighbors, "n_neighbors", name, low=1)
        if isinstance(self.sigma, str):
            check_in(self.sigma, "sigma", name, ("median",))
        else:
            check_real(self.sigma, "sigma", name, low=0.0, closed="neither")
        if self.gamma is not None:
            check_real(self.gamma, "gamma", name, low=0.0, closed="neither")
        check_in(self.solver, "solver", name, SOLVERS)
        check_int(self.max_iter, "max_iter", name, low=1)
        check_real(self.tol, "tol", name, low=0.0, closed="neither")
        check_in(self.symmetrize, "symmetrize", name, SYMMETRIZE)

    def _device(self) -> torch.device:
        return (
            torch.device(self.device)
            if self.device is not None
            else torch.device("cpu")
        )

    # ----------------------------------------------------------------- graph
    def _sigma(self, dist: Tensor) -> float:
        if self.gamma is not None:  # scikit-learn's exp(-gamma d^2)
            return float(np.sqrt(0.5 / self.gamma))
        return Gaussian(self.sigma).resolve(dist)

    def _build_graph(self, x: Tensor) -> Graph:
        n = x.shape[0]
        if callable(self.kernel):
            return as_graph(self.kernel(self.X_, self.X_), num_nodes=n)
        if self.kernel == "rbf":
            if n > RBF_MAX_SAMPLES:
                raise param_error(
                    "kernel",
                    type(self).__name__,
                    f"'knn' for more than {RBF_MAX_SAMPLES} samples (rbf is dense N x N)",
                    "rbf",
                )
            d = torch.cdist(x, x)
            # Median distance to the k-th neighbour: the median over all pairs would
            # make a dense graph nearly uniform (every node sees every class).
            kth = torch.kthvalue(d, min(self.n_neighbors, n - 1) + 1, dim=1).values
            self.sigma_ = self._sigma(kth)
            w = torch.exp(-(d * d) / (2 * self.sigma_**2))
            w.fill_diagonal_(0.0)
            return as_graph(w)
        k = min(self.n_neighbors, n - 1)
        index, dist = knn(x, k)
        self.sigma_ = self._sigma(dist)
        return graph_from_neighbors(
            x, index, dist, kernel=Gaussian(self.sigma_), symmetrize=self.symmetrize
        )

    def _propagate(self, graph: Graph, y: Tensor, c: int) -> PropagationResult:
        kw: dict[str, Any] = {
            "num_classes": c,
            "solver": self.solver,
            "tol": self.tol,
            "max_iter": self.max_iter,
            "class_mass": self.class_mass,
        }
        if self._variant == "spreading":
            return label_spreading(graph, y, alpha=self.alpha, **kw)
        return label_propagation(graph, y, **kw)

    # ------------------------------------------------------------------- API
    def fit(self, X: Any, y: Any) -> _GraphLabelModel:
        """Build the graph on ``X`` and propagate the labels ``y`` (``-1`` = unlabelled).

        Args:
            X: ``[n_samples, n_features]`` features, or with ``kernel='precomputed'``
                a graph in any form :func:`~graphssl.graph.as_graph` accepts.
            y: ``[n_samples]`` integer labels, ``-1`` for unlabelled samples.
        """
        self._validate()
        dev = self._device()
        if self.kernel == "precomputed":
            graph = as_graph(X).to(dev, torch.float64)
            y_arr = np.asarray(y)
            self.n_features_in_ = graph.num_nodes
        else:
            X, y_arr = validate_data(self, X, y, dtype=np.float64)
            if X.shape[0] < 2:
                raise param_error(
                    "X",
                    type(self).__name__,
                    "at least 2 samples to build a graph",
                    f"n_samples={X.shape[0]}",
                )
            self.X_ = X
            x = torch.tensor(X, device=dev)  # a copy: X may be a read-only memmap
            graph = self._build_graph(x)
        check_classification_targets(y_arr)
        classes = np.unique(y_arr[y_arr != -1])
        if classes.size == 0:
            raise param_error(
                "y",
                type(self).__name__,
                "at least one labelled sample (!= -1)",
                "all -1",
            )
        self.classes_ = classes
        codes = np.full(y_arr.shape[0], -1, dtype=np.int64)
        lab = y_arr != -1
        codes[lab] = np.searchsorted(classes, y_arr[lab])
        res = self._propagate(
            graph, torch.from_numpy(codes).to(dev), max(len(classes), 2)
        )
        self.graph_ = graph
        self.reached_ = res.reached.cpu().numpy()
        self.label_distributions_ = res.distribution[:, : len(classes)].cpu().numpy()
        pred = res.prediction.cpu().numpy()
        self.transduction_ = np.where(pred >= 0, classes[np.clip(pred, 0, None)], -1)
        self.n_iter_ = res.n_iter
        self.residual_ = res.residual
        self.solver_ = res.solver
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``[n_queries, n_classes]`` for new samples.

        Each query takes the kernel-weighted average of the training samples' label
        distributions (its ``n_neighbors`` nearest with ``kernel='knn'``); a query
        whose neighbours carry no label mass gets a uniform row.
        """
        p = self._scores(X)
        mass = p.sum(1, keepdim=True)
        out = torch.where(mass > 0, p / mass.clamp(min=1e-300), 1.0 / p.shape[1])
        return out.cpu().numpy()

    def _scores(self, X: Any) -> Tensor:
        check_is_fitted(self)
        dist = np.where(self.reached_[:, None], self.label_distributions_, 0.0)
        f = torch.from_numpy(dist).to(self._device())
        if self.kernel == "precomputed" or callable(self.kernel):
            w = self._query_weights_given(X)
            p = w @ f
        else:
            X = validate_data(self, X, reset=False, dtype=np.float64)
            q = torch.tensor(X, device=f.device)
            p = self._query_scores(q, f)
        return p

    def _query_weights_given(self, X: Any) -> Tensor:
        if callable(self.kernel):
            X = validate_data(self, X, reset=False, dtype=np.float64)
            w = self.kernel(X, self.X_)
        else:
            w = X
        w = w.toarray() if hasattr(w, "toarray") else np.asarray(w, dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != self.n_features_in_:
            raise param_error(
                "X",
                f"{type(self).__name__}.predict",
                f"affinities of shape [n_queries, {self.n_features_in_}]",
                w.shape,
            )
        return torch.from_numpy(w).to(self._device())

    def _query_scores(self, q: Tensor, f: Tensor) -> Tensor:
        """Kernel-weighted label mass ``[n_queries, C]`` from the training samples."""
        n = self.X_.shape[0]
        two_s2 = 2 * self.sigma_**2
        if self.kernel == "knn" and q.device.type == "cpu" and q.shape[1] <= 8:
            # low dimension: a k-d tree query, O(n_queries log n) and no n x m block
            from scipy.spatial import cKDTree

            k = min(self.n_neighbors, n)
            d_np, i_np = cKDTree(self.X_).query(q.numpy(), k, workers=-1)
            d = torch.from_numpy(d_np.reshape(len(q), k))
            idx = torch.from_numpy(i_np.reshape(len(q), k))
            return (torch.exp(-(d * d) / two_s2)[:, :, None] * f[idx]).sum(1)
        x = torch.tensor(self.X_, device=q.device)
        rows = max(1, QUERY_MEMORY_BUDGET // (3 * 8 * n))  # cdist + exp + topk copies
        out = []
        for b in range(0, q.shape[0], rows):
            d = torch.cdist(q[b : b + rows], x)
            if self.kernel == "knn":
                d, idx = torch.topk(d, min(self.n_neighbors, n), dim=1, largest=False)
                out.append((torch.exp(-(d * d) / two_s2)[:, :, None] * f[idx]).sum(1))
            else:
                out.append(torch.exp(-(d * d) / two_s2) @ f)
        return torch.cat(out)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels ``[n_queries]``; ``-1`` where no label mass arrives."""
        p = self._scores(X)
        top = p.argmax(1).cpu().numpy()
        reached = (p.sum(1) > 0).cpu().numpy()
        return np.where(reached, self.classes_[top], -1)


class LabelSpreading(_GraphLabelModel):
    r"""Label spreading (Zhou et al. 2003) with soft clamping, scikit-learn API.

    Solves :math:`F = (1-\alpha)(I - \alpha S)^{-1}Y` on a symmetric kNN graph with
    Gaussian weights (see :func:`graphssl.propagation.label_spreading`).

    Args:
        kernel (str or callable): ``'knn'`` (sparse, default), ``'rbf'`` (dense, at
            most 10 000 samples), ``'precomputed'`` (``X`` is the graph) or a callable
            ``kernel(A, B) -> [n_A, n_B]`` affinity like scikit-learn's.
        n_neighbors (int): ``k`` of the kNN graph. (default: ``10``)
        sigma (float or 'median'): Gaussian bandwidth. (default: ``'median'``)
        gamma (float, optional): scikit-learn's ``exp(-gamma d^2)``; overrides sigma.
        alpha (float): clamping factor in (0, 1). (default: ``0.99``)
        solver, max_iter, tol: see :func:`graphssl.propagation.label_spreading`.
        symmetrize (str): ``'max'``, ``'sum'`` or ``'mutual'``. (default: ``'max'``)
        class_mass (bool): class mass normalisation. (default: ``False``)
        device (str, optional): torch device for the computation.

    Attributes:
        classes_, label_distributions_ ``[n, C]``, transduction_ ``[n]`` (-1 where
        unreached), reached_ ``[n]``, n_iter_, residual_, solver_, sigma_, graph_.
    """

    _variant = "spreading"

    def __init__(
        self,
        kernel: Any = "knn",
        *,
        n_neighbors: int = 10,
        sigma: float | str = "median",
        gamma: float | None = None,
        alpha: float = 0.99,
        solver: str = "auto",
        max_iter: int = 1000,
        tol: float = 1e-6,
        symmetrize: str = "max",
        class_mass: bool = False,
        device: str | None = None,
    ) -> None:
        super().__init__(
            kernel,
            n_neighbors=n_neighbors,
            sigma=sigma,
            gamma=gamma,
            solver=solver,
            max_iter=max_iter,
            tol=tol,
            symmetrize=symmetrize,
            class_mass=class_mass,
            device=device,
        )
        self.alpha = alpha

    def _validate(self) -> None:
        super()._validate()
        check_real(
            self.alpha, "alpha", "LabelSpreading", low=0.0, high=1.0, closed="neither"
        )


class LabelPropagation(_GraphLabelModel):
    r"""Label propagation (Zhu & Ghahramani 2002) with hard clamping, scikit-learn API.

    Computes the harmonic solution :math:`F_U = (I - P_{UU})^{-1}P_{UL}Y_L` (see
    :func:`graphssl.propagation.label_propagation`). Arguments as
    :class:`LabelSpreading`, without ``alpha``.
    """

    _variant = "propagation"
