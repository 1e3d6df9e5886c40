"""SmallDigitsCNN: parameter count in closed form, output against a hand-built
functional reference, flattened input, gradients and bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graphssl.comatch.digits_cnn import SmallDigitsCNN


@pytest.mark.usefixtures("one_thread")
def test_forward_matches_functional_reference(device: str) -> None:
    net = SmallDigitsCNN(channels=(3, 5), hidden=7).to(device)
    x = torch.rand(4, 1, 8, 8, device=device)
    c1, _, c2, _, _, lin, _ = net.body
    assert isinstance(c1, nn.Conv2d) and isinstance(c2, nn.Conv2d)
    assert isinstance(lin, nn.Linear)
    h = F.relu(F.conv2d(x, c1.weight, c1.bias, padding=1))
    h = F.relu(F.conv2d(h, c2.weight, c2.bias, stride=2, padding=1))
    assert h.shape == (4, 5, 4, 4)
    want = F.relu(h.reshape(4, 80) @ lin.weight.T + lin.bias)
    got = net(x)
    assert got.shape == (4, 7) and net.num_features == 7
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(net(x.view(4, 64)), got)  # flattened input


def test_parameter_count_and_gradients() -> None:
    c1, c2, d = 16, 32, 128
    net = SmallDigitsCNN()
    want = (9 * c1 + c1) + (9 * c1 * c2 + c2) + (16 * c2 * d + d)
    assert sum(p.numel() for p in net.parameters()) == want
    net(torch.rand(6, 1, 8, 8)).pow(2).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"channels": (16,)}, "'channels' parameter of SmallDigitsCNN"),
        ({"channels": 16}, "'channels' parameter of SmallDigitsCNN"),
        ({"channels": (0, 8)}, "'channels' parameter of SmallDigitsCNN"),
        ({"hidden": 0}, "'hidden' parameter of SmallDigitsCNN"),
    ],
)
def test_bad_parameters(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SmallDigitsCNN(**kw)  # type: ignore[arg-type]


def test_bad_input() -> None:
    net = SmallDigitsCNN()
    with pytest.raises(
        ValueError, match=r"'x' parameter of SmallDigitsCNN .*\[N, 1, 8, 8\]"
    ):
        net(torch.rand(2, 1, 7, 7))
    with pytest.raises(ValueError, match=r"\[N, 64\]"):
        net(torch.rand(2, 63))
