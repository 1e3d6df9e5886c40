"""Cluster then label: the hard-assignment cousin of semi-supervised EM."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphssl._optional import require

require("sklearn", "graphssl.cluster_then_label")

from sklearn.cluster import KMeans  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

from graphssl._validation import check_int, param_error  # noqa: E402
from graphssl.em import Array, encode_labels  # noqa: E402

__all__ = ["ClusterThenLabelResult", "cluster_then_label"]


@dataclass
class ClusterThenLabelResult:
    """Output of :func:`cluster_then_label`.

    Attributes:
        labels: ``[N]`` predicted class per sample, ``-1`` in unlabelled clusters.
        cluster: ``[N]`` cluster index per sample.
        cluster_label: ``[n_clusters]`` class of each cluster, ``-1`` when none of
            its members is labelled.
        unlabelled_clusters: indices of the clusters without labelled members.
    """

    labels: Array
    cluster: Array
    cluster_label: Array
    unlabelled_clusters: list[int]


def cluster_then_label(
    X: Any,
    y: Any,
    n_clusters: int,
    random_state: int | None = 0,
    *,
    method: str = "kmeans",
) -> ClusterThenLabelResult:
    """Cluster all samples, then label each cluster by its labelled members' majority.

    The hard-assignment cousin of semi-supervised EM. Ties go to the smallest class.
    Clusters without a labelled member get ``-1`` and a ``UserWarning`` naming them.

    Args:
        X: ``[N, F]`` features.
        y: ``[N]`` labels, ``-1`` for unlabelled.
        n_clusters: number of clusters (at most ``N``).
        random_state: seed of the clustering.
        method: ``'kmeans'`` or ``'gmm'`` (full-covariance Gaussian mixture).
    """
    owner = "cluster_then_label"
    X_arr = np.asarray(X, dtype=np.float64)
    y_arr = np.asarray(y)
    if X_arr.ndim != 2 or len(y_arr) != len(X_arr):
        raise param_error("X", owner, "a 2-D array with one row per label", X_arr.shape)
    check_int(n_clusters, "n_clusters", owner, low=1, high=len(X_arr))
    if method not in ("kmeans", "gmm"):
        raise param_error("method", owner, "one of 'kmeans', 'gmm'", method)
    classes, codes = encode_labels(y_arr, owner)
    model: Any = (
        KMeans(n_clusters, n_init=3, random_state=random_state)
        if method == "kmeans"
        else GaussianMixture(n_clusters, random_state=random_state)
    )
    cluster = np.asarray(model.fit_predict(X_arr), dtype=np.int64)
    lab = codes >= 0
    votes = np.zeros((n_clusters, len(classes)), dtype=np.int64)
    np.add.at(votes, (cluster[lab], codes[lab]), 1)
    has = votes.sum(1) > 0
    cluster_label = np.where(has, classes[votes.argmax(1)], -1)
    empty = np.flatnonzero(~has).tolist()
    if empty:
        warnings.warn(
            f"cluster_then_label: {len(empty)} of {n_clusters} clusters have no "
            f"labelled member and are labelled -1: {empty[:10]}",
            UserWarning,
            stacklevel=2,
        )
    return ClusterThenLabelResult(cluster_label[cluster], cluster, cluster_label, empty)
