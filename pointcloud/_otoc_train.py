r"""Networks, one training round and inference of :class:`~pointcloud.otoc.OneThingOneClick`.

A round trains the backbone with point-wise cross-entropy on the current super-voxel
labels (copied to their points) plus the relation loss of
:class:`~pointcloud.relation.PrototypeRelation`, one scene per optimiser step:

.. math::
    \mathcal{L} = \frac{\sum_{p \in L} -w_{y_p} \log P(y_p \mid p)}{\sum_{p \in L}
    w_{y_p}}
    + \lambda\, \mathcal{L}_{\mathrm{rel}}

with :math:`L` the points whose super-voxel is labelled, :math:`w_c` class weights
(:func:`class_weights`: the inverse square root of each class's share of the labelled
points, because the room's floor and walls would otherwise swamp the loss and the
small objects that mIoU weighs equally would be learnt last) and :math:`\lambda` the
``relation_weight``. Augmentation draws a rotation about the vertical axis, a mirror image, a horizontal
shift and a scale in ``[0.9, 1.1]`` per step; the normal features
(:func:`~pointcloud.backbone.point_features`) are invariant to all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pointcloud._otoc_data import Prepared
from pointcloud.backbone import PointVoxelNet, Pyramid
from pointcloud.relation import PrototypeRelation, segment_mean

__all__ = [
    "Networks",
    "class_weights",
    "infer",
    "step_losses",
    "step_lr",
    "train_round",
]

#: Largest horizontal shift of the augmentation (m): furniture stands anywhere in a
#: room, so absolute x and y must not become a cue.
_SHIFT = 2.0


class Networks(nn.Module):
    """The backbone and the relation head, saved and moved together.

    With ``relation_backbone`` (``relation_backbone="separate"``) the relation head
    embeds that second network's point features, so the relation loss never reaches
    the segmentation backbone (the paper's code trains two networks); without it the
    head shares ``backbone``'s features.
    """

    def __init__(
        self,
        backbone: PointVoxelNet,
        relation: PrototypeRelation,
        relation_backbone: PointVoxelNet | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.relation = relation
        self.relation_backbone = relation_backbone

    def relation_features(self, x: Tensor, pyramid: Pyramid, feats: Tensor) -> Tensor:
        """Point features ``[P, F]`` the relation head embeds: ``feats`` (the
        backbone's) when shared, else the relation backbone's on ``x``."""
        if self.relation_backbone is None:
            return feats
        out: tuple[Tensor, Tensor] = self.relation_backbone(x, pyramid)
        return out[1]


def _augment(x: Tensor, g: torch.Generator) -> Tensor:
    """Random rotation about z, mirror, horizontal shift and scale of the positions."""
    angle, flip, sx, sy, scale = torch.rand(5, generator=g).tolist()
    c, s = math.cos(2 * math.pi * angle), math.sin(2 * math.pi * angle)
    rot = torch.tensor([[c, -s], [s, c]], dtype=x.dtype, device=x.device)
    if flip < 0.5:
        rot[:, 0] = -rot[:, 0]
    shift = torch.tensor([sx, sy], dtype=x.dtype, device=x.device) * 2 * _SHIFT - _SHIFT
    scale = 0.9 + 0.2 * scale
    x = x.clone()
    x[:, :2] = (x[:, :2] @ rot.T + shift) * scale
    x[:, 2] = x[:, 2] * scale
    return x


def class_weights(
    data: Sequence[Prepared], labels: Sequence[Tensor], c: int, power: float = 0.5
) -> Tensor:
    r"""Loss weights :math:`w_c \propto (n / n_c)^{a}` (``a = power``) from the
    labelled points, scaled to mean one over the classes that have labels (others
    get 0)."""
    count = torch.zeros(c, dtype=torch.float64, device=labels[0].device)
    for d, lab in zip(data, labels, strict=True):
        pl = lab[d.segments]
        count += torch.bincount(pl[pl >= 0], minlength=c).double()
    present = count > 0
    if not bool(present.any()):
        return torch.ones(c, device=count.device)
    w = torch.where(present, (count.sum() / count.clamp(min=1)) ** power, 0.0)
    return (w / w[present].mean()).float()


def step_lr(lr: float, step: int, total: int, cosine: bool) -> float:
    r"""Learning rate of optimiser step ``step`` (from 0) of ``total``: ``lr``, or with
    ``cosine`` :math:`\tfrac{lr}{2}(1 + \cos(\pi\, step / total))`."""
    return lr * 0.5 * (1 + math.cos(math.pi * step / total)) if cosine else lr


def step_losses(
    nets: Networks,
    d: Prepared,
    x: Tensor,
    lab: Tensor,
    weight: Tensor,
    relation_weight: float,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """Weighted cross-entropy of the backbone and the unweighted relation loss
    (a zero tensor when ``relation_weight`` is 0) on positions ``x`` of scene ``d``."""
    logits, feats = nets.backbone(x, d.pyramid)
    ce = F.cross_entropy(logits, lab[d.segments], weight=weight, ignore_index=-1)
    if relation_weight <= 0:
        return ce, ce.new_zeros(())
    rf = nets.relation_features(x, d.pyramid, feats)
    emb = nets.relation.embed(rf, d.segments, d.num_segments)
    return ce, nets.relation.loss(emb, lab, generator)


def train_round(
    nets: Networks,
    data: Sequence[Prepared],
    labels: Sequence[Tensor],
    *,
    epochs: int,
    lr: float,
    weight_decay: float,
    relation_weight: float,
    generator: torch.Generator,
    step: Callable[[float], None] | None = None,
    cosine: bool = False,
    class_weight_power: float = 0.5,
) -> float:
    """Train ``nets`` in place for ``epochs`` passes over the scenes.

    Args:
        nets (Networks): backbone and relation head.
        data (sequence of Prepared): the scenes.
        labels (sequence of Tensor): ``[S_i]`` super-voxel labels per scene, ``-1``
            unlabelled; scenes without any label are skipped.
        epochs, lr, weight_decay, relation_weight: see
            :class:`~pointcloud.otoc.OneThingOneClick`.
        generator (torch.Generator): CPU generator of scene order, augmentation and
            the relation sampling.
        step (callable, optional): called with the loss after every step.
        class_weight_power (float): exponent of :func:`class_weights`.
        cosine (bool): anneal the learning rate from ``lr`` to 0 over the round
            (half a cosine, per step); constant otherwise.

    Returns:
        float: mean loss of the last epoch.
    """
    nets.train()
    opt = torch.optim.Adam(nets.parameters(), lr=lr, weight_decay=weight_decay)
    usable = [i for i, lab in enumerate(labels) if bool((lab >= 0).any())]
    weight = class_weights(
        data, labels, nets.backbone.num_classes, class_weight_power
    ).to(data[0].x.dtype)
    last, total_steps, done = 0.0, max(epochs * len(usable), 1), 0
    for _ in range(epochs):
        total = 0.0
        for j in torch.randperm(len(usable), generator=generator).tolist():
            d, lab = data[usable[j]], labels[usable[j]]
            x = _augment(d.x, generator)
            ce, rel = step_losses(nets, d, x, lab, weight, relation_weight, generator)
            loss = ce + relation_weight * rel
            for group in opt.param_groups:
                group["lr"] = step_lr(lr, done, total_steps, cosine)
            done += 1
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            total += float(loss.detach())
            if step is not None:
                step(float(loss.detach()))
        last = total / max(len(usable), 1)
    return last


@torch.no_grad()
def infer(nets: Networks, d: Prepared) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Predictions of the networks on one scene (no augmentation).

    Returns:
        tuple: ``point_proba [P, C]`` backbone softmax; ``unary [S, C]`` its mean per
        super-voxel (:math:`U`); ``relation [S, C]`` relation probabilities
        (:math:`U'`); ``features [S, F]`` mean backbone feature per super-voxel.
    """
    nets.eval()
    logits, feats = nets.backbone(d.x, d.pyramid)
    proba = torch.softmax(logits, 1)
    unary = segment_mean(proba, d.segments, d.num_segments)
    sv_feats = segment_mean(feats, d.segments, d.num_segments)
    rf = nets.relation_features(d.x, d.pyramid, feats)
    emb = nets.relation.embed(rf, d.segments, d.num_segments)
    return proba, unary, nets.relation.proba(emb), sv_feats
