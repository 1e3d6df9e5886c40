r"""Seeded synthetic "videos": snippet features with a few action segments on a background.

Each video is a sequence of ``T`` snippet features (``T`` uniform in ``[min_len,
max_len]``) holding 1 to ``max_actions`` non-overlapping action segments; half of the
videos repeat one class, the others mix up to two classes. The feature of snippet ``t`` is

.. math::
    x_t = (1 - \tfrac12 a_t)\, b_t + a_t\, g\, p_{c,\phi(u_t)} + k_t\, q_c + \varepsilon_t,

where :math:`b_t` is the video's background (one of ``num_scenes`` scene prototypes plus
a slowly drifting AR(1) component), :math:`c` the class of the segment covering
:math:`t`, :math:`u_t \in (0, 1)` the relative position inside it,
:math:`a_t = \max(0.25, \sin(\pi u_t)^{0.7})` an intensity that is weak at the action
boundaries, :math:`g \sim U(0.7, 1.3)` an instance gain, and :math:`p_{c,\phi}` the
class pattern of phase :math:`\phi \in` {start, middle, end} (linearly blended; the
start and end patterns share only half their direction with the middle one, so
boundary snippets are harder to classify: the difficulty that propagating knowledge from
representative snippets addresses). :math:`q_c` is a class *context* prototype added with
a decaying weight :math:`k_t` to the background just before and after each action (the
run-up before a long jump): it correlates with the class but is not part of the ground
truth. :math:`\varepsilon_t \sim \mathcal{N}(0, \sigma^2 I)` is white noise.

The prototypes come from ``world_seed`` and the videos from ``seed``, so a training and
a test set drawn with different ``seed`` share one "world".

Example:
    >>> from video.datasets import make_synthetic_videos
    >>> data = make_synthetic_videos(4, num_classes=3, feature_dim=8, seed=0)
    >>> len(data), data.num_classes, data.feature_dim
    (4, 3, 8)
    >>> bool((data.labels.sum(1) >= 1).all())
    True
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.signal import lfilter

from graphssl._validation import check_int, check_real, param_error
from video.datasets.base import VideoDataset

__all__ = ["make_synthetic_benchmark", "make_synthetic_videos"]

_OWNER = "make_synthetic_videos"


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d))
    out: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def _world(
    num_classes: int, dim: int, num_scenes: int, seed: int
) -> dict[str, np.ndarray]:
    """Prototypes shared by every video of one synthetic world."""
    rng = np.random.default_rng(seed)
    middle = _unit(rng, num_classes, dim)
    # start/end patterns: half class direction, half a phase-specific direction
    start = (middle + _unit(rng, num_classes, dim)) / math.sqrt(2)
    end = (middle + _unit(rng, num_classes, dim)) / math.sqrt(2)
    return {
        "phases": np.stack([start, middle, end], axis=1),  # [C, 3, D]
        "context": _unit(rng, num_classes, dim),
        "scenes": _unit(rng, num_scenes, dim),
    }


def _layout(
    rng: np.random.Generator, length: int, num_actions: int
) -> list[tuple[int, int]]:
    """Non-overlapping ``[start, end)`` snippet ranges with background between them."""
    longest = max(4, min(40, length // (2 * num_actions)))
    sizes = rng.integers(4, longest + 1, size=num_actions)
    free = length - int(sizes.sum()) - 2 * (num_actions - 1)
    gaps = rng.multinomial(free, np.ones(num_actions + 1) / (num_actions + 1))
    out, t = [], 0
    for i in range(num_actions):
        t += int(gaps[i]) + (2 if i else 0)
        out.append((t, t + int(sizes[i])))
        t += int(sizes[i])
    return out


def _phase_weights(u: np.ndarray) -> np.ndarray:
    """``[L, 3]`` blend of the start / middle / end patterns at relative positions ``u``."""
    w_start = np.clip(1 - 3 * u, 0, 1)
    w_end = np.clip(3 * u - 2, 0, 1)
    return np.stack([w_start, 1 - w_start - w_end, w_end], axis=1)


def make_synthetic_videos(
    num_videos: int,
    *,
    num_classes: int = 10,
    feature_dim: int = 64,
    min_len: int = 50,
    max_len: int = 300,
    max_actions: int = 3,
    snippet_rate: float = 25.0 / 16.0,
    signal: float = 4.0,
    context: float = 1.5,
    noise: float = 0.5,
    drift: float = 0.3,
    num_scenes: int = 5,
    seed: int = 0,
    world_seed: int = 0,
    subset: str = "train",
) -> VideoDataset:
    r"""Draw ``num_videos`` synthetic videos (see the module docstring for the model).

    Args:
        num_videos (int): number of videos ``V``.
        num_classes (int): number of action classes ``C`` (default 10).
        feature_dim (int): snippet feature dimension ``D`` (default 64).
        min_len (int), max_len (int): range of the number of snippets ``T``.
        max_actions (int): at most this many segments per video (at least one).
        snippet_rate (float): snippets per second (default THUMOS' 25 / 16).
        signal (float): norm of the action patterns (default 4).
        context (float): peak norm of the context prototype around actions (default 1.5).
        noise (float): standard deviation of the white noise (default 0.5).
        drift (float): step size of the background's AR(1) drift (default 0.3; its
            stationary standard deviation is ``drift / sqrt(1 - 0.81)`` per dimension).
        num_scenes (int): number of background scene prototypes.
        seed (int): seed of the videos. world_seed (int): seed of the prototypes.
        subset (str): subset name of every video; names are ``f"{subset}_{i:04d}"``.

    Returns:
        VideoDataset: features ``[T_i, D]``, multi-hot labels ``[V, C]`` and segments
        ``[S_i, 3]`` in seconds.
    """
    num_videos = check_int(num_videos, "num_videos", _OWNER, 1)
    num_classes = check_int(num_classes, "num_classes", _OWNER, 1)
    dim = check_int(feature_dim, "feature_dim", _OWNER, 1)
    min_len = check_int(min_len, "min_len", _OWNER, 2)
    max_len = check_int(max_len, "max_len", _OWNER, min_len)
    max_actions = check_int(max_actions, "max_actions", _OWNER, 1)
    if max_actions * 6 > min_len:
        raise param_error(
            "min_len", _OWNER, f"at least 6 * max_actions = {6 * max_actions}", min_len
        )
    for name, val in (
        ("signal", signal),
        ("context", context),
        ("noise", noise),
        ("drift", drift),
    ):
        check_real(val, name, _OWNER, 0.0)
    rate = check_real(snippet_rate, "snippet_rate", _OWNER, 0.0, None, "right")
    world = _world(
        num_classes, dim, check_int(num_scenes, "num_scenes", _OWNER, 1), world_seed
    )
    rng = np.random.default_rng(seed)
    feats, segs, labels = [], [], torch.zeros(num_videos, num_classes)
    for v in range(num_videos):
        length = int(rng.integers(min_len, max_len + 1))
        n_act = int(rng.integers(1, max_actions + 1))
        pool = rng.choice(num_classes, size=min(2, num_classes), replace=False)
        classes = (
            np.full(n_act, pool[0]) if rng.random() < 0.5 else rng.choice(pool, n_act)
        )
        # background: scene prototype + AR(1) drift (temporally smooth, like real video)
        step = rng.standard_normal((length, dim)) * drift
        step[0] = 0.0
        wander = lfilter([1.0], [1.0, -0.9], step, axis=0)  # d_t = 0.9 d_(t-1) + step_t
        x = world["scenes"][rng.integers(len(world["scenes"]))] * 2.0 + wander
        rows = []
        for (s, e), c in zip(_layout(rng, length, n_act), classes, strict=True):
            u = (np.arange(e - s) + 0.5) / (e - s)
            a = np.maximum(0.25, np.sin(np.pi * u) ** 0.7)[:, None]
            pattern = _phase_weights(u) @ world["phases"][c]  # [L, D]
            gain = rng.uniform(0.7, 1.3)
            x[s:e] = (1 - 0.5 * a) * x[s:e] + a * gain * signal * pattern
            # context before and after the action, decaying away from it
            reach = max(2, int(rng.uniform(0.3, 0.8) * (e - s)))
            for lo, hi, toward in (
                (max(0, s - reach), s, s),
                (e, min(length, e + reach), e - 1),
            ):
                near = np.arange(lo, hi)
                k = context * np.clip(1 - np.abs(near - toward) / (reach + 1), 0, 1)
                x[lo:hi] += k[:, None] * world["context"][c]
            rows.append((s / rate, e / rate, float(c)))
            labels[v, int(c)] = 1.0
        x += rng.standard_normal((length, dim)) * noise
        feats.append(torch.from_numpy(x).float())
        segs.append(torch.tensor(rows, dtype=torch.float64))
    return VideoDataset(
        features=feats,
        labels=labels,
        segments=segs,
        names=[f"{subset}_{i:04d}" for i in range(num_videos)],
        class_names=tuple(f"action{c:02d}" for c in range(num_classes)),
        subset=[subset] * num_videos,
        snippet_rate=rate,
    )


def make_synthetic_benchmark(seed: int = 0) -> tuple[VideoDataset, VideoDataset]:
    """The fixed synthetic benchmark: 240 training and 120 test videos.

    Both sets come from :func:`make_synthetic_videos` with its defaults (10 classes,
    64-d features, 50–300 snippets, 1–3 actions, THUMOS' 25/16 snippets per second) and
    one world (``world_seed = seed``); the videos use ``seed`` (train) and
    ``seed + 1_000_003`` (test), subsets ``'train'`` and ``'test'``.

    Returns:
        tuple[VideoDataset, VideoDataset]: ``(train, test)``.
    """
    seed = check_int(seed, "seed", "make_synthetic_benchmark", 0)
    train = make_synthetic_videos(240, seed=seed, world_seed=seed, subset="train")
    test = make_synthetic_videos(
        120, seed=seed + 1_000_003, world_seed=seed, subset="test"
    )
    return train, test
