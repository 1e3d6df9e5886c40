"""Plain-Python references and inputs shared by the CoMatch tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F

B, MU, C, D = 2, 2, 3, 4
BU = MU * B


def probs(n: int, c: int, seed: int = 0) -> torch.Tensor:
    """``[n, c]`` float64 rows of a peaked softmax, seeded."""
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(n, c, generator=g, dtype=torch.float64), dim=1)


def batch(
    seed: int, scale: float = 3.0, s1_grad: bool = True
) -> dict[str, torch.Tensor]:
    """One step's logits and unit embeddings (``B`` labelled, ``MU * B`` unlabelled)."""
    g = torch.Generator().manual_seed(seed)

    def r(*s: int) -> torch.Tensor:
        return torch.randn(*s, generator=g, dtype=torch.float64)

    s1 = F.normalize(r(BU, D), dim=1)
    return {
        "logits_x": r(B, C),
        "y_x": torch.randint(C, (B,), generator=g),
        "logits_u_w": scale * r(BU, C),
        "logits_u_s0": r(BU, C).requires_grad_(),
        "feats_x": F.normalize(r(B, D), dim=1),
        "feats_u_w": F.normalize(r(BU, D), dim=1),
        "feats_u_s0": F.normalize(r(BU, D), dim=1).requires_grad_(),
        "feats_u_s1": s1.requires_grad_() if s1_grad else s1,
    }


def ring_pushes(
    size: int, d: int, c: int, chunks: Sequence[int] = (3, 3, 3, 5, 7, 1)
) -> Iterator[tuple[torch.Tensor, torch.Tensor, list[list[float] | None], int]]:
    """Random rows pushed in ``chunks`` into a plain Python ring buffer of ``size``
    rows: yields each chunk's embeddings ``[n, d]`` and probabilities ``[n, c]`` with
    the buffer (``feats + probs`` per row, ``None`` while unwritten) and the pointer
    after it."""
    ring: list[list[float] | None] = [None] * size
    ptr = 0
    for step, n in enumerate(chunks):
        f = torch.randn(n, d, dtype=torch.float64)
        p = probs(n, c, step)
        for i in range(n):
            ring[(ptr + i) % size] = f[i].tolist() + p[i].tolist()
        ptr = (ptr + n) % size
        yield f, p, ring, ptr


def aligned(
    history: list[torch.Tensor], logits: torch.Tensor, window: int
) -> torch.Tensor:
    """The reference's distribution alignment: softmax, push the batch mean into
    ``history`` (at most ``window`` kept), divide by their mean, renormalise."""
    p = torch.softmax(logits, dim=1)
    history.append(p.mean(0))
    if len(history) > window:
        history.pop(0)
    p = p / torch.stack(history).mean(0)
    return p / p.sum(1, keepdim=True)
