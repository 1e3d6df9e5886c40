"""Fused mask + dropout: keep rate, unbiasedness, padding, seeding, eval mode."""

from __future__ import annotations

import pytest
import torch

from video._dropout import masked_dropout


@pytest.mark.parametrize("p", [0.6, 0.1])
def test_keep_rate_and_mean(p: float) -> None:
    torch.manual_seed(0)
    x = torch.ones(4, 500, 64)
    mask = torch.ones(4, 500)
    out = masked_dropout(x, mask, p, training=True)
    kept = out != 0
    # 128000 Bernoulli draws: the keep rate is within 5 standard errors of 1 - p
    se = (p * (1 - p) / kept.numel()) ** 0.5
    assert abs(kept.float().mean().item() - (1 - p)) < 5 * se
    # kept values are scaled so that the expectation is x (q' = 2^-16-rounded 1 - p)
    scale = 65536 / round((1 - p) * 65536)
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], scale))


def test_padding_zero_and_seeded_and_eval() -> None:
    x = torch.randn(2, 7, 5)
    mask = torch.tensor([[1.0] * 7, [1.0] * 4 + [0.0] * 3])
    torch.manual_seed(1)
    a = masked_dropout(x, mask, 0.5, training=True)
    torch.manual_seed(1)
    b = masked_dropout(x, mask, 0.5, training=True)
    assert torch.equal(a, b)
    assert bool((a[1, 4:] == 0).all())
    torch.testing.assert_close(masked_dropout(x, mask, 0.5, False), x * mask[..., None])
    torch.testing.assert_close(masked_dropout(x, mask, 0.0, True), x * mask[..., None])


def test_gradient_is_the_mask() -> None:
    x = torch.randn(3, 6, 4, requires_grad=True)
    mask = torch.ones(3, 6)
    torch.manual_seed(2)
    out = masked_dropout(x, mask, 0.3, training=True)
    out.sum().backward()  # type: ignore[no-untyped-call]
    assert x.grad is not None
    torch.testing.assert_close(x.grad, out.detach() / x.detach())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("p", [0.6, 0.999, 1e-4])
def test_mask_is_the_comparison_of_the_drawn_bits(p: float, dtype: torch.dtype) -> None:
    # the clamp trick must give exactly "bits < level - 2^15" for every 16-bit draw,
    # in every dtype (bfloat16 cannot hold the integers: the mask is built in float32)
    import math

    x = torch.ones(3, 50, 40, dtype=dtype)
    mask = torch.ones(3, 50)
    mask[2, 30:] = 0.0
    torch.manual_seed(5)
    out = masked_dropout(x, mask, p, training=True)
    torch.manual_seed(5)
    n = x.numel()
    draws = torch.randint(-(2**63), 2**63 - 1, (math.ceil(n / 4),), dtype=torch.int64)
    bits = draws.view(torch.int16)[:n].view(x.shape)
    level = max(round((1.0 - p) * 65536), 1)
    ref = bits.lt(level - 32768) & mask.bool()[..., None]
    assert torch.equal(out != 0, ref)
    assert out.dtype == dtype
