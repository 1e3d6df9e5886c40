"""Datasets: Planetoid citation graphs, CIFAR-10 batches, seeded synthetic data and small
tabular sets."""

from __future__ import annotations

from graphssl.datasets.cifar import CIFAR10Split, load_cifar10, read_cifar_batch
from graphssl.datasets.planetoid import (
    PlanetoidData,
    find_planetoid_root,
    load_planetoid,
)
from graphssl.datasets.synthetic import hide_labels, make_blobs, make_moons
from graphssl.datasets.tabular import load_breast_cancer, load_digits, load_wine

__all__ = [
    "CIFAR10Split",
    "PlanetoidData",
    "find_planetoid_root",
    "hide_labels",
    "load_breast_cancer",
    "load_cifar10",
    "load_digits",
    "load_planetoid",
    "load_wine",
    "make_blobs",
    "make_moons",
    "read_cifar_batch",
]
