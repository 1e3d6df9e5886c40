"""RandomAffine against a loop-based bilinear reference, its identity case,
reproducibility and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from graphssl.augment import RandomAffine


def _reference(x: torch.Tensor, aug: RandomAffine, seed: int) -> torch.Tensor:
    """Per-pixel bilinear sampling at A p + t, drawing the parameters as documented."""
    b, _, h, w = x.shape
    u = 2 * torch.rand((b, 5), generator=torch.Generator().manual_seed(seed)) - 1
    out = torch.zeros_like(x, dtype=torch.float64)
    for n in range(b):
        th = math.radians(aug.degrees) * float(u[n, 0])
        s = aug.scale[0] + (aug.scale[1] - aug.scale[0]) * (float(u[n, 1]) + 1) / 2
        gam = aug.shear * float(u[n, 2])
        tx = 2 * aug.translate / w * float(u[n, 3])
        ty = 2 * aug.translate / h * float(u[n, 4])
        co, si = math.cos(th), math.sin(th)
        a = [[co / s, (co * gam - si) / s], [si / s, (si * gam + co) / s]]
        for i in range(h):
            for j in range(w):
                xn, yn = (2 * j + 1) / w - 1, (2 * i + 1) / h - 1
                xs = a[0][0] * xn + a[0][1] * yn + tx
                ys = a[1][0] * xn + a[1][1] * yn + ty
                px, py = ((xs + 1) * w - 1) / 2, ((ys + 1) * h - 1) / 2
                x0, y0 = math.floor(px), math.floor(py)
                for dy in (0, 1):
                    for dx in (0, 1):
                        wt = (1 - abs(px - x0 - dx)) * (1 - abs(py - y0 - dy))
                        if 0 <= y0 + dy < h and 0 <= x0 + dx < w:
                            out[n, :, i, j] += wt * x[n, :, y0 + dy, x0 + dx].double()
    return out


@pytest.mark.parametrize(
    "kw",
    [
        {"degrees": 20.0, "scale": (0.8, 1.2), "shear": 0.3, "translate": 1.5},
        {"degrees": 0.0, "scale": (1.0, 1.0), "shear": 0.0, "translate": 2.0},
    ],
)
def test_matches_loop_reference(kw: dict[str, object]) -> None:
    x = torch.rand(3, 2, 8, 6)
    aug = RandomAffine(**kw)  # type: ignore[arg-type]
    got = aug(x, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(got.double(), _reference(x, aug, 4), atol=1e-5, rtol=0)


def test_identity_and_reproducible(device: str) -> None:
    x = torch.rand(4, 1, 8, 8, device=device)
    ident = RandomAffine(degrees=0.0, scale=(1.0, 1.0), shear=0.0, translate=0.0)
    torch.testing.assert_close(ident(x, generator=0), x)
    aug = RandomAffine(degrees=15.0, translate=1.0)
    a, b = aug(x, generator=7), aug(x, generator=7)
    assert a.device == x.device and a.dtype == x.dtype
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, aug(x, generator=8))


def test_small_rotation_keeps_a_centred_square() -> None:
    # The image centre is the rotation centre: a centred square stays in place.
    x = torch.zeros(1, 1, 8, 8)
    x[..., 3:5, 3:5] = 1.0
    out = RandomAffine(degrees=10.0, scale=(1.0, 1.0))(x, generator=0)
    assert float(out[..., 3:5, 3:5].min()) > 0.5  # the centre stays bright
    assert float(out[..., 0, :].abs().max()) == 0.0  # nothing reaches the border


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"degrees": -1.0}, "'degrees' parameter of RandomAffine"),
        ({"scale": (1.2, 1.0)}, "'scale' parameter of RandomAffine"),
        ({"scale": (0.0, 1.0)}, "'scale' parameter of RandomAffine"),
        ({"scale": 1.0}, "'scale' parameter of RandomAffine"),
        ({"shear": -0.1}, "'shear' parameter of RandomAffine"),
        ({"translate": -1.0}, "'translate' parameter of RandomAffine"),
    ],
)
def test_bad_parameters(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RandomAffine(**kw)  # type: ignore[arg-type]


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="'x' parameter of RandomAffine"):
        RandomAffine()(torch.rand(8, 8))
