r"""Memory bank of representative snippets per class (RSKP's inter-video knowledge).

Each class :math:`c` keeps the :math:`S` bases with the highest class-:math:`c` score
seen so far (greedy top-:math:`S`, no momentum). A video reads and writes only the
slots of its **ground-truth** classes. (Before its Sep-2022 fix the reference looked
the classes up with ``np.where(labels == 1)[0]`` on a ``[1, C]`` array, i.e. the row
index: class 0 for every video. Here the class ids are the columns of the multi-hot
label matrix.)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from graphssl._validation import check_int, param_error

__all__ = ["SnippetMemory"]


class SnippetMemory(nn.Module):
    r"""Per-class top-:math:`S` store of basis features, kept in registered buffers.

    Args:
        num_classes (int): :math:`C`.
        dim (int): feature size :math:`D`.
        slots (int): :math:`S`, slots per class. (default: ``5``)

    Buffers:
        features ``[C, S, D]``; scores ``[C, S]`` (``-inf`` marks an empty slot);
        initialized ``[]`` bool, set once the bank was first filled (after warm-up).
    """

    features: Tensor
    scores: Tensor
    initialized: Tensor

    def __init__(self, num_classes: int, dim: int, slots: int = 5) -> None:
        super().__init__()
        owner = "SnippetMemory"
        self.num_classes = check_int(num_classes, "num_classes", owner, low=1)
        self.dim = check_int(dim, "dim", owner, low=1)
        self.slots = check_int(slots, "slots", owner, low=1)
        self.register_buffer("features", torch.zeros(num_classes, slots, dim))
        self.register_buffer("scores", torch.full((num_classes, slots), -torch.inf))
        self.register_buffer("initialized", torch.tensor(False))

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, dim={self.dim}, slots={self.slots}"

    @property
    def filled(self) -> Tensor:
        """``[C]`` bool: classes with at least one stored snippet."""
        return torch.isfinite(self.scores).any(dim=1)

    def _check_labels(self, labels: Tensor, batch: int, owner: str) -> Tensor:
        if labels.dim() != 2 or labels.shape != (batch, self.num_classes):
            raise param_error(
                "labels",
                owner,
                f"a multi-hot tensor of shape [{batch}, {self.num_classes}]",
                f"shape {list(labels.shape)}",
            )
        return labels > 0

    @torch.no_grad()
    def reset(self) -> None:
        """Empty every slot (and clear ``initialized``)."""
        self.features.zero_()
        self.scores.fill_(-torch.inf)
        self.initialized.fill_(False)

    @torch.no_grad()
    def update(self, mu: Tensor, scores: Tensor, labels: Tensor) -> None:
        r"""Offer every video's bases to the slots of its ground-truth classes.

        For each class :math:`c` present in ``labels``, the :math:`S` stored slots
        and all bases of the videos labelled :math:`c` are pooled and the top
        :math:`S` by score :math:`\text{scores}[\cdot, c]` are kept. Classes absent
        from ``labels`` are not touched. Pooling a whole batch at once equals
        inserting the videos one by one (the top-:math:`S` of a union).

        Args:
            mu (Tensor): bases ``[B, K, D]``.
            scores (Tensor): class probabilities of the bases ``[B, K, C']`` with
                :math:`C' \ge C` (a trailing background column is ignored).
            labels (Tensor): multi-hot video labels ``[B, C]``.
        """
        owner = "SnippetMemory.update"
        if mu.dim() != 3 or mu.shape[-1] != self.dim:
            raise param_error(
                "mu", owner, f"a tensor of shape [B, K, {self.dim}]", list(mu.shape)
            )
        if scores.shape[:2] != mu.shape[:2] or scores.shape[-1] < self.num_classes:
            raise param_error(
                "scores",
                owner,
                f"a tensor of shape [{mu.shape[0]}, {mu.shape[1]}, >={self.num_classes}]",
                list(scores.shape),
            )
        pos = self._check_labels(labels, mu.shape[0], owner)
        b, k, d = mu.shape
        c, n = self.num_classes, self.slots
        # all classes at once: candidates = stored slots + every basis of the batch,
        # scored -inf for classes the video does not have; one top-k per class
        new_s = scores.detach()[..., :c].to(self.scores.dtype)  # [B, K, C]
        new_s = new_s.masked_fill(~pos[:, None, :], -torch.inf)
        cand_s = torch.cat([self.scores, new_s.permute(2, 0, 1).reshape(c, b * k)], 1)
        top_s, top = torch.topk(cand_s, n, dim=1)  # [C, S], sorted
        flat = mu.detach().to(self.features.dtype).reshape(b * k, d)
        cand_f = torch.cat([self.features, flat.expand(c, b * k, d)], dim=1)
        top_f = torch.gather(cand_f, 1, top[..., None].expand(c, n, d))
        top_f = torch.where(torch.isfinite(top_s)[..., None], top_f, 0.0)  # empty
        touched = pos.any(dim=0)  # classes of no video keep everything (even ties)
        self.scores.copy_(torch.where(touched[:, None], top_s, self.scores))
        self.features.copy_(torch.where(touched[:, None, None], top_f, self.features))

    def read(self, labels: Tensor) -> tuple[Tensor, Tensor]:
        r"""The stored snippets of each video's ground-truth classes.

        Args:
            labels (Tensor): multi-hot video labels ``[B, C]``.

        Returns:
            tuple: ``slots [B, P·S, D]`` (detached; :math:`P` the largest number of
            classes of one video) and ``slot_mask [B, P·S]`` bool (``False`` for
            padding and empty slots).
        """
        pos = self._check_labels(labels, labels.shape[0], "SnippetMemory.read")
        p = max(int(pos.sum(dim=1).max()) if pos.numel() else 0, 1)
        # ground-truth classes first (stable sort keeps class order), then padding
        order = torch.argsort((~pos).to(torch.int8), dim=1, stable=True)[:, :p]
        valid = torch.gather(pos, 1, order)
        feats = self.features[order].detach()  # [B, P, S, D]
        ok = valid[..., None] & torch.isfinite(self.scores[order])
        b = labels.shape[0]
        return feats.reshape(b, p * self.slots, self.dim), ok.reshape(b, -1)
