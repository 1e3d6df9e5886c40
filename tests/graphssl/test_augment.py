"""Tests for graphssl.augment: shapes, devices, determinism and invariants."""

from __future__ import annotations

import math

import pytest
import torch

from graphssl.augment import (
    Compose,
    Cutout,
    DropEdges,
    FeatureDropout,
    GaussianNoise,
    Jitter,
    MaskFeatures,
    RandomRotationZ,
    RandomScale,
    RandomShift,
    as_generator,
    drop_edges,
    mask_features,
    weak_strong,
)

FEATURE_AUGS = [GaussianNoise(0.1), FeatureDropout(0.3)]
IMAGE_AUGS = [RandomShift(2), RandomShift(3, "constant"), Cutout(3), GaussianNoise(0.1)]
POINT_AUGS = [Jitter(0.01, 0.02), RandomRotationZ(), RandomScale(0.5, 2.0)]


@pytest.mark.parametrize(
    ("aug", "shape"),
    [(a, (10, 6)) for a in FEATURE_AUGS]
    + [(a, (4, 3, 8, 8)) for a in IMAGE_AUGS]
    + [(a, (50, 3)) for a in POINT_AUGS],
)
def test_augment_shape_device_dtype_and_determinism(aug, shape, device):
    x = torch.rand(shape, dtype=torch.float64, device=device)
    out1 = aug(x, generator=torch.Generator().manual_seed(3))
    out2 = aug(x, generator=3)  # an int seeds a CPU generator: same view
    out3 = aug(x, generator=4)
    assert out1.shape == x.shape and out1.dtype == x.dtype
    assert out1.device == x.device
    assert torch.equal(out1, out2)
    assert not torch.equal(out1, out3)
    assert not torch.equal(out1, x)


def test_feature_dropout_zeroes_about_p():
    x = torch.ones(200, 50)
    out = FeatureDropout(0.3)(x, generator=0)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    assert abs(float((out == 0).float().mean()) - 0.3) < 0.03


def test_random_shift_moves_content_and_zero_shift_is_identity():
    x = torch.zeros(1, 1, 7, 7)
    x[0, 0, 3, 3] = 1.0
    out = RandomShift(2, "constant")(x, generator=1)
    (r, c) = torch.nonzero(out[0, 0])[0].tolist()
    assert out.sum() == 1.0 and abs(r - 3) <= 2 and abs(c - 3) <= 2
    assert torch.equal(RandomShift(0)(x, generator=1), x)


def test_random_shift_reflect_too_large_raises():
    with pytest.raises(ValueError, match="'max_pixels' parameter of RandomShift"):
        RandomShift(4)(torch.rand(1, 1, 4, 4))


def test_cutout_zeroes_at_most_a_square():
    x = torch.ones(16, 2, 10, 10)
    out = Cutout(4)(x, generator=0)
    zeros = (out == 0).sum(dim=(2, 3))
    assert bool((zeros <= 16).all()) and bool((zeros >= 4).all())
    assert torch.equal(zeros[:, 0], zeros[:, 1])  # one box for all channels


def test_drop_edges_keeps_an_ordered_subset(device):
    ei = torch.randint(0, 20, (2, 100), device=device)
    w = torch.arange(100.0, device=device)
    kept, kw = drop_edges(ei, 0.4, edge_weight=w, generator=0)
    assert kw is not None
    idx = kw.long()  # the weights are the original edge positions
    assert torch.equal(kept, ei[:, idx]) and bool((idx.diff() > 0).all())
    assert 40 <= kept.shape[1] <= 80
    assert drop_edges(ei, 0.0)[0].shape[1] == 100
    assert drop_edges(ei, 1.0)[0].shape[1] == 0


def test_mask_features_drops_whole_columns():
    x = torch.rand(30, 40) + 1.0
    out = mask_features(x, 0.5, generator=0)
    dropped = (out == 0).all(dim=0)
    assert torch.equal(out[:, ~dropped], x[:, ~dropped])
    assert 0 < int(dropped.sum()) < 40


def test_graph_pair_augmentations():
    x, ei = torch.rand(10, 5), torch.randint(0, 10, (2, 30))
    x2, ei2 = Compose([DropEdges(0.5), MaskFeatures(0.5)])((x, ei), generator=2)
    assert x2.shape == x.shape and ei2.shape[0] == 2 and ei2.shape[1] <= 30


def test_point_augmentation_invariants():
    p = torch.randn(100, 3, dtype=torch.float64)
    rot = RandomRotationZ()(p, generator=0)
    assert torch.allclose(rot.norm(dim=1), p.norm(dim=1))
    assert torch.equal(rot[:, 2], p[:, 2])
    scaled = RandomScale(0.8, 1.25)(p, generator=0)
    ratio = scaled.norm(dim=1) / p.norm(dim=1)
    assert torch.allclose(ratio, ratio[:1].expand_as(ratio))
    assert 0.8 <= float(ratio[0]) <= 1.25
    jit = Jitter(1.0, 0.05)(p, generator=0)
    assert float((jit - p).abs().max()) <= 0.05 + 1e-12


@pytest.mark.parametrize(
    ("modality", "data"),
    [
        ("features", torch.rand(8, 5)),
        ("image", torch.rand(2, 3, 32, 32)),
        ("graph", (torch.rand(6, 4), torch.randint(0, 6, (2, 12)))),
        ("points", torch.randn(20, 3)),
    ],
)
def test_weak_strong_presets_run(modality, data):
    weak, strong = weak_strong(modality)
    for aug in (weak, strong):
        a1, a2 = aug(data, generator=5), aug(data, generator=5)
        if isinstance(a1, tuple):
            assert all(torch.equal(u, v) for u, v in zip(a1, a2, strict=True))
        else:
            assert torch.equal(a1, a2) and a1.shape == data.shape


def test_bad_input_messages():
    with pytest.raises(ValueError, match="'p' parameter of FeatureDropout"):
        FeatureDropout(1.5)
    with pytest.raises(ValueError, match="'std' parameter of GaussianNoise"):
        GaussianNoise(-1.0)
    with pytest.raises(ValueError, match="'modality' parameter of weak_strong"):
        weak_strong("audio")
    with pytest.raises(ValueError, match="'points' parameter of Jitter"):
        Jitter()(torch.rand(5, 2))
    with pytest.raises(ValueError, match="'x' parameter of Cutout"):
        Cutout(2)(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="'edge_index' parameter of drop_edges"):
        drop_edges(torch.zeros(3, 4, dtype=torch.long), 0.5)
    with pytest.raises(ValueError, match="'hi' parameter of RandomScale"):
        RandomScale(1.0, 0.5)
    with pytest.raises(ValueError, match="'generator' parameter of as_generator"):
        as_generator(-1)


def test_repr_lists_hyper_parameters():
    assert repr(Jitter(0.02, 0.1)) == "Jitter(sigma=0.02, clip=0.1)"
    assert "FeatureDropout(p=0.3)" in repr(weak_strong("features")[1])
    assert math.isclose(RandomScale().lo, 0.8)
