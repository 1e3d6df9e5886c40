r"""From a trained RSKP model to video scores, class activation sequences and detections.

Fusion as in the reference's ``ss_eval``: video scores
:math:`v = 0.6\,p^{o} + 0.4\,p^{m}` (class-agnostic video softmax of the main and
intra branches) and snippet scores
:math:`h_t = (0.6\,\operatorname{softmax}(\text{CAS}^o_t) +
0.4\,\operatorname{softmax}(\text{CAS}^m_t))\,a^o_t` with the main branch's attention;
the background column is dropped. Variant ``'main'`` uses the main branch alone.
Detections come from :func:`video.proposals.localize` (multi-threshold proposals,
outer–inner contrast, per-class NMS) and are scored with
:func:`video.evaluation.detection_map`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from graphssl._validation import param_error
from video._api_checks import check_device, check_model, check_model_data
from video._average_precision import check_tiou
from video.batching import bucket_batches, make_batch
from video.evaluation import (
    THUMOS_TIOU,
    DetectionResult,
    classification_map,
    detection_map,
)
from video.model import RSKPModel
from video.proposals import localize

__all__ = [
    "EvaluationResult",
    "VideoPrediction",
    "detect",
    "evaluate",
    "plot_video",
    "predict",
]

MAIN_WEIGHT = 0.6  # reference fusion weight of the main branch (intra: 0.4)


@dataclass(frozen=True)
class VideoPrediction:
    """Model outputs of one video, on the CPU.

    Attributes:
        scores: ``[C]`` video-level class scores.
        cas: ``[T, C]`` snippet class scores (fused softmax × attention).
        attention: ``[T]`` class-agnostic attention.
    """

    scores: Tensor
    cas: Tensor
    attention: Tensor


@dataclass(frozen=True)
class EvaluationResult:
    """Detection mAP, classification mAP and the detections behind them."""

    detection: DetectionResult
    classification_map: float
    detections: list[Tensor]

    def table(self) -> str:
        """Markdown detection table in percent plus the classification mAP line."""
        return (
            self.detection.table()
            + f"\n\nclassification mAP: {100 * self.classification_map:.1f}"
        )


@torch.no_grad()
def predict(
    model: RSKPModel,
    dataset: Any,
    *,
    batch_size: int = 16,
    device: torch.device | str | None = None,
) -> list[VideoPrediction]:
    """Video scores and fused CAS for every video of ``dataset`` (eval mode)."""
    model = check_model(model, "predict")
    feats, _ = check_model_data(model, dataset, "predict", classes=False)
    dev = check_device(device, "predict", model.mu0.device)
    was_training = model.training
    model.eval().to(dev)
    labels = torch.zeros(len(feats), model.num_classes)
    preds: list[VideoPrediction | None] = [None] * len(feats)
    c = model.num_classes
    for idx in bucket_batches([f.shape[0] for f in feats], batch_size, shuffle=False):
        batch = make_batch(feats, labels, idx, dev)
        out = model(batch.features, batch.mask)
        vid = F.softmax(out.main.ca_logits, -1)
        frm = F.softmax(out.main.cas, -1)
        if out.intra is not None:
            vid = MAIN_WEIGHT * vid + (1 - MAIN_WEIGHT) * F.softmax(
                out.intra.ca_logits, -1
            )
            frm = MAIN_WEIGHT * frm + (1 - MAIN_WEIGHT) * F.softmax(out.intra.cas, -1)
        att = out.main.attention
        frm = frm * att[..., None]
        for j, v in enumerate(idx):
            n = int(batch.mask[j].sum())
            preds[v] = VideoPrediction(
                vid[j, :c].cpu(), frm[j, :n, :c].cpu(), att[j, :n].cpu()
            )
    model.train(was_training)
    return [p for p in preds if p is not None]


def detect(
    predictions: Sequence[VideoPrediction],
    snippet_rate: float,
    **proposal_options: Any,
) -> list[Tensor]:
    """Per-video detections ``[K, 4]`` (start_s, end_s, score, class) after NMS.

    ``proposal_options`` go to :func:`video.proposals.localize` (``iou_threshold``,
    ``class_threshold``, ``thresholds``, ...).
    """
    return [
        localize(p.cas, p.scores, snippet_rate=snippet_rate, **proposal_options)
        for p in predictions
    ]


def evaluate(
    model: RSKPModel,
    dataset: Any,
    *,
    tiou_thresholds: Sequence[float] = THUMOS_TIOU,
    batch_size: int = 16,
    device: torch.device | str | None = None,
    **proposal_options: Any,
) -> EvaluationResult:
    """Detection mAP at each tIoU (and their average) and classification mAP.

    Checked before any prediction: ``model`` fits ``dataset`` (feature size and
    classes), the dataset has at least one ground-truth segment, and
    ``tiou_thresholds`` is a non-empty sequence of numbers in ``(0, 1]``.
    """
    model = check_model(model, "evaluate")
    check_model_data(model, dataset, "evaluate")
    check_tiou(tiou_thresholds, "evaluate")
    if sum(int(s.shape[0]) for s in dataset.segments) == 0:
        raise param_error(
            "dataset", "evaluate", "a dataset with ground-truth segments",
            "no segments (a training split?)",
        )  # fmt: skip
    preds = predict(model, dataset, batch_size=batch_size, device=device)
    dets = detect(preds, dataset.snippet_rate, **proposal_options)
    amb = list(getattr(dataset, "ambiguous", []) or []) or None  # THUMOS' ignore list
    res = detection_map(
        dets, dataset.segments, model.num_classes, tiou_thresholds, ambiguous=amb
    )
    scores = torch.stack([p.scores for p in preds])
    cmap = classification_map(scores, dataset.labels)
    return EvaluationResult(res, cmap, dets)


def plot_video(
    dataset: Any,
    index: int,
    prediction: VideoPrediction,
    detections: Tensor,
    path: Path | str,
) -> Path:
    """Timeline plot of ground truth vs detections (and the CAS) of one video."""
    from video.plot import plot_timeline

    out: Path = plot_timeline(
        dataset.segments[index],
        detections,
        path,
        duration=dataset.features[index].shape[0] / dataset.snippet_rate,
        class_names=dataset.class_names,
        cas=prediction.cas,
        snippet_rate=dataset.snippet_rate,
        title=dataset.names[index],
    )
    return out
