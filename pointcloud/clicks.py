r"""One-click annotations: clicked points, their classes, and super-voxel labels.

A click is a pair (point index, class). One Thing One Click labels one point per
object instance; the clicked class then labels the clicked point's whole super-voxel
and every other super-voxel stays unlabelled (``-1``).

File format (:func:`read_clicks` / :func:`write_clicks`): plain text, one click per
line, ``<point index> <class>`` separated by white space or a comma; ``#`` starts a
comment. The class may be a name when ``class_names`` is given. ``.json`` files hold
``[[index, class], ...]`` or ``{"clicks": [[index, class], ...]}``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

from graphssl._validation import check_int, param_error
from pointcloud.supervoxel_metrics import check_segments
from pointcloud.synthetic import one_click_per_object

__all__ = [
    "click_labels",
    "one_click_per_instance",
    "read_clicks",
    "validate_clicks",
    "warn_missing_classes",
    "write_clicks",
]


def one_click_per_instance(
    instances: Tensor, labels: Tensor, *, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """One random labelled point per instance (seeded), as ``(idx [K], cls [K])``.

    The same draw as :func:`pointcloud.synthetic.one_click_per_object`; clicks come
    sorted by instance id. Negative instance ids and labels ``< 0`` are never
    clicked.

    Returns:
        tuple[Tensor, Tensor]: point indices and their classes, int64, on the device
        of ``labels``.
    """
    y = one_click_per_object(instances, labels, seed=seed)
    idx = torch.nonzero(y >= 0).squeeze(1)
    idx = idx[torch.argsort(instances[idx], stable=True)]
    return idx, y[idx]


def validate_clicks(
    idx: Tensor, cls: Tensor, num_points: int, num_classes: int
) -> tuple[Tensor, Tensor]:
    """Check clicks against a cloud of ``num_points`` points and ``num_classes`` classes.

    Returns:
        tuple[Tensor, Tensor]: ``idx`` and ``cls`` as int64.

    Raises:
        TypeError: for non-integer tensors.
        ValueError: for no clicks, different lengths, a point index outside
            ``0..num_points-1`` or a class outside ``0..num_classes-1``.
    """
    owner = "validate_clicks"
    num_points = check_int(num_points, "num_points", owner, low=1)
    num_classes = check_int(num_classes, "num_classes", owner, low=1)
    for name, t in (("idx", idx), ("cls", cls)):
        if not isinstance(t, Tensor) or t.is_floating_point() or t.dim() != 1:
            got = t.dtype if isinstance(t, Tensor) else type(t).__name__
            raise param_error(name, owner, "a 1-D integer tensor", got, TypeError)
    if idx.numel() == 0:
        raise param_error("idx", owner, "at least one click", "no clicks")
    if cls.numel() != idx.numel():
        raise param_error(
            "cls", owner, f"{idx.numel()} classes (one per click)", cls.numel()
        )
    bad = (idx < 0) | (idx >= num_points)
    if bool(bad.any()):
        allowed = f"point indices in 0..{num_points - 1}"
        raise param_error("idx", owner, allowed, idx[bad][:5].tolist())
    bad = (cls < 0) | (cls >= num_classes)
    if bool(bad.any()):
        allowed = f"classes in 0..{num_classes - 1}"
        raise param_error("cls", owner, allowed, cls[bad][:5].tolist())
    return idx.long(), cls.long()


def warn_missing_classes(cls: Tensor, num_classes: int) -> list[int]:
    """Warn (``UserWarning``) about classes no click names; return them."""
    owner = "warn_missing_classes"
    num_classes = check_int(num_classes, "num_classes", owner, low=1)
    if cls.numel() and (int(cls.min()) < 0 or int(cls.max()) >= num_classes):
        allowed = f"classes in 0..{num_classes - 1}"
        raise param_error("cls", owner, allowed, [int(cls.min()), int(cls.max())])
    seen = torch.zeros(num_classes, dtype=torch.bool)
    seen[cls.long().cpu()] = True
    missing = torch.nonzero(~seen).squeeze(1).tolist()
    if missing:
        warnings.warn(
            f"{len(missing)} of {num_classes} classes have no click ({missing[:10]}); "
            "nothing can teach the model them.",
            UserWarning,
            stacklevel=2,
        )
    return [int(m) for m in missing]


def click_labels(
    segments: Tensor, idx: Tensor, cls: Tensor, num_segments: int
) -> Tensor:
    """Super-voxel labels from clicks: ``[S]`` int64, ``-1`` where nothing was clicked.

    A super-voxel clicked with different classes takes the class clicked most often
    in it; a tie goes to the class of its earliest click (in the order given). Each
    conflict is reported in one ``UserWarning``.
    """
    owner = "click_labels"
    segments = check_segments(segments, owner)
    s = check_int(num_segments, "num_segments", owner, low=1)
    if segments.numel() and int(segments.max()) >= s:
        raise param_error(
            "segments", owner, f"ids below num_segments={s}", int(segments.max())
        )
    big = int(cls.max()) + 1 if isinstance(cls, Tensor) and cls.numel() else 1
    idx, cls = validate_clicks(idx, cls, segments.numel(), max(big, 1))
    seg = segments[idx]
    c = int(cls.max()) + 1
    counts = torch.bincount(seg * c + cls, minlength=s * c).view(s, c)
    # Among the classes with the top count, the one clicked first wins.
    k = torch.arange(idx.numel(), device=idx.device)
    first = torch.full((s * c,), idx.numel(), dtype=torch.long, device=idx.device)
    first = first.scatter_reduce(0, seg * c + cls, k, "amin").view(s, c)
    top = counts == counts.max(1, keepdim=True).values
    first = torch.where(top & (counts > 0), first, torch.full_like(first, idx.numel()))
    none = torch.full((s,), -1, dtype=torch.long, device=idx.device)
    out = torch.where(counts.sum(1) > 0, first.argmin(1), none)
    conflict = torch.nonzero((counts > 0).sum(1) > 1).squeeze(1)
    if conflict.numel():
        warnings.warn(
            f"{conflict.numel()} super-voxels were clicked with different classes "
            f"(e.g. super-voxel {int(conflict[0])}: classes "
            f"{torch.nonzero(counts[conflict[0]]).squeeze(1).tolist()}); each takes its "
            "most clicked class, ties to the earliest click.",
            UserWarning,
            stacklevel=2,
        )
    return out


def _parse_class(token: str, names: Sequence[str] | None) -> int:
    try:
        return int(token)
    except ValueError:
        if names is not None and token in names:
            return list(names).index(token)
        raise


def read_clicks(
    path: str | os.PathLike[str], class_names: Sequence[str] | None = None
) -> tuple[Tensor, Tensor]:
    """Read clicks written by :func:`write_clicks` (see the module docstring).

    Returns:
        tuple[Tensor, Tensor]: ``idx [K]`` and ``cls [K]`` int64 (not yet checked
        against a cloud: see :func:`validate_clicks`).

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: naming the file (and line) for anything unreadable.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as err:
        raise ValueError(f"Clicks file {path!r} is not UTF-8 text ({err}).") from err
    pairs: list[tuple[int, int]] = []
    if str(path).lower().endswith(".json"):
        try:
            data = json.loads(text)
            rows = data["clicks"] if isinstance(data, dict) else data
            for row in rows:
                if not isinstance(row, list) or len(row) != 2:
                    raise ValueError(f"expected [index, class], got {row!r}")
                pairs.append((int(row[0]), _parse_class(str(row[1]), class_names)))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"Corrupt clicks file {path!r}: {err}") from err
    else:
        for n, line in enumerate(text.splitlines(), 1):
            tokens = line.split("#", 1)[0].replace(",", " ").split()
            if not tokens:
                continue
            try:
                if len(tokens) != 2:
                    raise ValueError(f"expected 2 fields, got {len(tokens)}")
                pairs.append((int(tokens[0]), _parse_class(tokens[1], class_names)))
            except ValueError as err:
                msg = (
                    f"Corrupt clicks file {path!r}, line {n}: {line.strip()!r} ({err})"
                )
                raise ValueError(msg) from err
    t = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2)
    return t[:, 0].contiguous(), t[:, 1].contiguous()


def write_clicks(path: str | os.PathLike[str], idx: Tensor, cls: Tensor) -> None:
    """Write clicks as text, ``<point index> <class>`` per line (``.json``: a list)."""
    if idx.numel() != cls.numel():
        raise param_error("cls", "write_clicks", f"{idx.numel()} classes", cls.numel())
    pairs = torch.stack([idx.long().cpu(), cls.long().cpu()], 1).tolist()
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        if str(path).lower().endswith(".json"):
            json.dump({"clicks": pairs}, f)
        else:
            f.write("# point_index class\n")
            f.writelines(f"{i} {c}\n" for i, c in pairs)
