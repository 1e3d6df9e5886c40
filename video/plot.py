"""Timeline plot of one video: ground-truth segments against detections (PNG, matplotlib).

Rendering uses matplotlib's object API on an Agg canvas, so it needs no display and
leaves ``matplotlib.pyplot`` and the global backend untouched.

Example:
    >>> import tempfile, torch
    >>> from video.plot import plot_timeline
    >>> gt = torch.tensor([[2.0, 6.0, 0.0]])
    >>> det = torch.tensor([[2.5, 6.5, 0.9, 0.0], [9.0, 10.0, 0.2, 1.0]])
    >>> path = plot_timeline(gt, det, tempfile.mkdtemp() + "/timeline.png", duration=12.0)
    >>> path.stat().st_size > 0
    True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from graphssl._validation import check_int, check_real, param_error

__all__ = ["plot_timeline"]


def _table(x: Tensor | None, width: int, name: str) -> Tensor:
    if x is None or (isinstance(x, Tensor) and x.numel() == 0):
        return torch.zeros(0, width, dtype=torch.float64)
    if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != width:
        got = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise param_error(name, "plot_timeline", f"a [N, {width}] tensor", got)
    return x.detach().cpu().double()


def plot_timeline(
    ground_truth: Tensor | None,
    detections: Tensor | None,
    path: str | os.PathLike[str],
    *,
    duration: float | None = None,
    class_names: Sequence[str] | None = None,
    cas: Tensor | None = None,
    snippet_rate: float = 1.0,
    title: str | None = None,
    max_detections: int = 20,
) -> Path:
    """Draw ground truth (top row) and the best detections (one row each) on a time axis.

    Args:
        ground_truth (Tensor | None): ``[S, 3]`` (start_s, end_s, class).
        detections (Tensor | None): ``[K, 4]`` (start_s, end_s, score, class); the
            ``max_detections`` highest-scoring ones are drawn, their opacity growing
            with the score.
        path (str | PathLike): PNG file to write (parent folders are created).
        duration (float | None): length of the time axis in seconds (default: the
            latest end, or the CAS length).
        class_names (Sequence[str] | None): labels of the class ids.
        cas (Tensor | None): ``[T, C]`` class activation sequence drawn below, one
            curve per class present in the ground truth or the drawn detections.
        snippet_rate (float): snippets per second of ``cas`` (default 1).
        title (str | None): figure title.
        max_detections (int): number of detection rows (default 20).

    Returns:
        Path: ``path``.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    owner = "plot_timeline"
    gt = _table(ground_truth, 3, "ground_truth")
    det = _table(detections, 4, "detections")
    top = check_int(max_detections, "max_detections", owner, 0)
    rate = check_real(snippet_rate, "snippet_rate", owner, 0.0, None, "right")
    det = det[torch.sort(det[:, 2], descending=True, stable=True).indices[:top]]
    if cas is not None and (not isinstance(cas, Tensor) or cas.dim() != 2):
        raise param_error(
            "cas", owner, "a [T, C] tensor", getattr(cas, "shape", type(cas).__name__)
        )
    ends = [
        float(gt[:, 1].max()) if len(gt) else 0.0,
        float(det[:, 1].max()) if len(det) else 0.0,
    ]
    if cas is not None:
        ends.append(cas.shape[0] / rate)
    end = (
        check_real(duration, "duration", owner, 0.0, None, "right")
        if duration is not None
        else max(max(ends), 1.0)
    )
    classes = sorted({int(c) for c in gt[:, 2].tolist() + det[:, 3].tolist()})
    cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    color = {c: cmap(i % cmap.N) for i, c in enumerate(classes)}

    def name(c: int) -> str:
        return (
            class_names[c]
            if class_names is not None and c < len(class_names)
            else f"class {c}"
        )

    rows = 1 + len(det)
    fig = Figure(figsize=(10, 1.2 + 0.28 * rows + (1.8 if cas is not None else 0)))
    FigureCanvasAgg(fig)
    axes: list[Any] = fig.subplots(
        2 if cas is not None else 1, 1, sharex=True, squeeze=False
    )[:, 0].tolist()
    ax = axes[0]
    for s, e, c in gt.tolist():
        ax.barh(0, e - s, left=s, height=0.8, color=color[int(c)], edgecolor="black")
    for r, (s, e, score, c) in enumerate(det.tolist(), start=1):
        alpha = 0.35 + 0.65 * float(torch.sigmoid(torch.tensor(score * 4.0)))
        ax.barh(r, e - s, left=s, height=0.7, color=color[int(c)], alpha=alpha)
        ax.text(e, r, f" {score:.2f}", va="center", fontsize=6)
    ax.set_yticks(
        range(rows), ["ground truth"] + [f"det {r}" for r in range(1, rows)], fontsize=7
    )
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlim(0, end)
    handles = [ax.barh(0, 0, color=color[c], label=name(c)) for c in classes]
    if handles:
        ax.legend(
            handles=handles,
            fontsize=7,
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncols=min(6, len(handles)),
            frameon=False,
        )
    if cas is not None:
        curve = cas.detach().cpu().double()
        t = (torch.arange(curve.shape[0], dtype=torch.float64) + 0.5) / rate
        for c in classes:
            if c < curve.shape[1]:
                axes[1].plot(t.numpy(), curve[:, c].numpy(), color=color[c], lw=1)
        axes[1].set_ylabel("CAS", fontsize=8)
    axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    return out
