r"""Action proposals from class activation sequences: multi-threshold runs + outer–inner contrast.

For every class :math:`c` whose video score reaches ``class_threshold``, the activation
curve :math:`h_t = \mathrm{CAS}_{t,c}` (times the class-agnostic attention :math:`a_t`
when given, as RSKP does) is cut at every threshold :math:`\gamma` of a grid; each
maximal run :math:`[s, e)` of snippets with :math:`h_t > \gamma` and length
:math:`L = e - s \ge` ``min_length`` is a proposal scored by the outer–inner contrast
(Shou et al., AutoLoc, ECCV 2018; used by W-TALC, RSKP, CO2-Net)

.. math::
    \mathrm{score} = \frac{1}{L} \sum_{t=s}^{e-1} h_t
        - \frac{1}{|O|} \sum_{t \in O} h_t + \beta\, v_c ,

where :math:`O = [s - m, s) \cup [e, e + m)` (clipped to the video) are the flanks of
:math:`m = \lceil \rho L \rceil` snippets with inflation ratio :math:`\rho` (0.25), the
outer term is 0 when :math:`O` is empty, :math:`v_c` is the video score and
:math:`\beta` the ``video_score_weight`` (0 in RSKP; CO2-Net uses 0.2). Snippet ``t``
covers the seconds :math:`[t / r, (t + 1) / r)` for ``snippet_rate`` :math:`r`.
Deviations from the RSKP script, by design: its inner mean includes one snippet past the
run and its proposals end one snippet late; here a run is exactly its snippets.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from graphssl._validation import (
    check_finite,
    check_float_tensor,
    check_int,
    check_real,
    param_error,
)
from video.nms import batched_nms

__all__ = ["RSKP_THRESHOLDS", "generate_proposals", "localize"]

#: RSKP's grid ``np.arange(0.001, 0.04, 0.002)`` on softmax-CAS × attention (20 values).
RSKP_THRESHOLDS: tuple[float, ...] = tuple(
    round(0.001 + 0.002 * i, 3) for i in range(20)
)


def _check_inputs(
    cas: Tensor, video_scores: Tensor, attention: Tensor | None, owner: str
) -> tuple[Tensor, Tensor]:
    cas = check_finite(check_float_tensor(cas, "cas", owner, ndim=2), "cas", owner)
    if cas.shape[0] < 2:
        raise param_error("cas", owner, "a [T, C] tensor with T >= 2", list(cas.shape))
    vs = check_float_tensor(video_scores, "video_scores", owner, ndim=1)
    if vs.shape[0] != cas.shape[1]:
        raise param_error(
            "video_scores",
            owner,
            f"a [C] tensor with C = {cas.shape[1]}",
            list(vs.shape),
        )
    check_finite(vs, "video_scores", owner)
    if attention is not None:
        att = check_float_tensor(attention, "attention", owner, ndim=1)
        if att.shape[0] != cas.shape[0]:
            raise param_error(
                "attention",
                owner,
                f"a [T] tensor with T = {cas.shape[0]}",
                list(att.shape),
            )
        cas = cas * check_finite(att, "attention", owner)[:, None]
    return cas, vs


def generate_proposals(
    cas: Tensor,
    video_scores: Tensor,
    *,
    snippet_rate: float,
    attention: Tensor | None = None,
    class_threshold: float = 0.1,
    thresholds: Sequence[float] = RSKP_THRESHOLDS,
    min_length: int = 2,
    inflation: float = 0.25,
    video_score_weight: float = 0.0,
) -> Tensor:
    r"""All scored proposals of one video, before NMS (see the module docstring).

    Args:
        cas (Tensor): ``[T, C]`` class activation sequence (foreground classes only,
            e.g. softmax probabilities).
        video_scores (Tensor): ``[C]`` video-level class scores.
        snippet_rate (float): snippets per second (THUMOS I3D: 25 / 16).
        attention (Tensor | None): ``[T]`` class-agnostic attention multiplying ``cas``.
        class_threshold (float): classes with a lower video score give no proposal.
        thresholds (Sequence[float]): the grid of :math:`\gamma` (default RSKP's).
        min_length (int): shortest run in snippets (default 2).
        inflation (float): flank ratio :math:`\rho \ge 0` (default 0.25).
        video_score_weight (float): :math:`\beta` (default 0, RSKP).

    Returns:
        Tensor: ``[K, 4]`` float64 rows ``(start_s, end_s, score, class)``, one per
        distinct (class, run) — the same run found at several thresholds is listed once
        (its score does not depend on the threshold) — on the device of ``cas``.
    """
    owner = "generate_proposals"
    h, vs = _check_inputs(cas, video_scores, attention, owner)
    rate = check_real(snippet_rate, "snippet_rate", owner, 0.0, None, "right")
    cth = check_real(class_threshold, "class_threshold", owner)
    min_len = check_int(min_length, "min_length", owner, 1)
    rho = check_real(inflation, "inflation", owner, 0.0)
    beta = check_real(video_score_weight, "video_score_weight", owner)
    if len(thresholds) == 0:
        raise param_error(
            "thresholds", owner, "a non-empty sequence of reals", thresholds
        )
    gam = torch.tensor(
        [check_real(g, "thresholds", owner) for g in thresholds],
        dtype=h.dtype,
        device=h.device,
    )
    classes = torch.nonzero(vs >= cth).flatten()
    empty = torch.zeros(0, 4, dtype=torch.float64, device=h.device)
    if classes.numel() == 0:
        return empty
    length = h.shape[0]
    curve = h[:, classes].T.double()  # [C', T]
    # runs at every (threshold, class) at once: +1 / -1 steps of the padded binary mask
    above = (curve[None] > gam.double()[:, None, None]).to(torch.int8)  # [N_g, C', T]
    pad = torch.nn.functional.pad(above, (1, 1))
    step = pad[..., 1:] - pad[..., :-1]  # [N_g, C', T + 1]
    starts, ends = torch.nonzero(step == 1), torch.nonzero(step == -1)
    # both lists are row-major over (threshold, class, t), so the i-th start pairs the i-th end
    cls_idx, s, e = starts[:, 1], starts[:, 2], ends[:, 2]
    ok = (e - s) >= min_len
    runs = torch.unique(torch.stack([cls_idx[ok], s[ok], e[ok]], 1), dim=0)
    if runs.shape[0] == 0:
        return empty
    ci, s, e = runs[:, 0], runs[:, 1], runs[:, 2]
    csum = torch.nn.functional.pad(
        curve.cumsum(1), (1, 0)
    )  # [C', T + 1], csum[:, t] = sum h[:t]
    inner = (csum[ci, e] - csum[ci, s]) / (e - s)
    m = torch.ceil(rho * (e - s).double()).long()
    lo, hi = (s - m).clamp(min=0), (e + m).clamp(max=length)
    n_out = (s - lo) + (hi - e)
    outer_sum = (csum[ci, s] - csum[ci, lo]) + (csum[ci, hi] - csum[ci, e])
    outer = torch.where(
        n_out > 0, outer_sum / n_out.clamp(min=1), torch.zeros_like(outer_sum)
    )
    c = classes[ci]
    score = inner - outer + beta * vs[c].double()
    return torch.stack([s.double() / rate, e.double() / rate, score, c.double()], 1)


def localize(
    cas: Tensor,
    video_scores: Tensor,
    *,
    snippet_rate: float,
    attention: Tensor | None = None,
    iou_threshold: float = 0.5,
    class_threshold: float = 0.1,
    thresholds: Sequence[float] = RSKP_THRESHOLDS,
    min_length: int = 2,
    inflation: float = 0.25,
    video_score_weight: float = 0.0,
) -> Tensor:
    r"""Detections of one video: :func:`generate_proposals` then per-class NMS.

    Args:
        cas, video_scores, snippet_rate, attention, class_threshold, thresholds,
        min_length, inflation, video_score_weight: see :func:`generate_proposals`.
        iou_threshold (float): NMS tIoU threshold (RSKP on THUMOS: 0.5).

    Returns:
        Tensor: ``[K, 4]`` float64 ``(start_s, end_s, score, class)`` by decreasing score.
    """
    props = generate_proposals(
        cas,
        video_scores,
        snippet_rate=snippet_rate,
        attention=attention,
        class_threshold=class_threshold,
        thresholds=thresholds,
        min_length=min_length,
        inflation=inflation,
        video_score_weight=video_score_weight,
    )
    thr = check_real(iou_threshold, "iou_threshold", "localize", 0.0, 1.0)
    if props.shape[0] == 0:
        return props
    keep = batched_nms(props[:, :2], props[:, 2], props[:, 3], thr)
    return props[keep]
