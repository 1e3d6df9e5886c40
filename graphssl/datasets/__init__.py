"""Datasets: Planetoid citation graphs, seeded synthetic data and small tabular sets."""

from __future__ import annotations

from graphssl.datasets.planetoid import (
    PlanetoidData,
    find_planetoid_root,
    load_planetoid,
)
from graphssl.datasets.synthetic import hide_labels, make_blobs, make_moons
from graphssl.datasets.tabular import load_breast_cancer, load_digits, load_wine

__all__ = [
    "PlanetoidData",
    "find_planetoid_root",
    "hide_labels",
    "load_breast_cancer",
    "load_digits",
    "load_planetoid",
    "load_wine",
    "make_blobs",
    "make_moons",
]
