r"""Relation network of One Thing One Click: super-voxel embeddings against class prototypes.

Liu, Qi and Fu, "One Thing One Click: A Self-Training Approach for Weakly Supervised
3D Semantic Segmentation", CVPR 2021 (https://arxiv.org/abs/2104.02246). A super-voxel
:math:`s` gets the embedding :math:`f_s`, the mean of its points' features mapped by a
small MLP and L2-normalised; every class :math:`c` keeps a prototype :math:`k_c`, an
exponential moving average of the mean embedding of that class's labelled
super-voxels; the relation score of :math:`s` is a softmax over cosine similarities:

.. math::
    k_c \leftarrow m\,k_c + (1 - m)\,\frac{1}{|B_c|}\sum_{s \in B_c} f_s, \qquad
    P'(c \mid s) = \operatorname{softmax}_c\!\big(f_s^\top \hat k_c / \tau\big)

with :math:`B_c` up to ``max_per_class`` labelled super-voxels of class :math:`c`
sampled in the current step, :math:`m` the momentum (0.9 in the paper's code; the
first batch of a class initialises its prototype), :math:`\hat k_c = k_c/\|k_c\|` and
:math:`\tau` the temperature (0.07). Training minimises the cross-entropy of
:math:`P'` on the sampled super-voxels. Unlike the CVPR code, which trains a second
sparse U-Net for the embeddings, this head sits on the backbone's point features and
is trained jointly with it (the layout of the authors' 2022 re-implementation), which
halves the CPU cost. Classes whose prototype was never initialised get probability 0.

Example:
    >>> import torch
    >>> from pointcloud.relation import PrototypeRelation
    >>> rel = PrototypeRelation(in_channels=8, num_classes=3)
    >>> feats, segments = torch.randn(100, 8), torch.arange(100) % 10
    >>> emb = rel.embed(feats, segments, 10)
    >>> labels = torch.tensor([0, 1, 2, -1, -1, -1, -1, -1, -1, -1])
    >>> loss = rel.loss(emb, labels)
    >>> rel.proba(emb).shape
    torch.Size([10, 3])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphssl._validation import check_int, check_real, param_error

__all__ = ["PrototypeRelation", "segment_mean"]


def segment_mean(values: Tensor, segments: Tensor, num_segments: int) -> Tensor:
    """Mean of ``values [P, F]`` over each segment of ``segments [P]``: ``[S, F]``.

    Empty segments get zeros.
    """
    out = values.new_zeros(num_segments, values.shape[1])
    out.index_add_(0, segments, values)
    count = values.new_zeros(num_segments).index_add_(
        0, segments, values.new_ones(segments.shape[0])
    )
    return out / count.clamp(min=1)[:, None]


class PrototypeRelation(nn.Module):
    """Super-voxel embeddings, EMA class prototypes and the relation softmax.

    Args:
        in_channels (int): point feature width ``F`` of the backbone.
        num_classes (int): classes ``C``.
        embed_dim (int, optional): embedding width ``D``. (default: ``32``)
        momentum (float, optional): EMA momentum ``m`` of the prototypes, in
            ``[0, 1)``. (default: ``0.9``)
        temperature (float, optional): ``τ`` of the softmax. (default: ``0.07``)
        max_per_class (int, optional): labelled super-voxels per class used per step
            (sampled without replacement). (default: ``10``)

    Buffers:
        prototypes (Tensor): ``[C, D]`` class prototypes.
        initialized (Tensor): ``[C]`` bool, whether a class has a prototype yet.
    """

    prototypes: Tensor
    initialized: Tensor

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        embed_dim: int = 32,
        momentum: float = 0.9,
        temperature: float = 0.07,
        max_per_class: int = 10,
    ) -> None:
        super().__init__()
        owner = "PrototypeRelation"
        self.in_channels = check_int(in_channels, "in_channels", owner, low=1)
        self.num_classes = check_int(num_classes, "num_classes", owner, low=1)
        self.embed_dim = check_int(embed_dim, "embed_dim", owner, low=1)
        self.momentum = check_real(momentum, "momentum", owner, 0.0, 1.0, "left")
        self.temperature = check_real(
            temperature, "temperature", owner, 0.0, None, "neither"
        )
        self.max_per_class = check_int(max_per_class, "max_per_class", owner, low=1)
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, embed_dim),
            nn.ReLU(),
            nn.Linear(embed_dim, embed_dim),
        )
        self.register_buffer("prototypes", torch.zeros(num_classes, embed_dim))
        self.register_buffer("initialized", torch.zeros(num_classes, dtype=torch.bool))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(in_channels={self.in_channels}, "
            f"num_classes={self.num_classes}, embed_dim={self.embed_dim}, "
            f"momentum={self.momentum}, temperature={self.temperature}, "
            f"max_per_class={self.max_per_class})"
        )

    def embed(self, features: Tensor, segments: Tensor, num_segments: int) -> Tensor:
        """Unit-norm super-voxel embeddings ``[S, D]`` from point features ``[P, F]``."""
        pooled = segment_mean(features, segments, num_segments)
        return F.normalize(self.mlp(pooled), dim=1)

    def logits(self, emb: Tensor) -> Tensor:
        r"""``[S, C]`` scores :math:`f_s^\top \hat k_c / \tau`; ``-inf`` for classes
        without a prototype."""
        k = F.normalize(self.prototypes, dim=1).to(emb.dtype)
        out = emb @ k.T / self.temperature
        return out.masked_fill(~self.initialized, float("-inf"))

    def proba(self, emb: Tensor) -> Tensor:
        """Relation probabilities ``[S, C]``; uniform when no prototype exists yet."""
        if not bool(self.initialized.any()):
            return emb.new_full((emb.shape[0], self.num_classes), 1 / self.num_classes)
        return torch.softmax(self.logits(emb), 1)

    def sample(
        self, labels: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """Indices of up to ``max_per_class`` labelled entries of each class."""
        picked = []
        for c in torch.unique(labels[labels >= 0]).tolist():
            idx = torch.nonzero(labels == c).squeeze(1)
            if idx.numel() > self.max_per_class:
                perm = torch.randperm(idx.numel(), generator=generator)
                idx = idx[perm[: self.max_per_class].to(idx.device)]
            picked.append(idx)
        if not picked:
            return labels.new_zeros(0)
        return torch.cat(picked)

    @torch.no_grad()
    def update_prototypes(self, emb: Tensor, labels: Tensor) -> None:
        """EMA step of the prototypes from embeddings ``[S, D]`` and labels ``[S]``
        (``-1`` ignored)."""
        if emb.shape[0] != labels.shape[0]:
            raise param_error(
                "labels", "PrototypeRelation.update_prototypes",
                f"a tensor of length {emb.shape[0]}", labels.shape[0],
            )  # fmt: skip
        keep = labels >= 0
        if not bool(keep.any()):
            return
        lab, e = labels[keep], emb[keep].detach().to(self.prototypes.dtype)
        sums = torch.zeros_like(self.prototypes).index_add_(0, lab, e)
        count = torch.bincount(lab, minlength=self.num_classes)
        present = count > 0
        mean = sums / count.clamp(min=1)[:, None].to(sums.dtype)
        m = self.momentum
        ema = torch.where(
            self.initialized[:, None], m * self.prototypes + (1 - m) * mean, mean
        )
        self.prototypes.copy_(torch.where(present[:, None], ema, self.prototypes))
        self.initialized |= present

    def loss(
        self, emb: Tensor, labels: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """Sample, update the prototypes, and return the relation cross-entropy.

        Args:
            emb (Tensor): ``[S, D]`` embeddings from :meth:`embed`.
            labels (Tensor): ``[S]`` int64 super-voxel labels, ``-1`` unlabelled.
            generator (torch.Generator, optional): seeds the sampling.

        Returns:
            Tensor: scalar loss (``0`` when nothing is labelled).
        """
        idx = self.sample(labels, generator)
        if idx.numel() == 0:
            return emb.sum() * 0.0
        self.update_prototypes(emb[idx], labels[idx])
        return F.cross_entropy(self.logits(emb[idx]), labels[idx])
