"""Prediction side of :class:`~pointcloud.otoc.OneThingOneClick`: refine, predict, score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from graphssl._validation import param_error
from graphssl.metrics import mean_iou
from pointcloud._otoc_data import ClicksLike, Prepared, as_scene, prepare_scene
from pointcloud._otoc_refine import propagate, scene_graph
from pointcloud._otoc_setup import prepare_all
from pointcloud._otoc_train import infer

if TYPE_CHECKING:
    from pointcloud.otoc import OneThingOneClick

__all__ = ["predict_scene", "refine_scene", "score_scenes"]


def refine_scene(
    model: OneThingOneClick, d: Prepared, clicked: Tensor | None
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Point probabilities ``[P, C]``, propagated beliefs ``[S, C]`` and the
    networks' own confidence ``[S]``, :math:`\max_c \max(U_{ic}, U'_{ic})`."""
    proba, unary, rel, feats = infer(model.nets_, d)
    q = propagate(
        d, scene_graph(d), unary, rel, feats, steps=model.mf_steps,
        weight=model.mf_weight, clicked=clicked,
    )  # fmt: skip
    return proba, q, torch.maximum(unary.max(1).values, rel.max(1).values)


def predict_scene(
    model: OneThingOneClick, scene: Any, clicks: ClicksLike, refine: bool
) -> Tensor:
    """See :meth:`OneThingOneClick.predict`."""
    owner = "OneThingOneClick.predict"
    s = as_scene(scene, owner).to(model.nets_.relation.prototypes.device)
    if model.use_color_ and s.colors is None:
        raise param_error(
            "scene", owner, "a scene with colours (the model was trained with them)",
            "no colours",
        )  # fmt: skip
    vccs = model.predict_supervoxel_kwargs
    if vccs is None:
        vccs = model.supervoxel_kwargs
    if clicks is None:
        empty = torch.zeros(0, dtype=torch.long, device=s.device)
        d = prepare_scene(
            s, empty, empty, num_classes=model.num_classes_, use_color=model.use_color_,
            voxel_sizes=model.voxel_sizes, k=model.k, vccs=vccs,
        )  # fmt: skip
    else:
        d = prepare_all(model, [s], [clicks], owner, vccs)[0]
    proba, q, _ = refine_scene(model, d, d.clicked if clicks is not None else None)
    pred = q.argmax(1)[d.segments] if refine else proba.argmax(1)
    return pred.to(as_scene(scene, owner).device)


def score_scenes(model: OneThingOneClick, scenes: Sequence[Any], refine: bool) -> float:
    """See :meth:`OneThingOneClick.score`."""
    owner = "OneThingOneClick.score"
    preds, truth = [], []
    for s in scenes:
        sc = as_scene(s, owner)
        if sc.labels is None:
            raise param_error("scenes", owner, "scenes with labels", "a scene without")
        preds.append(predict_scene(model, sc, None, refine).cpu())
        truth.append(sc.labels.cpu())
    return mean_iou(torch.cat(preds), torch.cat(truth), model.num_classes_)
