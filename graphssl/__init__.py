"""graphssl: graph-centric semi-supervised learning on CPU and CUDA."""

from __future__ import annotations

from typing import Any

from graphssl.augment import weak_strong
from graphssl.co_training import cross_pseudo_supervision_loss
from graphssl.construction import epsilon_graph, graph_from_neighbors, knn_graph
from graphssl.exceptions import ConvergenceWarning, GraphWarning, UnreachedNodesWarning
from graphssl.graph import Graph, as_graph
from graphssl.neighbors import knn, radius
from graphssl.normalization import normalize, propagation_matrix
from graphssl.propagation import (
    PropagationResult,
    class_mass_normalize,
    label_propagation,
    label_spreading,
    propagate,
)
from graphssl.pseudo_labels import (
    graph_pseudo_labels,
    select_k_best,
    select_margin,
    select_threshold,
)
from graphssl.rounds import RefineRetrain, graph_consistency
from graphssl.similarity import Cosine, ExpDot, Gaussian, Kernel
from graphssl.symmetrize import coalesce, remove_self_loops, symmetrize
from graphssl.teacher_student import (
    EMATeacher,
    TeacherStudent,
    distribution_alignment,
    fixmatch_loss,
    pseudo_label_targets,
)
from graphssl.teacher_student_graph import GraphTeacherStudent

__version__ = "0.1.0"

__all__ = [
    "CoMatch",
    "CoMatchConfig",
    "CoMatchLoss",
    "CoTraining",
    "ConvergenceWarning",
    "Cosine",
    "EMATeacher",
    "ExpDot",
    "Gaussian",
    "Graph",
    "GraphTeacherStudent",
    "GraphWarning",
    "Kernel",
    "LabelPropagation",
    "LabelSpreading",
    "PropagationResult",
    "RefineRetrain",
    "SelfTraining",
    "SemiSupervisedGMM",
    "SemiSupervisedMultinomialNB",
    "TeacherStudent",
    "TorchClassifier",
    "TwoViewCoTraining",
    "UnreachedNodesWarning",
    "__version__",
    "as_graph",
    "class_mass_normalize",
    "cluster_then_label",
    "coalesce",
    "cross_pseudo_supervision_loss",
    "distribution_alignment",
    "epsilon_graph",
    "fixmatch_loss",
    "graph_consistency",
    "graph_from_neighbors",
    "graph_pseudo_labels",
    "knn",
    "knn_graph",
    "label_propagation",
    "label_spreading",
    "normalize",
    "propagate",
    "propagation_matrix",
    "pseudo_label_targets",
    "radius",
    "remove_self_loops",
    "select_k_best",
    "select_lambda",
    "select_margin",
    "select_threshold",
    "symmetrize",
    "unlabeled_data_diagnostic",
    "weak_strong",
]


# Names whose modules need scikit-learn (optional): imported on first use.
_LAZY = {
    "LabelSpreading": "graphssl.estimators",
    "LabelPropagation": "graphssl.estimators",
    "SelfTraining": "graphssl.self_training",
    "TorchClassifier": "graphssl.torch_adapter",
    "SemiSupervisedGMM": "graphssl.em_gaussian",
    "SemiSupervisedMultinomialNB": "graphssl.em_multinomial",
    "unlabeled_data_diagnostic": "graphssl.em_selection",
    "select_lambda": "graphssl.em_selection",
    "cluster_then_label": "graphssl.cluster_then_label",
    "CoTraining": "graphssl.co_training",
    "TwoViewCoTraining": "graphssl.co_training_views",
    # CoMatch pulls in its trainer (tqdm at fit time); loaded on first use too.
    "CoMatch": "graphssl.comatch",
    "CoMatchConfig": "graphssl.comatch",
    "CoMatchLoss": "graphssl.comatch",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'graphssl' has no attribute {name!r}")
