r"""One Thing One Click: weakly supervised 3-D semantic segmentation by self-training.

Liu, Qi and Fu, "One Thing One Click: A Self-Training Approach for Weakly Supervised
3D Semantic Segmentation", CVPR 2021 (https://arxiv.org/abs/2104.02246). One point per
object carries a label; its super-voxel inherits it. Each round :math:`r = 1..R`

1. trains the backbone (:class:`~pointcloud.backbone.PointVoxelNet`) with point-wise
   cross-entropy on the current super-voxel labels and the relation head
   (:class:`~pointcloud.relation.PrototypeRelation`) on the same labels;
2. fuses both predictions per super-voxel and propagates them on the super-voxel
   graph by mean field (:mod:`pointcloud._otoc_refine`);
3. makes every super-voxel whose propagated confidence :math:`\max_c Q_{ic}` reaches
   ``threshold`` a pseudo-label (its arg-max); clicked super-voxels always keep their
   click. The next round trains on these labels, continuing from this round's weights.

Every round is logged (:class:`OTOCRoundLog`) and, with ``checkpoint``, saved with the
networks, prototypes, pseudo-labels and random state, so an interrupted ``fit``
resumes after the last finished round and ends exactly where an uninterrupted one
would (on CPU). Not :class:`graphssl.rounds.RefineRetrain`: it saves labels only and
retrains from scratch, whereas this loop warm-starts the networks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from graphssl._validation import check_in, check_int, check_real, param_error
from pointcloud._otoc_data import ClicksLike, Prepared
from pointcloud._otoc_fit import OTOCRoundLog
from pointcloud._otoc_setup import (
    build_networks,
    kwargs_or_none,
    load_model,
    nonneg,
    positive,
    prepare_all,
    save_model,
)  # fmt: skip
from pointcloud._otoc_train import Networks

__all__ = ["OTOCRoundLog", "OneThingOneClick"]


class OneThingOneClick:
    """Self-training from one click per object (see the module docstring).

    Args:
        num_classes (int, optional): classes ``C``; when ``None``, the number of the
            scenes' class names, or else the largest clicked class + 1.
        rounds (int): self-training rounds ``R``. (default: ``4``)
        epochs (int): passes over the scenes in round 1. (default: ``40``)
        epochs_next (int): passes in each later round (warm start). (default: ``20``)
        lr (float): Adam learning rate. (default: ``0.003``)
        lr_next (float, optional): learning rate of the later (warm-started) rounds;
            ``None`` keeps ``lr``. The paper's code drops it tenfold after round 1.
        cosine (bool): anneal the learning rate to 0 within every round (and over
            :meth:`fit_supervised`'s whole budget); constant when ``False``.
        class_weight_power (float): exponent :math:`a` of the loss weights
            :math:`(n / n_c)^a` (:func:`~pointcloud._otoc_train.class_weights`);
            ``0`` is the plain cross-entropy. (default: ``0.5``)
        weight_decay (float): Adam weight decay. (default: ``1e-4``)
        hidden, feature_dim, levels, voxel_sizes, k: backbone shape, see
            :class:`~pointcloud.backbone.PointVoxelNet` and
            :func:`~pointcloud.backbone.build_pyramid`.
        relation_weight (float): :math:`\\lambda` of the relation loss; a shared backbone
            is pulled off segmentation at ``1`` (BENCHMARKS.md). (default: ``0.1``)
        relation_backbone (str): ``"shared"`` (the head embeds the backbone's
            features) or ``"separate"`` (a second backbone of the same shape, the
            paper's code, trained by the relation loss alone). (default: ``"shared"``)
        momentum (float): prototype EMA momentum. (default: ``0.9``)
        temperature (float): relation softmax temperature. (default: ``0.07``)
        threshold (float): confidence for a pseudo-label. (default: ``0.9``)
        select (str): confidence that must reach ``threshold``: ``"unary"``,
            :math:`\\max_c \\max(U_{ic}, U'_{ic})` (the released code), or ``"propagated"``,
            :math:`\\max_c Q_{ic}`; the label is :math:`\\arg\\max Q`. (default: ``"propagated"``)
        mf_steps (int): mean-field steps. (default: ``5``)
        mf_weight (float, optional): pairwise weight :math:`w`; ``None`` for the
            paper's ``100/S`` (too weak on the sparse super-voxel graph). (default: ``1``)
        use_color (bool): feed colours to the network (scenes without colours fall
            back to geometry with a warning). (default: ``True``)
        supervoxel_kwargs (dict, optional): arguments of
            :func:`pointcloud.supervoxels.supervoxels`.
        predict_supervoxel_kwargs (dict, optional): the same in :meth:`predict` and
            :meth:`score` (pure super-voxels pay there); ``None``: ``supervoxel_kwargs``.
        device (str or torch.device, optional): where to train; ``None`` follows the
            scenes.
        seed (int): seed of the networks, the simulated clicks and training.
        checkpoint (str or Path, optional): file written after every round.
        progress (bool): show tqdm progress bars. (default: ``False``)
        log (callable, optional): receives one line per round.

    Attributes:
        nets_ (Networks): trained backbone(s) and relation head.
        history_ (list[OTOCRoundLog]): one entry per round.
        labels_ (list[Tensor]): final super-voxel labels per training scene.
        num_classes_ (int): ``C``.
        use_color_ (bool): whether the networks take colours.
    """

    nets_: Networks
    history_: list[OTOCRoundLog]
    labels_: list[Tensor]
    num_classes_: int
    use_color_: bool

    def __init__(
        self,
        num_classes: int | None = None,
        *,
        rounds: int = 4,
        epochs: int = 40,
        epochs_next: int = 20,
        lr: float = 0.003,
        lr_next: float | None = None,
        cosine: bool = False,
        class_weight_power: float = 0.5,
        weight_decay: float = 1e-4,
        hidden: int = 32,
        feature_dim: int = 32,
        levels: int = 3,
        voxel_sizes: Sequence[float] = (0.1, 0.3, 0.9),
        k: int = 8,
        relation_weight: float = 0.1,
        relation_backbone: str = "shared",
        momentum: float = 0.9,
        temperature: float = 0.07,
        threshold: float = 0.9,
        select: str = "propagated",
        mf_steps: int = 5,
        mf_weight: float | None = 1.0,
        use_color: bool = True,
        supervoxel_kwargs: dict[str, Any] | None = None,
        predict_supervoxel_kwargs: dict[str, Any] | None = None,
        device: str | torch.device | None = None,
        seed: int = 0,
        checkpoint: str | os.PathLike[str] | None = None,
        progress: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        o = "OneThingOneClick"
        self.num_classes = (
            None
            if num_classes is None
            else check_int(num_classes, "num_classes", o, low=1)
        )
        self.rounds = check_int(rounds, "rounds", o, low=1)
        self.epochs = check_int(epochs, "epochs", o, low=1)
        self.epochs_next = check_int(epochs_next, "epochs_next", o, low=0)
        self.lr = positive(lr, "lr")
        self.lr_next = None if lr_next is None else positive(lr_next, "lr_next")
        self.cosine = bool(cosine)
        self.class_weight_power = nonneg(class_weight_power, "class_weight_power")
        self.weight_decay = nonneg(weight_decay, "weight_decay")
        self.hidden = check_int(hidden, "hidden", o, low=1)
        self.feature_dim = check_int(feature_dim, "feature_dim", o, low=1)
        self.levels = check_int(levels, "levels", o, low=1)
        if len(voxel_sizes) != self.levels:
            allowed = f"{self.levels} sizes (levels)"
            raise param_error("voxel_sizes", o, allowed, voxel_sizes)
        self.voxel_sizes = tuple(positive(v, "voxel_sizes") for v in voxel_sizes)
        self.k = check_int(k, "k", o, low=1)
        self.relation_weight = nonneg(relation_weight, "relation_weight")
        rb, layouts = relation_backbone, ("shared", "separate")
        self.relation_backbone = check_in(rb, "relation_backbone", o, layouts)
        self.momentum = check_real(momentum, "momentum", o, 0.0, 1.0, "left")
        self.temperature = positive(temperature, "temperature")
        self.threshold = check_real(threshold, "threshold", o, 0.0, 1.0, "right")
        self.select = check_in(select, "select", o, ("unary", "propagated"))
        self.mf_steps = check_int(mf_steps, "mf_steps", o, low=0)
        self.mf_weight = None if mf_weight is None else nonneg(mf_weight, "mf_weight")
        self.use_color = bool(use_color)
        self.supervoxel_kwargs = (
            kwargs_or_none(supervoxel_kwargs, "supervoxel_kwargs") or {}
        )
        pk = predict_supervoxel_kwargs
        self.predict_supervoxel_kwargs = kwargs_or_none(pk, "predict_supervoxel_kwargs")
        self.device = device
        self.seed = check_int(seed, "seed", o, low=0)
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.progress = bool(progress)
        self.log = log

    def __repr__(self) -> str:
        names = ("num_classes", "rounds", "epochs", "epochs_next", "lr", "threshold",
                 "momentum", "temperature", "mf_steps")  # fmt: skip
        return (
            f"OneThingOneClick({', '.join(f'{n}={getattr(self, n)}' for n in names)})"
        )

    def _prepare(
        self, scenes: Sequence[Any], clicks: Sequence[ClicksLike] | None, owner: str
    ) -> list[Prepared]:
        return prepare_all(self, scenes, clicks, owner)

    def _networks(self, device: torch.device) -> Networks:
        return build_networks(self, device)

    def _refine(
        self, d: Prepared, clicked: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Point probabilities, propagated beliefs, the networks' confidence."""
        from pointcloud._otoc_predict import refine_scene

        return refine_scene(self, d, clicked)

    def fit(
        self,
        scenes: Sequence[Any],
        clicks: Sequence[ClicksLike] | None = None,
        *,
        resume: bool = True,
        callback: Callable[[int, OneThingOneClick], None] | None = None,
    ) -> OneThingOneClick:
        """Run the rounds on ``scenes`` with one click per object.

        Args:
            scenes (sequence of Scene): training scenes (ground-truth labels, when
                present, are used for logging and for simulated clicks only).
            clicks (sequence, optional): per scene a ``[P]`` tensor (clicked class,
                ``-1`` elsewhere), ``(point_index [K], class [K])`` or ``None`` (one
                simulated click per instance); ``None`` simulates them all.
            resume (bool): continue from ``checkpoint`` when it exists.
            callback (callable, optional): ``callback(round, self)`` after each round.

        Returns:
            OneThingOneClick: ``self``.
        """
        from pointcloud._otoc_fit import fit_rounds

        fit_rounds(self, scenes, clicks, resume=resume, callback=callback)
        return self

    def fit_supervised(self, scenes: Sequence[Any]) -> OneThingOneClick:
        """Train the same networks on every labelled point (the fully supervised
        reference), for ``epochs + (rounds - 1) * epochs_next`` passes, the budget of
        :meth:`fit`. Each point is its own super-voxel, so the relation head learns
        from points; nothing is propagated.

        Args:
            scenes (sequence of Scene): scenes with labels (``-1``: ignored).

        Returns:
            OneThingOneClick: ``self``.
        """
        from pointcloud._otoc_fit import fit_supervised

        fit_supervised(self, scenes)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "nets_"):
            raise RuntimeError(
                "This OneThingOneClick instance is not fitted yet; call fit first."
            )

    def predict(
        self, scene: Any, clicks: ClicksLike = None, *, refine: bool = True
    ) -> Tensor:
        """Class of every point ``[P]`` int64.

        Args:
            scene (Scene): the scene.
            clicks (optional): the scene's clicks (held fixed when given); ``None``
                predicts without any.
            refine (bool): fuse and propagate per super-voxel (the full pipeline);
                ``False`` returns the backbone's arg-max per point.
        """
        self._check_fitted()
        from pointcloud._otoc_predict import predict_scene

        return predict_scene(self, scene, clicks, refine)

    def score(self, scenes: Sequence[Any], *, refine: bool = True) -> float:
        """mIoU over the points of ``scenes`` (labels ``-1`` ignored), no clicks."""
        self._check_fitted()
        from pointcloud._otoc_predict import score_scenes

        return score_scenes(self, scenes, refine)

    def _say(self, text: str) -> None:
        if self.log is not None:
            self.log(text)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model (hyper-parameters, networks, prototypes, history)."""
        self._check_fitted()
        save_model(self, path)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, device: str | torch.device | None = None
    ) -> OneThingOneClick:
        """Read a model written by :meth:`save` (onto ``device``, default CPU).

        Raises:
            ValueError: naming the file when it is not such a model.
        """
        model = cls()
        load_model(model, path, device)
        return model
