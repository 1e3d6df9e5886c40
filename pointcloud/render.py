"""Side-by-side 3-D scatter views of a point cloud, written to a PNG with matplotlib.

Rendering uses matplotlib's object API on an Agg canvas, so it needs no display and
leaves ``matplotlib.pyplot`` and the global backend untouched.

Example:
    >>> import tempfile, torch
    >>> from pointcloud.render import palette, render_views
    >>> points = torch.rand(1000, 3)
    >>> labels = (points[:, 0] > 0.5).long()
    >>> path = tempfile.mkdtemp() + "/views.png"
    >>> render_views(points, [("labels", labels), ("colours", points)], path,
    ...              palette(2), class_names=["left", "right"])
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from graphssl._validation import check_float_tensor, check_int, param_error

__all__ = ["facing_camera", "palette", "render_views"]

_UNLABELLED = (0.82, 0.82, 0.82)  # light grey for -1
_SPARSE = 0.02  # a class panel with fewer labelled points than this is drawn as clicks
# Square markers without edges draw fastest; depth shading would darken class colours.
_DOTS: dict[str, Any] = {"marker": "s", "linewidths": 0, "depthshade": False}


def palette(num_classes: int) -> Tensor:
    """Distinct display colours ``[C, 3]`` float32 in ``[0, 1]`` (tab10 or tab20)."""
    from matplotlib import colormaps

    c = check_int(num_classes, "num_classes", "palette", low=1)
    cmap = colormaps["tab10" if c <= 10 else "tab20"]
    n = 10 if c <= 10 else 20
    return torch.tensor([cmap(i % n)[:3] for i in range(c)], dtype=torch.float32)


def facing_camera(
    points: Tensor, groups: Tensor, candidates: Tensor, azim: float = -60.0
) -> Tensor:
    """Points of candidate groups that stand between the scene centre and the camera.

    Used to drop the two walls nearest to the viewer, which would otherwise hide the
    inside of a room in an oblique view.

    Args:
        points (Tensor): ``[P, 3]`` coordinates.
        groups (Tensor): ``[P]`` integer group ids (for example instances).
        candidates (Tensor): ``[P]`` bool, the points whose groups may be hidden.
        azim (float, optional): camera azimuth in degrees, as in :func:`render_views`.
            (default: ``-60.0``)

    Returns:
        Tensor: ``[P]`` bool mask of the points to hide.
    """
    xy = points[:, :2].double()
    centre = (xy.min(0).values + xy.max(0).values) / 2
    eye = torch.tensor([math.cos(math.radians(azim)), math.sin(math.radians(azim))])
    out = torch.zeros(points.shape[0], dtype=torch.bool, device=points.device)
    for g in torch.unique(groups[candidates]).tolist():
        sel = candidates & (groups == g)
        if float((xy[sel].mean(0) - centre).cpu() @ eye.double()) > 0:
            out |= sel
    return out


def _colors(values: Tensor, class_colors: NDArray[Any], owner: str) -> NDArray[Any]:
    """RGB ``[n, 3]`` for class ids (``-1`` grey) or pass RGB values through."""
    if values.dim() == 2:
        return values.detach().cpu().double().clamp(0, 1).numpy()
    ids = values.detach().cpu().long().numpy()
    if ids.size and int(ids.max()) >= len(class_colors):
        allowed = f"class ids below {len(class_colors)} (rows of class_colors)"
        raise param_error("panels", owner, allowed, int(ids.max()))
    table: NDArray[Any] = np.vstack([class_colors, _UNLABELLED])
    rgb: NDArray[Any] = table[ids]  # index -1 picks the last row: grey
    return rgb


def _scatter(
    ax: Any, xyz: NDArray[Any], idx: Tensor, keep: Tensor, values: Tensor,
    rgb: NDArray[Any], size: float,
) -> None:  # fmt: skip
    """Draw one panel: the subset ``idx``, or big markers when few points are labelled."""
    sparse = values.dim() == 1 and bool(
        (values.cpu()[keep] >= 0).float().mean() < _SPARSE
    )
    if not sparse:
        ax.scatter(*xyz[idx].T, c=rgb[idx], s=size, **_DOTS)
        return
    ax.scatter(*xyz[idx].T, c=[_UNLABELLED], s=size, **_DOTS)
    hit = torch.nonzero((values.cpu() >= 0) & keep).squeeze(1).numpy()
    ax.scatter(*xyz[hit].T, c=rgb[hit], s=45, edgecolors="black", linewidths=0.7)


def render_views(
    points: Tensor,
    panels: Sequence[tuple[str, Tensor]],
    path: str | os.PathLike[str],
    class_colors: Tensor,
    *,
    class_names: Sequence[str] | None = None,
    hide: Tensor | None = None,
    max_points: int = 60_000,
    elev: float = 55.0,
    azim: float = -60.0,
    seed: int = 0,
) -> None:
    """Draw one 3-D scatter panel per entry of ``panels`` and save them as a PNG.

    Args:
        points (Tensor): ``[P, 3]`` coordinates.
        panels (sequence of (str, Tensor)): a title and either ``[P]`` integer class
            ids (``-1`` drawn light grey) or ``[P, 3]`` RGB in ``[0, 1]``. A class
            panel in which fewer than 2% of the points are labelled shows them as
            big markers on the grey cloud (clicks).
        path (str or PathLike): PNG file to write.
        class_colors (Tensor): ``[C, 3]`` RGB in ``[0, 1]`` of each class.
        class_names (sequence of str, optional): class names; a legend lists those
            that appear in a class panel.
        hide (Tensor, optional): ``[P]`` bool, points left out of every panel.
        max_points (int, optional): draw a random subset of at most this many points
            (clicks are always drawn). (default: ``60_000``)
        elev (float, optional): camera elevation in degrees. (default: ``55.0``)
        azim (float, optional): camera azimuth in degrees. (default: ``-60.0``)
        seed (int, optional): seed of the subset. (default: ``0``)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    owner = "render_views"
    points = check_float_tensor(points, "points", owner, ndim=2)
    max_points = check_int(max_points, "max_points", owner, low=1)
    n = points.shape[0]
    for title, values in panels:
        if not isinstance(values, Tensor) or values.shape[0] != n or values.dim() > 2:
            raise param_error(
                "panels", owner, f"([P]|[P, 3]) tensors with P={n}", title
            )
    cc = class_colors.detach().cpu().double().numpy()
    keep = torch.ones(n, dtype=torch.bool) if hide is None else ~hide.cpu()
    idx = torch.nonzero(keep).squeeze(1)
    gen = torch.Generator().manual_seed(seed)
    if idx.numel() > max_points:  # one subset shared by all panels
        idx = idx[torch.randperm(idx.numel(), generator=gen)[:max_points]].sort().values
    xyz = points.detach().cpu().double().numpy()
    size = min(4.0, 1.2 * (60_000 / max(idx.numel(), 1)) ** 0.5)

    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(5.2 * ncols, 4.4 * nrows + (0.5 if class_names else 0)))
    FigureCanvasAgg(fig)
    lo, hi = xyz[idx].min(0), xyz[idx].max(0)
    for k, (title, values) in enumerate(panels):
        # Draw in call order (clicks over the cloud), not sorted by depth.
        ax: Any = fig.add_subplot(
            nrows, ncols, k + 1, projection="3d", computed_zorder=False
        )
        _scatter(ax, xyz, idx, keep, values, _colors(values, cc, owner), size)
        ax.set_box_aspect(tuple(np.maximum(hi - lo, 1e-3)), zoom=1.35)
        ax.view_init(elev=elev, azim=azim)
        ax.set_axis_off()
        ax.set_title(title, fontsize=13)
    if class_names:  # legend of the classes that appear in some panel
        shown = {int(c) for _, v in panels if v.dim() == 1 for c in torch.unique(v)}
        names = [(i, n) for i, n in enumerate(class_names) if i in shown]
        handles = [Patch(color=cc[i], label=name) for i, name in names]
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 10))
    bottom = 0.06 if class_names else 0.0
    fig.subplots_adjust(left=0, right=1, top=0.95, bottom=bottom, wspace=0, hspace=0.05)
    fig.savefig(path, dpi=100)
