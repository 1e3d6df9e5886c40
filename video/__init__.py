"""Weakly supervised temporal action localisation built on graphssl (RSKP).

Snippet features are ``[T, D]`` per video, batched as zero-padded ``[B, T, D]`` with a
``mask [B, T]``; class activation sequences are ``[T, C]``. The model, its random walk
and memory, the training loop and inference are re-exported here; datasets live in
:mod:`video.datasets`, proposals/NMS/evaluation in :mod:`video.proposals`,
:mod:`video.nms` and :mod:`video.evaluation`.
"""

from __future__ import annotations

from video.em_bases import em_bases
from video.inference import EvaluationResult, VideoPrediction, detect, evaluate, predict
from video.losses import RSKPLossConfig, rskp_loss
from video.memory import SnippetMemory
from video.model import PredictionModule, RSKPModel
from video.random_walk import random_walk, random_walk_iterative, walk_matrix
from video.schedules import LRSchedule
from video.train import TrainConfig, train_rskp

__all__ = [
    "EvaluationResult",
    "LRSchedule",
    "PredictionModule",
    "RSKPLossConfig",
    "RSKPModel",
    "SnippetMemory",
    "TrainConfig",
    "VideoPrediction",
    "detect",
    "em_bases",
    "evaluate",
    "predict",
    "random_walk",
    "random_walk_iterative",
    "rskp_loss",
    "train_rskp",
    "walk_matrix",
]
