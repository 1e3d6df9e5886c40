r"""The CoMatch network: any encoder, a linear classifier and an L2-normalised projection."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from graphssl._validation import check_int, param_error

__all__ = ["CoMatchNet", "ProjectionHead"]


class ProjectionHead(nn.Module):
    r"""Linear → LeakyReLU(0.1) → Linear → L2-normalise, as the reference WideResNet.

    .. math::
        z = \frac{W_2\,\mathrm{LeakyReLU}_{0.1}(W_1 h + b_1) + b_2}
        {\lVert W_2\,\mathrm{LeakyReLU}_{0.1}(W_1 h + b_1) + b_2 \rVert_2}

    where :math:`h` are the encoder's features ``[n, F]`` and :math:`z` the unit
    embeddings ``[n, D]``.

    Args:
        in_dim (int): :math:`F`.
        out_dim (int): :math:`D`. (default: ``64``)
        hidden (int, optional): width of :math:`W_1`; default :math:`F`.
    """

    def __init__(
        self, in_dim: int, out_dim: int = 64, hidden: int | None = None
    ) -> None:
        super().__init__()
        o = "ProjectionHead"
        in_dim = check_int(in_dim, "in_dim", o, low=1)
        out_dim = check_int(out_dim, "out_dim", o, low=1)
        h = in_dim if hidden is None else check_int(hidden, "hidden", o, low=1)
        self.fc1 = nn.Linear(in_dim, h)
        self.act = nn.LeakyReLU(0.1)
        self.fc2 = nn.Linear(h, out_dim)

    def forward(self, h: Tensor) -> Tensor:
        """Unit embeddings ``[n, D]``."""
        return F.normalize(self.fc2(self.act(self.fc1(h))), dim=1)


class CoMatchNet(nn.Module):
    """``encoder`` followed by a classifier and a :class:`ProjectionHead`.

    Args:
        encoder (nn.Module): maps the inputs (a batch ``[n, ...]``, or
            ``(x, edge_index)`` for a graph) to features ``[n, F]``.
        feature_dim (int): :math:`F`.
        num_classes (int): :math:`C`.
        proj_dim (int): embedding size :math:`D`. (default: ``64``)

    Returns (forward):
        tuple: logits ``[n, C]`` and unit embeddings ``[n, D]``.
    """

    def __init__(
        self, encoder: nn.Module, feature_dim: int, num_classes: int, proj_dim: int = 64
    ) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise param_error(
                "encoder",
                "CoMatchNet",
                "an nn.Module",
                type(encoder).__name__,
                TypeError,
            )
        self.encoder = encoder
        self.classifier = nn.Linear(
            check_int(feature_dim, "feature_dim", "CoMatchNet", low=1), num_classes
        )
        self.head = ProjectionHead(feature_dim, proj_dim)

    def forward(self, *inputs: Any) -> tuple[Tensor, Tensor]:
        """Logits ``[n, C]`` and embeddings ``[n, D]``."""
        h = self.encoder(*inputs)
        if not isinstance(h, Tensor) or h.dim() != 2:
            got = list(h.shape) if isinstance(h, Tensor) else type(h).__name__
            raise param_error("encoder", "CoMatchNet", "returning features [n, F]", got)
        return self.classifier(h), self.head(h)
