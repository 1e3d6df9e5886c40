r"""CoMatch: semi-supervised learning with contrastive graph regularisation.

Li, Xiong, Hoi, *CoMatch: Semi-supervised Learning with Contrastive Graph
Regularization*, ICCV 2021 (arXiv 2011.11183), following the reference code
``salesforce/CoMatch``. The pieces are small and separately usable:

* :class:`CoMatchConfig`: every default, validated;
* :class:`WindowedAlignment`: distribution alignment over recent batch means;
* :class:`MemoryBank`: ring buffer of embeddings and class probabilities;
* :func:`memory_smoothing`, :func:`pseudo_label_graph`, :func:`embedding_graph`,
  :func:`graph_contrastive_loss`: the equations;
* :class:`CoMatchLoss`: one batch's objective with its state;
* :class:`CoMatchNet`, :class:`ProjectionHead`: encoder + classifier + projection;
* :class:`MomentumEncoder`, :class:`StrongViewQueue`: the ImageNet variant's
  momentum copy and queue of past strong-view columns (``momentum_encoder=True``);
* :class:`CoMatch`: the trainer (images, feature vectors, graph nodes; checkpoints,
  EMA, optional DDP).
"""

from __future__ import annotations

from graphssl.comatch.alignment import WindowedAlignment
from graphssl.comatch.config import CoMatchConfig
from graphssl.comatch.criterion import CoMatchLoss, CoMatchOutput
from graphssl.comatch.graphs import (
    embedding_graph,
    graph_contrastive_loss,
    pseudo_label_graph,
)
from graphssl.comatch.memory import MemoryBank
from graphssl.comatch.model import CoMatchNet, ProjectionHead
from graphssl.comatch.momentum import MomentumEncoder, StrongViewQueue
from graphssl.comatch.smoothing import memory_smoothing
from graphssl.comatch.trainer import CoMatch

__all__ = [
    "CoMatch",
    "CoMatchConfig",
    "CoMatchLoss",
    "CoMatchNet",
    "CoMatchOutput",
    "MemoryBank",
    "MomentumEncoder",
    "ProjectionHead",
    "StrongViewQueue",
    "WindowedAlignment",
    "embedding_graph",
    "graph_contrastive_loss",
    "memory_smoothing",
    "pseudo_label_graph",
]
