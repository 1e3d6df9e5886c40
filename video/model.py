r"""RSKP model: embedding, EM bases, propagated branches and the prediction module.

Huang, Wang, Li, "Weakly Supervised Temporal Action Localization via Representative
Snippet Knowledge Propagation", CVPR 2022 (reference code ``LeonHLJ/RSKP``). Three
branches share one :class:`PredictionModule`:

* **main** (``o``): the embedded snippet features :math:`x`;
* **intra-video** (``m``): :math:`\tilde x = \text{random\_walk}(x, \mu)` with the
  video's own EM bases :math:`\mu`;
* **inter-video** (``r``, after warm-up): the random walk towards the representative
  snippets of the video's ground-truth classes stored in :class:`SnippetMemory`.

Batches are zero-padded ``[B, T, D]`` with ``mask [B, T]`` (``True`` = real snippet).
The forward pass computes the three branches together (:mod:`video._fused`: shared
products with :math:`x`, propagated features in factored form); it equals the plain
composition of :func:`~video.em_bases.em_bases`, :func:`~video.random_walk.random_walk`
and :class:`PredictionModule`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphssl._validation import check_in, check_int, check_real
from video._dropout import masked_dropout
from video._fused import fused_branches
from video.batching import check_video_batch
from video.em_bases import inverse_norm, l2_normalize
from video.memory import SnippetMemory
from video.random_walk import walk_prepared

__all__ = ["VARIANTS", "BranchOutput", "PredictionModule", "RSKPModel", "RSKPOutput"]

#: ``'main'``: main branch only; ``'intra'``: + intra-video random walk;
#: ``'full'``: + inter-video memory (the paper's method).
VARIANTS = ("main", "intra", "full")


@dataclass(frozen=True)
class BranchOutput:
    """Predictions of one branch (``C`` classes plus the background column ``C``).

    Attributes:
        ca_logits: ``[B, C+1]`` video logits pooled with class-agnostic attention.
        cw_logits: ``[B, C+1]`` video logits pooled with class-wise attention.
        attention: ``[B, T]`` class-agnostic attention in ``(0, 1)`` (0 on padding).
        cas: ``[B, T, C+1]`` class activation sequence (scaled cosines, pre-softmax).
    """

    ca_logits: Tensor
    cw_logits: Tensor
    attention: Tensor
    cas: Tensor


@dataclass(frozen=True)
class RSKPOutput:
    """Output of :meth:`RSKPModel.forward`.

    Attributes:
        main: the main branch on the embedded features.
        intra: the intra-video propagated branch (``None`` for variant ``'main'``).
        x: embedded features ``[B, T, D]``; mask ``[B, T]``.
        mu: EM bases ``[B, K, D]``; mu_probs ``[B, K, C+1]`` their class softmax.
        inv_norm: ``[B, T]`` inverse norms of ``x``; mask_f: ``mask`` as floats
            (kept for :meth:`RSKPModel.inter_branch`).
        inter: the inter-video branch when labels were passed to
            :meth:`RSKPModel.forward_checked`; has_memory ``[B]`` its valid videos.
    """

    main: BranchOutput
    intra: BranchOutput | None
    x: Tensor
    mask: Tensor
    mu: Tensor
    mu_probs: Tensor
    inv_norm: Tensor
    mask_f: Tensor
    inter: BranchOutput | None = None
    has_memory: Tensor | None = None


class PredictionModule(nn.Module):
    r"""Cosine classifier with a background class and two attentions.

    .. math::
        a_t = \sigma\big(s\cos(x_t, c_{fg})\big),\quad
        \text{CAS}_{tk} = s\cos(x_t, c_k),\quad
        v^{ca} = \frac{\sum_t a_t x_t}{\sum_t a_t},\quad
        v^{cw}_k = \frac{\sum_t \sigma(\text{CAS}_{tk}) x_t}{\sum_t \sigma(\text{CAS}_{tk})}

    with class centres :math:`c_0..c_C` (:math:`c_C` = background), a foreground
    centre :math:`c_{fg}` initialised to :math:`-c_C`, and scale :math:`s`. Video
    logits: :math:`s\cos(v^{ca}, c_k)` and :math:`s\cos(v^{cw}_k, c_k)`.

    Args:
        dim (int): feature size :math:`D`.
        num_classes (int): :math:`C` (the background centre is added).
        scale (float): :math:`s`. (default: ``20.0``)
    """

    def __init__(self, dim: int, num_classes: int, scale: float = 20.0) -> None:
        super().__init__()
        self.scale = scale
        centres = torch.empty(num_classes + 1, dim)
        nn.init.xavier_uniform_(centres)
        self.class_centres = nn.Parameter(centres)
        self.fg_centre = nn.Parameter(-centres[-1:].clone())

    def centres(self) -> Tensor:
        """``[C+2, D]`` unit class centres (background last) then the foreground one."""
        return torch.cat(
            [l2_normalize(self.class_centres), l2_normalize(self.fg_centre)]
        )

    def head(
        self, proj: Tensor, inv_norm: Tensor, mask_f: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Snippet scores and attentions from ``proj = centres() · xᵀ [B, C+2, T]``.

        Cosines divide the projected scores by the snippet norms (``inv_norm
        [B, T]``) instead of normalising the ``[T, D]`` features. Everything is
        channels-first ``[B, C+2, T]``: reductions and softmaxes over a short last
        axis are many times slower on CPU than over the class axis. Returns
        ``scores`` and ``att`` (0 on padding) and the pooling weights ``att / Σ_t att``.
        """
        scores = proj * (inv_norm * (mask_f * self.scale))[:, None, :]
        att = torch.sigmoid(scores) * mask_f[:, None, :]
        return scores, att, att / (att.sum(2, keepdim=True) + 1e-5)

    def video(
        self, scores: Tensor, att: Tensor, pooled: Tensor, centres: Tensor
    ) -> BranchOutput:
        """Video logits from the attention-pooled features ``pooled [B, C+2, D]``."""
        pooled = l2_normalize(pooled)
        cn = centres[:-1]
        ca = torch.matmul(pooled[:, -1], cn.T) * self.scale
        cw = (pooled[:, :-1] * cn).sum(-1) * self.scale
        # the CAS is returned as a [B, T, C+1] view of the channels-first scores
        return BranchOutput(ca, cw, att[:, -1], scores[:, :-1].transpose(1, 2))

    def forward(
        self, x: Tensor, mask: Tensor, inv_norm: Tensor | None = None
    ) -> BranchOutput:
        """``x [B, T, D]``, ``mask [B, T]`` → :class:`BranchOutput`.

        ``inv_norm [B, T]`` (:func:`~video.em_bases.inverse_norm` of ``x``) may be
        passed when already known.
        """
        # one [C+2, D] x [D, T] product for the C+1 class scores and the foreground
        # score, and one pooling product for the C+1 class-wise and the class-agnostic
        # attention (the same maths as separate einsums, a fraction of the passes)
        centres = self.centres()
        inv = inverse_norm(x) if inv_norm is None else inv_norm
        scores, att, weights = self.head(
            torch.matmul(centres, x.transpose(1, 2)), inv, mask.to(x.dtype)
        )
        return self.video(scores, att, torch.bmm(weights, x), centres)


