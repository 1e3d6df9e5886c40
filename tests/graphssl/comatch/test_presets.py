"""comatch_views: every modality's three views keep shapes and are reproducible;
the 8x8 presets' weak view is an integer shift, their strong views differ; ImageMLP
against a hand-written reference; bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from graphssl.augment import Compose, RandomAffine, RandomShift
from graphssl.comatch.presets import COMATCH_MODALITIES, ImageMLP, comatch_views


def _data(modality: str) -> object:
    if modality.startswith("small_image"):
        return torch.rand(5, 1, 8, 8)
    if modality == "image":
        return torch.rand(2, 3, 32, 32)
    if modality == "features":
        return torch.rand(6, 4)
    ring = torch.arange(6)
    return torch.rand(6, 4), torch.stack([ring, (ring + 1) % 6])


@pytest.mark.parametrize("modality", COMATCH_MODALITIES)
def test_views_keep_shape_and_are_reproducible(modality: str) -> None:
    data = _data(modality)
    for view in comatch_views(modality):
        a, b = view(data, generator=3), view(data, generator=3)
        if isinstance(data, tuple):
            assert a[0].shape == data[0].shape and a[1].shape[0] == 2
            torch.testing.assert_close(a[0], b[0])
        else:
            assert isinstance(data, torch.Tensor)
            assert a.shape == data.shape
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("modality", ["small_image", "small_image_affine"])
def test_small_image_weak_is_a_one_pixel_shift(modality: str) -> None:
    x = torch.zeros(20, 1, 8, 8)
    x[:, :, 3, 4] = 1.0  # one lit pixel away from the border
    weak, s0, s1 = comatch_views(modality)
    assert isinstance(weak, RandomShift) and weak.max_pixels == 1
    out = weak(x, generator=0)
    for img in out[:, 0]:
        ((r, c),) = torch.nonzero(img).tolist()  # still exactly one lit pixel ...
        assert abs(r - 3) <= 1 and abs(c - 4) <= 1  # ... at most one pixel away
    assert not torch.allclose(s0(x, generator=0), s1(x, generator=0))
    assert isinstance(s0, Compose)
    uses_affine = any(isinstance(t, RandomAffine) for t in s0.transforms)
    assert uses_affine == (modality == "small_image_affine")


def test_image_mlp_matches_reference() -> None:
    net = ImageMLP(64, 8)
    x = torch.rand(3, 1, 8, 8)
    l1, l2 = net.net[1], net.net[3]
    assert isinstance(l1, nn.Linear) and isinstance(l2, nn.Linear)
    want = torch.relu(
        torch.relu(x.view(3, 64) @ l1.weight.T + l1.bias) @ l2.weight.T + l2.bias
    )
    torch.testing.assert_close(net(x), want)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="'modality' parameter of comatch_views"):
        comatch_views("tiny_image")
    with pytest.raises(ValueError, match="'hidden' parameter of ImageMLP"):
        ImageMLP(64, 0)