class RSKPModel(nn.Module):
    r"""The RSKP network (defaults of the reference's ``options.py``).

    Args:
        in_dim (int): input feature size (2048 for I3D RGB+flow).
        num_classes (int): :math:`C`.
        dim (int): embedding size :math:`D`. (default: ``2048``)
        num_bases (int): EM bases :math:`K`. (default: ``8``)
        em_iter (int): EM iterations. (default: ``2``)
        w (float): random-walk weight. (default: ``0.5``)
        assign_scale (float): cosine temperature of the snippet-to-basis assignment
            in EM and the random walks. (default: ``5.0``)
        scale (float): cosine scale of the classifier. (default: ``20.0``)
        dropout (float): dropout after the embedding. (default: ``0.6``)
        memory_slots (int): representative snippets per class. (default: ``5``)
        variant (str): ``'main'``, ``'intra'`` or ``'full'``. (default: ``'full'``)
    """

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        *,
        dim: int = 2048,
        num_bases: int = 8,
        em_iter: int = 2,
        w: float = 0.5,
        assign_scale: float = 5.0,
        scale: float = 20.0,
        dropout: float = 0.6,
        memory_slots: int = 5,
        variant: str = "full",
    ) -> None:
        super().__init__()
        owner = "RSKPModel"
        self.in_dim = check_int(in_dim, "in_dim", owner, low=1)
        self.num_classes = check_int(num_classes, "num_classes", owner, low=1)
        dim = check_int(dim, "dim", owner, low=1)
        self.em_iter = check_int(em_iter, "em_iter", owner, low=1)
        self.w = check_real(w, "w", owner, low=0.0, high=1.0, closed="left")
        scale = check_real(scale, "scale", owner, low=0.0, closed="neither")
        self.assign_scale = check_real(
            assign_scale, "assign_scale", owner, low=0.0, closed="neither"
        )
        dropout = check_real(
            dropout, "dropout", owner, low=0.0, high=1.0, closed="left"
        )
        self.variant = check_in(variant, "variant", owner, VARIANTS)
        linear = nn.Linear(in_dim, dim)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        self.embedding = nn.Sequential(linear, nn.ReLU(), nn.Dropout(dropout))
        mu0 = torch.empty(check_int(num_bases, "num_bases", owner, low=1), dim)
        nn.init.xavier_uniform_(mu0)
        self.mu0 = nn.Parameter(mu0)
        self.predictor = PredictionModule(dim, num_classes, scale)
        memory_slots = check_int(memory_slots, "memory_slots", owner, low=1)
        self.memory = SnippetMemory(num_classes, dim, memory_slots)
        #: constructor arguments, stored in checkpoints to rebuild the model
        self.hparams: dict[str, int | float | str] = {
            "in_dim": in_dim,
            "num_classes": num_classes,
            "dim": dim,
            "num_bases": num_bases,
            "em_iter": em_iter,
            "w": self.w,
            "assign_scale": self.assign_scale,
            "scale": scale,
            "dropout": dropout,
            "memory_slots": memory_slots,
            "variant": variant,
        }

    def extra_repr(self) -> str:
        return f"variant={self.variant!r}, w={self.w}, em_iter={self.em_iter}"

    def forward(self, features: Tensor, mask: Tensor | None = None) -> RSKPOutput:
        """Main and intra-video branches for ``features [B, T, D_in]`` (or ``[T, D_in]``)."""
        features, mask = check_video_batch(
            features, mask, self.in_dim, "RSKPModel", self.mu0.dtype
        )
        return self.forward_checked(features, mask)

    def forward_checked(
        self, features: Tensor, mask: Tensor, memory_labels: Tensor | None = None
    ) -> RSKPOutput:
        """:meth:`forward` without input checks (``[B, T, D_in]``, bool ``[B, T]``).

        For loops over data validated once up front (training). With
        ``memory_labels [B, C]`` the inter-video branch is computed too (its products
        with ``x`` shared with the intra-video branch, see :mod:`video._fused`).
        """
        linear, drop = self.embedding[0], self.embedding[2]
        if not isinstance(drop, nn.Dropout):  # only if someone replaced the embedding
            raise TypeError(f"RSKPModel.embedding[2] must be nn.Dropout, got {drop!r}")
        mask_f = mask.to(features.dtype)
        h = torch.relu(linear(features))
        x = masked_dropout(h, mask_f, drop.p, self.training)
        slots = slot_mask = None
        if memory_labels is not None and self.variant == "full":
            slots, slot_mask = self.memory.read(memory_labels)
        main, intra, inter, inv, mu = fused_branches(
            x,
            mask,
            mask_f,
            self.mu0,
            self.predictor,
            em_iter=self.em_iter,
            w=self.w,
            assign_scale=self.assign_scale,
            walk=self.variant != "main",
            slots=slots,
            slot_mask=slot_mask,
        )
        cn = l2_normalize(self.predictor.class_centres)
        mu_logits = torch.bmm(l2_normalize(mu), cn.T.expand(mu.shape[0], -1, -1))
        mu_probs = F.softmax(mu_logits * self.predictor.scale, dim=-1)
        has_memory = None if slot_mask is None else slot_mask.any(dim=1)
        return RSKPOutput(
            main, intra, x, mask, mu, mu_probs, inv, mask_f, inter, has_memory
        )

    def inter_branch(
        self, out: RSKPOutput, labels: Tensor
    ) -> tuple[BranchOutput, Tensor]:
        """The inter-video branch: walk towards the memory slots of the GT classes.

        Returns the branch output and ``has_memory [B]`` (videos none of whose
        classes has a stored snippet get the plain :math:`(1-w)x` walk and should be
        left out of the losses).
        """
        slots, slot_mask = self.memory.read(labels)
        x_r = walk_prepared(
            out.x, out.inv_norm, slots, self.w, self.assign_scale, out.mask_f, slot_mask
        )
        return self.predictor(x_r, out.mask), slot_mask.any(dim=1)
